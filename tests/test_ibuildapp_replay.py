"""iBuildApp Timesheets: every documented exchange replayed, in the documented shapes.

The seed's exchanges (001_def7881bc1b63970, extracted by tests/data/extract.py into
tests/data/) are replayed: each documented response (200/401/404) is one exchange; a 401 is
replayed without a token, a 404 with the referenced id replaced by one that does not exist.
Error bodies must match word for word; success bodies have the documented key set at every
depth with the documented types (`tests.seeds.same_shape`, strict), except for the
documentation's own contradictions, listed once below with their reasons. Then the same
over HTTP against `standin serve`, and the comparison shown to fail on broken answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from functools import partial

import httpx
import pytest

from server.vendors.ibuildapp import views
from tests.seeds import Exchange, exchanges, same_shape
from tests.test_ibuildapp import APP, BASE, MISSING, TN, H

SEED = "001_def7881bc1b63970.txt"
WORK_HISTORY = "/api/{app_path}/task/work_history"
USER_SEARCH = "/api/{APP_CODE}/user/search"

# ------------------------------------------------------------------------------ the seed

EXCHANGES = exchanges(SEED)  # from tests/data/, extracted from the documentation

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
# ------------------------------------------------------------------------------ contradictions

# Where the documentation contradicts itself, Standin follows the field table (the spec says so
# beside the field) and the example differs from the answer. Each contradiction is listed once
# here with its reason; the replay accepts exactly these differences and nothing else, and
# `test_every_listed_contradiction_is_met` fails if one is never met (so none is stale).

# Fields the field tables type as Float that an example shows as an integer; sent as floats.
FLOAT_SHOWN_AS_INT = {
    "hourly_rate": "user field tables: Float; examples show 0 and 10 (task, ts/*, qbo export too)",
    "paid_hours": "user field tables: Float; the examples show 0",
    "unapproved_hours": "user field tables: Float; the examples show 0",
    "pay_rate": "group field tables: Float; group and group/search show 10",
    "amount": "invoice field tables: Float; the invoice examples show 100",
    "estimated_duration": "project field tables: Float; the examples show 1000, 100, 20, 0",
    "actual_duration": "project field tables: Float; the examples show 1200, 100, 10, 0",
    "estimate": "task/create and task/update tables: Float; task (get) shows 100",
}
# Other differences of one field wherever it appears: problem suffix -> reason.
FIELD_CONTRADICTIONS = {
    ".settings: expected array, got object": (
        'settings is "(Array) - user properties", default {"datetime_format": ...} (group/get_users);'
        " user and user/search_group show [{}]: a PHP array, sent as stored"
    ),
    ".settings: expected object, got array": "the same contradiction, seen from group/get_users",
    "groups[].value: expected bool, got str": (
        "task/search_group and ts/search_group group by status (a string) and show value true"
    ),
    ".current_time_entry.comments: expected str, got int": (
        'user/dashboard: field notes "comments (Integer) Count of comments"; the example shows ""'
    ),
}
# Keys the field notes say are sent only once set (PHP leaves unset fields out), absent on a
# running time entry in the replayed data.
UNSET_WHILE_RUNNING = {
    "end_time": 'field notes: "end_time (Timestamp) (optional, if TimeEntry ended)"',
    "approve_date": 'field notes: "approve_date (Timestamp) (optional, if set)"',
    "end_datetime": "task/search entry spans: the entry's end_time under another name",
    "end_location": "recorded by ts/stop like end_time; not marked optional, but unset while running",
}


def _not_in_example(where: str, keys: str) -> frozenset[str]:
    return frozenset(f"{where}.{k}: not documented" for k in keys.split())


# Per operation: keys the field list under the example shows and the example lacks.
EXAMPLE_LACKS = {
    "/api/{APP_CODE}/user/history": (
        "time_entries: the example shows 5 keys, the TimeEntry field list under it 16 (sent)",
        _not_in_example(
            "$.data.time_entries[]",
            "schedule_id end_time payment_status breaks comments duration created updated"
            " approve_date start_location end_location",
        ),
    ),
    "/api/{app_path}/group/get_users": (
        "the field list has picture, the example's user has none",
        _not_in_example("$.data[]", "picture"),
    ),
    "/api/{APP_CODE}/client": (
        "the Client field list has city, industry and projects, the example not",
        _not_in_example("$.data", "city industry projects"),
    ),
    "/timesheets/task": (
        "the entries field list has schedule_id, the example's entry not",
        _not_in_example("$.data.tasks[].entries[]", "schedule_id"),
    ),
    "/api/{app_path}/task/work_history": (
        "the TimeEntry field list has payment_status, the example's entries not",
        _not_in_example("$.data.time_entries[]", "payment_status"),
    ),
}
MET: set[str] = set()  # the contradictions the replay met, by their key above
REPLAYED: set[int] = set()


def _contradiction(path: str, problem: str) -> str | None:
    """The key of the listed contradiction that explains `problem`, or None."""
    field = problem.split(": ")[0].rsplit(".", 1)[-1]
    if problem.endswith(": expected int, got float") and field in FLOAT_SHOWN_AS_INT:
        return field
    if problem.endswith(": missing") and field in UNSET_WHILE_RUNNING:
        return field
    for suffix in FIELD_CONTRADICTIONS:
        if problem.endswith(suffix):
            return suffix
    if problem in EXAMPLE_LACKS.get(path, ("", ()))[1]:
        return path
    return None


def _unexplained(path: str, problems: list[str]) -> list[str]:
    left = []
    for problem in problems:
        key = _contradiction(path, problem)
        if key is None:
            left.append(problem)
        else:
            MET.add(key)
    return left


def _running_entry(app, user_id=1) -> int:
    rows = app.runtime.stores["ibuildapp"].find(
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
        rows = app.runtime.stores["ibuildapp"].find(
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
    assert _unexplained(x.path, same_shape(x.response, r.json())) == []
    REPLAYED.add(x.line)


def test_every_listed_contradiction_is_met():
    """Runs after the replay (file order); a listed contradiction the replay never met is stale."""
    if len(REPLAYED) < sum(x.status == 200 and x.response != "" for x in EXCHANGES):
        pytest.skip("the replay did not run in full in this session")
    listed = [*FLOAT_SHOWN_AS_INT, *FIELD_CONTRADICTIONS, *UNSET_WHILE_RUNNING, *EXAMPLE_LACKS]
    assert [key for key in listed if key not in MET] == []


# ------------------------------------------------------------------------------ over HTTP


@contextlib.contextmanager
def serve(*args: str):
    """`standin serve` as a user starts it: its own process on a free port; yields the base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert proc.poll() is None, proc.stderr.read()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/_standin/health").status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _documented(path: str) -> object:
    return next(x.response for x in EXCHANGES if x.path == path and x.status == 200)


