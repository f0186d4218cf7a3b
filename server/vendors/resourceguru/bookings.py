"""Bookings: filters, per-day durations, repeats, multi-resource fan-out, clashes, approvals, log.

A booking record is one resource's booking. A request for several resources stores one record per
resource, linked by `_link` (the first record's id); a repeat (`rrule`) stores one record per
occurrence, linked by `group_id` and numbered by `sequence_no`. Keys starting with `_` are internal.
"""

from __future__ import annotations

import copy
import datetime as dt

from server.api import request, respond
from server.vendors.resourceguru import schedule
from server.vendors.resourceguru.auth import OAUTH
from server.vendors.resourceguru.common import (
    _account,
    _alive,
    _body,
    _get,
    _member,
    _now,
    _page,
    _publish,
    _reference_problems,
    _refuse,
    _store,
    _user_ref,
)

MAX_OCCURRENCES = 104
RESOLUTIONS = ("add_to_waiting_list", "book_with_overtime", "increase_availability")


# -- views -----------------------------------------------------------------------------------
def _booker(slug: str, user_id, seen: dict | None = None) -> dict:
    """The booking's `booker`; `seen` memoizes users across one listing."""
    if seen is not None and user_id in seen:
        return dict(seen[user_id])
    user = _store().get(slug, "users", user_id)
    ref = _user_ref(user) if user else {"id": user_id, "name": "", "email": ""}
    ref["color"] = None
    if seen is not None:
        seen[user_id] = ref
    return dict(ref)


def siblings(slug: str, b: dict) -> list[dict]:
    """The records booked together with `b` for other resources (itself included)."""
    link = b.get("_link")
    if link is None:
        return [b]
    return _store().index(slug, "bookings", "_link").get(link) or [b]


def _aggregated(group: list[dict]) -> dict:
    out = {"declined": [], "approved": [], "pending": [], "without_approval": []}
    for s in group:
        state = s["approval_state"] or {}
        ref = {"resource_id": s["resource_id"], "booking_id": s["id"]}
        if not s.get("_needs_approval"):
            out["without_approval"].append(ref)
        elif state.get("status") == "declined":
            out["declined"].append(
                {
                    **ref,
                    "resolved_by": state.get("resolved_by"),
                    "resolved_at": state.get("resolved_at"),
                    "message": state.get("message"),
                }
            )
        elif state.get("status") == "approved":
            out["approved"].append({**ref, "resolved_by": state.get("resolved_by")})
        else:
            out["pending"].append(ref)
    return out


def view(slug: str, b: dict, bookers: dict | None = None) -> dict:
    """The API's booking; `bookers` memoizes users across the records of a listing."""
    out = b.copy()  # then drop the private keys: twice as fast as filtering into a new dict
    for k in b:
        if k[0] == "_":
            del out[k]
    del out["booker_id"]
    out["durations"] = [dict(d) for d in b["durations"]]
    out["booker"] = _booker(slug, b["booker_id"], bookers)
    group = siblings(slug, b)
    out["resource_ids"] = [s["resource_id"] for s in group]
    out["aggregated_approval_state"] = _aggregated(group)
    return out


def _log(slug: str, b: dict | None, action: str, user: dict, before: dict | None) -> None:
    entry = {
        "id": None,
        "booking_id": (b or before)["id"],
        "action": action,
        "user_id": user["id"],
        "created_at": _now(),
    }
    if before is not None:
        entry["previous_state"] = before
    if b is not None:
        entry["next_state"] = view(slug, b)
    _store().insert(slug, "booking_activities", entry)


# -- listing ---------------------------------------------------------------------------------
def _ids(values) -> set[int]:
    return {int(x) for v in values for x in str(v).split(",") if x.strip().isdigit()}


