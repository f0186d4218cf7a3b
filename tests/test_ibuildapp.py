"""iBuildApp Timesheets: a working day, searches, refusals, auth, widgets, marked reads.

The seed's documented exchanges are replayed in tests/test_ibuildapp_replay.py.
"""

from __future__ import annotations

import csv
import io
import re

import jsonschema
import pytest
import yaml

from server.api import SPECS
from server.vendors.ibuildapp import API
from server.vendors.ibuildapp.auth import tenant

H = API.demo["headers"]
BASE = "/ibuildapp"
APP = API.demo["app_code"]
TN = tenant(APP)
MISSING = 999999

# ------------------------------------------------------------------------------ a working day


def _post(client, path, body, headers=H, status=200):
    r = client.post(f"{BASE}/api/{APP}/{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    return r.json() if r.headers["content-type"].startswith("application/json") else r.text


def test_working_day(client, app):
    token = _post(
        client,
        "register",
        {"email": "ann@site.test", "password": "secret123", "first_name": "Ann", "last_name": "Lee"},
        {},
    )["token"]
    me = {"Authorization": f"Bearer {token}"}
    ann = _post(client, "user", {}, me)["data"]
    assert ann["email"] == "ann@site.test" and ann["roles"] == ["ROLE_USER"]
    _post(client, "user/update", {"user_id": ann["id"], "hourly_rate": 30}, me)
    client_id = _post(client, "client/create", {"name": "Acme", "status": True})["id"]
    project_id = _post(
        client,
        "project/create",
        {"client_id": client_id, "name": "Website", "planned_start_date": "2026-01-05"},
    )["id"]
    task_id = _post(
        client,
        "task/create",
        {"project_id": project_id, "name": "Build", "estimate": 90, "estimate_unit": "minutes"},
    )["id"]
    assert (
        _post(client, "task/add_user", {"task_id": task_id, "user_id": ann["id"]})["message"]
        == "User successfully added to task."
    )

    # Start, a second start is refused, break, stop: the real clock, then exact times by ts/update.
    assert (
        _post(client, "ts/start", {"task_id": task_id, "location": [1, 2]}, me)["message"]
        == "Successfully started."
    )
    again = _post(client, "ts/start", {"task_id": task_id}, me, 400)
    assert again == {"status": "ERROR", "message": "Found started TimeEntry.", "error_code": 400}
    dash = _post(client, "user/dashboard", {}, me)["data"]
    entry_id = dash["current_time_entry"]["id"]
    assert [t["id"] for t in dash["current_tasks"]] == [task_id]
    break_id = _post(client, "ts/break_start", {"time_entry_id": entry_id}, me)["id"]
    assert _post(client, "ts/break_stop", {"time_entry_id": entry_id}, me)["message"] == "Stopped."
    _post(client, "ts/break_stop", {"time_entry_id": entry_id}, me, 404)
    assert _post(client, "ts/stop", {"task_id": task_id}, me)["message"] == "Stopped."
    _post(client, "ts/stop", {}, me, 404)
    assert _post(client, "user/dashboard", {}, me)["data"]["current_time_entry"] is None

    # 09:00-17:30 with a 30-minute break: 8 h of work at 30/h = 240.
    day = 1767603600  # 2026-01-05 09:00 UTC
    _post(
        client,
        "ts/update",
        {"time_entry_id": entry_id, "start_datetime": day, "end_datetime": day + 8 * 3600 + 1800},
        me,
    )
    brk = app.runtime.stores["ibuildapp"].get(TN, "breaks", break_id)
    brk.update(start_time=day + 4 * 3600, end_time=day + 4 * 3600 + 1800)
    breaks = _post(client, "ts/breaks", {"time_entry_id": entry_id}, me)
    assert breaks["count"] == 1 and breaks["data"][0]["duration"] == 1800
    assert breaks["data"][0]["start_datetime"] == str(day + 4 * 3600)

    assert _post(client, "ts/calc", {"time_entry_ids": [entry_id]})["data"] == {
        "duration": 0,
        "sum": 0,
    }  # not approved yet
    approved = _post(client, "ts/approve", {"time_entry_ids": [entry_id]})
    assert approved["data"] == [entry_id] and approved["count"] == 1
    assert _post(client, "ts/approve", {"time_entry_ids": [entry_id]})["count"] == 0
    assert _post(client, "ts/calc", {"time_entry_ids": [entry_id]})["data"] == {
        "duration": 28800,
        "sum": 240.0,
    }
    history = _post(client, "ts/history", {"time_entry_id": entry_id})["data"]
    assert [h["status"] for h in history] == ["in-progress", "approved"]
    assert history[0]["user"] == {"first_name": "Ann", "last_name": "Lee"}

    task = client.post(f"{BASE}/timesheets/task", json={"task_id": task_id}, headers=H).json()["data"][
        "tasks"
    ][0]
    assert task["duration"] == 28800 and task["status"] == "in-progress" and task["estimate_hours"] == 1.5
    assert [h["status"] for h in _post(client, "task/history", {"task_id": task_id})["data"]] == [
        "new",
        "in-progress",
    ]
    work = _post(client, "task/work_history", {"task_id": task_id, "with": ["users"]})["data"]
    assert work["time_entries"][0]["duration"] == 28800 and str(ann["id"]) in work["users"]

    text = _post(client, "ts/export", {"time_entry_ids": [entry_id], "with_headers": True})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [
        {
            "id": str(entry_id),
            "user_id": str(ann["id"]),
            "user": "Ann Lee",
            "task_id": str(task_id),
            "task": "Build",
            "project": "Website",
            "status": "approved",
            "payment_status": "pending",
            "start_time": "2026-01-05 09:00:00",
            "end_time": "2026-01-05 17:30:00",
            "breaks": "1800",
            "duration": "28800",
            "sum": "240.00",
        }
    ]
    invoice_id = _post(client, "invoice/create", {"client_id": client_id, "task_ids": [task_id]})["id"]
    assert _post(client, "invoice", {"invoice_id": invoice_id})["data"]["amount"] == 240.0
    _post(client, "invoice/set_payed", {"invoice_id": invoice_id, "payed_date": day + 86400})
    assert (
        _post(client, "ts/search", {"time_entry_ids": [entry_id]})["data"]["time_entries"][0][
            "payment_status"
        ]
        == "payed"
    )
    assert _post(client, "user", {"user_id": ann["id"]})["data"]["paid_hours"] == 8.0


def test_search_filters_paging_and_groups(client):
    everyone = _post(client, "user/search", {})
    page = _post(client, "user/search", {"limit": 2, "offset": 1})
    assert page["count"] == everyone["count"] and [u["id"] for u in page["data"]] == [
        u["id"] for u in everyone["data"][1:3]
    ]
    assert [u["id"] for u in _post(client, "user/search", {"email": "TEST@"})["data"]] == [1]
    grouped = _post(client, "project/search_group", {"group_by": "status", "order_by": "desc"})["data"][
        "groups"
    ]
    values = [g["value"] for g in grouped]
    assert values == sorted(values, reverse=True) and all(g["count"] == len(g["items"]) for g in grouped)
    assert all(p["status"] == g["value"] for g in grouped for p in g["items"])
    tasks = _post(client, "task/search", {"project_id": 1, "with": ["users", "projects"]})["data"]
    assert {t["project"] for t in tasks["tasks"]} == {1} and list(tasks["projects"]) == ["1"]
    assert tasks["count"] == len(tasks["tasks"])


def test_deleting_a_project_deletes_its_tasks_and_their_entries(client, app):
    store = app.runtime.stores["ibuildapp"]
    task_ids = {t["id"] for t in store.find(TN, "tasks", lambda t: t["project_id"] == 1)}
    assert any(store.find(TN, "time_entries", lambda e: e["task_id"] in task_ids))
    _post(client, "project/delete", {"project_id": 1})
    assert not any(store.find(TN, "tasks", lambda t: t["id"] in task_ids))
    assert not any(store.find(TN, "time_entries", lambda e: e["task_id"] in task_ids))
    _post(client, "project", {"project_id": 1}, status=404)
    r = client.post(f"{BASE}/timesheets/task", json={"task_id": min(task_ids)}, headers=H)
    assert r.status_code == 404 and r.json()["message"] == "Task not found."


def test_client_csv_export(client):
    text = _post(client, "client/export_csv", {"client_ids": [1, 2], "with": ["projects"]})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-1] == "projects" and [r[0] for r in rows[1:]] == ["1", "2"]


