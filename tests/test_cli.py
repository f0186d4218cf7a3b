"""`standin` as a user runs it: --version, the banner, a busy port, both engine modes over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
# One of each kind of answer: a list, a record, a created record, an invalid body, an unknown
# path, a wrong method, the control API.
REQUESTS = [
    ("GET", "/productive/api/v2/widgets?page[size]=2", PRODUCTIVE, None),
    ("GET", "/productive/api/v2/widgets/1", PRODUCTIVE, None),
    (
        "POST",
        "/productive/api/v2/widgets",
        {**PRODUCTIVE, "Content-Type": "application/vnd.api+json"},
        b'{"data":{"type":"widgets","attributes":{"widget_type_id":1}}}',
    ),
    ("POST", "/productive/api/v2/widgets", {**PRODUCTIVE, "Content-Type": "application/vnd.api+json"}, b"{"),
    ("GET", "/productive/api/v2/nothing", PRODUCTIVE, None),
    ("PUT", "/productive/api/v2/widgets", PRODUCTIVE, None),
    ("GET", "/_standin/apis", {}, None),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _standin(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"standin serve exited: {proc.communicate()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/_standin/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("standin serve did not answer")


def test_version():
    out = subprocess.run([sys.executable, "-m", "server", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("standin ")


def test_serve_help_documents_every_option():
    out = subprocess.run([sys.executable, "-m", "server", "serve", "--help"], capture_output=True, text=True)
    for option in ("--log-level", "--host", "--port", "STANDIN_HOST", "STANDIN_PORT"):
        assert option in out.stdout


def test_fast_and_stock_engines_answer_alike_over_http():
    """`STANDIN_FASTPATH=0` serves with stock connexion, Starlette and uvicorn end to end (its
    port from STANDIN_PORT); both answer the same bytes. The banner: `Name: value` headers."""
    fast_port, stock_port = _free_port(), _free_port()
    fast = _standin("serve", "--port", str(fast_port))
    stock = _standin("serve", env={"STANDIN_FASTPATH": "0", "STANDIN_PORT": str(stock_port)})
    try:
        _wait(fast_port, fast)
        _wait(stock_port, stock)
        for method, path, headers, body in REQUESTS:
            answers = []
            for port in (fast_port, stock_port):
                url = f"http://127.0.0.1:{port}{path}"  # one Host for both: links name it
                r = httpx.request(method, url, headers={**headers, "Host": "standin.test"}, content=body)
                kept = [(k, v) for k, v in r.headers.raw if k.lower() not in (b"date", b"server")]
                answers.append((r.status_code, kept, r.content))
            assert answers[0] == answers[1], (method, path)
    finally:
        for proc in (fast, stock):
            proc.terminate()
        banner = fast.communicate(timeout=20)[0]
        stock.communicate(timeout=20)
    assert f"on http://127.0.0.1:{fast_port}" in banner
    assert "X-Auth-Token: standin-productive-demo-token" in banner and "{" not in banner


def test_a_busy_port_is_a_clear_error_and_no_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _standin("serve", "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert "Standin" not in out


@pytest.mark.parametrize("fastpath", ["1", "0"])
def test_an_untested_library_version_stops_the_fast_mode_only(fastpath):
    """Start-up refuses versions the fast paths were not proven against, unless STANDIN_FASTPATH=0."""
    port = _free_port()
    code = (
        "import importlib.metadata as m, sys; real = m.version; "
        "m.version = lambda n: '9.9.9' if n == 'starlette' else real(n); "
        "from server.cli import main; "
        f"sys.exit(main(['serve', '--port', '{port}']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "STANDIN_FASTPATH": fastpath},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if fastpath == "0":
            _wait(port, proc)
            return
        out, err = proc.communicate(timeout=60)
        assert (
            proc.returncode == 2 and "starlette 9.9.9 (tested: 1.10.0)" in err and "STANDIN_FASTPATH=0" in err
        )
        assert "Standin" not in out
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=20)