def test_standin_serve_answers_with_maps_and_search_items_in_the_documented_keys():
    """A separately started `standin serve --api ibuildapp` (the vendor's own paths at the root)."""
    with serve("--api", "ibuildapp") as base:
        post = partial(httpx.post, headers=H, timeout=10)
        body = next(x.body for x in EXCHANGES if x.path == WORK_HISTORY)  # task 1 with all three maps
        work = post(f"{base}/api/{APP}/task/work_history", json=body).json()
        found = post(f"{base}/api/{APP}/user/search", json={"email": "test"}).json()
    data = work["data"]
    assert data["users"] and data["tasks"] and data["projects"]
    assert {frozenset(u) for u in data["users"].values()} == {frozenset({"id", "first_name", "last_name"})}
    assert {frozenset(t) for t in data["tasks"].values()} == {frozenset({"id", "project", "name", "status"})}
    project_keys = {"id", "name", "status", "client_id", "tasks"}
    assert {frozenset(p) for p in data["projects"].values()} == {frozenset(project_keys)}
    assert [set(u) for u in found["data"]] == [{"id", "email", "first_name", "last_name"}]
    assert _unexplained(WORK_HISTORY, same_shape(_documented(WORK_HISTORY), work)) == []
    assert same_shape(_documented(USER_SEARCH), found) == []


# ------------------------------------------------------------------------------ the comparison fails


def test_same_shape_names_every_kind_of_difference():
    documented = _documented(USER_SEARCH)
    ok = json.loads(json.dumps(documented))
    assert same_shape(documented, ok) == []
    extra = json.loads(json.dumps(documented))
    extra["data"][1]["sex"] = "male"
    assert same_shape(documented, extra) == ["$.data[].sex: not documented"]
    wrong_type = json.loads(json.dumps(documented))
    wrong_type["data"][0]["first_name"] = 7
    assert same_shape(documented, wrong_type) == ["$.data[].first_name: expected str, got int"]
    missing = json.loads(json.dumps(documented))
    del missing["count"]
    assert same_shape(documented, missing) == ["$.count: missing"]
    floats = {**documented, "data": [{**documented["data"][0], "id": 1.0}]}
    assert same_shape(documented, floats) == ["$.data[].id: expected int, got float"]
    # inside an id-keyed map: the values are held to the documented ones, the ids are data
    history = _documented(WORK_HISTORY)
    richer = json.loads(json.dumps(history))
    richer["data"]["users"] = {"5": {"id": 5, "first_name": "A", "last_name": "B", "email": "a@b.co"}}
    assert same_shape(history, richer) == ["$.data.users.<id>.email: not documented"]


def test_the_replay_fails_when_a_view_sends_more_than_documented(client, app, monkeypatch):
    """A broken variant: task/work_history's users rendered in full (as before the views)."""
    x = next(x for x in EXCHANGES if x.path == WORK_HISTORY and x.status == 200)
    path, body = _adapt(x)
    monkeypatch.setattr(views, "user_name", views.user_record)
    problems = _unexplained(x.path, same_shape(x.response, client.post(path, json=body, headers=H).json()))
    assert "$.data.users.<id>.email: not documented" in problems
    assert "$.data.users.<id>.paid_hours: not documented" in problems
