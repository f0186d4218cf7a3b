"""How iBuildApp records are stored, and what the answers compute from them.

Stored records are snake_case dicts (`users`, `groups`, `clients`, `projects`, `tasks`,
`task_history`, `schedules`, `rates`, `time_entries`, `breaks`, `ts_history`, `comments`,
`invoices`, `integrations`). Times are stored as Unix seconds; `fmt_time` gives the forms the
vendor sends them in (integers, numeric strings, "YYYY-MM-DD HH:MM:SS"). A record keeps state
its views do not show (an invoice's client and tasks); how each view is sent is views.py.
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


def projects_of_client(store, tenant: str, client_id: int) -> list[int]:
    ids = [p["id"] for p in store.find(tenant, "projects", lambda p: p["client_id"] == client_id)]
    return sorted(ids, reverse=True)


def tasks_of_project(store, tenant: str, project_id: int) -> list[int]:
    ids = [t["id"] for t in store.find(tenant, "tasks", lambda t: t["project_id"] == project_id)]
    return sorted(ids, reverse=True)


def task_entries(store, tenant: str, task_id: int) -> list[dict]:
    return sorted(
        store.find(tenant, "time_entries", lambda e: e["task_id"] == task_id), key=lambda e: e["id"]
    )


def comments_of(store, tenant: str, target: str, target_id: int):
    """The comments on one invoice, task or time entry (target "invoice", "task", "time_entry")."""
    return store.find(tenant, "comments", lambda c: c["target"] == target and c["target_id"] == target_id)


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
