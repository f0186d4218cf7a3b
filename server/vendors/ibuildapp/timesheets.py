"""iBuildApp time tracking: time entries (start/stop, CRUD, search), their breaks and status
history, approval, cost calculation and the CSV export."""

from __future__ import annotations

from server.api import ApiError
from server.vendors.ibuildapp import cascade
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views as v
from server.vendors.ibuildapp.comments import add_comment, comment_list
from server.vendors.ibuildapp.common import (
    by_id,
    created,
    csv_reply,
    delete_one,
    entry_relations,
    found,
    found_groups,
    group_key,
    has,
    id_map,
    need,
    ok,
    pick,
    render,
    request,
    required,
    running_entry,
    status_history,
    store,
    updated,
)
from server.vendors.ibuildapp.work import task_status_change

# ------------------------------------------------------------------------------ time entries


def _entry_status(tn: str, entry: dict, status: str, user_id: int, at: int) -> None:
    store().insert(tn, "ts_history", rec.status_change(entry["id"], status, at, user_id))


def _schedule_for(tn: str, user_id: int):
    rate = store().first_with(tn, "rates", "user_id", user_id)
    return rate["schedule_id"] if rate else None


def _new_entry(tn: str, user_id: int, task_id: int, start: int, end, location, comment, actor: int) -> dict:
    stamp = rec.now()
    entry = store().insert(
        tn,
        "time_entries",
        rec.time_entry(
            None,
            user_id,
            task_id,
            _schedule_for(tn, user_id),
            start,
            end,
            stamp,
            stamp,
            start_location=location,
            end_location=location if end is not None else None,
        ),
    )
    _entry_status(tn, entry, "in-progress", actor, stamp)
    if comment:
        add_comment(tn, actor, "time_entry", entry["id"], comment)
    return entry


def need_entries(tn: str, ids: list[int]) -> list[dict]:
    """The time entries with these ids (each once, in the given order); 404 when one is missing."""
    s = store()
    found_entries = []
    for i in dict.fromkeys(ids):
        entry = s.get(tn, "time_entries", i)
        if entry is None:
            raise ApiError("not_found", "TimeEntry not found.")
        found_entries.append(entry)
    return found_entries


async def ts_start(app_code, body):
    """Opens a time entry of the caller for the task; one running entry per user."""
    b, tn, info = request(body)
    if b.get("task_id") is None:
        required("task_id")
    with store().lock:
        task = need(tn, "tasks", b["task_id"], "Task")
        if running_entry(tn, info["user_id"]) is not None:
            raise ApiError("conflict", "Found started TimeEntry.")
        user = info["user_id"]
        _new_entry(tn, user, task["id"], rec.now(), None, b.get("location"), b.get("comment"), user)
        if task["status"] == "new":
            task_status_change(tn, task, "in-progress", user)
            task["status"] = "in-progress"
    return ok(message="Successfully started.")


async def ts_stop(app_code, body):
    """Closes the caller's running entry (of the task, when task_id is given) and its open break."""
    b, tn, info = request(body)
    s = store()
    with s.lock:
        entry = running_entry(tn, info["user_id"])
        if entry is None or (b.get("task_id") is not None and entry["task_id"] != b["task_id"]):
            raise ApiError("not_found", "Started TimeEntry not found.")
        stamp = rec.now()
        for br in _open_breaks(tn, entry["id"]):
            br["end_time"] = stamp
        s.update(
            tn,
            "time_entries",
            entry["id"],
            {"end_time": stamp, "end_location": b.get("location"), "updated": stamp},
        )
        if b.get("comment"):
            add_comment(tn, info["user_id"], "time_entry", entry["id"], b["comment"])
    return ok(message="Stopped.")


async def ts_create(app_code, body):
    """A finished (or, without end_time, running) entry for any user, with the given times."""
    b, tn, info = request(body)
    with store().lock:
        user = need(tn, "users", b["user_id"], "User")
        if b.get("task_id") is None:
            required("task_id")
        task = need(tn, "tasks", b["task_id"], "Task")
        start = b.get("start_time", rec.now())
        end = b.get("end_time")
        if end is not None and end < start:
            raise ApiError("bad_request", "end_time must not be before start_time.")
        if end is None and running_entry(tn, user["id"]) is not None:
            raise ApiError("conflict", "Found started TimeEntry.")
        entry = _new_entry(
            tn, user["id"], task["id"], start, end, b.get("location"), b.get("comment"), info["user_id"]
        )
    return created(entry)