def test_integrations_keep_settings(client, app):
    _post(client, "integration/adp/authorize", {}, status=400)  # not configured yet
    body = {"client_id": "abc", "settings": {"import_employees": True}}
    assert _post(client, "integration/adp/update", body)["message"] == "Update success"
    url = _post(client, "integration/adp/authorize", {})["data"]["url"]
    assert url.startswith("https://accounts.adp.com/auth/oauth/v2/authorize?client_id=abc&")
    assert url == _post(client, "integration/adp/authorize", {})["data"]["url"]
    settings = next(app.runtime.stores["ibuildapp"].find(TN, "integrations", lambda i: i["name"] == "adp"))[
        "settings"
    ]
    assert settings == {"import_employees": True}
    imported = _post(client, "integration/xero/import_employees", {})["data"]
    assert len(imported["imported"]) == 3 and list(imported["updated"]) == ["2"]
    assert _post(client, "integration/xero/import_employees", {})["data"]["imported"] == []


# ------------------------------------------------------------------------------ refusals and auth


def test_refused_requests_change_nothing(client, app):
    before = app.runtime.stores["ibuildapp"].snapshot()
    refused = [
        ("register", {"email": "test@test.com", "password": "12345678"}, {}, 400),
        ("register", {"email": "x@test.com", "password": "short"}, {}, 400),
        ("user/create", {"email": "not-an-email"}, H, 400),
        ("task/create", {"project_id": MISSING, "name": "x"}, H, 404),
        ("invoice/create", {"client_id": 1, "task_ids": [1, MISSING]}, H, 404),
        ("ts/start", {"task_id": MISSING}, H, 404),
        ("ts/create", {"user_id": 1, "task_id": 1, "start_time": 200, "end_time": 100}, H, 400),
        ("ts/approve", {"time_entry_ids": [1, MISSING]}, H, 404),
        ("ts/break_start", {"time_entry_id": 1}, H, 404),
        ("group/update", {"group_id": 1}, H, 400),
        # a date before 1970 has no Unix timestamp (the spec's minimum 0): refused, not stored negative
        ("project/create", {"client_id": 1, "name": "Old", "planned_start_date": "1431-01-01"}, H, 400),
        ("project/create", {"client_id": 1, "name": "Old", "actual_start_date": "0999-12-31"}, H, 400),
        ("user/delete", {"user_id": 2}, {}, 401),
    ]
    for path, body, headers, status in refused:
        r = client.post(f"{BASE}/api/{APP}/{path}", json=body, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["status"] == "ERROR"
    assert app.runtime.stores["ibuildapp"].snapshot() == before


def test_registration_rules(client):
    r = client.post(f"{BASE}/api/{APP}/register", json={"email": "test@test.com", "password": "12345678"})
    assert r.json() == {
        "status": "ERROR",
        "message": "User with this email already exists.",
        "error_code": 400,
    }
    r = client.post(f"{BASE}/api/{APP}/register", json={"email": "a@b.co", "password": "x" * 17})
    assert r.status_code == 400 and "password" in r.json()["message"]
    r = client.post(f"{BASE}/api/nope/register", json={"email": "a@b.co", "password": "12345678"})
    assert r.json() == {"status": "ERROR", "message": "App not found.", "error_code": 5}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
        {"Authorization": H["Authorization"] + "x"},
    ],
)
def test_missing_or_wrong_token_is_401_code_9(client, headers):
    for url in (f"{BASE}/api/{APP}/user", f"{BASE}/timesheets/task"):
        r = client.post(url, json={"user_id": 1, "task_id": 1}, headers=headers)
        assert r.status_code == 401
        assert r.json() == {
            "status": "ERROR",
            "message": "Auth token not specified or incorrect.",
            "error_code": 9,
        }


