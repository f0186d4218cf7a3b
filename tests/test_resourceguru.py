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
    before = app.runtime.stores["resourceguru"].snapshot()
    r = client.post(
        f"{ACC}/projects", json={"name": "X", "client_id": 3, "activity_type_ids": [1, 999]}, headers=H
    )
    assert r.status_code == 422
    assert client.post(f"{ACC}/clients", json={"name": 5}, headers=H).status_code == 422
    assert client.put(f"{ACC}/resources/1", json={"resource_type_id": 999}, headers=H).status_code == 422
    assert client.post(f"{V1}/other-corp/clients", json={"name": "X"}, headers=H).status_code == 403
    assert app.runtime.stores["resourceguru"].snapshot() == before


def test_part_two_operations_are_scoped_to_the_account(client):
    assert client.get(f"{ACC}/timesheets", headers=H).status_code == 200
    assert client.get(f"{V1}/other-corp/timesheets", headers=H).status_code == 403
    query = "start_date=2026-01-01&end_date=2026-01-31"
    assert client.get(f"{V1}/other-corp/reports/resources?{query}", headers=H).status_code == 403


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
    assert client.post(f"{ACC}/webhooks/{hook_id}/test", headers=H).json() == "status: 200"


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


# -- part 2: scheduling ------------------------------------------------------------------------
WEEK = ("2030-03-04", "2030-03-10")  # Monday to Sunday, far from the fixtures' weeks
REPORT = f"start_date={WEEK[0]}&end_date={WEEK[1]}"


def _person(client, name="Grace Hopper") -> int:
    first, last = name.split()
    r = client.post(
        f"{ACC}/resources", json={"resource_type_id": 1, "first_name": first, "last_name": last}, headers=H
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _book(client, **body):
    return client.post(f"{ACC}/bookings", json=body, headers=H)


def test_a_week_of_8_hour_days_reads_back_in_the_resource_report(client):
    rid = _person(client)
    before = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert before["availability"] == 5 * 480 and before["booked"] == 0
    r = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[1], duration=480, billable=True)
    assert r.status_code == 201, r.text
    assert [d["date"][-2:] for d in r.json()["durations"]] == ["04", "05", "06", "07", "08"]
    after = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert after["booked"] - before["booked"] == 5 * 480
    assert after["unbooked"] == 0 and after["utilization"] == 1.0
    listing = client.get(f"{ACC}/reports/resources?{REPORT}", headers=H).json()
    assert next(x for x in listing["resources"] if x["id"] == rid)["booked"] == 2400
    v2 = client.get(f"{ACC}/reports/v2/resources/{rid}?{REPORT}", headers=H).json()
    assert v2["scheduled"]["billable"] == {"days": 5.0, "hours": 40.0, "minutes": 2400}
    assert v2["unscheduled"]["minutes"] == 0


def test_creating_a_booking_changes_every_report_by_exactly_its_minutes(client):
    urls = ["reports/resources", "reports/clients", "reports/projects", "reports/v2/resources"]
    query = "start_date=2026-01-01&end_date=2026-12-31"
    before = {u: client.get(f"{ACC}/{u}?{query}", headers=H).json() for u in urls}
    rid = _person(client)
    r = _book(
        client, resource_id=rid, start_date="2026-06-01", end_date="2026-06-03", duration=90, project_id=2
    )
    assert r.status_code == 201, r.text
    after = {u: client.get(f"{ACC}/{u}?{query}", headers=H).json() for u in urls}
    for u in urls[:3]:
        assert after[u]["booked"] - before[u]["booked"] == 270, u
    assert (
        after[urls[3]]["scheduled"]["total"]["minutes"] - before[urls[3]]["scheduled"]["total"]["minutes"]
        == 270
    )


def test_a_clash_goes_to_the_waiting_list_when_asked(client):
    rid = _person(client)
    assert (
        _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=360).status_code == 201
    )
    clash = {"resource_id": rid, "start_date": WEEK[0], "end_date": WEEK[0], "duration": 240}
    r = _book(client, **clash)
    assert r.status_code == 422 and "fully booked" in r.json()["errors"][0]["message"]
    r = _book(client, **clash, clash_resolution="add_to_waiting_list")
    assert r.status_code == 201 and r.json()["durations"][0]["waiting"] is True
    waiting = client.get(f"{ACC}/bookings?waiting=1&resource_ids={rid}", headers=H).json()
    assert [b["id"] for b in waiting] == [r.json()["id"]]
    report = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert report["booked"] == 360 and report["waiting_list"] == 240
    r = _book(client, **clash, clash_resolution="book_with_overtime")
    assert r.status_code == 201 and r.json()["durations"][0]["elastic_overtime"]
    r = _book(client, **clash, clash_resolution="increase_availability")
    assert r.status_code == 201
    overtime = client.get(f"{ACC}/resources/{rid}", headers=H).json()["overtimes"]
    assert [(o["date"], o["duration"]) for o in overtime] == [(WEEK[0], 240)]  # over 360 + 240


