"""Rate limits charge the authenticated client (issue 18, item 6; server/limits.py).

Before: 201 requests with `Bearer 1.garbage` exhausted the real application 1's budget; every
request without usable credentials (including /oauth/token) shared one budget, so one client
locked out all others; `Bearer<TAB>token` authenticated but was charged to that shared budget;
limiter windows of distinct garbage tokens were freed only by reset."""

from __future__ import annotations

import httpx
import pytest

from server.limits import PRUNE_EVERY, RateLimiter
from server.vendors.resourceguru import API
from tests.live import serve

H = API.demo["headers"]
TOKEN = H["Authorization"].removeprefix("Bearer ")
ME = "/resourceguru/v1/me"


@pytest.fixture(scope="module")
def base():
    with serve() as url:  # Resource Guru's documented 200 requests a minute
        yield url


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_made_up_tokens_do_not_spend_a_real_applications_budget(base):
    with httpx.Client(timeout=10) as http:
        for _ in range(201):
            assert http.get(base + ME, headers={"Authorization": "Bearer 1.garbage"}).status_code in (
                401,
                429,
            )
        r = http.get(base + ME, headers=H)
        assert r.status_code == 200 and int(r.headers["X-RateLimit-Remaining"]) >= 198


def test_clients_without_credentials_are_metered_per_address(base):
    grant = {"grant_type": "password", "username": "nobody@example.com", "password": "x"}
    grant |= {"client_id": "the_client_id", "client_secret": "the_client_secret"}
    with _from("127.0.0.3") as noisy, _from("127.0.0.4") as quiet:
        statuses = {
            noisy.post(base + "/resourceguru/oauth/token", data=grant).status_code for _ in range(205)
        }
        assert 429 in statuses  # the noisy address spent its own budget
        r = quiet.post(base + "/resourceguru/oauth/token", data=grant)
        assert r.status_code != 429, "one address locked out another"


@pytest.mark.parametrize("header", [f"Bearer\t{TOKEN}", f"Bearer  {TOKEN}", f"Bearer {TOKEN} x"])
def test_authorization_is_parsed_strictly(base, header):
    """RFC 7235: `scheme SP token68`; anything else is no credentials (401), charged per address."""
    with _from("127.0.0.5") as http:
        r = http.get(base + ME, headers={"Authorization": header})
        assert r.status_code == 401, r.text
        assert r.json()["errors"][0]["code"] == 401


def test_idle_windows_are_dropped():
    now = [0.0]
    limiter = RateLimiter(lambda: now[0])
    for n in range(5000):
        limiter.hit(("api", f"garbage {n}"), 200, 60)
    now[0] = 61.0
    for _ in range(PRUNE_EVERY):
        limiter.hit(("api", "steady"), 10_000, 60)
    assert len(limiter) <= PRUNE_EVERY
