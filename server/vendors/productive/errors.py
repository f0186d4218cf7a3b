"""Productive's JSON:API error documents.

Attribute errors follow seeds 000/002: status 422, code `invalid_attribute`, one entry per
failing rule, pointer `data/attributes/<field>` where relationships are named without `_id`
(`widget_type`, `dashboard`, `person`, `event`), in the order the vendor validates fields.
"""

from __future__ import annotations

from server.api import ApiError, Reply, Violation
from server.vendors.productive.jsonapi import CONTENT_TYPE

# (field as reported, how it is validated, where it sits in the request document)
FIELDS = {
    "widgets": [
        ("height", "number", ("data", "attributes", "height")),
        ("width", "number", ("data", "attributes", "width")),
        ("row_position", "present", ("data", "attributes", "row_position")),
        ("column_position", "present", ("data", "attributes", "column_position")),
        ("widget_type", "association", ("data", "attributes", "widget_type_id")),
        ("default_filter", "association", ("data", "attributes", "default_filter_id")),
        ("report_layout", "association", ("data", "attributes", "report_layout_id")),
        ("dashboard", "association", ("data", "relationships", "dashboard")),
    ],
    "entitlements": [
        ("event", "association", ("data", "attributes", "event_id")),
        ("person", "association", ("data", "attributes", "person_id")),
        ("start_date", "date", ("data", "attributes", "start_date")),
        ("end_date", "date", ("data", "attributes", "end_date")),
        ("allocated", "number", ("data", "attributes", "allocated")),
        ("used", "number", ("data", "attributes", "used")),
    ],
}
REQUIRED_ON_CREATE = {
    "widgets": ("height", "width", "widget_type", "dashboard"),
    "entitlements": ("event", "person", "start_date", "end_date", "allocated"),
}
_NOT_A = {
    "number": "is not a number",
    "date": "is not a date",
    "association": "attribute is invalid",
    "present": "is not a number",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
}
_PARAM_CODES = {
    "include": ("unsupported_include", "Unsupported Include"),
    "sort": ("unsupported_sort", "Unsupported Sort"),
}


def entry(status: int, code: str, title: str, detail: str, source: dict | None = None) -> dict:
    item = {"status": str(status), "code": code, "title": title, "detail": detail}
    if source:
        item["source"] = source
    return item


def details(kind: str, v: Violation) -> list[str]:
    """What Rails says of one failed rule on one field."""
    if v.rule == "required" or v.value in ("", None):
        return ["can't be blank"] + ([_NOT_A[kind]] if kind in ("number", "date") else [])
    if v.rule == "after_start":
        return ["must be after start date"]
    if v.rule == "minimum":
        return [f"must be greater than or equal to {v.schema.get('minimum')}"]
    if v.rule == "maximum":
        return [f"must be less than or equal to {v.schema.get('maximum')}"]
    if v.rule in ("type", "format", "pattern", "anyOf", "exists"):
        return [_NOT_A[kind]]
    return ["is invalid"]


def attribute_errors(type_: str, creating: bool, violations: list[Violation]) -> list[dict]:
    fields = FIELDS.get(type_, [])
    found: dict[str, list[Violation]] = {}
    loose = []
    for v in violations:
        inside = [f for f, _, where in fields if len(v.path) < len(where) and where[: len(v.path)] == v.path]
        if inside:
            # The container itself is missing or no object (seed 000's third POST has no `data`):
            # on create, every required field under it is reported blank.
            required = [f for f in inside if f in REQUIRED_ON_CREATE.get(type_, ())] if creating else []
            for name in required:
                found.setdefault(name, []).append(Violation("body", (), "required", "missing"))
            if not required:
                loose.append(v)
            continue
        name = next((f for f, _, where in fields if v.path[: len(where)] == where), None)
        if name is None:
            loose.append(v)
        else:
            found.setdefault(name, []).append(v)
    out = []
    for name, kind, _ in fields:
        said = []
        for v in found.get(name, []):
            said += [d for d in details(kind, v) if d not in said]
        out += [
            entry(422, "invalid_attribute", "Invalid Attribute", d, {"pointer": f"data/attributes/{name}"})
            for d in said
        ]
    for v in loose:
        out.append(
            entry(422, "invalid_attribute", "Invalid Attribute", "is invalid", {"pointer": v.name or "data"})
        )
    return out


def parameter_errors(violations: list[Violation]) -> tuple[int, list[dict]]:
    if any(v.location == "path" for v in violations):
        return 404, [entry(404, "not_found", "Not Found", "Record not found")]
    out = []
    for v in violations:
        name = v.path[0]
        code, title = _PARAM_CODES.get(name, ("invalid_parameter", "Invalid Parameter"))
        detail = f"{name} is not supported" if name in _PARAM_CODES else f"{name}: {v.message}"
        out.append(entry(400, code, title, detail, {"parameter": name}))
    return 400, out


def render(error: ApiError) -> Reply:
    status = error.status_code
    type_, _, action = (error.operation or "").rpartition("_")  # widgets_create: widgets, create
    creating = action == "create"
    if error.kind == "invalid" and error.violations and error.violations[0].location != "body":
        status, errors = parameter_errors(error.violations)
    elif error.kind == "invalid":
        status, errors = 422, attribute_errors(type_, creating, error.violations)
    elif error.kind == "unknown_parameter":
        names = error.extra.get("names") or ["filter"]
        errors = [
            entry(400, "unsupported_filter", "Unsupported Filter", f"{n} is not supported", {"parameter": n})
            for n in names
        ]
    else:
        title = _TITLES.get(status, "Error")
        errors = [entry(status, title.lower().replace(" ", "_"), title, error.detail or title)]
    return Reply(status, {"errors": errors}, dict(error.headers), CONTENT_TYPE)
