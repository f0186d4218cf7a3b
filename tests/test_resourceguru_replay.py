"""Resource Guru: every request/response sample of the documentation (seed 003) replayed strictly.

The scrape lost every method and path; tests/data/003_*.json ties each sample to its operationId
(see tests/data/extract.py), with the method and path of specs/resourceguru.yaml. Each sample is
replayed against the seeded account: path ids point at seeded records, request bodies are the
documented ones with their placeholder ids replaced by seeded ones. A success sample must come
back with the operation's documented 2xx status and the identical key set and types at every depth
(`tests.seeds.same_shape`). An error sample (Redoc shows the error body of operations whose
success has no body, without saying which error) is replayed as a request for a record that does
not exist, or with a body the vendor refuses, and must come back as a 4xx in that shape.

Where the documentation contradicts itself, the exchange's difference is listed in
CONTRADICTIONS with the reason, once; nothing else is forgiven.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import http.server
import json
import re
import sys
import threading

import pytest

from server.app import create_app
from server.vendors.resourceguru import API
from tests.seeds import exchanges, same_shape

H = API.demo["headers"]
ROOT = "/resourceguru"
ACC = "example-corp"
MISSING = 999999
SEED = "003_04944ccd4c44e164.txt"
EXCHANGES = exchanges(SEED)

# Query strings the operations need to answer (dates as the documentation's examples give them).
QUERY = {
    "reports_": "start_date=2020-01-01&end_date=2030-12-31",
    "timesheets_submit": "start_date=2020-01-01&end_date=2020-01-07",
    "timesheets_unsubmit": "start_date=2020-01-01&end_date=2020-01-07",
}
# Operations without a record in the path whose error sample is replayed with a refused request.
REFUSED_BODY = {
    "overtimes_set": {"resource_id": MISSING, "date": "2020-12-31", "duration": 60},
    "webhooks_test_url": {"payload_url": "not a url"},
}
REFUSED_QUERY = {"timesheets_submit": "start_date=nope", "timesheets_unsubmit": "start_date=nope"}
# Keys the scrape dropped from a sample (a trailing comma marks where): (operation prefix, key) ->
# why we know which. The key is put back in the sample at the marked object, with any type.
SCRAPE_DROPPED = {
    ("webhooks_", "payload_url"): "every line holding a URL was lost in the scrape; the request tables of "
    "webhooks_create/update list payload_url as required, and the webhook has no other URL field",
}
# Where the documentation contradicts itself: (seed line, path in the sample) -> (reason, the
# sample as the rest of the documentation gives it). Listed once each; nothing else is forgiven.
CONTRADICTIONS = {
    (2698, "$.resources[].name"): (
        "a resource's name is an integer (1) here only; a string in every other report and record",
        "John Doe",
    ),
    (2761, "$.resources[].*_downtime_days"): (
        "Redoc prints 0 for a number without an example; the v2 reports of the same documentation "
        "give days as fractions (1.5625: time off is counted in hours, a day has 8)",
        0.5,
    ),
    (2800, "$.*_downtime_days"): ("as line 2761", 0.5),
    (2800, "$.downtime_types[].days"): ("as line 2761", 0.5),
    (2800, "$.downtime_types[].days_without_overlap"): ("as line 2761", 0.5),
    (5379, "$[].custom_fields[].custom_field_options"): (
        "one option object under a plural name here; the custom fields operations (line 2031) give "
        "a field's options as an array of them",
        [{"id": 1, "value": "string"}],
    ),
    (5410, "$.custom_fields[].custom_field_options"): ("as line 5379", [{"id": 1, "value": "string"}]),
}


RECEIVER = "http://127.0.0.1:9/hook"  # the receiver fixture's URL once it runs


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module", autouse=True)
def receiver():
    """A payload URL that answers 200, for the webhook samples (a test delivery must arrive)."""
    global RECEIVER
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    RECEIVER = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield RECEIVER
    server.shutdown()


@pytest.fixture(scope="module")
def app():
    return create_app(["resourceguru"], rate_limit=0)


@pytest.fixture
def client(app):
    app.runtime.reset()
    with app.test_client() as c:
        yield c


def _first(client, collection: str) -> dict:
    return client.get(f"{ROOT}/v1/{ACC}/{collection}", headers=H).json()[0]


def _webhook(client) -> int:
    """A webhook whose payload URL answers (a local receiver: the test delivery must succeed)."""
    body = {
        "name": "Replay",
        "payload_url": RECEIVER,
        "events": ["clients"],
        "secret": "s",
        "send_secret_header": False,
    }
    return client.post(f"{ROOT}/v1/{ACC}/webhooks", json={**body, "paused": True}, headers=H).json()["id"]


def _record_id(client, x) -> int:
    """A seeded record for the path's `{id}`: the first of its collection."""
    parts = x.path.split("/")  # ['', 'v1', '{account}', collection, ...]
    if parts[2] == "accounts":
        return 1
    collection = parts[-2] if parts[3] == "reports" else parts[3]
    if collection == "webhooks":
        return _webhook(client)
    if x.operation in ("bookings_split", "downtimes_split"):
        rows = client.get(f"{ROOT}/v1/{ACC}/{collection}?limit=0", headers=H).json()
        return next(r for r in rows if _span(r)[0] != _span(r)[1])["id"]
    return _first(client, collection)["id"]