def test_time_off_is_a_clash_and_reports_as_time_off(client):
    rid = _person(client)
    body = {
        "resource_ids": [rid],
        "from": "2030-03-05",
        "to": "2030-03-05",
        "start_time": 0,
        "end_time": 1440,
    }
    assert client.post(f"{ACC}/downtimes", json={**body, "downtime_type_id": 2}, headers=H).status_code == 201
    r = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[1], duration=480)
    assert r.status_code == 422
    report = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert report["availability"] == 4 * 480 and report["sick_downtime"] == 480
    clashes = client.post(
        f"{ACC}/downtimes/clashes", json={**body, "from": WEEK[0], "to": WEEK[0]}, headers=H
    )
    assert clashes.status_code == 200 and clashes.json() == []


def test_a_new_time_off_moves_clashing_bookings_to_the_waiting_list(client):
    rid = _person(client)
    booking = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=480).json()
    probe = {"resource_ids": [rid], "from": WEEK[0], "to": WEEK[0], "start_time": 540, "end_time": 720}
    clashes = client.post(f"{ACC}/downtimes/clashes", json=probe, headers=H).json()
    assert clashes == [{"id": booking["id"], "repeat_booking_id": None, "date": WEEK[0], "resource_id": rid}]
    refused = client.post(f"{ACC}/downtimes", json={**probe, "block_by_clashes": True}, headers=H)
    assert refused.status_code == 422
    assert client.post(f"{ACC}/downtimes", json=probe, headers=H).status_code == 201
    assert client.get(f"{ACC}/bookings/{booking['id']}", headers=H).json()["durations"][0]["waiting"] is True


def test_split_and_delete_following_on_a_repeat_booking(client):
    rid = _person(client)
    rrule = {"weekly": {"interval": 1, "ends": {"type": "count", "count": 6}}}
    r = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=60, rrule=rrule)
    assert r.status_code == 201, r.text
    group = r.json()["group_id"]
    series = client.get(f"{ACC}/bookings?group_id={group}", headers=H).json()
    assert [b["sequence_no"] for b in series] == [0, 1, 2, 3, 4, 5]
    assert [b["start_date"] for b in series][:2] == ["2030-03-04", "2030-03-11"]
    split = client.post(f"{ACC}/bookings/{series[0]['id']}/split", json={"date": "2030-03-18"}, headers=H)
    assert split.status_code == 200, split.text
    first, second = split.json()
    assert first["group_id"] == group and second["start_date"] == "2030-03-18"
    tail = client.get(f"{ACC}/bookings?group_id={second['group_id']}", headers=H).json()
    assert [b["sequence_no"] for b in tail] == [0, 1, 2, 3]
    assert len(client.get(f"{ACC}/bookings?group_id={group}", headers=H).json()) == 2
    r = client.delete(f"{ACC}/bookings/{tail[2]['id']}?affects=following", headers=H)
    assert r.status_code == 204
    left = client.get(f"{ACC}/bookings?resource_ids={rid}", headers=H).json()
    assert [b["start_date"] for b in left] == ["2030-03-04", "2030-03-11", "2030-03-18", "2030-03-25"]
    r = client.delete(f"{ACC}/bookings/{left[0]['id']}?affects=all", headers=H)
    assert [b["start_date"] for b in client.get(f"{ACC}/bookings?resource_ids={rid}", headers=H).json()] == [
        "2030-03-18",
        "2030-03-25",
    ]


def test_splitting_a_booking_and_removing_one_date(client):
    rid = _person(client)
    b = _book(client, resource_id=rid, start_date=WEEK[0], end_date="2030-03-08", duration=60).json()
    r = client.request("DELETE", f"{ACC}/bookings/{b['id']}", json={"date": "2030-03-06"}, headers=H)
    assert r.status_code == 204
    left = client.get(f"{ACC}/bookings?resource_ids={rid}", headers=H).json()
    assert [(x["start_date"], x["end_date"]) for x in left] == [
        ("2030-03-04", "2030-03-05"),
        ("2030-03-07", "2030-03-08"),
    ]
    r = client.post(f"{ACC}/bookings/{left[0]['id']}/split", json={"date": "2030-03-05"}, headers=H)
    assert [(x["start_date"], x["end_date"]) for x in r.json()] == [
        ("2030-03-04", "2030-03-04"),
        ("2030-03-05", "2030-03-05"),
    ]
    assert (
        client.post(
            f"{ACC}/bookings/{left[0]['id']}/split", json={"date": "2031-01-01"}, headers=H
        ).status_code
        == 422
    )


