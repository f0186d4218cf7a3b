"""Resource Guru's error bodies: `{"errors": [{name, date, code, message}]}` on /v1, RFC 6749 on /oauth."""

from __future__ import annotations

from server import clock
from server.api import ApiError, Reply, Violation

NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",  # Standin's limits (server/inputs.py, server/serving.py)
    422: "Unprocessable Entity",
    429: "Rate Limit Exceeded",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
# Statuses every /v1 operation documents; anything else is answered as the nearest documented one.
STATUS = {
    "bad_request": 400,
    "malformed": 400,
    "unknown_parameter": 400,
    "unsupported_media_type": 400,
}


def stamp() -> str:
    return clock.iso(clock.now())


def describe(v: Violation) -> str:
    field = v.name or "body"
    if v.rule == "required":
        return f"{field} can't be blank"
    if v.rule == "exists":  # the handlers' own checks read as Rails messages
        return f"{field} {v.message}"
    return f"{field} is invalid: {v.message}"


def _oauth(error: ApiError) -> Reply:
    if error.kind == "rate_limited":
        return _v1(error)
    code = error.extra.get("oauth_error")
    status = 400
    if error.kind == "unauthorized":
        code, status = code or "invalid_client", 401
    elif error.kind == "invalid":
        grant = [v for v in error.violations if v.path[-1:] == ("grant_type",) and v.rule == "enum"]
        code = "unsupported_grant_type" if grant else "invalid_request"
        if (
            error.violations
            and error.violations[0].location in ("query", "path")
            and "client_id" in [v.name for v in error.violations]
        ):
            code = "invalid_request"
    elif error.kind == "server_error":
        code, status = "server_error", 500
    elif error.kind == "method_not_allowed":
        status = 405
    body = {"error": code or "invalid_request"}
    detail = error.detail
    if error.violations:
        detail = "; ".join(describe(v) for v in error.violations)
    if detail:
        body["error_description"] = detail
    return Reply(status, body, dict(error.headers))


def _v1(error: ApiError) -> Reply:
    status = STATUS.get(error.kind, error.status_code)
    messages = [error.detail or NAMES.get(status, "Error")]
    if error.kind == "invalid" and error.violations:
        # Parameters are refused as a bad request; bodies as unprocessable (as each operation documents).
        status = 422 if all(v.location == "body" for v in error.violations) else 400
        messages = [describe(v) for v in error.violations]
    if error.kind == "invalid" and not error.violations:
        status = error.status_code
    name = NAMES.get(status, "Error")
    date = stamp()
    body = {"errors": [{"name": name, "date": date, "code": status, "message": m} for m in messages]}
    return Reply(status, body, dict(error.headers))


OAUTH_OPERATIONS = {"oauth_authorize", "oauth_token"}  # answer in RFC 6749's error format


def render(error: ApiError) -> Reply:
    if error.operation in OAUTH_OPERATIONS:
        return _oauth(error)
    return _v1(error)
