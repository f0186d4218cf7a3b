"""Webhooks cannot exhaust threads or reach Standin itself (issue 18, items 5 and 7).

Deliveries go through a fixed pool (server/vendors/resourceguru/webhooks.py); a hook or a test
aimed at Standin's own listening address is treated as unreachable, and an unreachable test URL
answers alike whether its port is closed or silent.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from server.app import create_app
from server.vendors.resourceguru import API, webhooks
from tests.live import free_port, serve

H = API.demo["headers"]


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a stuck receiver, or a filtered port
    as far as a client can tell before its timeout)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        yield listener.getsockname()[1]


def _hook(url: str, n: int) -> dict:
    return {
        "name": f"Stuck {n}",
        "payload_url": url,
        "events": ["clients"],
        "secret": "",
        "send_secret_header": False,
        "paused": False,
    }


def test_deliveries_to_a_receiver_that_never_answers_use_a_fixed_pool(silent_port, monkeypatch):
    """20 hooks x 10 events: 200 payloads in flight, never more than WORKERS delivery threads
    (before: one thread per delivery, 2,007 threads for 20 hooks x 100 events)."""
    monkeypatch.setattr(webhooks, "POOL", webhooks.DeliveryPool(webhooks.WORKERS))
    # threads of the pool that earlier tests in this process used are not this pool's
    before = {t.ident for t in threading.enumerate()}
    app = create_app(["resourceguru"], rate_limit=0)
    acc = "/resourceguru/v1/example-corp"
    with app.test_client() as client:
        for n in range(20):
            assert client.post(
                f"{acc}/webhooks", json=_hook(f"http://127.0.0.1:{silent_port}/", n), headers=H
            )
        for n in range(10):
            assert client.post(f"{acc}/clients", json={"name": f"c{n}"}, headers=H).status_code == 201
        time.sleep(0.3)  # let the pool start what it will
        delivering = [
            t for t in threading.enumerate() if t.name == "standin-webhooks" and t.ident not in before
        ]
        assert 0 < len(delivering) <= webhooks.WORKERS
        pending = len(webhooks.POOL._due) + len(delivering)
        assert pending >= 100  # the rest waits in the queue, not in threads
        app.runtime.reset()  # a reset drops them: each job finds its payload gone


def test_a_test_url_answers_alike_for_a_closed_and_a_silent_port(silent_port, monkeypatch):
    """The vendor documents only "a 500 if there are problems connecting": a closed port must not
    answer sooner or differently than one that never answers (before: 10 ms vs 3 s)."""
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.4)
    app = create_app(["resourceguru"], rate_limit=0)
    acc = "/resourceguru/v1/example-corp"
    closed = free_port()
    answers = []
    with app.test_client() as client:
        for port in (closed, silent_port):
            started = time.monotonic()
            r = client.post(
                f"{acc}/webhooks/test_url", json={"payload_url": f"http://127.0.0.1:{port}/"}, headers=H
            )
            errors = [{k: v for k, v in e.items() if k != "date"} for e in r.json()["errors"]]
            answers.append((r.status_code, errors, time.monotonic() - started))
    (closed_status, closed_body, closed_took), (silent_status, silent_body, _) = answers
    assert (closed_status, closed_body) == (silent_status, silent_body)
    assert closed_status == 422
    assert closed_took >= 0.4  # a lower bound only: the closed port waited the same timeout


def test_hooks_and_test_urls_never_reach_standin_itself():
    """A tenant pointing a webhook at Standin's own /_standin/reset changes nothing (before: a
    Resource Guru user could wipe every tenant this way)."""
    with (
        serve("--api", "resourceguru", "--rate-limit", "0") as base,
        httpx.Client(base_url=base, timeout=20) as http,
    ):
        created = http.post("/v1/example-corp/clients", json={"name": "Survivor"}, headers=H)
        assert created.status_code == 201
        own = [f"{base}/_standin/reset", base.replace("127.0.0.1", "localhost") + "/_standin/reset"]
        for url in own:
            r = http.post("/v1/example-corp/webhooks/test_url", json={"payload_url": url}, headers=H)
            assert r.status_code == 422, r.text
        hook = http.post("/v1/example-corp/webhooks", json=_hook(own[0], 0), headers=H)
        assert hook.status_code == 201, hook.text
        assert http.post(f"/v1/example-corp/webhooks/{hook.json()['id']}/test", headers=H).status_code == 500
        http.post("/v1/example-corp/clients", json={"name": "Trigger"}, headers=H)
        queue = f"/v1/example-corp/webhooks/{hook.json()['id']}/queue"
        for _ in range(100):
            rows = http.get(queue, headers=H).json()
            if rows and rows[0]["attempts"]:
                break
            time.sleep(0.05)
        assert rows[0]["response_from_http_client"] is None
        assert http.get(f"/v1/example-corp/clients/{created.json()['id']}", headers=H).status_code == 200