def _span(record: dict) -> tuple[str, str]:
    return (record.get("start_date") or record["from"], record.get("end_date") or record["to"])


def _body(client, x, record_id):
    """The documented request body, its placeholder references pointed at seeded records."""
    body = json.loads(json.dumps(x.body))
    if not isinstance(body, dict):
        return body
    project = _first(client, "projects")
    refs = {
        "resource_id": _first(client, "resources")["id"],
        "resource_instance_id": _first(client, "resources")["id"],
        "project_id": project["id"],
        "client_id": project["client_id"],
        "activity_type_id": _first(client, "activity_types")["id"],
        "custom_field_id": _first(client, "custom_fields")["id"],
    }
    body.update({k: v for k, v in refs.items() if k in body})
    if "resource_ids" in body:
        body["resource_ids"] = [refs["resource_id"]]
    if "custom_field_values" in body:  # Redoc's property1/property2: a map of custom field names
        body["custom_field_values"] = {}
    if x.operation.startswith("webhooks_") and "payload_url" not in body:
        body["payload_url"] = RECEIVER  # dropped by the scrape (see SCRAPE_DROPPED)
    if x.operation in ("bookings_split", "downtimes_split"):
        record = client.get(f"{ROOT}/v1/{ACC}/{x.path.split('/')[3]}/{record_id}", headers=H).json()
        body["date"] = (dt.date.fromisoformat(_span(record)[0]) + dt.timedelta(days=1)).isoformat()
        if "resource_id" in body:  # the time off's own resource
            body["resource_id"] = record["resource_ids"][0]
    if x.operation == "calendars_update":
        calendar = client.get(f"{ROOT}/v1/{ACC}/calendars/{record_id}", headers=H).json()
        body["incoming_calendar_subscriptions"][0]["calendar_id"] = calendar["incoming_calendars"][0]["id"]
    for period in body.get("available_periods", []):
        period["end_time"] = 1020  # the sample's 540-540 is an empty period, which the field refuses
    return body


def _success_status(x) -> int:
    return 201 if x.operation.endswith("_create") else 200


def _request(client, x):
    path = x.path.replace("{account}", ACC)
    query = next((q for prefix, q in QUERY.items() if x.operation.startswith(prefix)), "")
    record_id = MISSING if x.error else (_record_id(client, x) if "{id}" in path else None)
    path = path.replace("{id}", str(record_id))
    body = _body(client, x, record_id) if x.body is not None else None
    if x.error:
        body = REFUSED_BODY.get(x.operation, body)
        query = REFUSED_QUERY.get(x.operation, query)
    url = ROOT + path + (f"?{query}" if query else "")
    if body is None:
        return client.request(x.method, url, headers=H)
    return client.request(x.method, url, headers=H, json=body)


def _documented(x):
    """The sample with what the documentation itself says elsewhere put in (see the lists above)."""
    sample = json.loads(json.dumps(x.response))
    for where in x.dropped_keys_at:
        for (prefix, key), _reason in SCRAPE_DROPPED.items():
            if x.operation.startswith(prefix):
                for obj in _at(sample, where):
                    obj[key] = None
    for (line, where), (_reason, value) in CONTRADICTIONS.items():
        if line == x.line:
            parent, _, last = where.rpartition(".")
            for obj in _at(sample, parent):
                for key in [k for k in obj if fnmatch.fnmatchcase(k, last)]:
                    obj[key] = value
    return sample


