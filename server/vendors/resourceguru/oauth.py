"""OAuth2: the authorization endpoint (code grant) and the token endpoint (password, code, refresh)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlparse

from server.api import ApiError, request, respond
from server.vendors.resourceguru import auth
from server.vendors.resourceguru.auth import OAUTH
from server.vendors.resourceguru.common import _body, _store


def _oauth_error(code: str, detail: str, kind: str = "bad_request"):
    return ApiError(kind, detail, extra={"oauth_error": code})


def _bad_grant(detail: str = "The provided authorization grant is invalid.") -> ApiError:
    return _oauth_error("invalid_grant", detail)


def _basic() -> tuple[str, str] | None:
    return auth.basic_credentials(request().headers.get("authorization"))


def _client_auth(data: dict) -> dict:
    client_id, secret = data.get("client_id"), data.get("client_secret")
    if not client_id:
        basic = _basic()
        if basic:
            client_id, secret = basic
    client = auth.client_by_id(_store(), client_id)
    if client is None or not secrets.compare_digest(
        client["client_secret"].encode(), (secret or "").encode()
    ):
        raise _oauth_error("invalid_client", "Client authentication failed.", "unauthorized")
    return client


def _redirect_ok(uri: str) -> bool:
    parts = urlparse(uri)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    )


def _redirect(uri: str, query: dict, state):
    if state:
        query["state"] = state
    sep = "&" if urlparse(uri).query else "?"
    return respond(302, None, headers={"Location": f"{uri}{sep}{urlencode(query)}"})


async def oauth_authorize(client_id, redirect_uri, response_type, state=None):
    store = _store()
    client = auth.client_by_id(store, client_id)
    if client is None:
        raise _oauth_error("invalid_client", "Unknown client_id.")
    if not _redirect_ok(redirect_uri or ""):
        raise _oauth_error("invalid_request", "The redirect_uri must use HTTPS (or http://localhost).")
    if redirect_uri not in client["redirect_uris"]:
        raise _bad_grant("The redirect_uri does not match the one registered for the app.")
    # The sign-in step: Basic credentials of the signing-in user; without them the mock signs in the
    # app's demo user (the one who registered it) and consents at once.
    basic = _basic()
    if basic:
        login = auth.check_password(store, *basic)
        if login is None:
            query = {"error": "access_denied", "error_description": "The resource owner denied the request."}
            return _redirect(redirect_uri, query, state)
        email = login["email"]
    else:
        email = client.get("owner_email")
        if email is None:
            page = "<!doctype html><title>Resource Guru</title><h1>Sign in to authorize this app</h1>"
            return respond(200, page, "text/html")
    code = secrets.token_urlsafe(24)
    with store.lock:
        store.insert(
            OAUTH,
            "codes",
            {
                "id": None,
                "code": code,
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "email": email,
                "used": False,
            },
        )
    return _redirect(redirect_uri, {"code": code}, state)


async def oauth_token(body):
    data = _body(body)
    store = _store()
    grant = data.get("grant_type")
    with store.lock:
        client = _client_auth(data)
        if grant == "password":
            if not data.get("username") or data.get("password") is None:
                raise _oauth_error("invalid_request", "username and password are required.")
            login = auth.check_password(store, data["username"], data["password"])
            if login is None:
                raise _bad_grant()
            token = auth.issue(store, client, login["email"])
        elif grant == "authorization_code":
            code = next(store.find(OAUTH, "codes", lambda c: c["code"] == data.get("code")), None)
            if code is None or code["used"] or code["client_id"] != client["client_id"]:
                raise _bad_grant()
            if data.get("redirect_uri") != code["redirect_uri"]:
                raise _bad_grant("The redirect_uri does not match the authorization request.")
            code["used"] = True
            token = auth.issue(store, client, code["email"])
        else:  # refresh_token (the schema allows no other grant)
            old = store.first_with(OAUTH, "tokens", "refresh_token", data.get("refresh_token"))
            if old is None or old["revoked"] or old["client_id"] != client["client_id"]:
                raise _bad_grant()
            old["revoked"] = True  # the old access token stops working at once
            token = auth.issue(store, client, old["email"])
    return respond(200, auth.token_body(token))
