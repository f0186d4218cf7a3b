"""Each mounted API owns its state: the same seed gives byte-identical answers for one API, the
ids of new records included, whichever other APIs are mounted beside it (issue 17 item 3)."""

from __future__ import annotations

from itertools import combinations

import httpx
import pytest

import fixtures
from server import app as composition
from server.app import API_NAMES, Runtime, create_app
from server.store import NO_ROWS, Store
from tests.live import serve

SEED = 5
FROZEN = {"now": "2026-03-04T05:06:07Z", "frozen": True}  # created stamps read Standin's clock
PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
JSONAPI = {**PRODUCTIVE, "Content-Type": "application/vnd.api+json"}
IBUILDAPP = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
RESOURCEGURU = {"Authorization": "Bearer 1.standin-resourceguru-demo-token"}
WIDGET = {
    "data": {
        "type": "widgets",
        "attributes": {"widget_type_id": 1, "width": 4, "height": 4, "row_position": 1},
        "relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}},
    }
}

# Per API: requests that create records (in tables other APIs have too: clients, projects, users)
# and read them back. (method, path under the API's prefix, headers, JSON body, new id's place)
SCRIPTS = {
    "productive": [
        ("POST", "/api/v2/widgets", JSONAPI, WIDGET, ("data", "id")),
        ("GET", "/api/v2/widgets?sort=-id&page[size]=3", PRODUCTIVE, None, None),
    ],
    "ibuildapp": [
        ("POST", "/api/demo/client/create", IBUILDAPP, {"name": "Made here"}, ("id",)),
        ("POST", "/api/demo/client/search", IBUILDAPP, {"name": "Made here"}, None),
        (
            "POST",
            "/api/demo/user/create",
            IBUILDAPP,
            {"email": "new@example.com", "password": "12345678"},
            ("id",),
        ),
    ],
    "resourceguru": [
        ("POST", "/v1/example-corp/clients", RESOURCEGURU, {"name": "Made here"}, ("id",)),
        ("POST", "/v1/example-corp/projects", RESOURCEGURU, {"name": "Made here too"}, ("id",)),
        ("GET", "/v1/example-corp/clients", RESOURCEGURU, None, None),
    ],
}
SUBSETS = [list(s) for n in range(1, len(API_NAMES) + 1) for s in combinations(API_NAMES, n)]


def _answers(names: list[str]) -> dict[str, list[tuple]]:
    """Every mounted API's script run on a fresh app of these APIs, each API after the others'
    writes: per API, (status, headers but Date, body) of each request."""
    app = create_app(names, seed=SEED)
    answers = {}
    with app.test_client() as client:
        assert client.put("/_standin/clock", json=FROZEN).status_code == 200
        for name in names:
            answers[name] = []
            for method, path, headers, body, _ in SCRIPTS[name]:
                r = client.request(method, f"/{name}{path}", headers=headers, json=body)
                assert r.status_code < 300, (name, path, r.text)
                kept = sorted((k, v) for k, v in r.headers.items() if k.lower() != "date")
                answers[name].append((r.status_code, kept, r.content))
    return answers


def _differences() -> list[str]:
    """Where one API's answers depend on which other APIs are mounted."""
    alone = {name: _answers([name])[name] for name in API_NAMES}
    found = []
    for names in SUBSETS:
        if len(names) > 1:
            for name, answers in _answers(names).items():
                if answers != alone[name]:
                    found.append(f"{name} beside {'+'.join(n for n in names if n != name)}")
    return found


def test_each_api_answers_the_same_whichever_apis_are_mounted():
    assert _differences() == []


def test_one_store_shared_by_every_api_is_caught(monkeypatch):
    """The broken variant: every API seeded into one store with id sequences per table name, as
    before issue 17 (a new iBuildApp record's id then depended on the other APIs' fixtures)."""

    def one_store_for_all(self, seed=None):
        self.seed = self.seed if seed is None else seed
        shared = Store()
        fixtures.seed_all(shared, self.seed, list(self.stores), self.scale)
        self.stores = dict.fromkeys(self.stores, shared)

    monkeypatch.setattr(Runtime, "reset", one_store_for_all)
    assert _differences()


def test_reading_creates_no_table():
    store = Store("productive")
    assert store.table("1308", "widgets") is NO_ROWS and store.get("1308", "widgets", 1) is None
    assert list(store.find("1308", "widgets")) == [] and store.first_with("1308", "widgets", "id", 1) is None
    assert store.delete("1308", "widgets", 1) is None
    assert store.contents() == ({}, {})
    with pytest.raises(TypeError):
        store.table("1308", "widgets")[1] = {}  # not a live table: a write would be lost


def _new_ids(base: str, prefix: str, name: str) -> list:
    """The ids of the records one API's script creates, against a running server."""
    assert httpx.put(f"{base}/_standin/clock", json=FROZEN).status_code == 200
    ids = []
    for method, path, headers, body, where in SCRIPTS[name]:
        r = httpx.request(method, f"{base}{prefix}{path}", headers=headers, json=body)
        assert r.status_code < 300, r.text
        if where is not None:
            value = r.json()
            for key in where:
                value = value[key]
            ids.append(value)
    return ids


@pytest.mark.parametrize("name", API_NAMES)
def test_new_ids_over_http_are_the_same_alone_and_with_every_api(name):
    with serve("--api", name, "--seed", str(SEED)) as base:
        alone = _new_ids(base, "", name)
    with serve("--seed", str(SEED)) as base:
        for other in API_NAMES:  # the other APIs write first
            if other != name:
                _new_ids(base, f"/{other}", other)
        together = _new_ids(base, f"/{name}", name)
    assert alone == together and all(isinstance(i, (int, str)) for i in alone)


def test_the_composition_makes_one_store_per_api():
    runtime = create_app(API_NAMES).runtime
    assert [s.namespace for s in runtime.stores.values()] == API_NAMES
    assert len({id(s) for s in runtime.stores.values()}) == len(API_NAMES)
    assert composition.Store is Store