def _at(value, where: str) -> list:
    """The objects at a path like `$.resources[].custom_fields` (every array item)."""
    found = [value]
    for step in re.findall(r"\.([^.\[]+)|(\[\])", where[1:]):
        key, items = step
        if items:
            found = [v for f in found for v in f]
        else:
            found = [f[key] for f in found if isinstance(f, dict) and key in f]
    return found


def free_maps(expected, actual, where="$") -> tuple[object, object, list[str]]:
    """Redoc shows a map with free keys (additionalProperties) as `property1`, `property2`: such a
    map's values are compared with the documented value, then the map leaves the key comparison."""
    if isinstance(expected, dict) and set(expected) == {"property1", "property2"}:
        if actual is None:
            return None, None, []  # null is any value's (same_shape's rule)
        if not isinstance(actual, dict):
            return None, None, [f"{where}: expected a map, got {type(actual).__name__}"]
        problems = [
            p for k, v in actual.items() for p in same_shape(expected["property1"], v, f"{where}.{k}")
        ]
        return None, None, problems
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        for k in expected.keys() & actual.keys():
            expected[k], actual[k], found = free_maps(expected[k], actual[k], f"{where}.{k}")
            problems += found
        return expected, actual, problems
    if isinstance(expected, list) and isinstance(actual, list) and expected:
        problems = []
        for n, item in enumerate(actual):
            _, actual[n], found = free_maps(json.loads(json.dumps(expected[0])), item, f"{where}[]")
            problems += found
        expected[:] = [free_maps(e, e)[0] for e in expected]
        return expected, actual, problems
    return expected, actual, []


def problems_of(x, answer) -> list[str]:
    """Every difference between the documented sample and an answer (an empty list: they agree)."""
    expected, actual, problems = free_maps(_documented(x), json.loads(json.dumps(answer)))
    return problems + same_shape(expected, actual)


def _id(x) -> str:
    return f"{x.line}-{x.operation}"


@pytest.mark.parametrize("x", EXCHANGES, ids=[_id(x) for x in EXCHANGES])
def test_seed_sample_replays(client, x):
    r = _request(client, x)
    if x.error:
        assert 400 <= r.status_code < 500, r.text
    else:
        assert r.status_code == _success_status(x), r.text
    assert problems_of(x, r.json()) == []


@pytest.mark.parametrize(
    "key", list(CONTRADICTIONS), ids=[f"{line}:{where}" for line, where in CONTRADICTIONS]
)
def test_every_listed_contradiction_is_needed(client, monkeypatch, key):
    """A listed contradiction that no longer shows would hide a future difference: each must."""
    x = next(x for x in EXCHANGES if x.line == key[0])
    answer = _request(client, x).json()
    assert problems_of(x, answer) == []
    monkeypatch.delitem(CONTRADICTIONS, key)
    assert problems_of(x, answer) != []


def test_every_scrape_dropped_key_is_needed(client, monkeypatch):
    x = next(x for x in EXCHANGES if x.operation == "webhooks_get")
    answer = _request(client, x).json()
    monkeypatch.setattr(sys.modules[__name__], "SCRAPE_DROPPED", {})
    assert problems_of(x, answer) == ["$.payload_url: not documented"]


def test_the_replay_comparison_catches_a_broken_answer(client):
    """The replay's check against deliberately broken answers: each fault is reported."""
    x = next(x for x in EXCHANGES if x.operation == "bookings_get")
    answer = _request(client, x).json()
    assert problems_of(x, answer) == []

    def broken(change):
        copy = json.loads(json.dumps(answer))
        change(copy)
        return copy

    faults = {
        "undocumented key": lambda a: a.update(colour="red"),
        "missing key": lambda a: a.pop("billable"),
        "int sent as float": lambda a: a.update(duration=float(a["duration"])),
        "int sent as string": lambda a: a.update(id=str(a["id"])),
        "nested key missing": lambda a: a["durations"][0].pop("elastic_overtime"),
        "nested undocumented key": lambda a: a["booker"].update(phone="1"),
        "map value of the wrong type": lambda a: a.update(custom_field_values={"Team": 1}),
        "object sent as array": lambda a: a.update(approval_state=[]),
    }
    for fault, change in faults.items():
        assert problems_of(x, broken(change)) != [], fault
