"""Productive operations, named by operationId. Validation against the spec has already run."""

from __future__ import annotations

import datetime as dt
from itertools import islice

from connexion.context import context

from server.api import ApiError, Violation, json_body, request, respond, store
from server.vendors.productive import jsonapi
from server.vendors.productive.jsonapi import CONTENT_TYPE, KINDS


def _store():
    return store("productive")


def _tenant() -> str:
    return str(context["token_info"]["organizationId"]["organization_id"])


def _ids(value: str) -> set[int]:
    return {int(x) for x in value.split(",")}


def _one_of(field: str):
    def factory(value: str):
        ids = _ids(value)
        return lambda r: r[field] in ids

    return factory


def _on_or_after(field: str):
    return lambda day: lambda r: r[field] >= day


def _on_or_before(field: str):
    return lambda day: lambda r: r[field] <= day


# filter[name] -> predicate factory; the spec lists the same names, anything else is 400 Unsupported Filter.
FILTERS = {
    "widgets": {
        "id": _one_of("id"),
        "dashboard_id": _one_of("dashboard_id"),
        "report_layout_id": _one_of("report_layout_id"),
    },
    "entitlements": {
        "id": _one_of("id"),
        "person_id": _one_of("person_id"),
        "event_id": _one_of("event_id"),
        "start_date": _on_or_after("end_date"),
        "end_date": _on_or_before("start_date"),
    },
}


def _document(type_: str, record: dict, status: int = 200):
    tenant = _tenant()
    kind = KINDS[type_]
    paths = _include_paths(type_)
    body = {
        "data": jsonapi.resource(kind, record, int(tenant)),
        "included": jsonapi.included(_store(), tenant, type_, [record], paths),
        "meta": jsonapi.meta(),
    }
    return respond(status, body, CONTENT_TYPE)


def _include_paths(type_: str, query=None) -> tuple[str, ...]:
    if query is None:
        req = request()
        query = req.query_params if req.scope["query_string"] else {}
    asked = query.get("include")
    return tuple(dict.fromkeys(asked.split(","))) if asked else jsonapi.DEFAULT_INCLUDES[type_]


def _sorted(rows: list[dict], sort: str | None) -> list[dict]:
    rows.sort(key=lambda r: r["id"])
    for field in reversed((sort or "").split(",") if sort else []):
        name = field.lstrip("-")
        rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n) or 0), reverse=field.startswith("-"))
    return rows


def _list(type_: str):
    tenant, req = _tenant(), request()
    query = req.query_params
    table = _store().table(tenant, type_)
    wanted = [FILTERS[type_][k[7:-1]](v) for k, v in query.items() if k.startswith("filter[")]
    number, size = int(query.get("page[number]", 1)), int(query.get("page[size]", 30))
    start = (number - 1) * size
    if wanted or query.get("sort"):
        rows = _sorted([r for r in table.values() if all(f(r) for f in wanted)], query.get("sort"))
        total, page = len(rows), rows[start : start + size]
    else:  # tables iterate in id order: a page costs its size, not the table's
        total, page = len(table), list(islice(table.values(), start, start + size))
    body = {
        "data": [jsonapi.resource(KINDS[type_], r, int(tenant)) for r in page],
        "included": jsonapi.included(_store(), tenant, type_, page, _include_paths(type_, query)),
        "links": jsonapi.page_links(req, number, size, total),
        "meta": jsonapi.page_meta(number, size, total),
    }
    return respond(200, body, CONTENT_TYPE)


def _existing(type_: str, record_id) -> dict:
    record = _store().get(_tenant(), type_, record_id)
    if record is None:
        raise ApiError("not_found", "Record not found")
    return record


def _check_refs(refs: dict[tuple, tuple[str, object]]) -> None:
    """Every referenced record must exist in the organization: 'attribute is invalid' otherwise."""
    store, tenant = _store(), _tenant()
    bad = [
        Violation("body", path, "exists", "not found", value)
        for path, (table, value) in refs.items()
        if store.get(tenant, table, value) is None
    ]
    if bad:
        raise ApiError("invalid", "Invalid attribute", violations=bad)