def _rows(slug: str, where=None) -> list[dict]:
    """Bookings by start date, filtered by the query (and `where`), one page of views."""
    query = request().query_params
    store = _store()
    rows = store.ordered(slug, "bookings", ("start_date", "id"))
    if where is not None:
        rows = [b for b in rows if where(b)]
    start, end = query.get("start_date"), query.get("end_date")
    if start:
        rows = [b for b in rows if b["end_date"] >= start]
    if end:
        rows = [b for b in rows if b["start_date"] <= end]
    states = set(query.getlist("approval_states"))
    if states:
        rows = [b for b in rows if (b["approval_state"] or {}).get("status", "approved") in states]
    ids = _ids(query.getlist("resource_ids"))
    if ids:
        rows = [b for b in rows if b["resource_id"] in ids]
    booker = query.get("booker_id")
    if booker:
        me = _member(slug)
        wanted = me["id"] if booker == "me" else int(booker)
        rows = [b for b in rows if b["booker_id"] == wanted]
    if query.get("group_id"):
        rows = [b for b in rows if b["group_id"] == int(query["group_id"])]
    waiting = query.get("waiting")
    if waiting == "1":
        rows = [b for b in rows if any(d.get("waiting") for d in b["durations"])]
    elif waiting == "0":
        rows = [b for b in rows if not b["durations"] or not all(d.get("waiting") for d in b["durations"])]
    resources = store.table(slug, "resources")
    if query.get("include_archived_resources") == "0":
        rows = [b for b in rows if not (resources.get(b["resource_id"]) or {}).get("archived")]
    if query.get("include_deleted_resources") == "0":
        rows = [b for b in rows if b["resource_id"] in resources]
    if query.get("include_non_bookable_resources") == "0":
        rows = [b for b in rows if (resources.get(b["resource_id"]) or {}).get("bookable", True)]
    rows = _page(rows, None)
    out, bookers = [], {}
    calendar = query.get("calendar") == "1" and (start or end)
    for b in rows:
        v = view(slug, b, bookers)
        if calendar:
            v["durations"] = [
                d
                for d in v["durations"]
                if (not start or d["date"] >= start) and (not end or d["date"] <= end)
            ]
        out.append(v)
    return out


async def bookings_list(
    account,
    start_date=None,
    end_date=None,
    approval_states=None,
    calendar=None,
    resource_ids=None,
    booker_id=None,
    waiting="0",
    include_archived_resources="1",
    include_deleted_resources="1",
    include_non_bookable_resources="1",
    group_id=None,
    limit=None,
    offset="0",
):
    _account(account)
    return respond(200, _rows(account, None))


async def clients_bookings(account, id_, start_date=None, end_date=None, limit=None, offset="0"):
    _account(account)
    client = _get(account, "clients", id_, "Client", _alive)
    return respond(200, _rows(account, lambda b: b["client_id"] == client["id"]))


async def projects_bookings(account, id_, start_date=None, end_date=None, limit=None, offset="0"):
    _account(account)
    project = _get(account, "projects", id_, "Project", _alive)
    return respond(200, _rows(account, lambda b: b["project_id"] == project["id"]))


async def resources_bookings(
    account, id_, approval_states=None, start_date=None, end_date=None, limit=None, offset="0"
):
    _account(account)
    resource = _get(account, "resources", id_, "Resource")
    return respond(200, _rows(account, lambda b: b["resource_id"] == resource["id"]))


async def bookings_get(account, id_):
    _account(account)
    return respond(200, view(account, _get(account, "bookings", id_, "Booking")))


# -- validation ------------------------------------------------------------------------------
def _problems(slug: str, data: dict, current: dict | None) -> tuple[list, list[dict]]:
    store = _store()
    problems = []
    targets = data.get("resource_ids") or ([data["resource_id"]] if data.get("resource_id") else [])
    if not targets and current:
        targets = [current["resource_id"]]
    if not targets:
        problems.append(("resource_id", "can't be blank", None))
    resources = []
    for rid in dict.fromkeys(targets):
        r = store.get(slug, "resources", rid)
        if r is None:
            problems.append(("resource_id", "is not a resource of this account", rid))
        else:
            resources.append(r)
    start = data.get("start_date", current and current["start_date"])
    end = data.get("end_date", current and current["end_date"])
    if start and end:
        if end < start:
            problems.append(("end_date", "must be on or after the start date", end))
        elif (schedule.date(end) - schedule.date(start)).days >= schedule.MAX_SPAN_DAYS:
            problems.append(("end_date", "is too far after the start date", end))
    duration = data.get("duration", current and current["duration"])
    start_time = data.get("start_time", current and current.get("start_time"))
    if start_time is not None and duration and start_time + duration > 1440:
        problems.append(("duration", "must end on the same day", duration))
    refs = (
        ("project_id", "projects"),
        ("client_id", "clients"),
        ("activity_type_id", "activity_types"),
        ("booker_id", "users"),
    )
    problems += _reference_problems(slug, data, refs)
    rrule = data.get("rrule")
    if rrule and not any(rrule.get(k) for k in ("weekly", "monthly", "yearly")):
        problems.append(("rrule", "needs a weekly, monthly or yearly rule", rrule))
    return problems, resources


