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

OAUTH = "_oauth"
TOKEN_LIFETIME = 604800  # seven days


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
    return token


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
    """The registered application behind a bearer token; the user behind Basic credentials."""
    value = headers.get("authorization") or headers.get("Authorization") or ""
    if value.lower().startswith("bearer "):
        number, dot, _ = value[7:].strip().partition(".")
        return f"app:{number}" if dot and number.isdigit() else None
    basic = basic_credentials(value)
    return f"user:{basic[0].lower()}" if basic else None
