"""How iBuildApp records are stored and how the PHP backend sends them.

Stored records are snake_case dicts (`users`, `groups`, `clients`, `projects`, `tasks`,
`task_history`, `schedules`, `rates`, `time_entries`, `breaks`, `ts_history`, `comments`,
`invoices`, `integrations`). Times are stored as Unix seconds. The vendor sends times in
different forms per operation (integers, numeric strings, "YYYY-MM-DD HH:MM:SS"), so every
view takes a time format. Unset (None) fields are omitted, as PHP does.
"""

from __future__ import annotations

import datetime as dt

from server import clock

# Seconds of one unit of a duration, for estimates and rates: a day is a working day of 8
# hours, a week 5 working days, a month 4 weeks, a year 12 months.
UNIT_SECONDS = {
    "minutes": 60,
    "hours": 3600,
    "days": 8 * 3600,
    "weeks": 40 * 3600,
    "months": 160 * 3600,
    "years": 1920 * 3600,
}


def now() -> int:
    return int(clock.now())


def fmt_time(value, form: str = "int"):
    if value is None:
        return None
    if form == "str":
        return str(int(value))
    if form == "datetime":
        return dt.datetime.fromtimestamp(int(value), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return int(value)


def time_entry(
    entry_id: int | None,
    user_id: int,
    task_id: int,
    schedule_id: int | None,
    start: int,
    end: int | None,
    created: int,
    updated: int,
    *,
    status: str = "in-progress",
    approve_date: int | None = None,
    payment_status: str = "pending",
    start_location: list | None = None,
    end_location: list | None = None,
) -> dict:
    """A stored time entry (`time_entries`), as fixtures and ts/create make them."""
    return {
        "id": entry_id,
        "user_id": user_id,
        "task_id": task_id,
        "schedule_id": schedule_id,
        "status": status,
        "start_time": start,
        "end_time": end,
        "approve_date": approve_date,
        "created": created,
        "updated": updated,
        "payment_status": payment_status,
        "start_location": start_location,
        "end_location": end_location,
    }


def status_change(entry_id: int, status: str, at: int, user_id: int) -> dict:
    """A stored `ts_history` row: the entry reached `status` at `at`, by `user_id`."""
    return {"id": None, "time_entry_id": entry_id, "status": status, "event_date": at, "user_id": user_id}


def compact(record: dict) -> dict:
    return {k: v for k, v in record.items() if v is not None}


def break_seconds(store, tenant: str, entry_id: int, at: int | None = None) -> int:
    total = 0
    for b in store.index(tenant, "breaks", "time_entry_id").get(entry_id, ()):
        end = b["end_time"] if b["end_time"] is not None else (at or now())
        total += max(0, end - b["start_time"])
    return total


def entry_duration(store, tenant: str, e: dict) -> int:
    """Worked seconds: end (or now, while running) minus start, breaks deducted."""
    end = e["end_time"] if e["end_time"] is not None else now()
    return max(0, end - e["start_time"] - break_seconds(store, tenant, e["id"], end))


def teams_of(store, tenant: str, user_id: int) -> list[int]:
    """Ids of the groups the user is in; the user -> groups map is kept until the next write."""

    def build():
        teams: dict[int, list[int]] = {}
        for g in store.find(tenant, "groups"):  # id order, so each list is sorted
            for member in set(g["user_ids"]):
                teams.setdefault(member, []).append(g["id"])
        return teams

    return list(store.derived(("ibuildapp teams", tenant), build).get(user_id, ()))


def user_view(store, tenant: str, u: dict) -> dict:
    entries = store.index(tenant, "time_entries", "user_id").get(u["id"], ())
    closed = [e for e in entries if e["end_time"] is not None]
    paid = sum(entry_duration(store, tenant, e) for e in closed if e["payment_status"] == "payed")
    unapproved = sum(entry_duration(store, tenant, e) for e in closed if e["status"] == "in-progress")
    return compact(
        {
            "id": u["id"],
            "email": u["email"],
            "first_name": u.get("first_name"),
            "last_name": u.get("last_name"),
            "sex": u.get("sex"),
            "position": u.get("position"),
            "hourly_rate": u.get("hourly_rate"),
            "roles": u["roles"],
            "created": u["created"],
            "updated": u["updated"],
            "exported": u.get("exported"),
            "activated": u["activated"],
            "settings": u.get("settings"),
            "picture": u.get("picture"),
            "paid_hours": round(paid / 3600, 2),
            "unapproved_hours": round(unapproved / 3600, 2),
            "teams": teams_of(store, tenant, u["id"]),
            "notes": u.get("notes"),
            "birth_date": u.get("birth_date"),
        }
    )


def group_view(g: dict) -> dict:
    return compact(
        {
            "id": g["id"],
            "name": g["name"],
            "description": g.get("description"),
            "notes": g.get("notes"),
            "status": g["status"],
            "pay_rate": g.get("pay_rate"),
        }
    )


def projects_of_client(store, tenant: str, client_id: int) -> list[int]:
    ids = [p["id"] for p in store.find(tenant, "projects", lambda p: p["client_id"] == client_id)]
    return sorted(ids, reverse=True)


def client_view(store, tenant: str, c: dict) -> dict:
    keys = ("id", "name", "phone", "email", "contact_info", "address", "city", "state", "industry")
    out = {k: c.get(k) for k in keys}
    out.update(website=c.get("website"), notes=c.get("notes"), status=c["status"])
    out["projects"] = projects_of_client(store, tenant, c["id"])
    return compact(out)


def tasks_of_project(store, tenant: str, project_id: int) -> list[int]:
    ids = [t["id"] for t in store.find(tenant, "tasks", lambda t: t["project_id"] == project_id)]
    return sorted(ids, reverse=True)


def project_view(store, tenant: str, p: dict) -> dict:
    out = {
        "id": p["id"],
        "name": p["name"],
        "description": p.get("description"),
        "category": p.get("category"),
        "client_id": p["client_id"],
        "duration_unit": p.get("duration_unit"),
        "status": p["status"],
    }
    for key in ("planned_start_date", "actual_start_date", "planned_end_date", "actual_end_date", "updated"):
        out[key] = p.get(key)
    out.update(
        estimated_duration=p.get("estimated_duration"),
        actual_duration=p.get("actual_duration"),
        tasks=tasks_of_project(store, tenant, p["id"]),
    )
    return compact(out)


def task_entries(store, tenant: str, task_id: int) -> list[dict]:
    return sorted(
        store.find(tenant, "time_entries", lambda e: e["task_id"] == task_id), key=lambda e: e["id"]
    )


def task_view(store, tenant: str, t: dict, entries: str | None = None) -> dict:
    """entries: None (left out), "list" (full time entries) or "map" (spans keyed by id)."""
    rows = task_entries(store, tenant, t["id"])
    estimate = t.get("estimate")
    out = {
        "id": t["id"],
        "name": t["name"],
        "project": t["project_id"],
        "description": t.get("description"),
        "duration": sum(entry_duration(store, tenant, e) for e in rows if e["end_time"] is not None),
        "estimate": estimate,
        "estimate_unit": t.get("estimate_unit"),
        "estimate_hours": (
            round(estimate * UNIT_SECONDS[t.get("estimate_unit") or "hours"] / 3600, 2)
            if estimate is not None
            else None
        ),
        "status": t["status"],
        "users": list(t["user_ids"]),
    }
    if entries == "list":
        out["entries"] = [entry_view(store, tenant, e) for e in rows]
    elif entries == "map":
        out["entries"] = {
            str(e["id"]): compact(
                {
                    "start_datetime": e["start_time"],
                    "end_datetime": e["end_time"],
                    "duration": entry_duration(store, tenant, e),
                }
            )
            for e in rows
        } or []
    return compact(out)


def comments_of(store, tenant: str, target: str, target_id: int):
    """The comments on one invoice, task or time entry (target "invoice", "task", "time_entry")."""
    return store.find(tenant, "comments", lambda c: c["target"] == target and c["target_id"] == target_id)


def entry_view(store, tenant: str, e: dict, form: str = "int") -> dict:
    breaks = sum(1 for _ in store.find(tenant, "breaks", lambda b: b["time_entry_id"] == e["id"]))
    comments = sum(1 for _ in comments_of(store, tenant, "time_entry", e["id"]))
    return compact(
        {
            "id": e["id"],
            "user_id": e["user_id"],
            "task_id": e["task_id"],
            "schedule_id": e.get("schedule_id"),
            "status": e["status"],
            "start_time": fmt_time(e["start_time"], form),
            "end_time": fmt_time(e["end_time"], form),
            "approve_date": fmt_time(e.get("approve_date"), form),
            "created": fmt_time(e.get("created"), form),
            "updated": fmt_time(e.get("updated"), form),
            "payment_status": e["payment_status"],
            "breaks": breaks,
            "comments": comments,
            "duration": entry_duration(store, tenant, e),
            "start_location": e.get("start_location"),
            "end_location": e.get("end_location"),
        }
    )


def break_view(b: dict, form: str = "int") -> dict:
    end = b["end_time"]
    out = {"id": b["id"], "time_entry": b["time_entry_id"]}
    if form == "str":
        out.update(start_datetime=fmt_time(b["start_time"], "str"), end_datetime=fmt_time(end, "str"))
    else:
        out.update(start_time=b["start_time"], end_time=end)
    out["duration"] = max(0, (end if end is not None else now()) - b["start_time"])
    return compact(out)


def invoice_view(i: dict) -> dict:
    return compact(
        {
            "id": i["id"],
            "client_id": i["client_id"],
            "task_ids": list(i["task_ids"]),
            "due_date": fmt_time(i.get("due_date"), "str"),
            "payed_date": fmt_time(i.get("payed_date"), "str"),
            "amount": i.get("amount"),
            "status": i["status"],
        }
    )


def schedule_view(s: dict) -> dict:
    keys = ("id", "name", "days_of_week", "start_time", "end_time", "is_holiday", "is_overnight")
    return compact({k: s.get(k) for k in keys})


def rate_view(r: dict) -> dict:
    keys = ("id", "name", "schedule_id", "user_id", "amount", "duration_unit")
    return compact({k: r.get(k) for k in keys})


def comment_view(c: dict) -> dict:
    return {"id": c["id"], "commentator": c["user_id"], "content": c["content"], "date": c["date"]}


def person(u: dict | None) -> dict:
    if u is None:
        return {}
    return compact({"first_name": u.get("first_name"), "last_name": u.get("last_name")})


def full_name(u: dict) -> str:
    return " ".join(x for x in (u.get("first_name"), u.get("last_name")) if x)


def hourly_price(store, tenant: str, e: dict) -> float:
    """Price of one hour of this entry: the user's rate for the entry's schedule, else the
    user's hourly_rate (a rate's amount is per duration_unit, see UNIT_SECONDS)."""
    rate = next(
        store.find(
            tenant,
            "rates",
            lambda r: r["user_id"] == e["user_id"] and r["schedule_id"] == e.get("schedule_id"),
        ),
        None,
    )
    if rate is not None:
        return (rate.get("amount") or 0) * 3600 / UNIT_SECONDS[rate["duration_unit"]]
    user = store.get(tenant, "users", e["user_id"])
    return (user or {}).get("hourly_rate") or 0


def cost(store, tenant: str, entries: list[dict]) -> tuple[int, float]:
    """Worked seconds (breaks deducted) and price of the entries, rounded to cents."""
    duration, total = 0, 0.0
    for e in entries:
        seconds = entry_duration(store, tenant, e)
        duration += seconds
        total += seconds * hourly_price(store, tenant, e) / 3600
    return duration, round(total, 2)
