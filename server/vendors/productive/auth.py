"""X-Auth-Token and X-Organization-Id, checked against the tokens seeded in the store."""

from __future__ import annotations

from server.api import ApiError

AUTH_TENANT = "_auth"


def _token(request, value: str | None) -> dict | None:
    store = request.scope["standin"].stores["productive"]
    return store.first_with(AUTH_TENANT, "tokens", "token", value)


def token_info(api_key: str, request) -> dict | None:
    """None (→ 401) for an unknown token."""
    token = _token(request, api_key)
    return {"person_id": token["person_id"]} if token else None


def organization_info(api_key: str, request) -> dict:
    """The organization the request acts in; 403 when the token may not act there."""
    token = _token(request, request.headers.get("X-Auth-Token"))
    if token is None:
        return None
    if not api_key.isdigit() or int(api_key) not in token["organization_ids"]:
        raise ApiError("forbidden", "You don't have access to this organization")
    return {"organization_id": int(api_key)}
