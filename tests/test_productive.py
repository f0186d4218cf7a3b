"""Productive behaviour: the seed exchanges replayed, scoping, JSON:API paging, filters, errors."""

from __future__ import annotations

import json
import re

import pytest

from server.vendors.productive import API
from tests.seeds import exchanges, same_shape

H = API.demo["headers"]
BASE = "/productive"
# Seed ids -> ids of the seeded demo organization; unknown references ("0") stay as they are.
ADAPT = {
    "dashboards": {"21": "19"},
    "event_id": {58: 54, 60: 54, 0: 0},
    "person_id": {588: 582, 593: 582, 0: 0},
}
EXISTING = {"widgets": 1, "entitlements": 17}


def _adapt(method, path, body):
    kind = path.split("/")[3]
    if re.search(r"/\d+$", path):
        path = re.sub(r"/\d+$", f"/{EXISTING[kind]}", path)
    elif method == "GET":
        path += "?page[size]=200"  # one page, as in the seed's short lists
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        data = body["data"]
        ref = data.get("relationships", {}).get("dashboard", {}).get("data")
        if ref:
            ref["id"] = ADAPT["dashboards"].get(ref["id"], ref["id"])
        attributes = data.get("attributes", {})
        for key in ("event_id", "person_id"):
            if key in attributes:
                attributes[key] = ADAPT[key].get(attributes[key], attributes[key])
    return method, path, body


def _expected_status(x):
    if x.status:
        return x.status
    if x.response and "errors" in x.response:
        return 422
    return {"POST": 201, "DELETE": 204}.get(x.method, 200)


SEED_EXCHANGES = exchanges("000_9bcbfb234c7390af.txt") + exchanges("002_96a0c1c7389aaa85.txt")


@pytest.mark.parametrize("x", SEED_EXCHANGES, ids=[f"{x.line}-{x.method} {x.path}" for x in SEED_EXCHANGES])
def test_seed_exchange_replays(client, x):
    method, path, body = _adapt(x.method, x.path, x.body)
    r = client.request(method, BASE + path, headers={**H, **x.headers}, json=body)
    assert r.status_code == _expected_status(x), r.text
    if x.response is None:
        assert r.content == b""
        return
    assert r.headers["content-type"] == "application/vnd.api+json; charset=utf-8"
    assert same_shape(x.response, r.json()) == []
    if "errors" in x.response:
        assert r.json() == x.response  # error bodies match the vendor's word for word


def _broken(answer: dict) -> dict[str, dict]:
    """Deliberately wrong variants of a right answer, one fault each."""

    def variant(change):
        copy = json.loads(json.dumps(answer))
        change(copy)
        return copy

    def drop_sideload_key(a):
        del a["included"][0]["attributes"][next(iter(a["included"][0]["attributes"]))]

    return {
        "undocumented attribute": variant(lambda a: a["data"]["attributes"].update(colour="red")),
        "missing attribute": variant(lambda a: a["data"]["attributes"].pop("width")),
        "int sent as float": variant(lambda a: a["data"]["attributes"].update(width=2.0)),
        "id sent as int": variant(lambda a: a["data"].update(id=4)),
        "undocumented relationship": variant(
            lambda a: a["data"]["relationships"].update(extra={"data": None})
        ),
        "sideload missing a key": variant(drop_sideload_key),
    }


def test_the_replay_comparison_catches_a_broken_answer(client):
    """The replay's check against a deliberately broken answer: every fault is reported."""
    x = next(x for x in SEED_EXCHANGES if x.method == "GET" and x.path == "/api/v2/widgets/4")
    method, path, body = _adapt(x.method, x.path, x.body)
    answer = client.request(method, BASE + path, headers={**H, **x.headers}).json()
    assert same_shape(x.response, answer) == []
    for fault, broken in _broken(answer).items():
        assert same_shape(x.response, broken) != [], fault


def test_data_is_scoped_to_the_organization(client):
    ids = {w["id"] for w in client.get(f"{BASE}/api/v2/widgets?page[size]=200", headers=H).json()["data"]}
    assert "4" not in ids and {"1", "2", "3"} <= ids
    assert client.get(f"{BASE}/api/v2/widgets/4", headers=H).status_code == 404
    other = {**H, "X-Organization-Id": "1309"}
    r = client.get(f"{BASE}/api/v2/widgets", headers=other)
    assert r.status_code == 403 and r.json()["errors"][0]["status"] == "403"


