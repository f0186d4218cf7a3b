"""A poison corpus against `standin serve`: every input below is refused with the vendor's status,
changes nothing, and leaves every list answering (issue 18, items 1, 4 and 7).

Before: a lone surrogate stored through iBuildApp's client/create or Resource Guru's clients made
every list holding the record a 500 until reset; NaN and 1e999 were stored as null; JSON nested
~1,000 deep was a 500; a 10 MB value came back in a 10 MB error; a client announcing 500 bytes,
sending a valid 27-byte body and disconnecting had its record stored."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.live import serve

IB = {"Authorization": "Bearer standin-ibuildapp-demo-token", "Content-Type": "application/json"}
RG = {"Authorization": "Bearer 1.standin-resourceguru-demo-token", "Content-Type": "application/json"}
PR = {
    "X-Auth-Token": "standin-productive-demo-token",
    "X-Organization-Id": "1308",
    "Content-Type": "application/vnd.api+json",
}
IB_CREATE, RG_CLIENTS, PR_WIDGETS = (
    "/ibuildapp/api/demo/client/create",
    "/resourceguru/v1/example-corp/clients",
    ("/productive/api/v2/widgets"),
)
LISTS = [
    ("POST", "/ibuildapp/api/demo/client/search", IB, b'{"limit": 10}'),
    ("GET", RG_CLIENTS, RG, b""),
    ("GET", PR_WIDGETS, PR, b""),
]


def ib(**fields) -> bytes:
    return json.dumps({"name": "x", "status": True, **fields}).encode()


def widget(extra: str = "") -> bytes:
    """A widget Productive creates; `extra` adds raw JSON members to its attributes."""
    attributes = '"width": 3, "height": 1, "widget_type_id": 2' + extra
    dashboard = '"relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}}'
    return ('{"data": {"type": "widgets", "attributes": {' + attributes + "}, " + dashboard + "}}").encode()


def nested(depth: int) -> bytes:
    return b'{"name": "x", "status": true, "notes": ' + b"[" * depth + b"]" * depth + b"}"


# (path, headers, raw body, status the vendor answers)
CORPUS = [
    (IB_CREATE, IB, b'{"name": "bad\\ud800name", "status": true}', 400),
    (IB_CREATE, IB, b'{"name": "ok", "status": true, "\\udc00key": 1}', 400),
    (RG_CLIENTS, RG, b'{"name": "bad\\ud800name"}', 422),
    (RG_CLIENTS, RG, b'{"name": "x", "notes": "tail\\udfff"}', 422),
    (PR_WIDGETS, PR, widget(', "note\\ud800": "a\\ud800b"'), 422),
    (IB_CREATE, IB, b'{"name": "x", "status": true, "rate": NaN}', 400),
    (RG_CLIENTS, RG, b'{"name": "x", "n": Infinity}', 400),
    (RG_CLIENTS, RG, b'{"name": "x", "n": -Infinity}', 400),
    (RG_CLIENTS, RG, b'{"name": "x", "n": 1e999}', 400),
    (IB_CREATE, IB, b'{"name": "x", "status": true, "rate": ' + b"9" * 400 + b".0}", 400),
    (IB_CREATE, IB, nested(1000), 400),
    (RG_CLIENTS, RG, nested(100_000), 400),
    (PR_WIDGETS, PR, nested(300), 400),
    (RG_CLIENTS, RG, b'{"name": "' + b"x" * (10 << 20) + b'"}', 413),
    (IB_CREATE, IB, b'{"name": "' + b"x" * (2 << 20) + b'", "status": true}', 400),  # iBuildApp: 400s all
    (IB_CREATE, IB, ib(name=["y" * 500_000]), 400),  # a wrong type, half a megabyte of it
    (RG_CLIENTS, RG, json.dumps({"name": 7, "notes": ["z" * 500_000]}).encode(), 422),
    (RG_CLIENTS, RG, b'{"name": "x"', 400),  # truncated JSON
    (IB_CREATE, IB, b"\xff\xfe{}", 400),  # not UTF-8
]


@pytest.fixture(scope="module")
def base():
    with serve("--rate-limit", "0") as url:
        yield url


def _records(http) -> int:
    return http.get("/_standin/health").json()["records"]


def _lists_answer(http) -> None:
    for method, path, headers, body in LISTS:
        r = http.request(method, path, headers=headers, content=body)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        r.json()


@pytest.mark.parametrize("case", range(len(CORPUS)))
def test_poison_is_refused_and_changes_nothing(base, case):
    path, headers, body, status = CORPUS[case]
    with httpx.Client(base_url=base, timeout=30) as http:
        before = _records(http)
        r = http.post(path, headers=headers, content=body)
        assert r.status_code == status, (r.status_code, r.text[:300])
        assert len(r.content) < 2048, "an error quotes at most a short prefix of a bad value"
        r.json()  # the vendor's JSON error body, not uvicorn's text
        assert _records(http) == before
        _lists_answer(http)


def _raw(base: str, head: bytes, body: bytes):
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(head + body)
    return sock


def _head(path: str, headers: dict, length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: standin", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


ABANDONED = [
    (IB_CREATE, IB, b'{"name":"Gone","status":true}'),
    (RG_CLIENTS, RG, b'{"name": "Gone"}'),
    (PR_WIDGETS, PR, widget()),
    (
        "/resourceguru/oauth/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"grant_type=password&username=user@example.com&password=secret"
        b"&client_id=the_client_id&client_secret=the_client_secret",
    ),
]


@pytest.mark.parametrize("case", range(len(ABANDONED)))
def test_a_request_abandoned_mid_body_changes_nothing(base, case):
    """A valid body, then the client goes away before the announced length arrived."""
    path, headers, body = ABANDONED[case]
    with httpx.Client(base_url=base, timeout=10) as http:
        before = _records(http)
        sock = _raw(base, _head(path, headers, len(body) + 473), body)
        time.sleep(0.2)  # the server has the valid prefix and waits for the rest
        sock.close()
        time.sleep(0.3)
        assert _records(http) == before
        # the same request sent whole is served: the case is a real write
        assert http.post(path, headers=headers, content=body).status_code in (200, 201)
        assert _records(http) == before + 1


def test_slow_clients_do_not_hold_up_others(base):
    """Twenty connections each stuck mid-request; every other client is still answered."""
    stuck = [_raw(base, _head(RG_CLIENTS, RG, 100), b'{"na') for _ in range(20)]
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            for _ in range(20):
                assert http.get("/_standin/health").status_code == 200
            _lists_answer(http)
    finally:
        for sock in stuck:
            sock.close()
