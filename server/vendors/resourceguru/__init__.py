"""Resource Guru API v1: OAuth2, accounts, resources, clients, projects, webhooks (seed 003_04944ccd4c44e164).

Handlers are the public async functions of this package's modules, each named by its operationId
and taking exactly its operation's parameters (server.api.handlers_in). Validation against the
spec has already run. Every /v1/{account} operation first resolves the account: 404 when there
is none, 403 when the authenticated user is not one of its (non-deleted) users. Handlers
validate everything before they write, so a refused request changes nothing.

Where each group lives (shared plumbing: `common`; time arithmetic: `schedule`):
- `oauth`: OAuth2 authorize and token endpoints
- `people`: accounts, /v1/me, an account's users
- `catalog`: resources, resource types, custom fields and their options
- `clients`: clients, projects, activity types
- `webhook_ops`: webhook CRUD, test deliveries, payload log (delivery itself: `webhooks`)
- `bookings`: bookings and their per-resource/client/project listings
- `availability`: custom availability, overtime, time off (downtimes)
- `timesheets`: timesheets and calendars
- `reports`: v1 and v2 reports
"""

from server.api import Api, RatePolicy
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
    render=render,
    demo=DEMO,
    rate=RatePolicy(limit=200, window=60, key=rate_key),
    sessions=((OAUTH, "tokens"), (OAUTH, "codes")),
)
