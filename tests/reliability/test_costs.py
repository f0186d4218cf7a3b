"""Costs that do not grow with the store (issue 18, items 2 and 3), measured by work done, not time.

Before: iBuildApp's `client/search {"limit": 10}` went from 3,586 to 29 req/s at ~15k clients
(every search filtered and sorted the whole table), and every write anywhere rebuilt the token
index, so writes slowed as sessions piled up (store.first_with)."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.vendors.ibuildapp import clients

IB = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
SEARCH = "/ibuildapp/api/demo/client/search"


@pytest.fixture(scope="module")
def app():
    app = create_app(["ibuildapp"], rate_limit=0, keep_answers=False)
    rt = app.runtime
    store = rt.stores["ibuildapp"] if hasattr(rt, "stores") else rt.store  # per-API stores (issue 17)
    for n in range(3000):
        store.insert("ibuildapp:demo", "clients", {"name": f"bulk {n}", "status": "active", "notes": None})
    return app


def test_an_unfiltered_search_pages_without_scanning_the_table(app, monkeypatch):
    scanned = []
    real_has = clients.has
    monkeypatch.setattr(clients, "has", lambda *a: scanned.append(a) or real_has(*a))
    with app.test_client() as client:
        for body in ({"limit": 10}, {"limit": 10, "offset": 2500}, {"offset": 7, "with": ["projects"]}):
            fast = client.post(SEARCH, json=body, headers=IB).json()
            assert not scanned, "an unfiltered search looked at every client"
            scan = client.post(SEARCH, json={**body, "keyword": ""}, headers=IB).json()  # matches all
            assert scanned
            scanned.clear()
            assert fast == scan
            assert fast["count"] > 3000 and len(fast["data"]["clients"]) == 10
