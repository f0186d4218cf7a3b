"""One renderer per view of a record that the iBuildApp documentation shows.

The vendor sends each entity in several shapes: the full record (a get), a list or search
item, and short forms inside `with` maps and other nested references, each with its own
field set (and some with their own time format). Every renderer here is named after the
schema in specs/ibuildapp.yaml that describes its view (`user_record` -> `UserRecord`) and
sends exactly that schema's fields: nothing the documentation does not show for that view.
Unset (None) fields are left out, as PHP does. Fields the field tables type as Float are sent
as floats even where an example shows `10` (the spec says so beside each such field).

All renderers take (store, tenant, record), so any of them can render an id-keyed map.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.vendors.ibuildapp import records as rec


def _float(value):
    return None if value is None else float(value)


def _pick(full: dict, keys: Sequence[str]) -> dict:
    """The view's keys, in its documented order; unset (None) values left out."""
    return {k: full[k] for k in keys if full.get(k) is not None}


# ------------------------------------------------------------------------------ users


def _user(u: dict) -> dict:
    """The user's stored fields as sent (hours and teams, which cost a lookup, apart)."""
    return {**u, "hourly_rate": _float(u.get("hourly_rate"))}


def _user_hours(s, tn: str, u: dict) -> dict:
    entries = s.index(tn, "time_entries", "user_id").get(u["id"], ())
    closed = [e for e in entries if e["end_time"] is not None]
    paid = sum(rec.entry_duration(s, tn, e) for e in closed if e["payment_status"] == "payed")
    unapproved = sum(rec.entry_duration(s, tn, e) for e in closed if e["status"] == "in-progress")
    return {
        "paid_hours": round(paid / 3600, 2),
        "unapproved_hours": round(unapproved / 3600, 2),
        "teams": rec.teams_of(s, tn, u["id"]),
    }


USER_RECORD = (
    "id email first_name last_name sex position hourly_rate roles created updated exported activated"
    " settings picture paid_hours unapproved_hours teams notes birth_date"
).split()
GROUP_MEMBER = (
    "id email first_name last_name hourly_rate roles created updated exported activated settings"
    " paid_hours unapproved_hours picture teams birth_date"
).split()


def user_record(s, tn: str, u: dict) -> dict:
    """UserRecord: user (get), user/search_group items."""
    return _pick({**_user(u), **_user_hours(s, tn, u)}, USER_RECORD)


def group_member(s, tn: str, u: dict) -> dict:
    """GroupMember: group/get_users items (no sex, position or notes)."""
    return _pick({**_user(u), **_user_hours(s, tn, u)}, GROUP_MEMBER)


def user_item(s, tn: str, u: dict) -> dict:
    """UserItem: user/search items."""
    return _pick(u, ("id", "email", "first_name", "last_name"))


def user_ref(s, tn: str, u: dict) -> dict:
    """UserRef: `users` of user/history and of comment listings, ts/get's `commentators`."""
    return _pick(u, ("id", "first_name", "last_name", "picture"))


def user_name(s, tn: str, u: dict) -> dict:
    """UserName: `users` of task/work_history."""
    return _pick(u, ("id", "first_name", "last_name"))


def user_contact(s, tn: str, u: dict) -> dict:
    """UserContact: `users` of task (get), ts/search and ts/search_group."""
    keys = ("id", "email", "first_name", "last_name", "hourly_rate", "picture", "birth_date")
    return _pick(_user(u), keys)


def user_member(s, tn: str, u: dict) -> dict:
    """UserMember: `users` of task/search and task/search_group (with their teams)."""
    full = {**_user(u), "teams": rec.teams_of(s, tn, u["id"])}
    keys = ("id", "email", "first_name", "last_name", "hourly_rate", "picture", "teams", "birth_date")
    return _pick(full, keys)


def entry_user(s, tn: str, u: dict) -> dict:
    """EntryUser: `users` of ts/get (its example has no email)."""
    return _pick(_user(u), ("id", "first_name", "last_name", "hourly_rate", "picture", "birth_date"))


# ------------------------------------------------------------------------------ groups


def group_record(s, tn: str, g: dict) -> dict:
    """GroupRecord: group (get), group/search items; description and notes are not sent."""
    return _pick({**g, "pay_rate": _float(g.get("pay_rate"))}, ("id", "name", "status", "pay_rate"))


def team(s, tn: str, g: dict) -> dict:
    """Team: `teams` of task/search and task/search_group."""
    keys = ("id", "name", "description", "notes", "status", "pay_rate")
    return _pick({**g, "pay_rate": _float(g.get("pay_rate"))}, keys)


# ------------------------------------------------------------------------------ clients


def client_record(s, tn: str, c: dict) -> dict:
    """ClientRecord: client (get); the field table has no phone."""
    full = {**c, "projects": rec.projects_of_client(s, tn, c["id"])}
    keys = "id name email contact_info address state city website industry notes status projects"
    return _pick(full, tuple(keys.split()))


