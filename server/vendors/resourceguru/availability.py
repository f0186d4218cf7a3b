"""Time off (downtimes), overtime, custom availability and weekly availability, with their clashes.

A change that takes working time away from a resource displaces the bookings that no longer fit
(latest booked first): they go to the waiting list, are cut from those days, or the change is
refused with the clashes listed, as each operation documents.
"""

from __future__ import annotations

import copy
from collections import defaultdict

from server.api import ApiError, request, respond
from server.vendors.resourceguru import schedule
from server.vendors.resourceguru.bookings import _add_overtime, _cut, _ids, view
from server.vendors.resourceguru.common import (
    _account,
    _body,
    _get,
    _now,
    _page,
    _publish,
    _refuse,
    _store,
)


# -- displaced bookings ------------------------------------------------------------------------
def displaced(slug: str, resource: dict, days: set[str], downtimes: list[dict]) -> list[tuple[dict, str]]:
    """(booking, date) pairs that no longer fit the resource's day, newest bookings first out."""
    if not days:
        return []
    first, last = min(days), max(days)
    rows = sorted(
        _store().find(
            slug,
            "bookings",
            lambda b: (
                b["resource_id"] == resource["id"] and b["end_date"] >= first and b["start_date"] <= last
            ),
        ),
        key=lambda b: b["id"],
    )
    custom = schedule.custom_days(resource)
    used: dict[str, int] = defaultdict(int)
    out = []
    free_of: dict[str, int] = {}
    for b in rows:
        if not schedule.counts(b) or b.get("tentative"):
            continue
        for d in b["durations"]:
            if d["date"] not in days or d.get("waiting"):
                continue
            if d["date"] not in free_of:
                free_of[d["date"]] = schedule.free_minutes(
                    resource, schedule.date(d["date"]), downtimes, custom
                )
            used[d["date"]] += d["duration"]
            if used[d["date"]] > free_of[d["date"]]:
                out.append((b, d["date"]))
    return out


def clash_rows(pairs: list[tuple[dict, str]]) -> list[dict]:
    return [
        {"id": b["id"], "repeat_booking_id": b.get("group_id"), "date": iso, "resource_id": b["resource_id"]}
        for b, iso in pairs
    ]


def resolve(slug: str, pairs: list[tuple[dict, str]], how: str, user: dict) -> None:
    """Move displaced booking days to the waiting list, or cut them from their bookings."""
    touched = {}
    for b, iso in sorted(pairs, key=lambda p: p[1], reverse=True):
        if how == "delete":
            _cut(slug, b, iso)
        else:
            for d in b["durations"]:
                if d["date"] == iso:
                    d["waiting"] = True
        b["updated_at"] = _now()
        touched[b["id"]] = b
    for b in touched.values():
        if _store().get(slug, "bookings", b["id"]) is not None:
            _publish(slug, "booking", "update", view(slug, b), user)


def _span_days(start: str, end: str) -> set[str]:
    return {d.isoformat() for d in schedule.each_day(schedule.date(start), schedule.date(end))}


def _downtimes_of(slug: str, resource_id: int, exclude: int | None = None) -> list[dict]:
    return [
        d
        for d in _store().find(slug, "downtimes", lambda d: resource_id in d["resource_ids"])
        if d["id"] != exclude
    ]


# -- time off --------------------------------------------------------------------------------
async def downtime_types_list(account):
    _account(account)
    return respond(200, list(_store().find(account, "downtime_types")))


DOWNTIME_KEYS = (
    "from",
    "to",
    "start_time",
    "end_time",
    "timezone",
    "downtime_type_id",
    "details",
    "booker_id",
)


def _downtime_problems(slug: str, data: dict, current: dict | None) -> list:
    store = _store()
    problems = []
    for rid in data.get("resource_ids") or []:
        if store.get(slug, "resources", rid) is None:
            problems.append(("resource_ids", "has an unknown resource", rid))
    if "resource_ids" in data and not data["resource_ids"]:
        problems.append(("resource_ids", "can't be blank", []))
    start = data.get("from", current and current["from"])
    end = data.get("to", current and current["to"])
    if start and end and end < start:
        problems.append(("to", "must be on or after from", end))
    elif start and end and (schedule.date(end) - schedule.date(start)).days >= schedule.MAX_SPAN_DAYS:
        problems.append(("to", "is too far after from", end))
    begin = data.get("start_time", current and current["start_time"])
    finish = data.get("end_time", current and current["end_time"])
    if begin is not None and finish is not None and finish <= begin and start == end:
        problems.append(("end_time", "must be after the start time", finish))
    if (
        data.get("downtime_type_id") is not None
        and store.get(slug, "downtime_types", data["downtime_type_id"]) is None
    ):
        problems.append(("downtime_type_id", "is not a time off type", data["downtime_type_id"]))
    for key in ("booker_id", "creator_id"):
        if key in data and store.get(slug, "users", data[key]) is None:
            problems.append((key, "is not a user", data[key]))
    return problems


