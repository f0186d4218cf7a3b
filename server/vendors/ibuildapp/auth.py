"""Bearer session tokens from login/registration; every token belongs to one app and one user.

Tokens live in the `_ibuildapp` tenant (table `tokens`: token, app, user_id), apps in table `apps`.
A token used under another app's code is refused like a wrong token (401, error_code 9);
`/timesheets/...` paths carry no app code, so the token's own app is used.

Sessions expire: the documentation answers 401 for a token "invalid (expired/incorrect)" without
saying when one expires, so Standin ends a session SESSION_LIFETIME after login (seeded demo
tokens never end), and prunes ended sessions oldest first as new ones are issued.
"""

from __future__ import annotations

import re

from server import clock

AUTH_TENANT = "_ibuildapp"
SESSION_LIFETIME = 30 * 86400  # seconds: Standin's default, the vendor documents none
_APP_IN_PATH = re.compile(r"/api/([^/]+)/")


def tenant(app_code: str) -> str:
    """The store tenant of one app."""
    return f"ibuildapp:{app_code}"


def app_exists(store, code: str) -> bool:
    return any(a["code"] == code for a in store.find(AUTH_TENANT, "apps"))


def bearer_info(token: str, request=None) -> dict | None:
    store = request.scope["standin"].stores["ibuildapp"]
    found = store.first_with(AUTH_TENANT, "tokens", "token", token)
    if found is None or session_ended(found):
        return None
    match = _APP_IN_PATH.search(request.scope.get("path", ""))
    if match and match.group(1) != found["app"]:
        return None
    if store.get(tenant(found["app"]), "users", found["user_id"]) is None:
        return None  # the user has been deleted: the session ends with it
    return {"app": found["app"], "user_id": found["user_id"]}


def session_ended(session: dict) -> bool | None:
    """Whether a session token has expired; None for one that never does (a seeded demo token)."""
    ends = session.get("expires_at")
    return None if ends is None else clock.now() >= ends
