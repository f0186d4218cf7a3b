"""`standin validate` over HAR files: the documentation's own exchanges, and planted violations.

The documentation HAR is built from the exchanges extracted from the vendor documentation
(tests/data/, see tests/data/extract.py). What the scrape does not give is filled in from the
spec, and only that: the tenant and ids in templated paths (`{APP_CODE}` -> demo, `{account}` ->
example-corp, an integration -> qbo, other ids -> 1); a required query parameter the scraped
Resource Guru pages lost with their request lines, from the spec's example; a status the page
does not show (the operation's documented success, or for an error body the status inside it,
else its first documented 4xx); and content types (the request's documented header, else the
spec's). Every finding on that HAR must be one of DOC_CONTRADICTIONS, each with its reason,
and every entry there must still occur.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.validation import validator
from server.app import create_app

DATA = Path(__file__).resolve().parent / "data"
SEEDS = {
    "productive": ["000_9bcbfb234c7390af", "002_96a0c1c7389aaa85"],
    "ibuildapp": ["001_def7881bc1b63970"],
    "resourceguru": ["003_04944ccd4c44e164"],
}
TENANT = {"APP_CODE": "demo", "app_path": "demo", "account": "example-corp", "INTEGRATION": "qbo"}

# (api, seed line, finding kind, where) -> why the documentation's own exchange breaks the spec.
# Requests the documentation shows with a 4xx answer may break the spec (that is what they show):
# those are warnings, not listed here.
DOC_CONTRADICTIONS: dict[tuple[str, int, str, str], str] = {
    ("ibuildapp", 185, "request", "request body $.password"): "user/create's example password is the "
    "placeholder 'string' (6 characters); the field notes ask for 8 to 16",
    ("ibuildapp", 2016, "request", "request body $.project_id"): "task/search's example filters by "
    "project_id 0, a placeholder: ids start at 1",
    (
        "ibuildapp",
        3159,
        "request",
        "request body $",
    ): "the schedule example misspells its one key: shedule_id",
    ("ibuildapp", 3409, "request", "request body $"): "rate/create's example sends schedule_1 where the "
    "field table names schedule_id",
    ("ibuildapp", 3839, "request", "request body $.time_entry_ids[0]"): "ts/search's example asks for "
    "time entry 0, a placeholder: ids start at 1",
    ("ibuildapp", 4309, "request", "request body $.time_entry_ids[0]"): "ts/export's example asks for "
    "time entry 0, a placeholder: ids start at 1",
    ("ibuildapp", 4309, "schema", "response body"): "ts/export's answer is documented as text/csv, with no "
    "CSV shown",
    (
        "ibuildapp",
        457,
        "schema",
        "response body $.data.current_time_entry",
    ): "user/dashboard: the field notes "
    "give comments as an Integer (a count), the example shows an empty string",
    ("ibuildapp", 550, "schema", "response body $.data.time_entries[0]"): "user/history: the example's time "
    "entries show 5 keys, the TimeEntry field list under it 16 (the spec follows the list)",
    ("ibuildapp", 974, "schema", "response body $.data"): "client (get): the Client field list has projects, "
    "the example not",
    ("ibuildapp", 2016, "schema", "response body $.data.teams"): "task/search's example team has id 0, a "
    "placeholder: ids start at 1",
    ("ibuildapp", 2480, "schema", "response body $.data.time_entries[0]"): "task/work_history: the TimeEntry "
    "field list has payment_status, the example's entries not",
    ("ibuildapp", 2480, "schema", "response body $.data.time_entries[1]"): "the same, second entry",
    ("resourceguru", 2698, "schema", "response body $.resources[0].name"): "the project report sample "
    "shows a resource's name as 1; the field table and every other sample give a string",
    ("resourceguru", 5764, "request", "request body $"): "the webhook create request sample has no "
    "payload_url, which the field table above it marks required (the scrape lost the URL lines of the "
    "webhook samples: the response samples end in a trailing comma where theirs was)",
}


def _documented(api: str) -> list[dict]:
    found = []
    for stem in SEEDS[api]:
        for exchange in json.loads((DATA / f"{stem}.json").read_text(encoding="utf-8"))["exchanges"]:
            found.append({**exchange, "seed": stem})
    return found


def _resolved(raw: dict, node: dict, kind: str) -> dict:
    while "$ref" in node:
        node = raw["components"][kind][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _status(exchange: dict, responses: dict) -> int:
    if exchange.get("status"):
        return exchange["status"]
    response = exchange.get("response")
    errors = response.get("errors") if isinstance(response, dict) else None
    if exchange.get("error") or isinstance(errors, list):
        inside = str((errors or [{}])[0].get("status", "")) if isinstance(errors, list) else ""
        if inside in responses:
            return int(inside)
        return int(next(code for code in responses if code.startswith("4")))
    return int(next(code for code in responses if code.startswith("2")))


def _query(raw: dict, parameters: list) -> str:
    pairs = []
    for parameter in parameters:
        parameter = _resolved(raw, parameter, "parameters")
        if parameter["in"] == "query" and parameter.get("required"):
            value = parameter.get("example", parameter.get("schema", {}).get("example"))
            pairs.append(f"{parameter['name']}={value}")
    return "?" + "&".join(pairs) if pairs else ""


def har_entry(api: str, exchange: dict) -> dict:
    """One HAR 1.2 entry for a documented exchange (see the module docstring for what is filled in)."""
    checker = validator(api)
    path = re.sub(r"\{(\w+)\}", lambda m: TENANT.get(m.group(1), "1"), exchange["path"])
    method = exchange["method"]
    template = checker.template(method, path)
    operation = checker.raw["paths"][template][method.lower()] if template else {}
    responses = operation.get("responses", {"200": {}})
    status = _status(exchange, responses)
    answer = _resolved(checker.raw, responses.get(str(status), {}), "responses")
    response_type = next(iter(answer.get("content", {})), "application/json")
    request_types = _resolved(checker.raw, operation.get("requestBody", {}), "requestBodies").get(
        "content", {}
    )
    request_type = (exchange.get("headers") or {}).get("Content-Type") or next(
        iter(request_types), "application/json"
    )
    if template:
        parameters = checker.raw["paths"][template].get("parameters", []) + operation.get("parameters", [])
        path += _query(checker.raw, parameters)
    response = exchange.get("response")
    json_answer = "json" in response_type
    text = (
        ""
        if response is None
        else json.dumps(response)
        if json_answer or not isinstance(response, str)
        else response
    )
    entry = {
        "comment": f"{exchange['seed']}:{exchange['line']}",
        "request": {"method": method, "url": f"https://vendor.example{path}", "headers": []},
        "response": {
            "status": status,
            "headers": [{"name": "Content-Type", "value": response_type}],
            "content": {"mimeType": response_type, "text": text},
        },
    }
    if exchange.get("body") is not None:
        entry["request"]["headers"].append({"name": "Content-Type", "value": request_type})
        entry["request"]["postData"] = {"mimeType": request_type, "text": json.dumps(exchange["body"])}
    return entry


def write_har(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "tests"}, "entries": entries}}))
    return path


def standin_validate(api: str, har: Path, report: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "server.cli", "validate", "--api", api, str(har), "--report", str(report)]
    return subprocess.run(argv + list(extra), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("api", sorted(SEEDS))
def test_the_documentations_exchanges_validate_except_its_known_contradictions(api, tmp_path):
    documented = _documented(api)
    har = write_har(tmp_path / "doc.har", [har_entry(api, e) for e in documented])
    result = standin_validate(api, har, tmp_path, "--base-url", "https://vendor.example")
    report = json.loads((tmp_path / "validation.json").read_text())
    assert report["exchanges_total"] == len(documented)  # every exchange reported
    found = {
        (api, int(e["label"].rsplit(":", 1)[1]), f["kind"], f["where"])
        for e in report["exchanges"]
        for f in e["findings"]
        if f["severity"] == "error" or f["kind"] == "undeclared-field"
    }
    known = {key for key in DOC_CONTRADICTIONS if key[0] == api}
    assert sorted(found - known) == [], result.stdout
    assert sorted(known - found) == []  # a contradiction fixed since: take it off the list
    assert result.returncode == (1 if known else 0), result.stderr


# ------------------------------------------------------------------ planted violations


def _recorded(client, method: str, path: str, body: dict | None = None) -> dict:
    """A HAR entry of a real exchange with in-process Standin."""
    headers = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
    kwargs = {}
    if body is not None:
        headers["Content-Type"] = "application/vnd.api+json"
        kwargs["content"] = json.dumps(body)
    response = client.request(method, path, headers=headers, **kwargs)
    entry = {
        "request": {
            "method": method,
            "url": f"http://127.0.0.1:8000{path}",
            "headers": [{"name": k, "value": v} for k, v in headers.items()],
        },
        "response": {
            "status": response.status_code,
            "headers": [{"name": k, "value": v} for k, v in response.headers.items()],
            "content": {"mimeType": response.headers.get("content-type", ""), "text": response.text},
        },
    }
    if body is not None:
        entry["request"]["postData"] = {"mimeType": headers["Content-Type"], "text": json.dumps(body)}
    return entry


def _planted() -> list[dict]:
    app = create_app(["productive"], rate_limit=0)
    with app.test_client() as client:
        listed = _recorded(client, "GET", "/productive/api/v2/widgets")
        one = _recorded(client, "GET", "/productive/api/v2/widgets/1")
        entitlement = _recorded(client, "GET", "/productive/api/v2/entitlements/17")
        changed = _recorded(
            client,
            "PATCH",
            "/productive/api/v2/widgets/2",
            {"data": {"type": "widgets", "attributes": {"width": 3}}},
        )
        gone = _recorded(client, "DELETE", "/productive/api/v2/widgets/3")
        unknown = _recorded(client, "GET", "/productive/api/v2/nothing")
    assert [e["response"]["status"] for e in (listed, one, entitlement, changed, gone)] == [200] * 4 + [204]
    doc = json.loads(listed["response"]["content"]["text"])
    doc["data"][1]["attributes"]["width"] = "wide"  # schema violation
    listed["response"]["content"]["text"] = json.dumps(doc)
    one["response"]["status"] = 202  # undocumented status
    for header in entitlement["response"]["headers"]:  # wrong content type
        if header["name"].lower() == "content-type":
            header["value"] = "text/html; charset=utf-8"
    doc = json.loads(changed["response"]["content"]["text"])
    doc["data"]["attributes"]["colour"] = "red"  # a field the spec does not declare: a warning
    changed["response"]["content"]["text"] = json.dumps(doc)
    unknown["response"]["status"] = 200
    other_host = json.loads(json.dumps(gone))
    other_host["request"]["url"] = "https://fonts.example/css"
    preflight = json.loads(json.dumps(gone))  # a browser's CORS question: left out, not an unknown method
    preflight["request"]["method"] = "OPTIONS"
    preflight["request"]["headers"] = [{"name": "Access-Control-Request-Method", "value": "DELETE"}]
    return [listed, one, entitlement, changed, gone, unknown, other_host, preflight]


def test_planted_violations_are_each_reported_for_their_operation(tmp_path):
    har = write_har(tmp_path / "planted.har", _planted())
    result = standin_validate("productive", har, tmp_path, "--base-url", "http://127.0.0.1:8000/productive")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {r["operation"]: r for r in json.loads((tmp_path / "validation.json").read_text())["operations"]}
    kinds = {
        name: sorted({(f["severity"], f["kind"], f["where"]) for f in row["findings"]})
        for name, row in rows.items()
        if row["exchanges"]
    }
    assert kinds == {
        "GET /api/v2/widgets": [("error", "schema", "response body $.data[*].attributes.width")],
        "GET /api/v2/widgets/{id}": [("error", "undocumented-status", "response status")],
        "GET /api/v2/entitlements/{id}": [("error", "content-type", "response header Content-Type")],
        "PATCH /api/v2/widgets/{id}": [
            ("warning", "undeclared-field", "response body $.data.attributes.colour")
        ],
        "DELETE /api/v2/widgets/{id}": [],
        "GET /api/v2/nothing": [("error", "unknown-path", "request path")],
    }
    assert "2 entries left out" in result.stdout  # the other host's entry and the preflight
    assert "GET /api/v2/nothing" in result.stdout and "not exercised" in result.stdout


def test_a_clean_har_exits_0_and_a_bad_file_exits_2(tmp_path):
    clean = [entry for entry in _planted()[4:5]]
    har = write_har(tmp_path / "clean.har", clean)
    assert (
        standin_validate(
            "productive", har, tmp_path, "--base-url", "http://127.0.0.1:8000/productive"
        ).returncode
        == 0
    )
    (tmp_path / "bad.har").write_text("{not json")
    assert standin_validate("productive", tmp_path / "bad.har", tmp_path).returncode == 2
    clean[0]["response"]["content"].update(text="@@@", encoding="base64")
    result = standin_validate("productive", write_har(tmp_path / "bad64.har", clean), tmp_path)
    assert result.returncode == 2 and "base64" in result.stderr and "Traceback" not in result.stderr
