"""iBuildApp work to be timed: projects, their tasks (with status history), schedules and rates."""

from __future__ import annotations

import datetime as dt

from server.vendors.ibuildapp import cascade
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views as v
from server.vendors.ibuildapp.common import (
    add_member,
    by_id,
    created,
    delete_one,
    entry_relations,
    found,
    found_groups,
    group_key,
    has,
    id_map,
    need,
    ok,
    page,
    pick,
    read_one,
    remove_member,
    render,
    request,
    status_history,
    store,
    teams_map,
    update_one,
    updated,
)

# ------------------------------------------------------------------------------ tasks


def _task_related(tn: str, b: dict, users, teams: bool = False):
    """The `related` of task answers: users (rendered by `users`; with their teams on
    request), projects, as `with` asks."""
    wanted = set(b.get("with") or [])

    def related(tasks: list[dict]) -> dict:
        out: dict = {}
        user_ids = {u for t in tasks for u in t["user_ids"]}
        if "users" in wanted:
            out["users"] = id_map(tn, "users", user_ids, users)
            if teams:
                out["teams"] = teams_map(tn, user_ids)
        if "projects" in wanted:
            out["projects"] = id_map(tn, "projects", {t["project_id"] for t in tasks}, v.project_record)
        return out

    return related


async def task_get_timesheets(body):
    b, tn, _info = request(body)
    task = need(tn, "tasks", b["task_id"], "Task")
    data = {
        "tasks": [v.task_record(store(), tn, task)],
        **_task_related(tn, b, v.user_contact)([task]),
    }
    return ok(message="1 task(s) found.", data=data)


def task_status_change(tn: str, task: dict, status: str, user_id: int) -> None:
    store().insert(
        tn,
        "task_history",
        {"id": None, "task_id": task["id"], "status": status, "date": rec.now(), "user_id": user_id},
    )


async def task_create(app_path, body):
    b, tn, info = request(body)
    s = store()
    with s.lock:
        need(tn, "projects", b["project_id"], "Project")
        record = {
            "id": None,
            "project_id": b["project_id"],
            "name": b["name"],
            "description": b.get("description"),
            "estimate": b.get("estimate"),
            "estimate_unit": b.get("estimate_unit", "hours" if "estimate" in b else None),
            "status": b.get("status", "new"),
            "user_ids": [],
            "created": rec.now(),
        }
        task = s.insert(tn, "tasks", record)
        task_status_change(tn, task, task["status"], info["user_id"])
    return created(task)


async def task_update_timesheets(body):
    b, tn, info = request(body)
    s = store()
    with s.lock:
        task = need(tn, "tasks", b["task_id"], "Task")
        changes = pick(b, ("name", "description", "estimate", "estimate_unit", "status"))
        if "status" in b and b["status"] != task["status"]:
            task_status_change(tn, task, b["status"], info["user_id"])
        s.update(tn, "tasks", task["id"], changes)
    return updated()


def _task_rows(tn: str, b: dict) -> list[dict]:
    s = store()
    client_projects = None
    if b.get("client_id") is not None:
        client_projects = set(rec.projects_of_client(s, tn, b["client_id"]))

    def keep(t):
        project = s.get(tn, "projects", t["project_id"]) or {}
        text = " ".join(str(x or "") for x in (t["name"], t.get("description"), project.get("category")))
        return (
            (b.get("task_id") is None or t["id"] == b["task_id"])
            and (b.get("project_id") is None or t["project_id"] == b["project_id"])
            and (b.get("user_id") is None or b["user_id"] in t["user_ids"])
            and (client_projects is None or t["project_id"] in client_projects)
            and has(t["name"], b.get("name"))
            and has(t.get("description"), b.get("description"))
            and has(project.get("category"), b.get("category"))
            and (b.get("status") is None or t["status"] == b["status"])
            and (b.get("duration_unit") is None or t.get("estimate_unit") == b["duration_unit"])
            and has(text, b.get("keyword"))
        )

    return by_id(s.find(tn, "tasks", keep))


