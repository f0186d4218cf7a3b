"""The request journal: what it records, its filters, its bound; and the README's curl examples."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import time
import tracemalloc
from collections import deque
from pathlib import Path

import pytest

from server import journal as journal_module
from server.app import create_app
from tests.live import serve

PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
RG = {"Authorization": "Bearer 1.standin-resourceguru-demo-token"}
ACC = "/resourceguru/v1/example-corp"
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def app():
    return create_app(rate_limit=0, journal=50)


@pytest.fixture
def client(app):
    app.runtime.reset()
    app.runtime.journal.clear()
    app.runtime.steering.remove(None)
    with app.test_client() as c:
        yield c


def test_an_exchange_is_recorded_with_its_operation_and_masked_credentials(client):
    body = {"name": "Journaled client"}
    r = client.post(f"{ACC}/clients?x=1", json=body, headers={**RG, "Prefer": "code=201"})
    assert r.status_code == 201
    client.get("/_standin/health")  # the control API is not journaled
    [entry] = client.get("/_standin/requests").json()["requests"]
    assert entry["api"] == "resourceguru" and entry["operation_id"] == "clients_create"
    assert entry["path_template"] == "/v1/{account}/clients"
    request, response = entry["request"], entry["response"]
    assert request["line"] == f"POST {ACC}/clients?x=1 HTTP/1.1"
    assert request["headers"]["authorization"] == "Bearer ****oken"
    assert "standin-resourceguru" not in str(entry)
    assert (
        request["body"] == '{"name":"Journaled client"}'
        or request["body"].replace(" ", "") == '{"name":"Journaledclient"}'
    )
    assert response["status"] == 201 and '"Journaled client"' in response["body"]
    assert response["headers"]["content-type"].startswith("application/json")
    assert entry["applied"] == ["prefer code=201"] and entry["duration_ms"] > 0


def test_filters_count_and_clear(client):
    before = time.time()
    client.get("/productive/api/v2/widgets", headers=PRODUCTIVE)
    client.get("/productive/api/v2/widgets/1", headers=PRODUCTIVE)
    client.get("/productive/api/v2/widgets/999999", headers=PRODUCTIVE)
    client.get(f"{ACC}/resources", headers=RG)

    def count(**filters) -> int:
        r = client.get("/_standin/requests/count", params=filters)
        assert r.status_code == 200, r.text
        return r.json()["count"]

    assert count() == 4 and count(api="productive") == 3 and count(method="get") == 4
    assert count(operation_id="widgets_get") == 2 and count(status=404) == 1
    assert count(path="/productive/api/v2/widgets/*") == 2 and count(path=f"{ACC}/resources") == 1
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before - 1))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    assert count(since=stamp) == 4 and count(since=later) == 0
    listed = client.get("/_standin/requests", params={"api": "productive", "limit": 2}).json()["requests"]
    assert [e["request"]["path"] for e in listed] == [
        "/productive/api/v2/widgets/999999",
        "/productive/api/v2/widgets/1",
    ]
    assert client.get("/_standin/requests/count", params={"since": "yesterday"}).status_code == 400
    assert client.delete("/_standin/requests").status_code == 204
    assert count() == 0


def test_bodies_are_kept_up_to_the_cap(client):
    big = "x" * (journal_module.BODY_CAP + 1000)
    client.post("/ibuildapp/api/demo/user/search", json={"q": big})
    [entry] = client.get("/_standin/requests").json()["requests"]
    assert entry["request"]["body_truncated"] and len(entry["request"]["body"]) == journal_module.BODY_CAP
    assert entry["request"]["body_size"] > journal_module.BODY_CAP


# -- the bound ---------------------------------------------------------------------------------


def _scope(method: str, path: str, headers: list) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
    }


def _traffic(app, count: int) -> int:
    """`count` exchanges through the ASGI app: mostly CORS preflights (the cheapest exchange the
    journal records), every 50th a read, every 1000th a POST whose body is past the cap.
    Returns the bytes allocated during them that are still held at the end."""
    preflight = [(b"origin", b"http://x"), (b"access-control-request-method", b"GET")]
    read = [(b"x-auth-token", b"standin-productive-demo-token"), (b"x-organization-id", b"1308")]
    post = [*read, (b"content-type", b"application/vnd.api+json")]
    big = b'{"data": "' + b"x" * 100_000 + b'"}'

    async def send(message):
        pass

    async def run():
        for i in range(count):
            body = big if i % 1000 == 999 else b""

            async def receive(body=body):
                return {"type": "http.request", "body": body, "more_body": False}

            if body:
                scope = _scope("POST", "/productive/api/v2/widgets", post)
            elif i % 50 == 49:
                scope = _scope("GET", "/productive/api/v2/widgets", read)
            else:
                scope = _scope("OPTIONS", "/productive/api/v2/widgets", preflight)
            await app(scope, receive, send)

    asyncio.run(run())


def _held_after(app, warm: int, traced: int) -> int:
    _traffic(app, warm)
    tracemalloc.start()
    try:
        _traffic(app, traced)
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


BOUND = 8 * 1024 * 1024  # 1,000 exchanges of a few KB, and the bodies past the cap among them


def test_the_journal_stays_at_n_entries_and_under_a_fixed_bound_after_100000_requests():
    app = create_app(["productive"], rate_limit=0)  # the default journal: 1,000 exchanges
    held = _held_after(app, 90_000, 10_000)  # the last 10,000 replace the ring's every entry
    assert len(app.runtime.journal.entries) == 1000 and app.runtime.journal.seq == 100_000
    assert held < BOUND, held


def test_the_bound_check_fails_for_an_unbounded_journal(monkeypatch):
    """The check above against a broken variant: a journal that keeps every exchange."""

    class Unbounded(journal_module.Journal):
        def __init__(self, size: int = 1000) -> None:
            super().__init__(size)
            self.entries = deque()

    monkeypatch.setattr("server.app.Journal", Unbounded)
    app = create_app(["productive"], rate_limit=0)
    held = _held_after(app, 0, 10_000)
    assert len(app.runtime.journal.entries) == 10_000 and held >= BOUND, held


# -- the README's examples, run as written against `standin serve` ------------------------------


def readme_commands(section: str) -> list[str]:
    """The shell commands of a README section's ```sh blocks (continuation lines joined)."""
    text = README.read_text(encoding="utf-8")
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", part, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.split(" # ")[0].strip())
    return commands


def _run(command: str, base: str) -> str:
    assert command.startswith("curl "), command
    argv = [a.replace("http://localhost:8000", base) for a in shlex.split(command)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def test_readme_examples_work():
    """Each curl of the two sections, run as written (but for the port) against `standin serve`."""
    steering = readme_commands("Testing your UI's error states")
    journal = readme_commands("Verifying what your client sent")
    with serve() as base:
        outputs = [_run(c, base) for c in steering]
        assert outputs[0].startswith("HTTP/1.1 429")
        head = outputs[0].lower()
        assert (
            "retry-after:" in head
            and "x-ratelimit-remaining: 0" in head
            and "access-control-allow-origin: *" in head
        )
        assert '"id":1' in outputs[1] and outputs[2].startswith("HTTP/1.1 503")
        assert '"hits":1' in outputs[3] and outputs[4] == ""
        outputs = [_run(c, base) for c in journal]
        assert '"type":"widgets"' in outputs[0]
        assert outputs[1].strip() == '{"count":1}'
        assert '"operation_id":"widgets_create"' in outputs[2] and '"status":201' in outputs[2]
