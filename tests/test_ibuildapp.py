"""iBuildApp Timesheets: the seed's exchanges replayed, a working day, refusals, auth, widgets.

The seed (001_def7881bc1b63970) shows request bodies either before or after the `POST path`
line, so the parser here attaches a request body to the section it sits in: before the POST
line it belongs to the next operation, after it (before the first response) to this one.
Each documented response (200/401/404) becomes one exchange; a 401 is replayed without a
token, a 404 with the referenced id replaced by one that does not exist.

Shapes: the vendor's examples show abbreviated records (every endpoint a different subset of
fields, and PHP omits unset fields), so `_shape_problems` is `tests.seeds.same_shape` with two
relaxations: keys we send beyond the example are accepted, and below `data` a key the example
shows may be absent (an unset field); an empty PHP map `[]` matches an object. Types and
nesting of every key present on both sides must agree; envelope and `data` keys are required.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass

import jsonschema
import pytest
import yaml

from server.api import SPECS
from server.vendors.ibuildapp import API
from server.vendors.ibuildapp.auth import tenant
from tests.seeds import SEEDS, shape

H = API.demo["headers"]
BASE = "/ibuildapp"
APP = API.demo["app_code"]
TN = tenant(APP)
SEED = "001_def7881bc1b63970.txt"
MISSING = 999999

# ------------------------------------------------------------------------------ the seed


@dataclass
class Exchange:
    line: int
    path: str
    body: object
    status: int
    response: object


_POST = re.compile(r"^POST\s+(/\S+)$")
_RESPONSE = re.compile(r"^(?:(\d{3})\b.*?)?Response(?: (\d{3}))? body \(([a-z/]+)\):$")


def _block(lines: list[str], start: int) -> tuple[object, int]:
    depth, out = 0, []
    for i in range(start, len(lines)):
        out.append(lines[i])
        depth += lines[i].count("{") + lines[i].count("[") - lines[i].count("}") - lines[i].count("]")
        if depth == 0:
            text = "\n".join(out)
            return json.loads(text[5:] if text.startswith("json ") else text), i + 1
    raise ValueError(f"unterminated JSON at line {start}")


def seed_exchanges() -> list[Exchange]:
    lines = [line.strip() for line in (SEEDS / SEED).read_text(encoding="utf-8").splitlines()]
    found: list[Exchange] = []
    path, request, pending, answered, i = None, None, None, False, 0
    # The two auth sections come first and lost their paths in the scrape.
    unnamed = iter(["/api/{APP_CODE}/login", "/api/{APP_CODE}/register"])
    while i < len(lines):
        line = lines[i]
        if line == "Request body (application/json):":
            value, i = _block(lines, i + 1)
            if path and not answered and request is None:
                request = value
            else:
                pending = value
            continue
        if match := _POST.match(line):
            path, request, pending, answered = match.group(1), pending, None, False
        elif match := _RESPONSE.match(line):
            status = int(match.group(1) or match.group(2) or 200)
            if match.group(3) == "text/csv":
                found.append(Exchange(i + 1, path, request, status, ""))
                i += 1
                continue
            value, end = _block(lines, i + 1)
            if path is None:
                found.append(Exchange(i + 1, next(unnamed), pending, status, value))
                pending = None
            else:
                found.append(Exchange(i + 1, path, request, status, value))
                answered = True
            i = end
            continue
        i += 1
    return found


EXCHANGES = seed_exchanges()

# ------------------------------------------------------------------------------ adaptation

# Request bodies the seed shows that are not valid requests (typos, placeholder values,
# ids of its own database): replaced by the same request against the seeded demo app.
BODIES = {
    "/api/{APP_CODE}/register": {
        "email": "new.person@test.com",
        "password": "12345678",
        "first_name": "John",
        "last_name": "Doe",
    },
    "/api/{APP_CODE}/user/create": {
        "email": "test2@test.com",
        "password": "string12",
        "first_name": "John",
        "last_name": "Doe",
        "sex": "male",
        "position": "Manager",
        "hourly_rate": 10.5,
        "settings": [{}],
        "notes": "string",
        "birth_date": "1988-11-22",
    },
    "/api/{APP_CODE}/user/history": {
        "user_id": 1,
        "last_update": 1565768191,
        "with": ["users", "tasks", "projects"],
        "filters": {"task_id": {"value": 100, "operand": "<"}, "status": "approved"},
        "sorts": {"task_id": "desc"},
    },
    "/api/{APP_CODE}/client/search": {"limit": 3, "with": ["projects"]},
    "/api/{APP_CODE}/project/search": {"limit": 10, "offset": 0, "with": ["tasks", "clients"]},
    "/api/{APP_CODE}/project/search_group": {
        "group_by": "client",
        "limit": 10,
        "offset": 0,
        "with": ["tasks", "clients"],
    },
    "/api/{app_path}/task/search": {"project_id": 1, "with": ["users", "projects"]},
    "/api/{APP_CODE}/task/search_group": {
        "project_id": 1,
        "with": ["users", "projects"],
        "group_by": "status",
    },
    "/api/{APP_CODE}/schedule": {"schedule_id": 1},  # the seed spells it "shedule_id"
    "/api/{APP_CODE}/schedule/search": {"keyword": "Week"},
    "/api/{APP_CODE}/rate/create": {
        "user_id": 1,
        "schedule_id": 1,
        "name": "test_rate",
        "duration_unit": "days",
        "amount": 100,
    },
    "/api/{APP_CODE}/ts/start": {
        "task_id": 1,
        "location": [-37.270245, -119.989356],
        "comment": "my comment",
    },
    "/api/{APP_CODE}/ts/stop": {
        "task_id": 1,
        "comment": "my comment2",
        "location": [-37.270245, -119.989356],
    },
    "/api/{APP_CODE}/ts/create": {
        "user_id": 1,
        "task_id": 1,
        "start_time": 1565687043,
        "end_time": 1565688043,
        "location": [-37.270245, -119.989356],
        "comment": "my comment",
    },
    "/api/{app_path}/ts/search": {"time_entry_ids": [1, 2, 3], "with": ["users", "tasks", "projects"]},
    "/api/{app_path}/ts/search_group": {"group_by": "status", "with": ["users", "tasks", "projects"]},
    "/api/{app_path}/ts/breaks": {"time_entry_id": 1},
    "/api/{app_path}/ts/export": {"time_entry_ids": [1, 2], "with_headers": True},
    "/api/{app_path}/ts/calc": {"time_entry_ids": [1, 2, 3]},
    "/api/{APP_CODE}/integration/qbo/export_timeentries": {"time_entry_ids": [1, 2]},
}
# Which field a 404 exchange points at a missing record with (default: the first *_id).
MISSING_FIELD = {
    "/api/{APP_CODE}/rate/create": "user_id",
    "/api/{APP_CODE}/rate/update": "user_id",
    "/api/{APP_CODE}/ts/create": "task_id",
    "/api/{app_path}/invoice/create": "client_id",
    "/api/{app_path}/task/create": "project_id",
}
# 404s that are about state, not a missing record: replayed against a finished entry.
STATE_404 = {"/api/{app_path}/ts/break_start", "/api/{app_path}/ts/break_stop"}
# Requests that need the caller to be tracking time first.
NEEDS_RUNNING = {
    "/api/{APP_CODE}/ts/stop",
    "/api/{APP_CODE}/user/dashboard",
    "/api/{app_path}/ts/break_start",
    "/api/{app_path}/ts/break_stop",
}
# Seed oddities the comparison does not hold against us, with why.
TOLERATED = {
    "$.data.groups[].value": "the seed shows `true` as the value of groups of string fields (status)",
    "$.data.current_time_entry.comments": 'the seed shows "" for the number of comments',
}


def _running_entry(app, user_id=1) -> int:
    rows = app.runtime.store.find(
        TN, "time_entries", lambda e: e["user_id"] == user_id and e["end_time"] is None
    )
    return next(rows)["id"]


def _adapt(x: Exchange) -> tuple[str, dict]:
    path = x.path.replace("{APP_CODE}", APP).replace("{app_path}", APP).replace("{INTEGRATION}", "qbo")
    body = BODIES.get(x.path.replace("{INTEGRATION}", "qbo"), x.body)
    body = json.loads(json.dumps(body if isinstance(body, dict) else {}))
    if x.status == 404 and x.path not in STATE_404:
        ids = [k for k in body if k.endswith("_id")]
        field = MISSING_FIELD.get(x.path) or (ids[0] if ids else None)
        if field:
            body[field] = MISSING
    if x.status == 404 and x.path in STATE_404:
        body["time_entry_id"] = 1
    return BASE + path, body


def _shape_problems(expected, actual, where="$", depth=0) -> list[str]:
    if expected is None or actual is None or where in TOLERATED or where.endswith(".settings"):
        return []  # settings is a free PHP array: a list or a map
    if actual == [] and isinstance(expected, dict) or expected == [] and isinstance(actual, dict):
        return []  # PHP's empty map is []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        problems = [
            f"{where}.{k}: missing" for k in expected if k not in actual and (depth < 2 or where == "$")
        ]
        for k in expected:
            if k in actual:
                problems += _shape_problems(expected[k], actual[k], f"{where}.{k}", depth + 1)
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array"]
        problems = []
        for item in actual:
            candidates = [_shape_problems(e, item, f"{where}[]", depth + 1) for e in expected] or [[]]
            problems += min(candidates, key=len)
        return problems
    if shape(expected) != shape(actual):
        return [f"{where}: expected {shape(expected)}, got {shape(actual)}"]
    return []


def _id(x: Exchange) -> str:
    return f"{x.line}-{x.status}-{x.path}"


def test_the_seed_documents_every_exchange():
    assert len(EXCHANGES) == 147
    assert len({x.path for x in EXCHANGES}) == 83


@pytest.mark.parametrize("x", EXCHANGES, ids=[_id(x) for x in EXCHANGES])
def test_seed_exchange_replays(client, app, x):
    path, body = _adapt(x)
    headers = {} if x.status == 401 else H
    if x.path in NEEDS_RUNNING and x.status == 200:
        assert client.post(f"{BASE}/api/{APP}/ts/start", json={"task_id": 1}, headers=H).status_code == 200
        if "time_entry_id" in body:
            body["time_entry_id"] = _running_entry(app)
        if x.path.endswith("break_stop"):
            client.post(f"{BASE}/api/{APP}/ts/break_start", json=body, headers=H)
    if x.path.endswith("/ts/approve"):
        rows = app.runtime.store.find(
            TN, "time_entries", lambda e: e["status"] == "in-progress" and e["end_time"]
        )
        body = {"time_entry_ids": sorted(e["id"] for e in rows)[:3]}
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == x.status, r.text
    if x.path.endswith("/ts/export"):
        assert r.headers["content-type"].startswith("text/csv")
        assert r.text.splitlines()[0].startswith("id,user_id")
        return
    assert r.headers["content-type"].startswith("application/json")
    if x.status != 200:
        assert r.json() == x.response  # error bodies word for word
        return
    assert _shape_problems(x.response, r.json()) == []


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
    brk = app.runtime.store.get(TN, "breaks", break_id)
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
        _post(client, "ts/get", {"time_entry_id": entry_id})["data"]["time_entry"]["payment_status"]
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
    store = app.runtime.store
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
    settings = next(app.runtime.store.find(TN, "integrations", lambda i: i["name"] == "adp"))["settings"]
    assert settings == {"import_employees": True}
    imported = _post(client, "integration/xero/import_employees", {})["data"]
    assert len(imported["imported"]) == 3 and list(imported["updated"]) == ["2"]
    assert _post(client, "integration/xero/import_employees", {})["data"]["imported"] == []


# ------------------------------------------------------------------------------ refusals and auth


def test_refused_requests_change_nothing(client, app):
    before = app.runtime.store.snapshot()
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
        ("user/delete", {"user_id": 2}, {}, 401),
    ]
    for path, body, headers, status in refused:
        r = client.post(f"{BASE}/api/{APP}/{path}", json=body, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["status"] == "ERROR"
    assert app.runtime.store.snapshot() == before


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


def test_marked_reads_change_nothing_and_their_kept_answers_follow_writes(client, app, monkeypatch):
    """`x-standin-reads` operations may answer from a kept answer (server.dispatch), so they
    must never write: the store is unchanged after each, with its example body and without."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)  # running entries' durations follow the clock
    assert {op["operationId"] for op in READS.values()} >= {"user_search", "ts_search_group"}
    store = app.runtime.store
    before, generation = store.snapshot(), store.generation
    for path, op in READS.items():
        content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        for body in (content.get("example", {}), {}, {"limit": 1}):  # the last two may be refused
            r = client.post(path, json=body, headers=H)
            assert client.post(path, json=body, headers=H).content == r.content  # kept or not, alike
        assert client.post(path, json=content.get("example", {}), headers=H).status_code == 200, path
    assert store.generation == generation and store.snapshot() == before  # a snapshot takes the lock
    # a kept answer is per body, and never outlives a write
    one, two = (_post(client, "user/search", {"limit": n})["data"] for n in (1, 2))
    assert len(one) == 1 and len(two) == 2
    _post(client, "user/update", {"user_id": one[0]["id"], "first_name": "Renamed"})
    assert _post(client, "user/search", {"limit": 1})["data"][0]["first_name"] == "Renamed"
