"""Resource Guru behaviour: OAuth2 grants, Basic, scoping, rate limits, stateful CRUD, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest

from server.app import create_app
from server.vendors.resourceguru import API, webhooks

DEMO = API.demo
H = DEMO["headers"]
V1 = "/resourceguru/v1"
ACC = f"{V1}/example-corp"
TOKEN_URL = "/resourceguru/oauth/token"
# The seed's password-grant request, as documented.
PASSWORD_GRANT = {
    "grant_type": "password",
    "username": "user@example.com",
    "password": "secret",
    "client_id": "the_client_id",
    "client_secret": "the_client_secret",
}


@pytest.fixture(scope="module")
def app():
    return create_app(["resourceguru"], rate_limit=0)


@pytest.fixture
def client(app):
    app.runtime.reset()
    with app.test_client() as c:
        yield c


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- OAuth2 ----------------------------------------------------------------------------------
def test_password_grant_from_the_seed_returns_a_working_token(client):
    r = client.post(TOKEN_URL, json=PASSWORD_GRANT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 604800
    assert body["access_token"] and body["refresh_token"]
    me = client.get(f"{V1}/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "user@example.com"


def test_password_grant_as_form_body(client):
    r = client.post(TOKEN_URL, data=PASSWORD_GRANT)
    assert r.status_code == 200, r.text
    assert client.get(f"{ACC}/clients", headers=bearer(r.json()["access_token"])).status_code == 200


def test_bad_credentials_are_oauth_errors(client):
    r = client.post(TOKEN_URL, json={**PASSWORD_GRANT, "password": "wrong"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = client.post(TOKEN_URL, json={**PASSWORD_GRANT, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post(TOKEN_URL, json={**PASSWORD_GRANT, "grant_type": "implicit"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_refresh_returns_a_new_pair_and_expires_the_old_token(client):
    first = client.post(TOKEN_URL, json=PASSWORD_GRANT).json()
    r = client.post(
        TOKEN_URL,
        json={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "the_client_id",
            "client_secret": "the_client_secret",
        },
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["access_token"] != first["access_token"]
    assert client.get(f"{V1}/me", headers=bearer(first["access_token"])).status_code == 401
    assert client.get(f"{V1}/me", headers=bearer(second["access_token"])).status_code == 200
    again = client.post(
        TOKEN_URL,
        json={**PASSWORD_GRANT, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_authorize_redirects_with_a_code_that_buys_a_token_once(client):
    params = {
        "client_id": "the_client_id",
        "redirect_uri": "https://localhost/oauth/callback",
        "response_type": "code",
        "state": "xyz",
    }
    r = client.get(
        "/resourceguru/oauth/authorize",
        params=params,
        auth=("user@example.com", "secret"),
        follow_redirects=False,
    )
    assert r.status_code == 302
    location = urlparse(r.headers["location"])
    assert location.netloc == "localhost" and location.path == "/oauth/callback"
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    grant = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": params["redirect_uri"],
        "client_id": "the_client_id",
        "client_secret": "the_client_secret",
    }
    token = client.post(TOKEN_URL, json=grant)
    assert token.status_code == 200, token.text
    assert (
        client.get(f"{ACC}/users/me", headers=bearer(token.json()["access_token"])).json()["email"]
        == "user@example.com"
    )
    assert client.post(TOKEN_URL, json=grant).json()["error"] == "invalid_grant"  # codes are single-use


def test_authorize_refuses_unknown_clients_and_redirects(client):
    base = {
        "client_id": "the_client_id",
        "redirect_uri": "https://localhost/oauth/callback",
        "response_type": "code",
    }
    r = client.get(
        "/resourceguru/oauth/authorize", params={**base, "client_id": "nope"}, follow_redirects=False
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = client.get(
        "/resourceguru/oauth/authorize",
        params={**base, "redirect_uri": "http://evil.example/cb"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = client.get(
        "/resourceguru/oauth/authorize",
        params={**base, "redirect_uri": "https://evil.example/cb"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_basic_auth_works_and_bad_credentials_are_401(client):
    assert client.get(f"{ACC}/resources", auth=("user@example.com", "secret")).status_code == 200
    r = client.get(f"{ACC}/resources", auth=("user@example.com", "nope"))
    assert r.status_code == 401
    error = r.json()["errors"][0]
    assert set(error) == {"name", "date", "code", "message"} and error["code"] == 401
    assert client.get(f"{ACC}/resources").status_code == 401


def test_a_token_of_one_account_cannot_read_another(client):
    assert client.get(f"{V1}/other-corp/clients", headers=H).status_code == 403
    assert client.get(f"{V1}/accounts/2", headers=H).status_code == 403
    assert client.get(f"{V1}/no-such-corp/clients", headers=H).status_code == 404
    other = bearer("2.standin-resourceguru-other-token")
    assert client.get(f"{V1}/other-corp/clients", headers=other).status_code == 200
    assert client.get(f"{ACC}/clients", headers=other).status_code == 403
    assert [a["subdomain"] for a in client.get(f"{V1}/accounts", headers=H).json()] == ["example-corp"]


# -- rate limiting -----------------------------------------------------------------------------
def test_the_201st_request_in_a_minute_is_429_with_headers():
    app = create_app(["resourceguru"], rate_limit=None)
    with app.test_client() as c:
        for i in range(200):
            r = c.get(f"{V1}/me", headers=H)
            assert r.status_code == 200, (i, r.text)
        assert r.headers["X-RateLimit-Limit"] == "200" and r.headers["X-RateLimit-Remaining"] == "0"
        r = c.get(f"{V1}/me", headers=H)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.json()["errors"][0]["code"] == 429
        # Another registered application has its own budget.
        assert c.get(f"{V1}/me", headers=bearer("2.standin-resourceguru-other-token")).status_code == 200


# -- stateful CRUD ---------------------------------------------------------------------------
def test_client_crud_round_trip(client):
    r = client.post(f"{ACC}/clients", json={"name": "Acme", "color": "c0ffee", "notes": "n"}, headers=H)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["color"] == "#c0ffee" and created["archived"] is False
    url = f"{ACC}/clients/{created['id']}"
    assert client.get(url, headers=H).json() == created
    assert created["id"] in [c["id"] for c in client.get(f"{ACC}/clients", headers=H).json()]
    r = client.put(url, json={"name": "Acme Ltd", "archived": True}, headers=H)
    assert r.status_code == 200 and r.json()["name"] == "Acme Ltd"
    assert created["id"] not in [c["id"] for c in client.get(f"{ACC}/clients", headers=H).json()]
    assert created["id"] in [c["id"] for c in client.get(f"{ACC}/clients/archived", headers=H).json()]
    assert client.delete(url, headers=H).status_code == 204
    assert client.get(url, headers=H).status_code == 404
    listed = client.get(f"{ACC}/clients?includeDeleted=1&includeArchived=1", headers=H).json()
    assert [c["deleted"] for c in listed if c["id"] == created["id"]] == [True]


def test_project_refers_to_existing_client_and_activity_types(client):
    r = client.post(f"{ACC}/projects", json={"name": "P", "client_id": 999}, headers=H)
    assert r.status_code == 422
    r = client.post(
        f"{ACC}/projects", json={"name": "P", "client_id": 3, "activity_type_ids": [2]}, headers=H
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["client"]["id"] == 3 and project["account"]["name"] == "Example Corp"
    activity = client.get(f"{ACC}/activity_types/2", headers=H).json()
    assert project["id"] in activity["project_ids"]
    counts = client.get(f"{ACC}/activity_types/2/associations", headers=H).json()
    assert counts["projects"] == len(activity["project_ids"])


def test_resource_created_with_default_availability_then_deleted(client):
    r = client.post(
        f"{ACC}/resources",
        json={"resource_type_id": 1, "first_name": "Ada", "last_name": "Lovelace"},
        headers=H,
    )
    assert r.status_code == 201, r.text
    resource = r.json()
    assert resource["name"] == "Ada Lovelace" and resource["human"] is True
    assert [p["week_day"] for p in resource["available_periods"]] == [1, 2, 3, 4, 5]
    url = f"{ACC}/resources/{resource['id']}"
    body = {"date": "2026-02-02", "available_periods": [{"week_day": 1, "start_time": 600, "end_time": 900}]}
    r = client.post(f"{url}/availability", json=body, headers=H)
    assert r.status_code == 200 and r.json()["clashes"] == []
    periods = client.get(url, headers=H).json()["available_periods"]
    assert {
        "week_day": 1,
        "start_time": 600,
        "end_time": 900,
        "valid_from": "2026-02-02",
        "valid_until": None,
    } in periods
    assert client.put(url, json={"archived": True}, headers=H).json()["archived"] is True
    assert resource["id"] in [x["id"] for x in client.get(f"{ACC}/resources/archived", headers=H).json()]
    assert client.delete(url, headers=H).status_code == 204
    assert client.get(url, headers=H).status_code == 404


def test_custom_field_with_options(client):
    r = client.post(
        f"{ACC}/custom_fields",
        json={
            "label": "Level",
            "type": "single_select",
            "resource_type_ids": [1],
            "custom_field_options": ["Junior", "Senior"],
        },
        headers=H,
    )
    assert r.status_code == 201, r.text
    field = r.json()
    options = client.get(f"{ACC}/custom_field_options?custom_field_id={field['id']}", headers=H).json()
    assert [o["value"] for o in options] == ["Junior", "Senior"]
    types = client.get(f"{ACC}/resource_types/1", headers=H).json()
    assert field["id"] in [f["id"] for f in types["custom_fields"]]
    assert client.delete(f"{ACC}/custom_fields/{field['id']}", headers=H).status_code == 204
    assert client.get(f"{ACC}/custom_field_options/{options[0]['id']}", headers=H).status_code == 404


def test_a_refused_request_changes_nothing(app, client):
    before = app.runtime.store.snapshot()
    r = client.post(
        f"{ACC}/projects", json={"name": "X", "client_id": 3, "activity_type_ids": [1, 999]}, headers=H
    )
    assert r.status_code == 422
    assert client.post(f"{ACC}/clients", json={"name": 5}, headers=H).status_code == 422
    assert client.put(f"{ACC}/resources/1", json={"resource_type_id": 999}, headers=H).status_code == 422
    assert client.post(f"{V1}/other-corp/clients", json={"name": "X"}, headers=H).status_code == 403
    assert app.runtime.store.snapshot() == before


def test_part_two_operations_not_built_answer_501(client):
    r = client.get(f"{ACC}/timesheets", headers=H)
    assert r.status_code == 501 and r.json()["errors"][0]["code"] == 501
    assert client.get(f"{V1}/other-corp/timesheets", headers=H).status_code == 403  # scoping first


def test_booking_crud_round_trip(client):
    body = {
        "resource_id": 1,
        "start_date": "2026-02-02",
        "end_date": "2026-02-08",
        "duration": 240,
        "project_id": 2,
    }
    r = client.post(f"{ACC}/bookings", json=body, headers=H)
    assert r.status_code == 201, r.text
    booking = r.json()
    assert [d["date"] for d in booking["durations"]] == [f"2026-02-0{d}" for d in range(2, 7)]  # Mon-Fri
    project = client.get(f"{ACC}/projects/2", headers=H).json()
    assert booking["client_id"] == project["client_id"] and booking["booker"]["email"] == "user@example.com"
    url = f"{ACC}/bookings/{booking['id']}"
    assert client.get(url, headers=H).json() == booking
    listed = client.get(
        f"{ACC}/bookings?start_date=2026-02-01&end_date=2026-02-28&resource_ids=1", headers=H
    ).json()
    assert booking["id"] in [b["id"] for b in listed]
    assert booking["id"] in [b["id"] for b in client.get(f"{ACC}/projects/2/bookings", headers=H).json()]
    r = client.put(url, json={"end_date": "2026-02-03", "duration": 60}, headers=H)
    assert r.status_code == 200 and len(r.json()["durations"]) == 2
    assert client.put(url, json={"end_date": "2026-01-01"}, headers=H).status_code == 422
    assert client.delete(url, headers=H).status_code == 204
    assert client.get(url, headers=H).status_code == 404


def test_deleting_a_resource_removes_its_bookings(client):
    bookings = client.get(f"{ACC}/resources/2/bookings", headers=H).json()
    assert bookings
    assert client.delete(f"{ACC}/resources/2", headers=H).status_code == 204
    assert client.get(f"{ACC}/bookings/{bookings[0]['id']}", headers=H).status_code == 404
    assert all(b["resource_id"] != 2 for b in client.get(f"{ACC}/bookings", headers=H).json())


def test_downtime_crud_round_trip(client):
    body = {
        "resource_ids": [1, 2],
        "from": "2026-03-02",
        "to": "2026-03-04",
        "start_time": 0,
        "end_time": 1440,
        "downtime_type_id": 1,
    }
    r = client.post(f"{ACC}/downtimes", json=body, headers=H)
    assert r.status_code == 201, r.text
    url = f"{ACC}/downtimes/{r.json()['id']}"
    assert client.get(url, headers=H).json()["resource_ids"] == [1, 2]
    assert client.put(url, json={"details": "Skiing"}, headers=H).json()["details"] == "Skiing"
    assert client.post(f"{ACC}/downtimes", json={**body, "resource_ids": [999]}, headers=H).status_code == 422
    assert client.delete(url, headers=H).status_code == 204
    assert client.get(url, headers=H).status_code == 404


# -- webhooks ----------------------------------------------------------------------------------
class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.status = [], 200
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver
    server.shutdown()


def _wait(predicate, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_webhook_gets_a_signed_payload_when_a_client_is_created(client, receiver):
    url, handler = receiver
    hook = {
        "name": "Sync",
        "payload_url": url,
        "events": ["clients"],
        "secret": "s3cret",
        "send_secret_header": True,
        "paused": False,
    }
    r = client.post(f"{ACC}/webhooks", json=hook, headers=H)
    assert r.status_code == 201, r.text
    hook_id = r.json()["id"]
    created = client.post(f"{ACC}/clients", json={"name": "Hooked"}, headers=H).json()
    assert _wait(lambda: handler.received)
    headers, body = handler.received[0]
    assert headers["User-Agent"] == "ResourceGuru/Webhooks"
    assert headers["X-ResourceGuru-Key"] == "s3cret"
    assert headers["X-ResourceGuru-Signature"] == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    event = json.loads(body)
    assert event["payload"]["id"] == created["id"]
    assert event["payload"]["action"] == "create" and event["payload"]["type"] == "client"
    assert _wait(
        lambda: client.get(f"{ACC}/webhooks/{hook_id}/queue", headers=H).json()[0]["status"] == "delivered"
    )
    queue = client.get(f"{ACC}/webhooks/{hook_id}/queue", headers=H).json()
    assert queue[0]["response_from_http_client"] == 200 and queue[0]["attempts"] == 1
    # Resend delivers the same payload again.
    assert (
        client.post(f"{ACC}/webhooks/{hook_id}/resend", json={"id": queue[0]["id"]}, headers=H).status_code
        == 204
    )
    assert _wait(lambda: len(handler.received) == 2)
    assert handler.received[1][1] == body
    assert client.get(f"{ACC}/webhooks/{hook_id}/test", headers=H).json() == "status: 200"


def test_failed_deliveries_are_retried_and_visible(client, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "FIRST_DELAY", 0.05)
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    url, handler = receiver
    handler.status = 500
    hook = {
        "name": "Down",
        "payload_url": url,
        "events": ["projects"],
        "secret": "",
        "send_secret_header": False,
        "paused": False,
    }
    hook_id = client.post(f"{ACC}/webhooks", json=hook, headers=H).json()["id"]
    assert client.post(f"{ACC}/projects", json={"name": "Retry me"}, headers=H).status_code == 201
    queue = f"{ACC}/webhooks/{hook_id}/queue"
    assert _wait(lambda: client.get(queue, headers=H).json()[0]["status"] == "failed")
    payload = client.get(queue, headers=H).json()[0]
    assert payload["attempts"] == 3 and payload["response_from_http_client"] == 500
    assert "X-ResourceGuru-Signature" not in handler.received[0][0]  # no secret, no signature
    assert client.get(f"{ACC}/webhooks/{hook_id}", headers=H).json()["status"] == "failed"


def test_paused_and_unsubscribed_webhooks_get_nothing(client, receiver):
    url, handler = receiver
    base = {"payload_url": url, "secret": "x", "send_secret_header": True}
    client.post(
        f"{ACC}/webhooks", json={**base, "name": "Paused", "events": ["clients"], "paused": True}, headers=H
    )
    client.post(
        f"{ACC}/webhooks", json={**base, "name": "Other", "events": ["bookings"], "paused": False}, headers=H
    )
    client.post(f"{ACC}/clients", json={"name": "Quiet"}, headers=H)
    time.sleep(0.3)
    assert handler.received == []
