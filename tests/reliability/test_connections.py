"""Connection-level bounds of `standin serve` (issue 18, item 7; server/serving.py).

Before: a connection that never finished its request was held forever, headers of any size were
taken, and a request line over ~65 KB got uvicorn's plain-text 400 instead of the vendor's body."""

from __future__ import annotations

import json
import socket

import pytest

from tests.live import serve


@pytest.fixture(scope="module", params=["1", "0"], ids=["fast", "stock"])
def base(request):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STANDIN_REQUEST_TIMEOUT", "1")
        env.setenv("STANDIN_FASTPATH", request.param)
        with serve("--rate-limit", "0") as url:
            yield url


def _exchange(base: str, raw: bytes, wait: float = 10) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(raw)
        sock.settimeout(wait)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _json_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_request_line_too_long_gets_the_vendors_error(base):
    line = b"GET /resourceguru/v1/example-corp/clients?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, body = _json_body(_exchange(base, line))
    assert status == 431 and body["errors"][0]["code"] == 431  # Resource Guru's error list


def test_headers_too_large_get_the_vendors_error(base):
    head = b"GET /ibuildapp/api/demo/user HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    status, body = _json_body(_exchange(base, head))
    assert status == 400 and body["status"] == "ERROR"  # iBuildApp answers every bad request 400


def test_unparsable_requests_get_a_json_error(base):
    status, body = _json_body(_exchange(base, b"NOT HTTP AT ALL\r\n\r\n"))
    assert status == 400 and body["error"]["status"] == 400


def test_silent_and_unfinished_connections_are_closed(base):
    """The server closes them (the reads end with b"" well before the client's own 10 s)."""
    assert _exchange(base, b"") == b""
    assert _exchange(base, b"GET /_standin/health HTTP/1.1\r\nHost: x\r\n") == b""  # head unfinished
    slow_body = (
        b"POST /resourceguru/v1/example-corp/clients HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{"
    )
    assert _exchange(base, slow_body) == b""
