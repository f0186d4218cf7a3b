"""Resource Guru API v1: OAuth2, accounts, resources, clients, projects, webhooks (seed 003_04944ccd4c44e164)."""

from server.api import Api, RatePolicy
from server.vendors.resourceguru import handlers
from server.vendors.resourceguru.auth import OAUTH, rate_key
from server.vendors.resourceguru.errors import render

DEMO_TOKEN = "1.standin-resourceguru-demo-token"
DEMO = {
    "account": "example-corp",
    "client_id": "the_client_id",
    "client_secret": "the_client_secret",
    "redirect_uris": ["http://localhost/oauth", "https://localhost/oauth/callback"],
    "username": "user@example.com",
    "password": "secret",
    "token": DEMO_TOKEN,
    "refresh_token": "standin-resourceguru-demo-refresh",
    "headers": {"Authorization": f"Bearer {DEMO_TOKEN}"},
    "path_parameters": {"account": "example-corp"},  # contract runs test the seeded account
}

API = Api(
    name="resourceguru",
    title="Resource Guru API v1",
    handlers=handlers,
    render=render,
    demo=DEMO,
    rate=RatePolicy(limit=200, window=60, key=rate_key),
    sessions=((OAUTH, "tokens"), (OAUTH, "codes")),
)
