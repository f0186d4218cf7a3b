"""Resource Guru's four action endpoints at the vendor's paths, with the state behind them.

`POST bookings/{id}/resolve` approves or declines per resource, `POST bookings/{id}/remind`
records the reminder in the booking's activities, `POST timesheets/{id}/dismiss` hides the entry
from listings, `POST|GET webhooks/{id}/test` delivers a signed test payload. One scenario runs
in-process and against a separately started `standin serve`, with a local payload receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from server.app import create_app
from server.vendors.resourceguru import API

H = API.demo["headers"]
DAY = "2030-04-01"  # a Monday far from the fixtures' weeks
SECRET = "s3cret"


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()


def _ok(r, status):
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _person(http, acc, first):
    body = {"resource_type_id": 1, "first_name": first, "last_name": "Tester"}
    return _ok(http.post(f"{acc}/resources", json=body, headers=H), 201)["id"]


def _state(http, acc, rid):
    """The approval state of the one booking resource `rid` has on DAY."""
    (booking,) = _ok(
        http.get(f"{acc}/resources/{rid}/bookings?start_date={DAY}&end_date={DAY}", headers=H), 200
    )
    return booking["approval_state"]


def _approvals_scenario(http, v1):
    acc = f"{v1}/example-corp"
    users = _ok(http.get(f"{acc}/users", headers=H), 200)
    approver = next(u for u in users if u["email"] != "user@example.com")
    settings = {"booking_approvals": True, "default_booking_approver_ids": [approver["id"]]}
    _ok(http.put(f"{v1}/accounts/1", json={**settings, "apply_to_all_resources": False}, headers=H), 200)
    a, b = _person(http, acc, "Ann"), _person(http, acc, "Bob")
    body = {"resource_ids": [a, b], "start_date": DAY, "end_date": DAY, "duration": 120}
    booking = _ok(http.post(f"{acc}/bookings", json=body, headers=H), 201)
    url = f"{acc}/bookings/{booking['id']}"
    assert _state(http, acc, a)["status"] == _state(http, acc, b)["status"] == "pending"

    assert _ok(http.post(f"{url}/remind", json={}, headers=H), 204) is None
    log = _ok(http.get(f"{url}/activities", headers=H), 200)
    assert [x["action"] for x in log] == ["create", "remind"]
    assert log[1]["next_state"]["approval_state"]["status"] == "pending"  # a reminder changes nothing

    # Refused: a resource that is not the booking's, a missing booking; nothing changes.
    bad = {"resolution": "approved", "resource_ids": [999999]}
    assert _ok(http.post(f"{url}/resolve", json=bad, headers=H), 422)["errors"][0]["code"] == 422
    missing = f"{acc}/bookings/999999/resolve"
    _ok(http.post(missing, json={"resolution": "approved", "resource_ids": [a]}, headers=H), 404)
    assert _state(http, acc, a)["status"] == "pending"

    _ok(http.post(f"{url}/resolve", json={"resolution": "approved", "resource_ids": [a]}, headers=H), 204)
    declined = {"resolution": "declined", "resource_ids": [b], "reason": "On leave"}
    _ok(http.post(f"{url}/resolve", json=declined, headers=H), 204)
    assert _state(http, acc, a)["status"] == "approved"
    assert _state(http, acc, b)["status"] == "declined" and _state(http, acc, b)["message"] == "On leave"
    aggregated = _ok(http.get(url, headers=H), 200)["aggregated_approval_state"]
    assert [x["resource_id"] for x in aggregated["approved"]] == [a]
    assert [x["resource_id"] for x in aggregated["declined"]] == [b]

    # The paths Standin used to serve are gone (the spec is the only source).
    _ok(http.put(f"{url}/approval", json={"resolution": "approved", "resource_ids": [a]}, headers=H), 404)
    _ok(http.post(f"{url}/remind_approvers", json={}, headers=H), 404)


def _dismiss_scenario(http, v1):
    acc = f"{v1}/example-corp"
    entry = _ok(
        http.post(f"{acc}/timesheets", json={"resource_id": 1, "date": DAY, "duration": 30}, headers=H), 201
    )
    listing = f"{acc}/timesheets?start_date={DAY}&end_date={DAY}"
    assert [e["id"] for e in _ok(http.get(listing, headers=H), 200)] == [entry["id"]]
    assert _ok(http.put(f"{acc}/timesheets/{entry['id']}/dismiss", headers=H), 405)
    assert _ok(http.post(f"{acc}/timesheets/{entry['id']}/dismiss", headers=H), 204) is None
    assert _ok(http.get(listing, headers=H), 200) == []
    _ok(http.post(f"{acc}/timesheets/999999/dismiss", headers=H), 404)


def _webhook_test_scenario(http, v1, receiver):
    acc = f"{v1}/example-corp"
    url, received = receiver
    hook = {"name": "Test", "payload_url": url, "events": ["clients"], "secret": SECRET}
    hook = _ok(
        http.post(f"{acc}/webhooks", json={**hook, "send_secret_header": True, "paused": False}, headers=H),
        201,
    )
    for send in (http.post, http.get):  # POST today; GET as the older docs had it
        assert _ok(send(f"{acc}/webhooks/{hook['id']}/test", headers=H), 200) == "status: 200"
    assert len(received) == 2  # the answer waits for the delivery
    for headers, body in received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-ResourceGuru-Signature"] == expected
        assert headers["X-ResourceGuru-Key"] == SECRET
    _ok(http.post(f"{acc}/webhooks/999999/test", headers=H), 404)


@pytest.fixture(scope="module")
def app():
    return create_app(["resourceguru"], rate_limit=0)


@pytest.fixture
def client(app):
    app.runtime.reset()
    with app.test_client() as c:
        yield c


def test_resolve_and_remind_in_process(client):
    _approvals_scenario(client, "/resourceguru/v1")


def test_dismiss_in_process(client):
    _dismiss_scenario(client, "/resourceguru/v1")


def test_webhook_test_in_process(client, receiver):
    _webhook_test_scenario(client, "/resourceguru/v1", receiver)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_four_actions_over_http_against_standin_serve(receiver):
    port = _free_port()
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), "--api", "resourceguru"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(150):
                try:
                    http.get("/v1/me", headers=H)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            _approvals_scenario(http, "/v1")
            _dismiss_scenario(http, "/v1")
            _webhook_test_scenario(http, "/v1", receiver)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
