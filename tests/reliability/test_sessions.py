"""Sessions and tokens expire and are pruned (issue 18, item 2), following Standin's clock.

Before: logins and token grants never expired and were never removed, so 20k iBuildApp logins
and 20k Resource Guru grants stayed in the store for good. iBuildApp sessions end 30 days after
login (the vendor documents expiry, not its length); Resource Guru access tokens after 7 days
(seed 003), their records (and refresh tokens) are pruned 30 days after issue."""

from __future__ import annotations

import httpx
import pytest

from tests.live import serve
from tests.reliability.soak import GRANT  # Resource Guru's documented password grant

DAY = 86400
LOGIN = {"email": "test@test.com", "password": "12345678"}


@pytest.fixture
def http():
    with serve("--rate-limit", "0") as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def _advance(http, seconds: int) -> None:
    assert http.put("/_standin/clock", json={"advance": seconds}).status_code == 200


def _records(http) -> int:
    return http.get("/_standin/health").json()["records"]


def test_ibuildapp_sessions_expire_and_are_pruned(http):
    token = http.post("/ibuildapp/api/demo/login", json=LOGIN).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    assert http.post("/ibuildapp/api/demo/client/search", json={}, headers=me).status_code == 200
    _advance(http, 29 * DAY)
    assert http.post("/ibuildapp/api/demo/client/search", json={}, headers=me).status_code == 200
    _advance(http, 2 * DAY)
    r = http.post("/ibuildapp/api/demo/client/search", json={}, headers=me)
    assert r.status_code == 401 and r.json()["error_code"] == 9
    before = _records(http)
    assert http.post("/ibuildapp/api/demo/login", json=LOGIN).status_code == 200
    assert _records(http) == before  # one session issued, the ended one pruned
    demo = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
    assert http.post("/ibuildapp/api/demo/client/search", json={}, headers=demo).status_code == 200


def test_resourceguru_tokens_expire_refresh_and_are_pruned(http):
    first = http.post("/resourceguru/oauth/token", data=GRANT).json()
    me = {"Authorization": f"Bearer {first['access_token']}"}
    assert http.get("/resourceguru/v1/me", headers=me).status_code == 200
    _advance(http, 8 * DAY)
    assert http.get("/resourceguru/v1/me", headers=me).status_code == 401
    refresh = {**GRANT, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refresh.pop("username"), refresh.pop("password")
    second = http.post("/resourceguru/oauth/token", data=refresh)
    assert second.status_code == 200, second.text
    assert http.get(
        "/resourceguru/v1/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
    )
    _advance(http, 31 * DAY)
    before = _records(http)
    assert http.post("/resourceguru/oauth/token", data=GRANT).status_code == 200
    assert (
        _records(http) == before
    )  # one issued, the 31-day-old one pruned (the refreshed one went at refresh)
    refresh["refresh_token"] = second.json()["refresh_token"]
    assert http.post("/resourceguru/oauth/token", data=refresh).status_code == 400  # pruned with it