FIELDS = (
    "start_date",
    "end_date",
    "duration",
    "start_time",
    "details",
    "billable",
    "project_id",
    "client_id",
    "activity_type_id",
    "timezone",
    "tentative",
    "custom_field_values",
    "booker_id",
)


def _fields(slug: str, data: dict, current: dict | None) -> dict:
    changes = {k: data[k] for k in FIELDS if k in data}
    project_id = changes.get("project_id", current and current["project_id"])
    if project_id and changes.get("client_id", current and current["client_id"]) is None:
        changes["client_id"] = _store().get(slug, "projects", project_id)["client_id"]
    if "billable" not in data and current is None and project_id:
        changes["billable"] = bool(_store().get(slug, "projects", project_id)["default_billable"])
    return changes


def _approvers(slug: str, resource: dict) -> list[int]:
    account = next(_store().find(OAUTH, "accounts", lambda a: a["subdomain"] == slug))
    if not account.get("booking_approvals"):
        return []
    return list(resource.get("booking_approver_ids") or account.get("default_booking_approver_ids") or [])


# -- occurrences and clashes -------------------------------------------------------------------
def _shift(day: dt.date, unit: str, n: int) -> dt.date:
    if unit == "weekly":
        return day + dt.timedelta(weeks=n)
    months = n if unit == "monthly" else 12 * n
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, d))
        except ValueError:
            continue
    raise ValueError(day)


def occurrences(start: str, end: str, rrule: dict | None) -> list[tuple[str, str]]:
    """(start, end) of each occurrence of a booking under its repeat rule (itself first)."""
    first, last = schedule.date(start), schedule.date(end)
    if not rrule:
        return [(start, end)]
    unit = next(k for k in ("weekly", "monthly", "yearly") if rrule.get(k))
    rule = rrule[unit]
    step = rule.get("interval") or 1
    ends = rule.get("ends") or {}
    count = ends.get("count") if ends.get("type", "count") == "count" or "count" in ends else None
    until = ends.get("date")
    limit = min(count or MAX_OCCURRENCES, MAX_OCCURRENCES)
    out = []
    for n in range(limit):
        try:
            a, b = _shift(first, unit, n * step), _shift(last, unit, n * step)
        except (ValueError, OverflowError):
            break
        if until and a.isoformat() > until and n:
            break
        if not count and not until and n >= 13:  # an open-ended repeat: a quarter's worth
            break
        out.append((a.isoformat(), b.isoformat()))
    return out


def _others(slug: str, resource_id: int, start: str, end: str, exclude: set[int]) -> list[dict]:
    return [
        b
        for b in _store().find(
            slug,
            "bookings",
            lambda b: (
                b["resource_id"] == resource_id
                and b["id"] not in exclude
                and b["end_date"] >= start
                and b["start_date"] <= end
            ),
        )
    ]


def _downtimes(slug: str, resource_id: int) -> list[dict]:
    return list(_store().find(slug, "downtimes", lambda d: resource_id in d["resource_ids"]))


def plan(slug: str, resource: dict, record: dict, resolution, exclude: set[int], pending: list[dict]):
    """Durations of `record` for its resource, clashes resolved; (durations, overtime, problems)."""
    entries = schedule.durations(
        resource, record["start_date"], record["end_date"], record["duration"], record["start_time"]
    )
    others = _others(slug, resource["id"], record["start_date"], record["end_date"], exclude)
    others += [p for p in pending if p["resource_id"] == resource["id"]]
    found = schedule.clashes(resource, entries, others, _downtimes(slug, resource["id"]))
    extra, problems = {}, []
    if found and not record.get("tentative"):
        if resolution is None:
            first = min(found)
            problems.append(
                ("clash_resolution", f"is needed: {resource['name']} is fully booked on {first}", first)
            )
        for entry in entries:
            excess = found.get(entry["date"])
            if not excess:
                continue
            if resolution == "add_to_waiting_list":
                entry["waiting"] = True
            elif resolution == "book_with_overtime":
                end = entry["end_time"] if entry["end_time"] is not None else 1020 + excess
                entry["elastic_overtime"] = [{"start_time": max(end - excess, 0), "end_time": min(end, 1440)}]
            elif resolution == "increase_availability":
                extra[entry["date"]] = excess
    return entries, extra, problems