async def task_search(app_path, body):
    """Unlike other searches, the count is sent inside data."""
    b, tn, _info = request(body)
    rows = _task_rows(tn, b)
    shown = page(rows, b)
    data = {
        "tasks": [v.task_item(store(), tn, t) for t in shown],
        **_task_related(tn, b, v.user_member, True)(shown),
        "count": len(rows),
    }
    return ok(message=f"{len(rows)} task(s) found.", data=data)


async def task_search_group(app_code, body):
    b, tn, _info = request(body)
    key = group_key(b, aliases={"project": "project_id"})
    related = _task_related(tn, b, v.user_member, True)
    return found_groups(_task_rows(tn, b), b, render(tn, v.task_item), key, related)


async def task_delete_timesheets(body):
    return delete_one(body, "tasks", "task_id", "Task", cascade.delete_task)


async def task_add_user(app_path, body):
    return add_member(body, "tasks", "task_id", "Task", "User successfully added to task.")


async def task_delete_user(app_path, body):
    return remove_member(body, "tasks", "task_id", "Task", "User successfully deleted from task.")


async def task_history(app_path, body):
    b, tn, _info = request(body)
    task = need(tn, "tasks", b["task_id"], "Task")
    data = status_history(tn, "task_history", lambda h: h["task_id"] == task["id"], "date", "str")
    return ok(message=f"{len(data)} history record(s) found.", data=data)


async def task_work_history(app_path, body):
    b, tn, _info = request(body)
    s = store()
    task = need(tn, "tasks", b["task_id"], "Task")
    rows = by_id(
        s.find(
            tn,
            "time_entries",
            lambda e: (
                e["task_id"] == task["id"] and (b.get("user_id") is None or e["user_id"] == b["user_id"])
            ),
        )
    )
    data = {
        "time_entries": [v.work_entry(s, tn, e) for e in rows],
        **entry_relations(tn, rows, b.get("with"), v.user_name, v.task_ref, v.project_work),
    }
    return ok(message=f"{len(rows)} time entries found.", data=data, timestamp=rec.now())


# ------------------------------------------------------------------------------ projects

_PROJECT_FIELDS = (
    "name",
    "description",
    "category",
    "status",
    "planned_start_date",
    "actual_start_date",
    "planned_end_date",
    "actual_end_date",
    "estimated_duration",
    "actual_duration",
    "duration_unit",
)


def _unix(value):
    """A date (YYYY-MM-DD, midnight UTC) or Unix seconds, as Unix seconds."""
    if isinstance(value, str):
        return int(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp())
    return value


def _project_changes(b: dict) -> dict:
    changes = pick(b, _PROJECT_FIELDS)
    for key in ("planned_start_date", "actual_start_date", "planned_end_date", "actual_end_date"):
        if key in changes:
            changes[key] = _unix(changes[key])
    return changes


async def project_get(app_code, body):
    return read_one(body, "projects", "project_id", "Project", v.project_record)