def _create(type_: str, defaults: dict, changes_of, body):
    """Validate the references, then insert: a refused create stores nothing."""
    store = _store()
    with store.lock:
        record = {**defaults, **changes_of(json_body(body)["data"], None)}
        store.insert(_tenant(), type_, record)
    return _document(type_, record, 201)


def _update(type_: str, id_: int, changes_of, body):
    store = _store()
    with store.lock:  # through the store, not in place: its lookups (and a shared backend) see it
        record = _existing(type_, id_)
        record = store.update(_tenant(), type_, record["id"], changes_of(json_body(body)["data"], record))
    return _document(type_, record)


def _delete(type_: str, id_: int):
    store = _store()
    with store.lock:
        _existing(type_, id_)
        store.delete(_tenant(), type_, id_)
    return respond(204)


# -- widgets ---------------------------------------------------------------------------------
WIDGET_DEFAULTS = {
    "default_filter_id": None,
    "report_layout_id": None,
    "row_position": 0,
    "column_position": 0,
}
WIDGET_ATTRIBUTES = KINDS["widgets"].attributes


def _widget_changes(data: dict, current: dict | None) -> dict:
    changes = {k: v for k, v in (data.get("attributes") or {}).items() if k in WIDGET_ATTRIBUTES}
    dashboard = ((data.get("relationships") or {}).get("dashboard") or {}).get("data")
    if dashboard is not None:
        changes["dashboard_id"] = int(dashboard["id"])
        _check_refs({("data", "relationships", "dashboard"): ("dashboards", changes["dashboard_id"])})
    return changes


async def widgets_list(
    page_number=1,
    page_size=30,
    sort=None,
    include=None,
    filter_id=None,
    filter_dashboard_id=None,
    filter_report_layout_id=None,
):
    return _list("widgets")


async def widgets_get(id_: int, include=None):
    return _document("widgets", _existing("widgets", id_))


async def widgets_create(body):
    return _create("widgets", WIDGET_DEFAULTS, _widget_changes, body)


async def widgets_update(id_: int, body):
    return _update("widgets", id_, _widget_changes, body)


async def widgets_delete(id_: int):
    return _delete("widgets", id_)


# -- entitlements ----------------------------------------------------------------------------
ENTITLEMENT_FIELDS = ("event_id", "person_id", "start_date", "end_date", "allocated", "used")


def _entitlement_changes(data: dict, current: dict | None) -> dict:
    changes = {k: v for k, v in (data.get("attributes") or {}).items() if k in ENTITLEMENT_FIELDS}
    refs = {
        ("data", "attributes", f"{name}_id"): (table, changes[f"{name}_id"])
        for name, table in (("event", "events"), ("person", "people"))
        if f"{name}_id" in changes
    }
    _check_refs(refs)
    merged = {**(current or {}), **changes}
    if dt.date.fromisoformat(merged["end_date"]) < dt.date.fromisoformat(merged["start_date"]):
        where = ("data", "attributes", "end_date")
        violation = Violation("body", where, "after_start", "before the start date", merged["end_date"])
        raise ApiError("invalid", "Invalid attribute", violations=[violation])
    return changes


async def entitlements_list(
    page_number=1,
    page_size=30,
    sort=None,
    include=None,
    filter_id=None,
    filter_person_id=None,
    filter_event_id=None,
    filter_start_date=None,
    filter_end_date=None,
):
    return _list("entitlements")


async def entitlements_get(id_: int, include=None):
    return _document("entitlements", _existing("entitlements", id_))


async def entitlements_create(body):
    return _create("entitlements", {"used": 0}, _entitlement_changes, body)


async def entitlements_update(id_: int, body):
    return _update("entitlements", id_, _entitlement_changes, body)


async def entitlements_delete(id_: int):
    return _delete("entitlements", id_)