def test_several_resources_are_booked_together(client):
    a, b = _person(client, "Ann Lee"), _person(client, "Bob Ray")
    r = _book(client, resource_ids=[a, b], start_date=WEEK[0], end_date=WEEK[0], duration=120)
    assert r.status_code == 201, r.text
    assert r.json()["resource_ids"] == [a, b]
    ids = [x["booking_id"] for x in r.json()["aggregated_approval_state"]["without_approval"]]
    assert len(ids) == 2
    for rid in (a, b):
        assert len(client.get(f"{ACC}/resources/{rid}/bookings", headers=H).json()) == 1


def test_approvals_flow_pending_to_approved_with_an_activity_log(client):
    users = client.get(f"{ACC}/users", headers=H).json()
    approver = next(u for u in users if u["email"] != "user@example.com")
    r = client.put(
        f"{V1}/accounts/1",
        json={
            "booking_approvals": True,
            "default_booking_approver_ids": [approver["id"]],
            "apply_to_all_resources": False,
        },
        headers=H,
    )
    assert r.status_code == 200, r.text
    rid = _person(client)
    booking = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=60).json()
    assert booking["approval_state"]["status"] == "pending"
    url = f"{ACC}/bookings/{booking['id']}"
    pending = client.get(f"{ACC}/bookings?approval_states=pending&resource_ids={rid}", headers=H).json()
    assert [b["id"] for b in pending] == [booking["id"]]
    assert client.post(f"{url}/remind", json={"resource_ids": [rid]}, headers=H).status_code == 204
    r = client.post(f"{url}/resolve", json={"resolution": "approved", "resource_ids": [rid]}, headers=H)
    assert r.status_code == 204
    assert client.get(url, headers=H).json()["approval_state"]["status"] == "approved"
    log = client.get(f"{url}/activities", headers=H).json()
    assert [a["action"] for a in log] == ["create", "remind", "approved"]
    assert log[2]["previous_state"]["approval_state"]["status"] == "pending"
    assert log[2]["next_state"]["approval_state"]["status"] == "approved"


def test_availability_change_answers_400_with_clashes_or_moves_to_waiting(client):
    rid = _person(client)
    booking = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=480).json()
    short = {"date": "2030-03-01", "available_periods": [{"week_day": 1, "start_time": 540, "end_time": 780}]}
    before = client.get(f"{ACC}/resources/{rid}", headers=H).json()
    r = client.post(f"{ACC}/resources/{rid}/availability", json={**short, "allow_waiting": False}, headers=H)
    assert r.status_code == 400 and r.json()["clashes"][0]["id"] == booking["id"]
    assert client.get(f"{ACC}/resources/{rid}", headers=H).json() == before
    r = client.post(f"{ACC}/resources/{rid}/availability", json=short, headers=H)
    assert r.status_code == 200 and r.json()["allowClashResolution"] is True
    assert client.get(f"{ACC}/bookings/{booking['id']}", headers=H).json()["durations"][0]["waiting"] is True


def test_custom_availability_set_list_and_reset(client):
    rid = _person(client)
    body = {
        "custom_available_periods": {
            "resource_instance_id": rid,
            "start_date": WEEK[0],
            "end_date": "2030-03-05",
            "days": {"1": {"time_blocks": [{"start_time": 540, "end_time": 600}]}},
        }
    }
    r = client.post(f"{ACC}/custom_available_periods", json=body, headers=H)
    assert r.status_code == 200 and r.json()["errors"] == {}
    listed = client.get(f"{ACC}/custom_available_periods?resource_ids[]={rid}", headers=H).json()
    assert listed[0]["custom_available_periods"][0] == {"date": WEEK[0], "start_time": 540, "end_time": 600}
    report = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert report["availability"] == 60 + 0 + 3 * 480  # Monday 1 hour, Tuesday closed
    booking = _book(client, resource_id=rid, start_date=WEEK[0], end_date="2030-03-06", duration=60).json()
    assert [d["date"] for d in booking["durations"]] == [WEEK[0], "2030-03-06"]
    reset = {"resource_instance_id": rid, "dates": [WEEK[0], "2030-03-05"]}
    r = client.post(f"{ACC}/custom_available_periods/reset", json=reset, headers=H)
    assert r.status_code == 200 and r.json()["clashes"] == []
    report = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert report["availability"] == 5 * 480