async def project_create(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        need(tn, "clients", b["client_id"], "Client")
        record = {k: None for k in _PROJECT_FIELDS}
        record.update(id=None, client_id=b["client_id"], status="new", updated=rec.now())
        record.update(_project_changes(b))
        project = s.insert(tn, "projects", record)
    return created(project)


async def project_update(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        project = need(tn, "projects", b["project_id"], "Project")
        changes = _project_changes(b)
        if "client_id" in b:
            need(tn, "clients", b["client_id"], "Client")
            changes["client_id"] = b["client_id"]
        s.update(tn, "projects", project["id"], {**changes, "updated": rec.now()})
    return updated()


def _project_rows(tn: str, b: dict) -> list[dict]:
    def keep(p):
        text = " ".join(str(p.get(k) or "") for k in ("name", "description", "category"))
        return (
            (b.get("client_id") is None or p["client_id"] == b["client_id"])
            and has(p["name"], b.get("name"))
            and has(p.get("category"), b.get("category"))
            and has(p.get("description"), b.get("description"))
            and (b.get("duration_unit") is None or p.get("duration_unit") == b["duration_unit"])
            and (b.get("status") is None or p["status"] == b["status"])
            and has(text, b.get("keyword"))
        )

    return by_id(store().find(tn, "projects", keep))


def _project_related(tn: str, b: dict, clients):
    """The `related` of project searches: their tasks and clients (rendered by `clients`),
    as `with` asks."""
    wanted = set(b.get("with") or [])

    def related(projects: list[dict]) -> dict:
        out = {}
        if "tasks" in wanted:
            ids = [t for p in projects for t in rec.tasks_of_project(store(), tn, p["id"])]
            out["tasks"] = id_map(tn, "tasks", ids, v.project_task)
        if "clients" in wanted:
            out["clients"] = id_map(tn, "clients", {p["client_id"] for p in projects}, clients)
        return out

    return related


async def project_search(app_code, body):
    b, tn, _info = request(body)
    show, related = render(tn, v.project_record), _project_related(tn, b, v.client_ref)
    return found(_project_rows(tn, b), b, show, "project(s)", "projects", related)


async def project_search_group(app_code, body):
    b, tn, _info = request(body)
    key = group_key(b, aliases={"client": "client_id"})
    show, related = render(tn, v.project_group_item), _project_related(tn, b, v.client_name)
    return found_groups(_project_rows(tn, b), b, show, key, related)


async def project_delete(app_code, body):
    return delete_one(body, "projects", "project_id", "Project", cascade.delete_project)


# ------------------------------------------------------------------------------ schedules

_SCHEDULE_FIELDS = ("name", "days_of_week", "start_time", "end_time", "is_holiday", "is_overnight")


async def schedule_get(app_code, body):
    return read_one(body, "schedules", "schedule_id", "Schedule", v.schedule_record)


async def schedule_create(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        schedule = s.insert(tn, "schedules", {"id": None, **{k: b[k] for k in _SCHEDULE_FIELDS}})
    return created(schedule)


async def schedule_update(app_code, body):
    return update_one(body, "schedules", "schedule_id", "Schedule", _SCHEDULE_FIELDS)


async def schedule_search(app_code, body):
    b, tn, _info = request(body)
    s = store()

    def keep(r):
        return (b.get("name") is None or r["name"].lower() == b["name"].lower()) and has(
            r["name"], b.get("keyword")
        )

    rows = by_id(s.find(tn, "schedules", keep))
    if b.get("name") is not None and not rows:  # the vendor's name search matches parts too
        rows = by_id(
            s.find(tn, "schedules", lambda r: has(r["name"], b["name"]) and has(r["name"], b.get("keyword")))
        )
    return found(rows, b, render(tn, v.schedule_record), "schedule(s)")


async def schedule_delete(app_code, body):
    """Rates of the schedule are deleted with it; time entries keep no schedule."""
    return delete_one(body, "schedules", "schedule_id", "Schedule", cascade.delete_schedule)


# ------------------------------------------------------------------------------ rates

_RATE_FIELDS = ("user_id", "schedule_id", "name", "amount", "duration_unit")


async def rate_get(app_code, body):
    return read_one(body, "rates", "rate_id", "Rate", v.rate_record)


def _rate_refs(tn: str, b: dict) -> None:
    if "user_id" in b:
        need(tn, "users", b["user_id"], "User")
    if "schedule_id" in b:
        need(tn, "schedules", b["schedule_id"], "Schedule")


async def rate_create(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        _rate_refs(tn, b)
        rate = s.insert(tn, "rates", {"id": None, "amount": 0, **pick(b, _RATE_FIELDS)})
    return created(rate)


async def rate_update(app_code, body):
    return update_one(body, "rates", "rate_id", "Rate", _RATE_FIELDS, check=_rate_refs)


async def rate_search(app_code, body):
    b, tn, _info = request(body)

    def keep(r):
        return all(
            b.get(k) is None or r.get(k) == b[k]
            for k in ("user_id", "schedule_id", "amount", "duration_unit")
        ) and has(r["name"], b.get("name"))

    return found(by_id(store().find(tn, "rates", keep)), b, render(tn, v.rate_record), "rate(s)")


async def rate_delete(app_code, body):
    return delete_one(body, "rates", "rate_id", "Rate")