def _downtime_clashes(slug: str, record: dict) -> list[tuple[dict, str]]:
    store = _store()
    days = _span_days(record["from"], record["to"])
    pairs = []
    for rid in record["resource_ids"]:
        resource = store.get(slug, "resources", rid)
        if resource is not None:
            pairs += displaced(slug, resource, days, _downtimes_of(slug, rid, record.get("id")) + [record])
    return pairs


def _clash_policy(data: dict) -> str | None:
    """What to do with displaced bookings: 'waiting', 'delete', or None to refuse."""
    if data.get("block_by_clashes"):
        return None
    if data.get("clash_resolution") == "delete" or data.get("delete_invalid_bookings"):
        return "delete"
    return "waiting" if data.get("allow_waiting", True) or data.get("clash_resolution") else None


async def downtimes_list(
    account,
    resource_ids=None,
    booker_id=None,
    from_=None,
    to=None,
    include_archived_resources="1",
    include_deleted_resources="1",
    limit=None,
    offset="0",
):
    _account(account)
    query = request().query_params
    store = _store()
    rows = list(store.find(account, "downtimes"))
    ids = _ids(query.getlist("resource_ids"))
    if ids:
        rows = [d for d in rows if ids & set(d["resource_ids"])]
    if query.get("booker_id"):
        rows = [d for d in rows if d["booker_id"] == int(query["booker_id"])]
    if query.get("from"):
        rows = [d for d in rows if d["to"] >= query["from"]]
    if query.get("to"):
        rows = [d for d in rows if d["from"] <= query["to"]]
    resources = store.table(account, "resources")
    if query.get("include_archived_resources") == "0":
        rows = [
            d for d in rows if not any((resources.get(r) or {}).get("archived") for r in d["resource_ids"])
        ]
    if query.get("include_deleted_resources") == "0":
        rows = [d for d in rows if all(r in resources for r in d["resource_ids"])]
    rows.sort(key=lambda d: (d["from"], d["id"]))
    return respond(200, [dict(d) for d in _page(rows, None)])


async def downtimes_get(account, id_):
    _account(account)
    return respond(200, dict(_get(account, "downtimes", id_, "Time off")))


def _clash_refusal(pairs) -> None:
    first = pairs[0]
    _refuse([("resource_ids", f"clash with bookings on {first[1]} (booking {first[0]['id']})", first[1])])


async def downtimes_create(account, body):
    data, store = _body(body), _store()
    acc, user = _account(account)
    with store.lock:
        _refuse(_downtime_problems(account, data, None))
        stamp = _now()
        record = {
            "id": None,
            "details": None,
            "timezone": None,
            "downtime_type_id": None,
            "booker_id": user["id"],
            "creator_id": data.get("creator_id", user["id"]),
            "account_id": acc["id"],
            "created_at": stamp,
            "updated_at": stamp,
            "last_updated_by": user["id"],
            "leave": None,
            "state": None,
            "deleted": False,
            **{k: data[k] for k in DOWNTIME_KEYS if k in data},
            "resource_ids": list(dict.fromkeys(data["resource_ids"])),
        }
        pairs = _downtime_clashes(account, record)
        policy = _clash_policy(data)
        if pairs and policy is None:
            _clash_refusal(pairs)
        store.insert(account, "downtimes", record)
        resolve(account, pairs, policy or "waiting", user)
        view_ = dict(record)
    _publish(account, "downtime", "create", view_, user)
    return respond(201, view_)


async def downtimes_update(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "downtimes", id_, "Time off")
        _refuse(_downtime_problems(account, data, record))
        new = copy.deepcopy(record)
        new.update({k: data[k] for k in DOWNTIME_KEYS if k in data})
        if "resource_ids" in data:
            new["resource_ids"] = list(dict.fromkeys(data["resource_ids"]))
        pairs = _downtime_clashes(account, new)
        policy = _clash_policy(data)
        if pairs and policy is None:
            _clash_refusal(pairs)
        record.update(new, updated_at=_now(), last_updated_by=user["id"])
        resolve(account, pairs, policy or "waiting", user)
        view_ = dict(record)
    _publish(account, "downtime", "update", view_, user)
    return respond(200, view_)


