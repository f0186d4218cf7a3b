"""The iBuildApp error envelope: {"status": "ERROR", "message": ..., "error_code": N}.

error_code 9 (401) and 5 (404) are the vendor's; for the other statuses the seed gives no code
and the HTTP status is used (the spec's `x-standin-errors`). Validation failures are 400 with a
message naming every failing field; an invalid app code in the path is 404 "App not found.".
"""

from __future__ import annotations

from server.api import ApiError, Reply

AUTH_MESSAGE = "Auth token not specified or incorrect."
_MESSAGES = {
    400: "Bad Request.",
    403: "Access denied.",
    404: "Not found.",
    405: "Method Not Allowed.",
    429: "Too Many Requests.",
    500: "Internal Server Error.",
}


def _field_message(v) -> str:
    name = v.name or "body"
    if v.rule == "required":
        return f"'{v.path[-1]}' is a required property"
    return f"'{name}': {v.message}"


def body(status: int, message: str, code: int | None = None) -> dict:
    return {"status": "ERROR", "message": message, "error_code": code if code is not None else status}


def render(error: ApiError) -> Reply:
    headers = dict(error.headers)
    kind = error.kind
    if kind == "invalid" and any(v.location == "path" for v in error.violations):
        status, payload = 404, body(404, "App not found.", 5)
    elif kind == "invalid":
        message = "; ".join(_field_message(v) for v in error.violations) or error.detail
        status, payload = 400, body(400, message)
    elif kind == "unauthorized":
        status, payload = 401, body(401, AUTH_MESSAGE, 9)
    elif kind == "not_found":
        status, payload = 404, body(404, error.detail or _MESSAGES[404], 5)
    elif kind in ("forbidden", "method_not_allowed", "rate_limited"):
        status = {"forbidden": 403, "method_not_allowed": 405, "rate_limited": 429}[kind]
        payload = body(status, error.detail if kind == "forbidden" and error.detail else _MESSAGES[status])
    elif kind == "server_error" or error.status_code >= 500:
        status, payload = 500, body(500, _MESSAGES[500])
    else:  # malformed, bad_request, conflict, unknown_parameter, unsupported_media_type
        status, payload = 400, body(400, error.detail or _MESSAGES[400])
    return Reply(status, payload, headers, "application/json")
