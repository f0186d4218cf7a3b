"""JSON:API documents as Productive sends them: resources, `included`, `links`, `meta`.

Canonical records are snake_case dicts with `<name>_id` foreign keys; a `Kind` says which keys
are attributes and which are relationships, in the vendor's wire order (seeds 000 and 002).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote, urlencode

CONTENT_TYPE = "application/vnd.api+json; charset=utf-8"
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Kind:
    type: str  # JSON:API type, also the store table
    attributes: tuple[str, ...]
    relations: tuple[tuple[str, str | None], ...]  # (name, related type); None: always null


KINDS = {
    k.type: k
    for k in (
        Kind(
            "widgets",
            (
                "widget_type_id",
                "default_filter_id",
                "width",
                "height",
                "row_position",
                "column_position",
                "report_layout_id",
            ),
            (("dashboard", "dashboards"),),
        ),
        Kind("dashboards", ("name",), (("person", "people"),)),
        Kind(
            "people",
            (
                "first_name",
                "last_name",
                "email",
                "title",
                "joined_at",
                "last_seen_at",
                "deactivated_at",
                "archived_at",
                "role_id",
                "invited_at",
                "is_user",
                "tag_list",
                "avatar_url",
                "virtual",
                "custom_fields",
                "autotracking",
                "created_at",
                "placeholder",
                "color_id",
                "private_custom_reports_used",
                "contact",
            ),
            (("company", "companies"), ("subsidiary", None)),
        ),
        Kind(
            "companies",
            (
                "name",
                "billing_name",
                "vat",
                "default_currency",
                "created_at",
                "archived_at",
                "avatar_url",
                "invoice_email_recipients",
                "custom_fields",
                "description",
                "due_days",
                "tag_list",
                "contact",
            ),
            (("bill_to", None),),
        ),
        Kind(
            "events",
            ("name", "event_type_id", "icon_id", "color_id", "archived_at", "limitation_type_id"),
            (),
        ),
        Kind(
            "entitlements",
            ("start_date", "end_date", "allocated", "used"),
            (("event", "events"), ("person", "people")),
        ),
    )
}

# (type, relationship name) -> the related type (None: always null)
RELATED = {(kind.type, name): related for kind in KINDS.values() for name, related in kind.relations}

# Sideloaded by default, as every seed response shows; `include=` narrows it to the paths given.
DEFAULT_INCLUDES = {
    "widgets": ("dashboard", "dashboard.person", "dashboard.person.company"),
    "entitlements": ("event", "person", "person.company"),
}


def resource(kind: Kind, record: dict, organization_id: int) -> dict:
    relationships = {"organization": {"data": {"type": "organizations", "id": organization_id}}}
    for name, related in kind.relations:
        ref = record.get(f"{name}_id") if related else None
        relationships[name] = {"data": {"type": related, "id": str(ref)} if ref is not None else None}
    return {
        "id": str(record["id"]),
        "type": kind.type,
        "attributes": {a: record.get(a) for a in kind.attributes},
        "relationships": relationships,
    }


def included(store, tenant: str, type_: str, records: list[dict], paths: tuple[str, ...]) -> list[dict]:
    """Related resources along each include path, each once, in order of first reference."""
    seen, out, related_of = set(), [], {}

    def related(kind: Kind, record: dict, step: str):
        key = (kind.type, record["id"], step)
        if key not in related_of:
            table = RELATED.get((kind.type, step))
            ref = record.get(f"{step}_id") if table else None
            found = store.get(tenant, table, ref) if ref is not None else None
            related_of[key] = (KINDS[table], found) if found is not None else None
        return related_of[key]

    for record in records:
        for path in paths:
            kind, current = KINDS[type_], record
            for step in path.split("."):
                hop = related(kind, current, step)
                if hop is None:
                    break
                kind, current = hop
                if (kind.type, current["id"]) not in seen:
                    seen.add((kind.type, current["id"]))
                    out.append(resource(kind, current, int(tenant)))
    return out


def meta() -> dict:
    return {"organization_features": ORGANIZATION_FEATURES, "settings": {}}


def page_meta(number: int, size: int, total: int) -> dict:
    pages = math.ceil(total / size)
    return {
        "current_page": number,
        "total_pages": pages,
        "total_count": total,
        "page_size": size,
        "max_page_size": MAX_PAGE_SIZE,
        **meta(),
    }


def page_links(request, number: int, size: int, total: int) -> dict:
    """first/last always, next/prev when they exist; other query parameters kept, page last."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if not k.startswith("page[")]
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path}?"

    def link(n: int) -> str:
        page = urlencode([("page[number]", n), ("page[size]", size)], quote_via=quote)
        return base + (urlencode(kept, quote_via=quote) + "&" if kept else "") + page

    last = max(1, math.ceil(total / size))
    links = {"first": link(1), "last": link(last)}
    if number < last:
        links["next"] = link(number + 1)
    if 1 < number <= last:
        links["prev"] = link(number - 1)
    return links


def _metered(limit: int) -> dict:
    return {"type": "metered", "limit": limit, "used": 0}


_SWITCHES = (
    "multigrouping client_access_to_budgets subsidiaries time_approvals expenses_approvals timeoff_approvals "
    "autotracking forecasting webhooks table_pivoting formula_fields single_sign_on duplicate_tasks "
    "billable_time_rounding payment_sync booking_methods import_tasks_csv reactions time_week_view subtasks "
    "time_calendar_layout theming remove_branding custom_invoicing_email google_calendar_layout"
).split()

# The plan features every seed response carries in `meta` (seed 000).
ORGANIZATION_FEATURES = {
    "custom_fields": _metered(15),
    "custom_fields_per_project": _metered(10),
    "public_custom_reports": _metered(100),
    "private_custom_reports": _metered(30),
    "scheduling_placeholders": _metered(5),
    **{name: {"type": "switch", "available": True} for name in _SWITCHES},
}