async def downtimes_delete(account, id_):
    store = _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "downtimes", id_, "Time off")
        store.delete(account, "downtimes", record["id"])
    _publish(account, "downtime", "delete", dict(record), user)
    return respond(204)


async def downtimes_clashes(account, body):
    data, store = _body(body), _store()
    _account(account)
    problems = []
    if data["to"] < data["from"]:
        problems.append(("to", "must be on or after from", data["to"]))
    elif (schedule.date(data["to"]) - schedule.date(data["from"])).days >= schedule.MAX_SPAN_DAYS:
        problems.append(("to", "is too far after from", data["to"]))
    _refuse(problems)
    probe = {
        "id": None,
        "from": data["from"],
        "to": data["to"],
        "start_time": data["start_time"],
        "end_time": data["end_time"],
        "resource_ids": [
            r for r in dict.fromkeys(data["resource_ids"]) if store.get(account, "resources", r)
        ],
    }
    with store.lock:
        rows = clash_rows(_downtime_clashes(account, probe))
    return respond(200, rows)


async def downtimes_split(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "downtimes", id_, "Time off")
        iso, rid = data["date"], data.get("resource_id")
        problems = []
        if not record["from"] < iso <= record["to"]:
            problems.append(("date", "must fall after the first day of the time off", iso))
        if rid is not None and rid not in record["resource_ids"]:
            problems.append(("resource_id", "is not a resource of this time off", rid))
        _refuse(problems)
        stamp = _now()
        first = record
        if rid is not None and len(record["resource_ids"]) > 1:
            record["resource_ids"].remove(rid)
            first = store.insert(
                account,
                "downtimes",
                {**copy.deepcopy(record), "id": None, "resource_ids": [rid], "created_at": stamp},
            )
        second = store.insert(
            account,
            "downtimes",
            {**copy.deepcopy(first), "id": None, "from": iso, "created_at": stamp, "start_time": 0},
        )
        first.update(
            to=(schedule.date(iso) - schedule.ONE_DAY).isoformat(),
            end_time=1440,
            updated_at=stamp,
            last_updated_by=user["id"],
        )
        second.update(updated_at=stamp, last_updated_by=user["id"])
        views = [dict(first), dict(second)]
    _publish(account, "downtime", "update", views[0], user)
    _publish(account, "downtime", "create", views[1], user)
    return respond(200, views)