def test_downtime_split_and_overtime(client):
    rid = _person(client)
    body = {"resource_ids": [rid], "from": WEEK[0], "to": "2030-03-08", "start_time": 0, "end_time": 1440}
    dt_ = client.post(f"{ACC}/downtimes", json=body, headers=H).json()
    r = client.post(f"{ACC}/downtimes/{dt_['id']}/split", json={"date": "2030-03-06"}, headers=H)
    assert r.status_code == 200
    assert [(x["from"], x["to"]) for x in r.json()] == [(WEEK[0], "2030-03-05"), ("2030-03-06", "2030-03-08")]
    found = client.get(f"{ACC}/downtimes?resource_ids={rid}&from={WEEK[0]}&to={WEEK[1]}", headers=H).json()
    assert len(found) == 2
    assert (
        client.post(
            f"{ACC}/overtimes", json={"resource_id": rid, "date": "2030-03-09", "duration": 120}, headers=H
        ).status_code
        == 204
    )
    report = client.get(f"{ACC}/reports/resources/{rid}?{REPORT}", headers=H).json()
    assert report["availability"] == 120


def test_timesheets_and_calendars(client):
    r = client.post(f"{ACC}/timesheets", json={"resource_id": 1, "date": WEEK[0], "duration": 90}, headers=H)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert client.put(f"{ACC}/timesheets/{entry['id']}", json={"notes": "Done"}, headers=H).status_code == 204
    listed = client.get(f"{ACC}/timesheets?start_date={WEEK[0]}&end_date={WEEK[0]}", headers=H).json()
    assert listed == [{**entry, "notes": "Done", "updated_at": listed[0]["updated_at"]}]
    assert client.post(f"{ACC}/timesheets/{entry['id']}/dismiss", headers=H).status_code == 204
    assert client.get(f"{ACC}/timesheets?start_date={WEEK[0]}&end_date={WEEK[0]}", headers=H).json() == []
    assert client.post(f"{ACC}/timesheets/submit?start_date={WEEK[0]}", headers=H).status_code == 204
    calendars = client.get(f"{ACC}/calendars", headers=H).json()
    assert calendars and client.get(f"{ACC}/calendars/external_events", headers=H).json()
    cal = calendars[0]
    off = [{"calendar_id": c["id"], "sync": False} for c in cal["incoming_calendars"]]
    r = client.put(f"{ACC}/calendars/{cal['id']}", json={"incoming_calendar_subscriptions": off}, headers=H)
    assert r.status_code == 200 and not any(c["sync"] for c in r.json()["incoming_calendars"])
    assert client.delete(f"{ACC}/calendars/{cal['id']}", headers=H).status_code == 204
    assert client.get(f"{ACC}/calendars/{cal['id']}", headers=H).status_code == 404


def test_webhooks_fire_for_bookings_and_time_off(client, receiver):
    url, rec = receiver
    hook = {
        "name": "Ops",
        "payload_url": url,
        "events": ["bookings", "downtimes"],
        "secret": "s",
        "send_secret_header": False,
        "paused": False,
    }
    assert client.post(f"{ACC}/webhooks", json=hook, headers=H).status_code == 201
    rid = _person(client)
    b = _book(client, resource_id=rid, start_date=WEEK[0], end_date=WEEK[0], duration=60).json()
    client.delete(f"{ACC}/bookings/{b['id']}", headers=H)
    body = {"resource_ids": [rid], "from": WEEK[0], "to": WEEK[0], "start_time": 0, "end_time": 1440}
    client.post(f"{ACC}/downtimes", json=body, headers=H)
    expected = {("booking", "create"), ("booking", "delete"), ("downtime", "create")}

    def kinds():  # deliveries run in parallel threads: wait for all three, in any order
        return {
            (json.loads(b)["payload"]["type"], json.loads(b)["payload"]["action"]) for _, b in rec.received
        }

    assert _wait(lambda: expected <= kinds()), kinds()


def test_non_ascii_credentials_are_refused_not_crashed(client):
    """compare_digest refuses non-ASCII str: credentials are compared as bytes (found by schemathesis)."""
    form = {
        "grant_type": "password",
        "client_id": "the_client_id",
        "client_secret": "sécret",
        "username": "user@example.com",
        "password": "pässword",
    }
    assert client.post("/resourceguru/oauth/token", data=form).status_code == 401
    r = client.get("/resourceguru/v1/example-corp/resources", auth=("user@example.com", "pässword"))
    assert r.status_code == 401