@pytest.mark.parametrize(
    "headers", [{}, {"X-Organization-Id": "1308"}, {"X-Auth-Token": "nope", "X-Organization-Id": "1308"}]
)
def test_missing_or_unknown_token_is_401(client, headers):
    r = client.get(f"{BASE}/api/v2/widgets", headers=headers)
    assert r.status_code == 401
    assert r.json()["errors"][0]["title"] == "Unauthorized"


def test_pagination_links_and_meta(client):
    r = client.get(f"{BASE}/api/v2/entitlements?page[number]=2&page[size]=5&sort=-id", headers=H).json()
    meta, links = r["meta"], r["links"]
    assert meta["current_page"] == 2 and meta["page_size"] == 5 and meta["max_page_size"] == 200
    assert meta["total_pages"] == -(-meta["total_count"] // 5)
    assert links["prev"].endswith("sort=-id&page%5Bnumber%5D=1&page%5Bsize%5D=5")
    assert links["next"].endswith("page%5Bnumber%5D=3&page%5Bsize%5D=5")
    ids = [int(e["id"]) for e in r["data"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    assert client.get(f"{BASE}/api/v2/widgets?page[size]=201", headers=H).status_code == 400


def test_filters_and_unsupported_ones(client):
    r = client.get(f"{BASE}/api/v2/widgets?filter[dashboard_id]=19", headers=H).json()
    assert [w["id"] for w in r["data"]] == ["1", "2", "3"]
    r = client.get(f"{BASE}/api/v2/entitlements?filter[person_id]=582,583", headers=H).json()
    assert {e["relationships"]["person"]["data"]["id"] for e in r["data"]} <= {"582", "583"}
    r = client.get(f"{BASE}/api/v2/widgets?filter[color]=red", headers=H)
    assert r.status_code == 400 and r.json()["errors"][0]["title"] == "Unsupported Filter"
    r = client.get(f"{BASE}/api/v2/widgets?include=owner", headers=H)
    assert r.status_code == 400 and r.json()["errors"][0]["title"] == "Unsupported Include"


def test_include_narrows_the_sideloads(client):
    r = client.get(f"{BASE}/api/v2/widgets/1?include=dashboard", headers=H).json()
    assert [i["type"] for i in r["included"]] == ["dashboards"]


def test_create_update_delete_change_what_reads_return(client):
    body = {
        "data": {
            "type": "widgets",
            "attributes": {"width": 3, "height": 1, "widget_type_id": 2},
            "relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}},
        }
    }
    created = client.post(f"{BASE}/api/v2/widgets", headers=H, json=body).json()["data"]
    url = f"{BASE}/api/v2/widgets/{created['id']}"
    patch = {"data": {"type": "widgets", "attributes": {"row_position": 7}}}
    assert client.patch(url, headers=H, json=patch).json()["data"]["attributes"]["row_position"] == 7
    assert client.get(url, headers=H).json()["data"]["attributes"]["row_position"] == 7
    assert client.delete(url, headers=H).status_code == 204
    assert client.get(url, headers=H).status_code == 404
    assert client.delete(url, headers=H).status_code == 404


def test_refused_requests_change_nothing(client, app):
    before = app.runtime.stores["productive"].snapshot()
    bad = {
        "data": {
            "type": "entitlements",
            "attributes": {
                "event_id": 54,
                "person_id": 0,
                "start_date": "2026-01-01",
                "end_date": "2026-02-01",
                "allocated": 3,
            },
        }
    }
    assert client.post(f"{BASE}/api/v2/entitlements", headers=H, json=bad).status_code == 422
    assert (
        client.patch(
            f"{BASE}/api/v2/entitlements/17",
            headers=H,
            json={"data": {"type": "entitlements", "attributes": {"allocated": "", "used": 1}}},
        ).status_code
        == 422
    )
    assert app.runtime.stores["productive"].snapshot() == before


def test_other_content_type_is_415_and_bad_json_is_400(client):
    r = client.post(
        f"{BASE}/api/v2/widgets", headers={**H, "Content-Type": "application/json"}, content=b"{}"
    )
    assert r.status_code == 415 and r.json()["errors"][0]["status"] == "415"
    r = client.post(f"{BASE}/api/v2/widgets", headers=H, content=b"{nope")
    assert r.status_code == 400 and "errors" in r.json()


def test_unknown_method_is_405_with_allow(client):
    r = client.put(f"{BASE}/api/v2/widgets/1", headers=H, json={})
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, PATCH"