# -- overtime and custom availability ----------------------------------------------------------
async def overtimes_set(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        resource = store.get(account, "resources", data["resource_id"])
        if resource is None:
            raise ApiError("not_found", "Resource not found")
        resource["overtimes"] = [o for o in resource["overtimes"] if o["date"] != data["date"]]
        _add_overtime(account, resource, data["date"], data["duration"], user)
        resource["updated_at"] = _now()
    return respond(204)


def _custom_view(resource: dict, start: str, end: str) -> dict:
    periods = [
        {"date": p["date"], "start_time": p["start_time"], "end_time": p["end_time"]}
        for p in resource.get("custom_available_periods") or []
        if start <= p["date"] <= end
    ]
    return {
        "resource_id": resource["id"],
        "custom_available_periods": sorted(periods, key=lambda p: p["date"]),
    }


async def custom_availability_list(account, resource_ids=None, start_date=None, end_date=None):
    _account(account)
    query = request().query_params
    ids = _ids(query.getlist("resource_ids[]") + query.getlist("resource_ids"))
    start = query.get("start_date") or "0001-01-01"
    end = query.get("end_date") or "9999-12-31"
    rows = [r for r in _store().find(account, "resources") if not ids or r["id"] in ids]
    return respond(200, [_custom_view(r, start, end) for r in rows])


def _availability_policy(data: dict, default_waiting: bool) -> str | None:
    if data.get("delete_invalid_bookings"):
        return "delete"
    return "waiting" if data.get("allow_waiting", default_waiting) else None


async def custom_availability_set(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    spec = data["custom_available_periods"]
    with store.lock:
        resource = store.get(account, "resources", spec["resource_instance_id"])
        if resource is None:
            raise ApiError("not_found", "Resource not found")
        problems = []
        start, end = spec["start_date"], spec["end_date"]
        if end < start:
            problems.append(("end_date", "must be on or after the start date", end))
        elif (schedule.date(end) - schedule.date(start)).days >= schedule.MAX_SPAN_DAYS:
            problems.append(("end_date", "is too far after the start date", end))
        days = spec.get("days") or {}
        for key, day in days.items():
            if key not in {str(n) for n in range(7)}:
                problems.append(("days", "keys must be week days 0 to 6", key))
            for block in day.get("time_blocks") or []:
                if block["end_time"] <= block["start_time"]:
                    problems.append(("time_blocks", "end_time must be after start_time", block))
        _refuse(problems)
        span = _span_days(start, end)
        periods = []
        for iso in sorted(span):
            day = days.get(str(schedule.week_day(schedule.date(iso)))) or {}
            spans = [(b["start_time"], b["end_time"]) for b in day.get("time_blocks") or []] or [(0, 0)]
            periods += [{"date": iso, "start_time": s, "end_time": e} for s, e in spans]
        candidate = copy.deepcopy(resource)
        candidate["custom_available_periods"] = [
            p for p in resource.get("custom_available_periods") or [] if p["date"] not in span
        ] + periods
        pairs = displaced(account, candidate, span, _downtimes_of(account, resource["id"]))
        policy = _availability_policy(data, False)
        if pairs and policy is None:
            body = {"errors": {"clashes": clash_rows(pairs)}, "custom_available_periods": []}
            return respond(200, body)
        resource["custom_available_periods"] = candidate["custom_available_periods"]
        resource["updated_at"] = _now()
        resolve(account, pairs, policy or "waiting", user)
        out = [p for p in resource["custom_available_periods"] if p["date"] in span]
    return respond(200, {"errors": {}, "custom_available_periods": out})


async def custom_availability_reset(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        resource = store.get(account, "resources", data["resource_instance_id"])
        if resource is None:
            raise ApiError("not_found", "Resource not found")
        dates = set(data["dates"])
        candidate = copy.deepcopy(resource)
        candidate["custom_available_periods"] = [
            p for p in resource.get("custom_available_periods") or [] if p["date"] not in dates
        ]
        pairs = displaced(account, candidate, dates, _downtimes_of(account, resource["id"]))
        policy = _availability_policy(data, False)
        rows = [{k: v for k, v in c.items() if k != "resource_id"} for c in clash_rows(pairs)]
        if pairs and policy is None:
            return respond(200, {"clashes": rows, "allowClashResolution": True})
        resource["custom_available_periods"] = candidate["custom_available_periods"]
        resource["updated_at"] = _now()
        resolve(account, pairs, policy or "waiting", user)
    return respond(200, {"clashes": [], "allowClashResolution": bool(pairs)})


async def resources_update_availability(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "resources", id_, "Resource")
        periods = data.get("available_periods") or []
        _refuse(
            [
                ("available_periods", "end_time must be after start_time", p)
                for p in periods
                if p["end_time"] <= p["start_time"]
            ]
        )
        since = data["date"]
        kept = [
            {**p, "valid_until": min(p.get("valid_until") or since, since)}
            for p in record["available_periods"]
            if (p.get("valid_from") or "0000") < since
        ]
        new = [
            {
                "week_day": p["week_day"],
                "start_time": p["start_time"],
                "end_time": p["end_time"],
                "valid_from": since,
                "valid_until": None,
            }
            for p in periods
        ]
        candidate = copy.deepcopy(record)
        candidate["available_periods"] = kept + new
        future = {
            d["date"]
            for b in store.find(
                account, "bookings", lambda b: b["resource_id"] == record["id"] and b["end_date"] >= since
            )
            for d in b["durations"]
            if d["date"] >= since
        }
        pairs = displaced(account, candidate, future, _downtimes_of(account, record["id"]))
        policy = _availability_policy(data, True)
        if pairs and policy is None:
            return respond(400, {"clashes": clash_rows(pairs), "allowClashResolution": True})
        record["available_periods"] = candidate["available_periods"]
        if data.get("timezone"):
            record["timezone"] = {"name": data["timezone"], "offset": 0}
        minutes = sum(p["end_time"] - p["start_time"] for p in new)
        days = len({p["week_day"] for p in new}) or 1
        record["minutes_per_day"] = minutes // days if new else 0
        record["updated_at"] = _now()
        resolve(account, pairs, policy or "waiting", user)
    return respond(200, {"clashes": clash_rows(pairs), "allowClashResolution": bool(pairs)})
