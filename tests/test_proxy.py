"""`standin proxy`: traffic passes unchanged, and the violations of a broken upstream are named.

Everything runs as a user would: `standin serve` and `standin proxy` as separate processes on
free ports, a scripted client over HTTP, the report read from the files written on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

H = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
JSONAPI = {**H, "Content-Type": "application/vnd.api+json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.fixture(scope="module")
def upstream():
    port = _free_port()
    proc = _start("serve", "--api", "productive", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/_standin/health", proc)
        yield base
    finally:
        _stop(proc)


def _start_proxy(upstream: str, report: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = _start(
        "proxy", "--api", "productive", "--upstream", upstream, "--port", str(port), "--report", str(report)
    )
    for _ in range(300):  # the port answering; a request would be one more exchange to report
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read())
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError("standin proxy did not start")


def script(client: httpx.Client) -> list[tuple[int, dict, bytes]]:
    """A frontend's session: list, read, create, change, delete, read the deleted, a bad input."""
    out = []

    def call(method, path, **kw):
        r = client.request(method, path, **kw)
        out.append((r.status_code, r.headers, r.content))
        return r

    call("GET", "/api/v2/widgets", headers=H, params={"page[size]": 3})
    call("GET", "/api/v2/widgets/1", headers=H)
    call("GET", "/api/v2/entitlements", headers=H)
    body = {
        "data": {
            "type": "widgets",
            "attributes": {
                "width": 2,
                "height": 1,
                "row_position": 4,
                "column_position": 0,
                "widget_type_id": 1,
            },
            "relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}},
        }
    }
    created = call("POST", "/api/v2/widgets", headers=JSONAPI, content=json.dumps(body))
    new = created.json()["data"]["id"]
    patch = {"data": {"type": "widgets", "id": new, "attributes": {"width": 3}}}
    call("PATCH", f"/api/v2/widgets/{new}", headers=JSONAPI, content=json.dumps(patch))
    call("DELETE", f"/api/v2/widgets/{new}", headers=H)
    call("GET", f"/api/v2/widgets/{new}", headers=H)
    call("POST", "/api/v2/widgets", headers=JSONAPI, content=b'{"data": {"type": "widgets"}}')
    call("GET", "/api/v2/widgets/1")  # no credentials
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PATCH"}
    call("OPTIONS", "/api/v2/widgets/1", headers=preflight)  # a browser's CORS question: not validated
    return out


def test_proxy_passes_traffic_unchanged_and_finds_nothing_wrong_with_standin(upstream, tmp_path):
    with httpx.Client(base_url=upstream) as direct:
        expected = script(direct)
    httpx.post(f"{upstream}/_standin/reset")
    proc, base = _start_proxy(upstream, tmp_path)
    try:
        with httpx.Client(base_url=base) as client:
            got = script(client)
    finally:
        out = _stop(proc)
    httpx.post(f"{upstream}/_standin/reset")
    assert [(s, b) for s, _, b in got] == [(s, b) for s, _, b in expected]
    for (_, theirs, _), (_, ours, _) in zip(got, expected):
        assert theirs.get("content-type") == ours.get("content-type")
    # The one bad input: a request violation, rejected as the vendor would (so a warning).
    assert [json.loads(h["sl-violations"]) for _, h, _ in got if "sl-violations" in h] == [
        [
            {
                "location": ["request", "body", "$.data"],
                "severity": "Warning",
                "code": "request",
                "message": "$.data: 'attributes' is a required property; $.data: 'relationships' is a required property",
            }
        ]
    ]
    assert proc.returncode == 0, out
    report = json.loads((tmp_path / "validation.json").read_text())
    assert report["errors"] == 0 and report["warnings"] == 1, report["headline"]
    assert report["exchanges_total"] == len(expected) - 1  # all but the CORS preflight
    assert expected[-1][0] == 200 and "access-control-allow-methods" in got[-1][1]
    rows = {r["operation"]: r for r in report["operations"]}
    assert rows["DELETE /api/v2/widgets/{id}"]["exchanges"] == 1
    assert rows["DELETE /api/v2/entitlements/{id}"]["exchanges"] == 0  # listed, not exercised
    assert "not exercised" in (tmp_path / "validation.txt").read_text()
    assert "0 errors, 1 warning" in out


# ------------------------------------------------------------------ a deliberately broken upstream


def broken_variant():
    """Standin's Productive with three answers changed: widget widths as strings in the list,
    an undocumented 418 for the entitlement list, and an extra attribute on one widget (a
    warning, since vendors add fields, not a violation)."""
    from server.app import create_app

    app = create_app(["productive"], root=True, rate_limit=0)

    def change(path: str, status: int, doc: dict) -> tuple[int, dict]:
        if path == "/api/v2/widgets":
            for item in doc["data"]:
                item["attributes"]["width"] = str(item["attributes"]["width"])
        elif path == "/api/v2/widgets/1":
            doc["data"]["attributes"]["colour"] = "red"
        elif path == "/api/v2/entitlements":
            status = 418
        return status, doc

    async def variant(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                status, doc = change(scope["path"], start["status"], json.loads(b"".join(chunks)))
                body = json.dumps(doc).encode()
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return variant


def test_proxy_names_the_violating_operations_of_a_broken_upstream(tmp_path):
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(broken_variant(), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    proc, base = _start_proxy(f"http://127.0.0.1:{port}", tmp_path)
    try:
        listed = httpx.get(f"{base}/api/v2/widgets", headers=H)
        one = httpx.get(f"{base}/api/v2/widgets/1", headers=H)
        teapot = httpx.get(f"{base}/api/v2/entitlements", headers=H)
    finally:
        out = _stop(proc)
        server.should_exit = True
        thread.join(10)
    assert listed.json()["data"][0]["attributes"]["width"] == "2"  # passed on as it came
    header = json.loads(listed.headers["sl-violations"])
    assert header[0]["severity"] == "Error" and header[0]["location"][:2] == ["response", "body"]
    assert "width" in header[0]["location"][2] and "'2' is not of type 'integer'" in header[0]["message"]
    assert json.loads(one.headers["sl-violations"])[0]["severity"] == "Warning"
    assert json.loads(teapot.headers["sl-violations"])[0]["code"] == "undocumented-status"
    assert proc.returncode == 1, out
    rows = {r["operation"]: r for r in json.loads((tmp_path / "validation.json").read_text())["operations"]}
    assert {(f["kind"], f["where"]) for f in rows["GET /api/v2/widgets"]["findings"]} == {
        ("schema", "response body $.data[*].attributes.width")
    }
    assert [f["kind"] for f in rows["GET /api/v2/entitlements"]["findings"]] == ["undocumented-status"]
    warning = rows["GET /api/v2/widgets/{id}"]["findings"]
    assert [(f["severity"], f["where"]) for f in warning] == [
        ("warning", "response body $.data.attributes.colour")
    ]
    junit = (tmp_path / "junit.xml").read_text()
    assert junit.count("<failure") == 2 and 'name="GET /api/v2/widgets"' in junit
