"""The iBuildApp error envelope: {"status": "ERROR", "message": ..., "error_code": N}.

Status, error_code and message per kind of error are the spec's `x-standin-errors` table, so the
documentation and the answers cannot drift apart: error_code 9 (401) and 5 (404) are the
vendor's, for the other statuses the seed gives no code and the HTTP status is used. Validation
failures are 400 with a message naming every failing field; an invalid app code in the path is
404 "App not found.".
"""

from __future__ import annotations

import functools

from server.api import ApiError, Reply


@functools.cache
def table() -> dict[str, dict]:
    """kind -> {status, error_code, message, detail}: the spec's `x-standin-errors`."""
    from server.app import load_spec  # the composition reads the specs (and caches them)

    return {row["kind"]: row for row in load_spec("ibuildapp")["x-standin-errors"]}


def _field_message(v) -> str:
    name = v.name or "body"
    if v.rule == "required":
        return f"'{v.path[-1]}' is a required property"
    return f"'{name}': {v.message}"


def body(status: int, message: str, code: int | None = None) -> dict:
    return {"status": "ERROR", "message": message, "error_code": code if code is not None else status}


def render(error: ApiError) -> Reply:
    rows = table()
    if error.kind == "invalid" and any(v.location == "path" for v in error.violations):
        row, message = rows["not_found"], "App not found."
    else:
        row = rows.get(error.kind) or rows["server_error" if error.status_code >= 500 else "bad_request"]
        detail = error.detail
        if error.kind == "invalid":
            detail = "; ".join(_field_message(v) for v in error.violations) or detail
        message = detail if row.get("detail") and detail else row["message"]
    status = row["status"]
    return Reply(status, body(status, message, row["error_code"]), dict(error.headers), "application/json")
