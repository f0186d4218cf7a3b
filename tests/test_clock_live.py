"""Standin's clock, the index and the docs pages over HTTP, against a separately started `standin serve`."""

from __future__ import annotations

import httpx

from tests.test_control_state import DAY, RG_GRANT, standin


def test_the_clock_expires_a_token_over_http_and_the_index_points_at_the_docs():
    with standin("--rate-limit", "0") as (base, _):
        grant = httpx.post(f"{base}/resourceguru/oauth/token", json=RG_GRANT).json()
        clients = f"{base}/resourceguru/v1/example-corp/clients"
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        assert httpx.get(clients, headers=headers).status_code == 200
        moved = httpx.put(f"{base}/_standin/clock", json={"advance": 8 * DAY, "frozen": True}).json()
        assert moved["frozen"] is True and moved["offset_seconds"] >= 8 * DAY - 5
        assert httpx.get(clients, headers=headers).status_code == 401
        refresh = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        client = {k: RG_GRANT[k] for k in ("client_id", "client_secret")}
        renewed = httpx.post(f"{base}/resourceguru/oauth/token", json={**refresh, **client}).json()
        assert renewed["created_at"] >= grant["created_at"] + 8 * DAY - 5
        assert (
            httpx.get(clients, headers={"Authorization": f"Bearer {renewed['access_token']}"}).status_code
            == 200
        )
        assert httpx.post(f"{base}/_standin/reset").status_code == 200
        assert abs(httpx.get(f"{base}/_standin/clock").json()["offset_seconds"]) < 5
        index = httpx.get(f"{base}/").json()
        assert [m["docs"] for m in index["mounted"]] == [
            f"/_standin/docs/{n}" for n in ("productive", "ibuildapp", "resourceguru")
        ]
        page = httpx.get(f"{base}{index['mounted'][2]['docs']}")
        assert page.status_code == 200 and '"basicAuth": ["user@example.com", "secret"]' in page.text
        spec = httpx.get(f"{base}/_standin/specs/resourceguru").text
        assert "servers:\n  - url: /resourceguru\n" in spec
