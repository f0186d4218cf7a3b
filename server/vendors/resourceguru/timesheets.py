"""Timesheets (entries per resource and day, prefilled from bookings) and calendar subscriptions."""

from __future__ import annotations

from server.api import json_body, request, respond
from server.vendors.resourceguru.bookings import _ids
from server.vendors.resourceguru.common import (
    _account,
    _body,
    _get,
    _now,
    _page,
    _reference_problems,
    _refuse,
    _store,
)

ENTRY_KEYS = (
    "resource_id",
    "date",
    "duration",
    "notes",
    "billable",
    "project_id",
    "client_id",
    "activity_type_id",
)


def entry_view(e: dict) -> dict:
    return {k: v for k, v in e.items() if not k.startswith("_")}


def _entry_problems(slug: str, data: dict) -> list:
    refs = (
        ("resource_id", "resources"),
        ("project_id", "projects"),
        ("client_id", "clients"),
        ("activity_type_id", "activity_types"),
    )
    return _reference_problems(slug, data, refs)


async def timesheets_list(account, start_date=None, end_date=None, resource_ids=None, limit=None, offset="0"):
    _account(account)
    query = request().query_params
    rows = list(_store().find(account, "timesheet_entries", lambda e: not e["dismissed"]))
    if query.get("start_date"):
        rows = [e for e in rows if e["date"] >= query["start_date"]]
    if query.get("end_date"):
        rows = [e for e in rows if e["date"] <= query["end_date"]]
    ids = _ids(query.getlist("resource_ids"))
    if ids:
        rows = [e for e in rows if e["resource_id"] in ids]
    rows.sort(key=lambda e: (e["date"], e["id"]))
    return respond(200, [entry_view(e) for e in _page(rows, None)])


def new_entry(fields: dict, stamp: str) -> dict:
    return {
        "id": None,
        "resource_id": None,
        "date": None,
        "duration": 0,
        "project_id": None,
        "client_id": None,
        "activity_type_id": None,
        "created_at": stamp,
        "updated_at": stamp,
        "notes": None,
        "billable": False,
        "event_type": None,
        "event_id": None,
        "dismissed": False,
        "_submitted": False,
        **fields,
    }


async def timesheets_create(account, body, action=None):
    raw, store = json_body(body), _store()
    _account(account)
    items = raw if isinstance(raw, list) else [raw]
    with store.lock:
        problems = [p for item in items for p in _entry_problems(account, item)]
        if not items:
            problems.append(("body", "can't be blank", []))
        _refuse(problems)
        stamp = _now()
        created = []
        for item in items:
            fields = {k: item[k] for k in ENTRY_KEYS if k in item}
            if fields.get("project_id") and fields.get("client_id") is None:
                fields["client_id"] = store.get(account, "projects", fields["project_id"])["client_id"]
            record = new_entry(fields, stamp)
            record["_submitted"] = action == "submit"
            created.append(store.insert(account, "timesheet_entries", record))
        views = [entry_view(e) for e in created]
    return respond(201, views if isinstance(raw, list) else views[0])


async def timesheets_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "timesheet_entries", id_, "Timesheet entry")
        _refuse(_entry_problems(account, data))
        record.update({k: data[k] for k in (*ENTRY_KEYS, "dismissed") if k in data}, updated_at=_now())
    return respond(204)


async def timesheets_dismiss(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "timesheet_entries", id_, "Timesheet entry")
        record.update(dismissed=True, updated_at=_now())
    return respond(204)


def _mark(account: str, submitted: bool) -> None:
    query = request().query_params
    start, end = query.get("start_date") or "0001-01-01", query.get("end_date") or "9999-12-31"
    store = _store()
    with store.lock:
        for e in store.find(account, "timesheet_entries", lambda e: start <= e["date"] <= end):
            e["_submitted"] = submitted


async def timesheets_submit(account, start_date=None, end_date=None):
    _account(account)
    _mark(account, True)
    return respond(204)


async def timesheets_unsubmit(account, start_date=None, end_date=None):
    _account(account)
    _mark(account, False)
    return respond(204)


# -- calendars -------------------------------------------------------------------------------
def calendar_view(c: dict) -> dict:
    return {k: v for k, v in c.items() if not k.startswith("_")}


async def calendars_list(account):
    _account(account)
    return respond(200, [calendar_view(c) for c in _store().find(account, "calendars")])


async def calendars_get(account, id_):
    _account(account)
    return respond(200, calendar_view(_get(account, "calendars", id_, "Calendar")))


async def calendars_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "calendars", id_, "Calendar")
        known = {c["id"]: c for c in record["incoming_calendars"]}
        wanted = data["incoming_calendar_subscriptions"]
        _refuse(
            [
                (
                    "incoming_calendar_subscriptions",
                    "names a calendar of another subscription",
                    s["calendar_id"],
                )
                for s in wanted
                if s["calendar_id"] not in known
            ]
        )
        for s in wanted:
            known[s["calendar_id"]].update(sync=s["sync"], state="active" if s["sync"] else "paused")
        view = calendar_view(record)
    return respond(200, view)


async def calendars_delete(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "calendars", id_, "Calendar")
        synced = {c["id"] for c in record["incoming_calendars"]}
        store.delete(account, "calendars", record["id"])
        for e in list(
            store.find(account, "external_events", lambda e: e["incoming_calendar_sync_id"] in synced)
        ):
            store.delete(account, "external_events", e["id"])
    return respond(204)


async def calendars_external_events(account, start_date=None, end_date=None):
    _account(account)
    query = request().query_params
    store = _store()
    synced = {
        c["id"] for cal in store.find(account, "calendars") for c in cal["incoming_calendars"] if c["sync"]
    }
    rows = [e for e in store.find(account, "external_events") if e["incoming_calendar_sync_id"] in synced]
    if query.get("start_date"):
        rows = [e for e in rows if e["_end"] >= query["start_date"]]
    if query.get("end_date"):
        rows = [e for e in rows if e["_start"] <= query["end_date"]]
    return respond(
        200, [{**{k: v for k, v in e.items() if not k.startswith("_")}, "id": e["_uid"]} for e in rows]
    )