def client_item(s, tn: str, c: dict) -> dict:
    """ClientItem: client/search items."""
    full = {**c, "projects": rec.projects_of_client(s, tn, c["id"])}
    keys = "id name phone email contact_info address city state industry website notes status projects"
    return _pick(full, tuple(keys.split()))


def client_group_item(s, tn: str, c: dict) -> dict:
    """ClientGroupItem: client/search_group items."""
    return _pick(c, ("id", "email", "name", "address", "state", "city", "industry", "notes", "status"))


def client_ref(s, tn: str, c: dict) -> dict:
    """ClientRef: `clients` of project/search, `customers` of ts/get."""
    return _pick(c, ("id", "name", "status"))


def client_name(s, tn: str, c: dict) -> dict:
    """ClientName: `clients` of project/search_group."""
    return _pick(c, ("id", "name"))


# ------------------------------------------------------------------------------ projects

PROJECT_RECORD = (
    "id name description client_id duration_unit status planned_start_date actual_start_date"
    " planned_end_date actual_end_date estimated_duration actual_duration tasks"
).split()


def project_record(s, tn: str, p: dict) -> dict:
    """ProjectRecord: project (get), project/search items, and `projects` of task and
    time-entry answers (no category, no updated)."""
    full = {
        **p,
        "estimated_duration": _float(p.get("estimated_duration")),
        "actual_duration": _float(p.get("actual_duration")),
        "tasks": rec.tasks_of_project(s, tn, p["id"]),
    }
    return _pick(full, PROJECT_RECORD)


def project_group_item(s, tn: str, p: dict) -> dict:
    """ProjectGroupItem: project/search_group items; times as numeric strings, tasks only
    when there are any (the example's project without tasks has no key)."""
    full = {
        **p,
        "updated": rec.fmt_time(p.get("updated"), "str"),
        "planned_end_date": rec.fmt_time(p.get("planned_end_date"), "str"),
        "tasks": rec.tasks_of_project(s, tn, p["id"]) or None,
    }
    return _pick(full, ("id", "name", "status", "updated", "planned_end_date", "client_id", "tasks"))


def project_ref(s, tn: str, p: dict) -> dict:
    """ProjectRef: `projects` of user/history and client/search."""
    return _pick(p, ("id", "name", "status"))


def project_tasks(s, tn: str, p: dict) -> dict:
    """ProjectTasks: `projects` of client/search_group (tasks only when there are any)."""
    full = {**p, "tasks": rec.tasks_of_project(s, tn, p["id"]) or None}
    return _pick(full, ("id", "name", "status", "tasks"))


def project_work(s, tn: str, p: dict) -> dict:
    """ProjectWork: `projects` of task/work_history."""
    full = {**p, "tasks": rec.tasks_of_project(s, tn, p["id"])}
    return _pick(full, ("id", "name", "status", "client_id", "tasks"))


# ------------------------------------------------------------------------------ tasks


def _task(s, tn: str, t: dict) -> dict:
    rows = rec.task_entries(s, tn, t["id"])
    estimate, unit = t.get("estimate"), t.get("estimate_unit") or "hours"
    return {
        **t,
        "project": t["project_id"],
        "duration": sum(rec.entry_duration(s, tn, e) for e in rows if e["end_time"] is not None),
        "estimate": _float(estimate),
        "estimate_hours": (None if estimate is None else round(estimate * rec.UNIT_SECONDS[unit] / 3600, 2)),
        "users": list(t["user_ids"]),
        "_entries": rows,
    }


def task_record(s, tn: str, t: dict) -> dict:
    """TaskRecord: the tasks of task (get), with their time entries in full."""
    full = _task(s, tn, t)
    keys = "id name project duration estimate estimate_unit estimate_hours description status users"
    out = _pick(full, tuple(keys.split()))
    out["entries"] = [task_entry(s, tn, e) for e in full["_entries"]]
    return out


def task_item(s, tn: str, t: dict) -> dict:
    """TaskItem: task/search and task/search_group items, entries as spans keyed by id."""
    full = _task(s, tn, t)
    out = _pick(full, ("id", "name", "project", "duration", "status", "users"))
    spans = {
        str(e["id"]): _pick(
            {
                "start_datetime": e["start_time"],
                "end_datetime": e["end_time"],
                "duration": rec.entry_duration(s, tn, e),
            },
            ("start_datetime", "end_datetime", "duration"),
        )
        for e in full["_entries"]
    }
    out["entries"] = spans or []
    return out


def task_summary(s, tn: str, t: dict) -> dict:
    """TaskSummary: user/dashboard's current_tasks, `tasks` of ts/search and ts/search_group."""
    return _pick(_task(s, tn, t), ("id", "name", "project", "duration", "status", "users"))


def project_task(s, tn: str, t: dict) -> dict:
    """ProjectTask: `tasks` of project/search and project/search_group."""
    return _pick(_task(s, tn, t), ("id", "name", "duration", "status", "users"))


def task_ref(s, tn: str, t: dict) -> dict:
    """TaskRef: `tasks` of user/history and task/work_history."""
    return _pick({**t, "project": t["project_id"]}, ("id", "project", "name", "status"))