async def ts_get(app_code, body):
    b, tn, _info = request(body)
    s = store()
    entry = need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    wanted = set(b.get("with") or [])
    data: dict = {"time_entry": v.entry_record(s, tn, entry)}
    task = s.get(tn, "tasks", entry["task_id"])
    project = s.get(tn, "projects", task["project_id"]) if task else None
    if "users" in wanted:
        data["users"] = id_map(tn, "users", [entry["user_id"]], v.entry_user)
    if "breaks" in wanted:
        data["breaks"] = [v.entry_break(s, tn, x) for x in _breaks(tn, entry["id"])]
    if "comments" in wanted:
        comments = comment_list(tn, "time_entry", entry["id"], ["users"])
        data["comments"], data["commentators"] = comments["comments"], comments["users"]
    if "tasks" in wanted or "projects" in wanted or "customers" in wanted:
        data["tasks"] = id_map(tn, "tasks", [entry["task_id"]], v.entry_task)
    if ("projects" in wanted or "customers" in wanted) and project:
        data["projects"] = id_map(tn, "projects", [project["id"]], v.project_record)
    if "customers" in wanted or ("projects" in wanted and project):
        customers = [project["client_id"]] if project else []
        data["customers"] = id_map(tn, "clients", customers, v.client_ref)
    return ok(message="1 time entries found.", data=data, count=1)