def test_login_token_works_and_is_bound_to_its_app(client):
    r = client.post(f"{BASE}/api/{APP}/login", json={"email": "test@test.com", "password": "12345678"})
    token = r.json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    assert client.post(f"{BASE}/api/{APP}/user", json={}, headers=me).json()["data"]["id"] == 1
    assert client.post(f"{BASE}/api/other-app/user", json={}, headers=me).status_code == 401
    bad = client.post(f"{BASE}/api/{APP}/login", json={"email": "test@test.com", "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["error_code"] == 9
    # A deleted user's sessions end with it.
    _post(client, "user/delete", {}, me)
    assert client.post(f"{BASE}/api/{APP}/user", json={}, headers=me).status_code == 401


def test_validation_names_the_fields(client):
    r = client.post(f"{BASE}/api/{APP}/ts/create", json={"task_id": "x"}, headers=H)
    assert r.status_code == 400
    assert r.json()["message"] == "'task_id': 'x' is not of type 'integer'; 'user_id' is a required property"
    r = client.post(
        f"{BASE}/api/{APP}/user", content=b"{nope", headers={**H, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error_code"] == 400


# ------------------------------------------------------------------------------ widgets


def _spec() -> dict:
    with open(SPECS / "ibuildapp.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


WIDGETS = {name: s for name, s in _spec()["components"]["schemas"].items() if "x-standin-example" in s}


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_widget_examples_validate(name):
    spec = _spec()
    schema = {**WIDGETS[name], "components": spec["components"]}
    example = schema.pop("x-standin-example")
    resolver = jsonschema.RefResolver.from_schema(spec)
    jsonschema.Draft4Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker()).validate(
        example
    )
    if "properties" in schema:
        assert example["type"] == schema["properties"]["type"]["enum"][0]


READS = {
    BASE + re.sub(r"\{\w+\}", APP, path): item["post"]
    for path, item in _spec()["paths"].items()
    if item.get("post", {}).get("x-standin-reads")
}


def test_marked_reads_change_nothing_and_their_kept_answers_follow_writes(client, app):
    """`x-standin-reads` operations may answer from a kept answer (server.dispatch), so they
    must never write: the store is unchanged after each, with its example body and without."""
    app.runtime.clock.freeze(True)  # running entries' durations follow the clock (reset resumes it)
    assert {op["operationId"] for op in READS.values()} >= {"user_search", "ts_search_group"}
    store = app.runtime.stores["ibuildapp"]
    before, generation = store.snapshot(), store.generation
    for path, op in READS.items():
        content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        for body in (content.get("example", {}), {}, {"limit": 1}):  # the last two may be refused
            r = client.post(path, json=body, headers=H)
            assert client.post(path, json=body, headers=H).content == r.content  # kept or not, alike
        if "example" in content:  # a documented request is answered (a get without one may refuse {})
            assert client.post(path, json=content["example"], headers=H).status_code == 200, path
    assert store.generation == generation and store.snapshot() == before  # a snapshot takes the lock
    # a kept answer is per body, and never outlives a write
    one, two = (_post(client, "user/search", {"limit": n})["data"] for n in (1, 2))
    assert len(one) == 1 and len(two) == 2
    _post(client, "user/update", {"user_id": one[0]["id"], "first_name": "Renamed"})
    assert _post(client, "user/search", {"limit": 1})["data"][0]["first_name"] == "Renamed"
