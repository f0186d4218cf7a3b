"""32 concurrent writers per API against `standin serve`, every write read back: none lost, none
duplicated, every id distinct (issue 18: keep what the 38,400-create run showed)."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from tests.live import serve

WRITERS = 32
EACH = min(int(os.environ.get("STANDIN_WRITES_EACH", "5")), 30)  # per writer (marks stay distinct)

IB = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
RG = {"Authorization": "Bearer 1.standin-resourceguru-demo-token"}
PR = {
    "X-Auth-Token": "standin-productive-demo-token",
    "X-Organization-Id": "1308",
    "Content-Type": "application/vnd.api+json",
}


async def _ibuildapp(http: httpx.AsyncClient, name: str) -> tuple[int, str | None]:
    r = await http.post("/ibuildapp/api/demo/client/create", json={"name": name, "status": True}, headers=IB)
    assert r.status_code == 200, r.text
    cid = r.json()["id"]
    got = await http.post("/ibuildapp/api/demo/client", json={"client_id": cid}, headers=IB)
    return cid, got.json()["data"]["name"] if got.status_code == 200 else None


async def _resourceguru(http: httpx.AsyncClient, name: str) -> tuple[int, str | None]:
    r = await http.post("/resourceguru/v1/example-corp/clients", json={"name": name}, headers=RG)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    got = await http.get(f"/resourceguru/v1/example-corp/clients/{cid}", headers=RG)
    return cid, got.json()["name"] if got.status_code == 200 else None


async def _productive(http: httpx.AsyncClient, name: str) -> tuple[int, str | None]:
    """Widgets have no name: the writer's mark goes in row_position, read back the same way."""
    mark = int(name.rsplit("-", 1)[1])
    body = {"data": {"type": "widgets", "attributes": {"width": 3, "height": 1, "widget_type_id": 2}}}
    body["data"]["attributes"]["row_position"] = mark
    body["data"]["relationships"] = {"dashboard": {"data": {"type": "dashboards", "id": "19"}}}
    r = await http.post("/productive/api/v2/widgets", json=body, headers=PR)
    assert r.status_code == 201, r.text
    wid = r.json()["data"]["id"]
    got = await http.get(f"/productive/api/v2/widgets/{wid}", headers=PR)
    row = got.json()["data"]["attributes"]["row_position"] if got.status_code == 200 else None
    return int(wid), None if row is None else f"w-{row}"


WRITE = {"ibuildapp": _ibuildapp, "resourceguru": _resourceguru, "productive": _productive}


async def _run(base: str, api: str) -> list[tuple[str, int, str | None]]:
    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:

        async def writer(w: int):
            out = []
            for i in range(EACH):
                name = f"w-{w * 30 + i}"  # within Productive's row_position range
                out.append((name, *await WRITE[api](http, name)))
            return out

        results = await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return [row for rows in results for row in rows]


@pytest.fixture(scope="module")
def base():
    with serve("--rate-limit", "0") as url:
        yield url


@pytest.mark.parametrize("api", sorted(WRITE))
def test_concurrent_writers_lose_and_duplicate_nothing(base, api):
    rows = asyncio.run(_run(base, api))
    assert len(rows) == WRITERS * EACH
    ids = [cid for _, cid, _ in rows]
    assert len(set(ids)) == len(ids), "an id was given twice"
    lost = [(name, cid, read) for name, cid, read in rows if read != name]
    assert not lost, f"{len(lost)} writes not read back as written: {lost[:3]}"
