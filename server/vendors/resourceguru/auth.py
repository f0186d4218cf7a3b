"""OAuth2 (password, authorization code, refresh) and HTTP Basic, against records in the store.

Clients, logins, codes and tokens live in the `_oauth` tenant; an access token names the
registered application it was issued to (`<client number>.<random>`), so the rate limiter can
meter applications from the Authorization header alone.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from server import clock
from server.api import runtime

OAUTH = "_oauth"
TOKEN_LIFETIME = 604800  # seven days (seed 003: "Tokens expire after 7 days and need to be refreshed")
# How long a refresh token stays usable is not documented: Standin keeps an unrevoked token's
# record (and so its refresh token) this long after issue, then prunes it.
REFRESH_LIFETIME = 30 * 86400


def _store(request):
    return request.scope["standin"].stores["resourceguru"]


def login(store, email: str, password: str) -> dict | None:
    return (
        next(
            store.find(OAUTH, "logins", lambda r: r["email"].lower() == (email or "").lower()),
            None,
        )
        if email
        else None
    )


def check_password(store, email: str, password: str) -> dict | None:
    found = login(store, email, password)
    if found and secrets.compare_digest(found["password"].encode(), (password or "").encode()):
        return found
    return None


def client_by_id(store, client_id: str | None) -> dict | None:
    return next(store.find(OAUTH, "clients", lambda r: r["client_id"] == client_id), None)


def issue(store, client: dict, email: str) -> dict:
    """A new access/refresh pair for one user of one application."""
    token = {
        "id": None,
        "access_token": f"{client['id']}.{secrets.token_urlsafe(24)}",
        "refresh_token": secrets.token_urlsafe(32),
        "client_id": client["client_id"],
        "email": email,
        "created_at": int(clock.now()),
        "expires_in": TOKEN_LIFETIME,
        "revoked": False,
    }
    store.insert(OAUTH, "tokens", token)
    store.prune_oldest(OAUTH, "tokens", _ended)
    return token


def _ended(token: dict) -> bool | None:
    """Whether a token record can go: revoked (refreshed) once its access token expired, or past
    REFRESH_LIFETIME; None for one that never expires (a seeded demo token)."""
    if token["expires_in"] is None:
        return None
    now = clock.now()
    if token["revoked"]:
        return (
            now >= token["created_at"] + token["expires_in"] or now >= token["created_at"] + REFRESH_LIFETIME
        )
    return now >= token["created_at"] + REFRESH_LIFETIME


def token_body(token: dict) -> dict:
    return {
        "access_token": token["access_token"],
        "refresh_token": token["refresh_token"],
        "token_type": "bearer",
        "expires_in": token["expires_in"] or TOKEN_LIFETIME,
        "created_at": token["created_at"],
    }


def live(token: dict | None) -> bool:
    if token is None or token["revoked"]:
        return False
    return token["expires_in"] is None or clock.now() < token["created_at"] + token["expires_in"]


def bearer_info(token: str, request=None) -> dict | None:
    """None (→ 401) for an unknown, revoked or expired access token."""
    store = _store(request)
    found = store.first_with(OAUTH, "tokens", "access_token", token)
    if not live(found):
        return None
    return {"email": found["email"], "client_id": found["client_id"], "scope": ""}


def basic_info(username: str, password: str, request=None) -> dict | None:
    """E-mail and password of a user (exploration only)."""
    found = check_password(_store(request), username, password)
    return {"email": found["email"], "client_id": None, "scope": ""} if found else None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


def rate_key(headers: dict) -> str | None:
    """The registered application of a live access token; the user of valid Basic credentials.
    None for anything else (charged to the client's address, server.limits): a made-up token
    naming application 1 must not spend application 1's budget."""
    value = headers.get("authorization") or ""
    store = runtime().stores["resourceguru"]
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "bearer":
        found = store.first_with(OAUTH, "tokens", "access_token", credentials)
        return f"app:{found['client_id']}" if live(found) else None
    basic = basic_credentials(value)
    return f"user:{basic[0].lower()}" if basic and check_password(store, *basic) else None