async def ts_update(app_path, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        entry = need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
        changes: dict = {}
        if "task_id" in b:
            changes["task_id"] = need(tn, "tasks", b["task_id"], "Task")["id"]
        start = b.get("start_datetime", entry["start_time"])
        end = b.get("end_datetime", entry["end_time"])
        if end is not None and end < start:
            raise ApiError("bad_request", "end_datetime must not be before start_datetime.")
        changes.update(start_time=start, end_time=end, updated=rec.now())
        s.update(tn, "time_entries", entry["id"], changes)
    return updated()


def _entry_rows(tn: str, b: dict) -> list[dict]:
    s = store()

    def keep(e):
        task = s.get(tn, "tasks", e["task_id"]) or {}
        if b.get("time_entry_ids") and e["id"] not in b["time_entry_ids"]:
            return False
        if b.get("keywords"):
            comments = rec.comments_of(s, tn, "time_entry", e["id"])
            text = " ".join([task.get("name") or ""] + [c["content"] for c in comments])
            if not has(text, b["keywords"]):
                return False
        return (
            all(
                b.get(k) is None or e.get(k) == b[k]
                for k in ("task_id", "user_id", "status", "payment_status")
            )
            and (b.get("project_id") is None or task.get("project_id") == b["project_id"])
            and (b.get("start_datetime") is None or e["start_time"] >= b["start_datetime"])
            and (b.get("end_datetime") is None or (e["end_time"] or e["start_time"]) <= b["end_datetime"])
        )

    return by_id(s.find(tn, "time_entries", keep))


def _entries_related(tn: str, b: dict):
    return lambda entries: entry_relations(
        tn, entries, b.get("with"), v.user_contact, v.task_summary, v.project_record
    )


async def ts_search(app_path, body):
    b, tn, _info = request(body)
    show = render(tn, v.entry_item)
    rows = _entry_rows(tn, b)
    return found(rows, b, show, "time entries", "time_entries", _entries_related(tn, b))


async def ts_search_group(app_path, body):
    b, tn, _info = request(body)
    key = group_key(b, aliases={"user": "user_id", "task": "task_id", "schedule": "schedule_id"})
    show = render(tn, v.entry_item)
    return found_groups(_entry_rows(tn, b), b, show, key, _entries_related(tn, b))


async def ts_delete(app_path, body):
    return delete_one(
        body, "time_entries", "time_entry_id", "", cascade.delete_entry, "Time entry not found."
    )


async def ts_history(app_path, body):
    b, tn, _info = request(body)
    entry = need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    data = status_history(
        tn, "ts_history", lambda h: h["time_entry_id"] == entry["id"], "event_date", "datetime"
    )
    return ok(message=f"{len(data)} time entries found.", data=data)


# ------------------------------------------------------------------------------ breaks


def _breaks(tn: str, entry_id: int) -> list[dict]:
    return by_id(store().find(tn, "breaks", lambda x: x["time_entry_id"] == entry_id))


def _open_breaks(tn: str, entry_id: int):
    return store().find(tn, "breaks", lambda x: x["time_entry_id"] == entry_id and x["end_time"] is None)


async def ts_break_start(app_path, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        entry = s.get(tn, "time_entries", b["time_entry_id"])
        if entry is None or entry["end_time"] is not None:
            raise ApiError("not_found", "Started TimeEntry not found.")
        if next(_open_breaks(tn, entry["id"]), None):
            raise ApiError("conflict", "Found started Break.")
        brk = s.insert(
            tn,
            "breaks",
            {"id": None, "time_entry_id": entry["id"], "start_time": rec.now(), "end_time": None},
        )
    return ok(message="Successfully started.", id=brk["id"])


async def ts_break_stop(app_path, body):
    b, tn, _info = request(body)
    with store().lock:
        need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
        brk = next(_open_breaks(tn, b["time_entry_id"]), None)
        if brk is None:
            raise ApiError("not_found", "Started Break not found.")
        brk["end_time"] = max(rec.now(), brk["start_time"])
    return ok(message="Stopped.")


async def ts_breaks(app_path, body):
    b, tn, _info = request(body)
    entry = need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    data = [v.break_item(store(), tn, x) for x in _breaks(tn, entry["id"])]
    return ok(message=f"{len(data)} break(s) found.", data=data, count=len(data))


# ------------------------------------------------------------------------------ approval, cost, export


async def ts_approve(app_path, body):
    """Approves the finished entries among the ids; running or already approved ones are left."""
    b, tn, info = request(body)
    with store().lock:
        entries = need_entries(tn, b["time_entry_ids"])
        stamp = rec.now()
        done = []
        for e in entries:
            if e["end_time"] is None or e["status"] == "approved":
                continue
            e.update(status="approved", approve_date=stamp, updated=stamp)
            _entry_status(tn, e, "approved", info["user_id"], stamp)
            done.append(e["id"])
    return ok(message="Successfully approved.", data=done, count=len(done))


async def ts_calc(app_path, body):
    """Worked seconds (breaks deducted) and cost of the APPROVED entries among the ids."""
    b, tn, _info = request(body)
    entries = [
        e
        for e in need_entries(tn, b["time_entry_ids"])
        if e["status"] == "approved" and e["end_time"] is not None
    ]
    duration, total = rec.cost(store(), tn, entries)
    return ok(message="Successfully calculated.", data={"duration": duration, "sum": total})


TS_COLUMNS = (
    "id user_id user task_id task project status payment_status start_time end_time breaks duration sum"
).split()


def _export_row(tn: str, e: dict) -> list:
    s = store()
    user = s.get(tn, "users", e["user_id"]) or {}
    task = s.get(tn, "tasks", e["task_id"]) or {}
    project = s.get(tn, "projects", task.get("project_id")) or {}
    seconds, total = rec.cost(s, tn, [e])
    return [
        e["id"],
        e["user_id"],
        rec.full_name(user),
        e["task_id"],
        task.get("name", ""),
        project.get("name", ""),
        e["status"],
        e["payment_status"],
        rec.fmt_time(e["start_time"], "datetime"),
        rec.fmt_time(e["end_time"], "datetime") or "",
        rec.break_seconds(s, tn, e["id"], e["end_time"]),
        seconds,
        f"{total:.2f}",
    ]


async def ts_export(app_path, body):
    b, tn, _info = request(body)
    rows = _entry_rows(tn, pick(b, ("time_entry_ids", "task_id", "user_id", "status")))
    return csv_reply(TS_COLUMNS if b.get("with_headers") else None, [_export_row(tn, e) for e in rows])