def entry_task(s, tn: str, t: dict) -> dict:
    """EntryTask: `tasks` of ts/get."""
    keys = ("id", "project", "name", "description", "estimate_hours", "duration", "status")
    return _pick(_task(s, tn, t), keys)


# ------------------------------------------------------------------------------ time entries


def _entry(s, tn: str, e: dict, form: str = "int") -> dict:
    return {
        **e,
        "start_time": rec.fmt_time(e["start_time"], form),
        "end_time": rec.fmt_time(e["end_time"], form),
        "approve_date": rec.fmt_time(e.get("approve_date"), form),
        "created": rec.fmt_time(e.get("created"), form),
        "updated": rec.fmt_time(e.get("updated"), form),
        "breaks": len(s.index(tn, "breaks", "time_entry_id").get(e["id"], ())),
        "comments": sum(1 for _ in rec.comments_of(s, tn, "time_entry", e["id"])),
        "duration": rec.entry_duration(s, tn, e),
    }


def current_entry(s, tn: str, e: dict) -> dict:
    """CurrentEntry: user/dashboard's current_time_entry."""
    keys = "id user_id task_id schedule_id status start_time end_time payment_status breaks comments duration"
    return _pick(_entry(s, tn, e), tuple(keys.split()))


def history_entry(s, tn: str, e: dict) -> dict:
    """HistoryEntry: user/history's time_entries, times as "YYYY-MM-DD HH:MM:SS"."""
    keys = (
        "id user_id task_id schedule_id status start_time end_time payment_status breaks comments"
        " duration created updated approve_date start_location end_location"
    )
    return _pick(_entry(s, tn, e, "datetime"), tuple(keys.split()))


def task_entry(s, tn: str, e: dict) -> dict:
    """TaskEntry: the entries of task (get)."""
    keys = (
        "id user_id task_id schedule_id status start_time end_time approve_date payment_status"
        " breaks comments duration start_location end_location"
    )
    return _pick(_entry(s, tn, e), tuple(keys.split()))


def work_entry(s, tn: str, e: dict) -> dict:
    """WorkEntry: task/work_history's time_entries, times as numeric strings."""
    keys = (
        "id user_id task_id status start_time end_time payment_status breaks comments duration"
        " start_location end_location approve_date"
    )
    return _pick(_entry(s, tn, e, "str"), tuple(keys.split()))


def entry_record(s, tn: str, e: dict) -> dict:
    """EntryRecord: ts/get's time_entry."""
    keys = ("id", "user_id", "task_id", "start_time", "end_time", "duration", "approve_date", "breaks")
    return _pick(_entry(s, tn, e), (*keys, "status"))


def entry_item(s, tn: str, e: dict) -> dict:
    """EntryItem: ts/search and ts/search_group items."""
    keys = (
        "id user_id task_id start_time end_time approve_date breaks comments duration status"
        " payment_status start_location end_location"
    )
    return _pick(_entry(s, tn, e), tuple(keys.split()))


def break_item(s, tn: str, b: dict) -> dict:
    """BreakItem: ts/breaks items, times as numeric strings."""
    full = {
        **b,
        "start_datetime": rec.fmt_time(b["start_time"], "str"),
        "end_datetime": rec.fmt_time(b["end_time"], "str"),
        "time_entry": b["time_entry_id"],
        "duration": _break_seconds(b),
    }
    return _pick(full, ("id", "start_datetime", "end_datetime", "time_entry", "duration"))


def entry_break(s, tn: str, b: dict) -> dict:
    """EntryBreak: `breaks` of ts/get."""
    return _pick({**b, "duration": _break_seconds(b)}, ("id", "start_time", "end_time", "duration"))


def _break_seconds(b: dict) -> int:
    end = b["end_time"] if b["end_time"] is not None else rec.now()
    return max(0, end - b["start_time"])


# ------------------------------------------------------------------------------ the rest


def invoice_record(s, tn: str, i: dict) -> dict:
    """InvoiceRecord: invoice (get), invoice/search and search_group items (the client and
    tasks it was made from are kept, not sent)."""
    full = {
        **i,
        "due_date": rec.fmt_time(i.get("due_date"), "str"),
        "payed_date": rec.fmt_time(i.get("payed_date"), "str"),
        "amount": _float(i.get("amount")),
    }
    return _pick(full, ("id", "due_date", "payed_date", "amount", "status"))


def schedule_record(s, tn: str, x: dict) -> dict:
    """ScheduleRecord: schedule (get), schedule/search items."""
    keys = ("id", "name", "days_of_week", "start_time", "end_time", "is_holiday", "is_overnight")
    return _pick(x, keys)


def rate_record(s, tn: str, r: dict) -> dict:
    """RateRecord: rate (get), rate/search items."""
    return _pick(r, ("id", "name", "schedule_id", "user_id", "amount", "duration_unit"))


def comment(s, tn: str, c: dict) -> dict:
    """Comment: the comments of invoice, task and time-entry comment listings and ts/get."""
    return {"id": c["id"], "commentator": c["user_id"], "content": c["content"], "date": c["date"]}