def _apply_overtime(slug: str, resource: dict, extra: dict, user: dict) -> None:
    for iso, minutes in extra.items():
        _add_overtime(slug, resource, iso, minutes, user)


def _add_overtime(slug: str, resource: dict, iso: str, minutes: int, user: dict) -> None:
    stamp = _now()
    for o in resource["overtimes"]:
        if o["date"] == iso:
            o.update(duration=min(o["duration"] + minutes, 1440), updated_at=stamp)
            return
    resource["overtimes"].append(
        {
            "id": _store().next_id("overtimes"),
            "resource_id": resource["id"],
            "date": iso,
            "duration": min(minutes, 1440),
            "creator_id": user["id"],
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


def _resolution(data: dict):
    if data.get("clash_resolution") in RESOLUTIONS:
        return data["clash_resolution"]
    if data.get("allow_waiting"):
        return "add_to_waiting_list"
    if data.get("allow_overtime"):
        return "book_with_overtime"
    return None


# -- create, update, delete ------------------------------------------------------------------
def _new(user: dict, resource: dict, fields: dict) -> dict:
    stamp = _now()
    return {
        "id": None,
        "resource_id": resource["id"],
        "booker_id": user["id"],
        "start_date": None,
        "end_date": None,
        "duration": 60,
        "start_time": None,
        "details": "",
        "notes": None,
        "billable": False,
        "project_id": None,
        "client_id": None,
        "activity_type_id": None,
        "refreshable": True,
        "created_at": stamp,
        "updated_at": stamp,
        "last_updated_by": user["id"],
        "rrule": None,
        "group_id": None,
        "sequence_no": None,
        "timezone": None,
        "tentative": False,
        "custom_field_values": {},
        "approval_state": {"status": "approved", "resolved_by": None, "resolved_at": None, "message": None},
        "durations": [],
        **fields,
    }


async def bookings_create(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    resolution = _resolution(data)
    with store.lock:
        problems, resources = _problems(account, data, None)
        _refuse(problems)
        fields = _fields(account, data, None)
        rrule = data.get("rrule") or None
        series = occurrences(fields["start_date"], fields["end_date"], rrule)
        planned, extras = [], []
        for resource in resources:
            approvers = _approvers(account, resource)
            for seq, (start, end) in enumerate(series):
                record = _new(user, resource, {**fields, "start_date": start, "end_date": end})
                if rrule:
                    record.update(rrule=rrule, sequence_no=seq)
                if approvers and user["id"] not in approvers:
                    record["approval_state"]["status"] = "pending"
                record["_needs_approval"] = bool(approvers)
                entries, extra, found = plan(account, resource, record, resolution, set(), planned)
                problems += found
                record["durations"] = entries
                planned.append(record)
                extras.append((resource, extra))
            if problems:
                break
        _refuse(problems[:1])
        for resource, extra in extras:
            _apply_overtime(account, resource, extra, user)
        created = [store.insert(account, "bookings", r) for r in planned]
        link = created[0]["id"] if len(resources) > 1 else None
        groups: dict[int, int] = {}
        for r in created:
            r["_link"] = link if r["sequence_no"] in (None, 0) else None
            if rrule:
                r["group_id"] = groups.setdefault(r["resource_id"], r["id"])
        for r in created:
            _log(account, r, "create", user, None)
        views = [view(account, r) for r in created]
    for v in views:
        _publish(account, "booking", "create", v, user)
    return respond(201, views[0], headers={"Location": f"/v1/{account}/bookings/{views[0]['id']}"})


def _targets(slug: str, record: dict, affects) -> list[dict]:
    if not record.get("group_id") or affects in (None, "single"):
        return [record]
    group = [b for b in _store().find(slug, "bookings", lambda b: b["group_id"] == record["group_id"])]
    if affects == "following":
        group = [b for b in group if (b["sequence_no"] or 0) >= (record["sequence_no"] or 0)]
    return sorted(group, key=lambda b: (b["start_date"], b["id"]))


async def bookings_update(account, id_, body, affects=None):
    data, store = _body(body), _store()
    _, user = _account(account)
    resolution = _resolution(data)
    with store.lock:
        record = _get(account, "bookings", id_, "Booking")
        problems, resources = _problems(account, data, record)
        _refuse(problems)
        changes = _fields(account, data, record)
        targets = _targets(account, record, affects)
        shift = dt.timedelta(0)
        if "start_date" in changes:
            shift = schedule.date(changes["start_date"]) - schedule.date(record["start_date"])
        exclude = {t["id"] for t in targets}
        planned = []
        for t in targets:
            new = copy.deepcopy(t)
            new.update({k: v for k, v in changes.items() if k not in ("start_date", "end_date")})
            if t is record:
                new.update({k: changes[k] for k in ("start_date", "end_date") if k in changes})
                new["resource_id"] = resources[0]["id"]
            elif shift:
                length = schedule.date(t["end_date"]) - schedule.date(t["start_date"])
                new["start_date"] = (schedule.date(t["start_date"]) + shift).isoformat()
                new["end_date"] = (schedule.date(new["start_date"]) + length).isoformat()
            resource = store.get(account, "resources", new["resource_id"])
            entries, extra, found = plan(account, resource, new, resolution, exclude, planned)
            problems += found
            new["durations"] = entries
            planned.append(new)
            if new["end_date"] < new["start_date"]:
                problems.append(("end_date", "must be on or after the start date", new["end_date"]))
        _refuse(problems[:1])
        stamp = _now()
        for t, new in zip(targets, planned, strict=True):
            before = view(account, t)
            resource = store.get(account, "resources", new["resource_id"])
            _, extra, _ = plan(account, resource, new, resolution, exclude, [])
            _apply_overtime(account, resource, extra, user)
            t.update(new, updated_at=stamp, last_updated_by=user["id"])
            _log(account, t, "update", user, before)
        views = [view(account, t) for t in targets]
    for v in views:
        _publish(account, "booking", "update", v, user)
    return respond(200, view(account, record))


def _cut(slug: str, b: dict, iso: str) -> list[dict]:
    """Remove one date from a booking: shrink it, split it around the date, or delete it."""
    store = _store()
    if not b["start_date"] <= iso <= b["end_date"]:
        return []
    resource = store.get(slug, "resources", b["resource_id"]) or {}
    if b["start_date"] == b["end_date"]:
        store.delete(slug, "bookings", b["id"])
        return [b]
    after = (schedule.date(iso) + schedule.ONE_DAY).isoformat() if iso < b["end_date"] else iso
    before = (schedule.date(iso) - schedule.ONE_DAY).isoformat() if iso > b["start_date"] else iso
    if iso == b["start_date"]:
        b["start_date"] = after
    elif iso == b["end_date"]:
        b["end_date"] = before
    else:
        tail = copy.deepcopy(b)
        tail.update(id=None, start_date=after, _link=None)
        tail["durations"] = [d for d in b["durations"] if d["date"] > iso]
        store.insert(slug, "bookings", tail)
        b["end_date"] = before
    b["durations"] = [
        d for d in b["durations"] if b["start_date"] <= d["date"] <= b["end_date"]
    ] or schedule.durations(resource, b["start_date"], b["end_date"], b["duration"], b["start_time"])
    b["updated_at"] = _now()
    return []


async def bookings_delete(account, id_, body, affects=None):
    store = _store()
    _, user = _account(account)
    data = _body(body)
    with store.lock:
        record = _get(account, "bookings", id_, "Booking")
        views = []
        if data.get("date"):
            if not record["start_date"] <= data["date"] <= record["end_date"]:
                _refuse([("date", "is not a date of this booking", data["date"])])
            targets = siblings(account, record) if data.get("remove_for_all") else [record]
            for t in targets:
                before = view(account, t)
                gone = _cut(account, t, data["date"])
                _log(account, None if gone else t, "delete" if gone else "update", user, before)
                views.append((("delete" if gone else "update"), before if gone else view(account, t)))
        else:
            for t in _targets(account, record, affects or "single"):
                before = view(account, t)
                store.delete(account, "bookings", t["id"])
                _log(account, None, "delete", user, before)
                views.append(("delete", before))
    for action, v in views:
        _publish(account, "booking", action, v, user)
    return respond(204)


async def bookings_split(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "bookings", id_, "Booking")
        iso = data["date"]
        group = []
        if record.get("group_id"):
            group = [
                b
                for b in store.find(account, "bookings", lambda b: b["group_id"] == record["group_id"])
                if b["start_date"] >= iso
            ]
        inside = record["start_date"] < iso <= record["end_date"]
        if not inside and not group:
            _refuse([("date", "must fall after the first day of the booking", iso)])
        before = view(account, record)
        second = None
        if inside:
            resource = store.get(account, "resources", record["resource_id"]) or {}
            second = copy.deepcopy(record)
            second.update(id=None, start_date=iso, _link=None, created_at=_now(), updated_at=_now())
            second["durations"] = [d for d in record["durations"] if d["date"] >= iso]
            record["end_date"] = (schedule.date(iso) - schedule.ONE_DAY).isoformat()
            record["durations"] = [d for d in record["durations"] if d["date"] < iso] or schedule.durations(
                resource, record["start_date"], record["end_date"], record["duration"], record["start_time"]
            )
            store.insert(account, "bookings", second)
            group.append(second)
        if record.get("group_id") and group:
            group.sort(key=lambda b: (b["start_date"], b["id"]))
            new_group = group[0]["id"]
            for n, b in enumerate(group):
                b.update(group_id=new_group, sequence_no=n)
            rest = sorted(
                store.find(account, "bookings", lambda b: b["group_id"] == record["group_id"]),
                key=lambda b: (b["start_date"], b["id"]),
            )
            for n, b in enumerate(rest):
                b["sequence_no"] = n
        second = second or group[0]
        record["updated_at"] = _now()
        _log(account, record, "split", user, before)
        _log(account, second, "create", user, None)
        views = [view(account, record), view(account, second)]
    _publish(account, "booking", "update", views[0], user)
    _publish(account, "booking", "create", views[1], user)
    return respond(200, views)


async def bookings_activities(account, id_):
    _account(account)
    record = _get(account, "bookings", id_, "Booking")
    rows = [
        dict(a)
        for a in _store().find(account, "booking_activities", lambda a: a["booking_id"] == record["id"])
    ]
    for row in rows:
        row.pop("booking_id", None)
    return respond(200, rows)


def _approval_targets(slug: str, record: dict, resource_ids) -> list[dict]:
    group = siblings(slug, record)
    wanted = set(resource_ids or [])
    targets = [b for b in group if b["resource_id"] in wanted] if wanted else [record]
    unknown = wanted - {b["resource_id"] for b in group}
    _refuse([("resource_ids", "is not a resource of this booking", r) for r in sorted(unknown)])
    return targets


async def bookings_resolve(account, id_, body):
    """Approve or decline per resource: each targeted booking of the group gets its own state."""
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "bookings", id_, "Booking")
        targets = _approval_targets(account, record, data["resource_ids"])
        stamp = _now()
        views = []
        for t in targets:
            before = view(account, t)
            t["approval_state"] = {
                "status": data["resolution"],
                "resolved_by": user["id"],
                "resolved_at": stamp,
                "message": data.get("reason") if data["resolution"] == "declined" else None,
            }
            t["updated_at"] = stamp
            _log(account, t, data["resolution"], user, before)
            views.append(view(account, t))
    for v in views:
        _publish(account, "booking", "update", v, user)
    return respond(204)


async def bookings_remind(account, id_, body):
    """Each reminded booking gets a `remind` entry in its activities (the state is unchanged)."""
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "bookings", id_, "Booking")
        for t in _approval_targets(account, record, data.get("resource_ids")):
            state = view(account, t)
            _log(account, t, "remind", user, state)
    return respond(204)
