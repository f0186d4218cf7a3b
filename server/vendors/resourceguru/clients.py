"""Clients, projects and activity types.

Clients and projects are soft-deleted (`deleted`, `deleted_at`) and can be archived; listings hide
both unless asked (see `common._listing`). Activity types are linked to projects through each
project's `activity_type_ids`.
"""

from __future__ import annotations

from server.api import respond
from server.vendors.resourceguru.auth import OAUTH
from server.vendors.resourceguru.common import (
    _account,
    _alive,
    _blank,
    _body,
    _get,
    _listing,
    _now,
    _plain_changes,
    _publish,
    _refuse,
    _store,
    _today,
    _unique,
    _unknown,
)

CLIENT_KEYS = ("name", "notes", "archived", "custom_field_values")
PROJECT_KEYS = (
    "name",
    "project_code",
    "client_id",
    "notes",
    "default_billable",
    "custom_field_values",
    "start_date",
    "end_date",
    "archived",
    "activity_type_ids",
)
ACTIVITY_KEYS = ("name", "notes", "default", "archived")


# -- clients -----------------------------------------------------------------------------------
async def clients_list(account, limit="50", offset="0", include_archived="0", include_deleted="0"):
    _account(account)
    return respond(200, _listing(account, "clients", False))


async def clients_archived(account, limit="50", offset="0"):
    _account(account)
    return respond(200, _listing(account, "clients", True))


async def clients_get(account, id_):
    _account(account)
    return respond(200, _get(account, "clients", id_, "Client", _alive))


async def clients_create(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        _refuse(_blank(data, "name", required=True))
        stamp = _now()
        record = {
            "id": None,
            "archived": False,
            "color": None,
            "name": "",
            "notes": None,
            "custom_field_values": {},
            "creator_id": user["id"],
            "created_at": stamp,
            "updated_at": stamp,
            "last_updated_by": user["id"],
            "deleted": False,
            "deleted_at": None,
            **_plain_changes(data, CLIENT_KEYS),
        }
        store.insert(account, "clients", record)
        view = dict(record)
    _publish(account, "client", "create", view, user)
    return respond(201, view)


async def clients_update(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "clients", id_, "Client", _alive)
        _refuse(_blank(data, "name"))
        record.update(_plain_changes(data, CLIENT_KEYS))
        record.update(updated_at=_now(), last_updated_by=user["id"])
        view = dict(record)
    _publish(account, "client", "update", view, user)
    return respond(200, view)


async def clients_delete(account, id_):
    store = _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "clients", id_, "Client", _alive)
        record.update(deleted=True, deleted_at=_today(), updated_at=_now())
        view = dict(record)
    _publish(account, "client", "delete", view, user)
    return respond(204)


# -- projects ----------------------------------------------------------------------------------
def _project_view(account: str, project: dict, detail: bool = True) -> dict:
    view = dict(project)
    if not detail:
        return view
    store = _store()
    acc = next(store.find(OAUTH, "accounts", lambda a: a["subdomain"] == account))
    client = store.get(account, "clients", project["client_id"]) if project["client_id"] else None
    view["account"] = {"id": acc["id"], "name": acc["name"]}
    view["client"] = (
        {"id": client["id"], "name": client["name"], "notes": client["notes"]} if client else None
    )
    return view


async def projects_list(account, limit="50", offset="0", include_archived="0", include_deleted="0"):
    _account(account)
    return respond(200, _listing(account, "projects", False))


async def projects_archived(account, limit="50", offset="0"):
    _account(account)
    return respond(200, _listing(account, "projects", True))


async def projects_get(account, id_):
    _account(account)
    return respond(200, _project_view(account, _get(account, "projects", id_, "Project", _alive)))


def _project_problems(account: str, data: dict, current: dict | None) -> list:
    problems = _blank(data, "name", required=current is None)
    client_id = data.get("client_id")
    if client_id is not None and _store().get(account, "clients", client_id) is None:
        problems.append(("client_id", "is not a client of this account", client_id))
    problems += _unknown(
        account,
        "activity_types",
        "activity_type_ids",
        "has an unknown activity type",
        data.get("activity_type_ids"),
    )
    start = data.get("start_date", current and current["start_date"])
    end = data.get("end_date", current and current["end_date"])
    if start and end and end < start:
        problems.append(("end_date", "must be on or after the start date", end))
    return problems


async def projects_create(account, body):
    data, store = _body(body), _store()
    acc, user = _account(account)
    with store.lock:
        _refuse(_project_problems(account, data, None))
        stamp = _now()
        defaults = [a["id"] for a in store.find(account, "activity_types", lambda a: a["default"])]
        record = {
            "id": None,
            "account_id": acc["id"],
            "client_id": None,
            "archived": False,
            "default_billable": True,
            "color": None,
            "name": "",
            "project_code": None,
            "notes": None,
            "custom_field_values": {},
            "start_date": None,
            "end_date": None,
            "creator_id": user["id"],
            "created_at": stamp,
            "updated_at": stamp,
            "last_updated_by": user["id"],
            "deleted": False,
            "deleted_at": None,
            "activity_type_ids": defaults,
            **_plain_changes(data, PROJECT_KEYS),
        }
        record["activity_type_ids"] = _unique(record["activity_type_ids"])
        store.insert(account, "projects", record)
        view = _project_view(account, record)
    _publish(account, "project", "create", dict(record), user)
    return respond(201, view)


async def projects_update(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "projects", id_, "Project", _alive)
        _refuse(_project_problems(account, data, record))
        record.update(_plain_changes(data, PROJECT_KEYS))
        record["activity_type_ids"] = _unique(record["activity_type_ids"])
        record.update(updated_at=_now(), last_updated_by=user["id"])
        view = _project_view(account, record)
    _publish(account, "project", "update", dict(record), user)
    return respond(200, view)


async def projects_delete(account, id_):
    store = _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "projects", id_, "Project", _alive)
        record.update(deleted=True, deleted_at=_now(), updated_at=_now())
    _publish(account, "project", "delete", dict(record), user)
    return respond(204)


# -- activity types ----------------------------------------------------------------------------
def _activity_view(account: str, record: dict) -> dict:
    projects = _store().find(
        account, "projects", lambda p: record["id"] in p["activity_type_ids"] and not p["deleted"]
    )
    return {**record, "project_ids": [p["id"] for p in projects]}


def _activity_rows(account: str, archived: bool) -> list[dict]:
    rows = _store().find(account, "activity_types", lambda a: a["archived"] == archived)
    return [_activity_view(account, a) for a in rows]


async def activity_types_list(account):
    _account(account)
    return respond(200, _activity_rows(account, False))


async def activity_types_archived(account):
    _account(account)
    return respond(200, _activity_rows(account, True))


async def activity_types_get(account, id_):
    _account(account)
    return respond(200, _activity_view(account, _get(account, "activity_types", id_, "Activity type")))


def _link_projects(account: str, activity_id: int, project_ids) -> None:
    if project_ids is None:
        return
    for project in _store().find(account, "projects"):
        linked = activity_id in project["activity_type_ids"]
        if project["id"] in project_ids and not linked:
            project["activity_type_ids"].append(activity_id)
        elif project["id"] not in project_ids and linked:
            project["activity_type_ids"].remove(activity_id)


def _activity_problems(account: str, data: dict, creating: bool) -> list:
    return _blank(data, "name", required=creating) + _unknown(
        account, "projects", "project_ids", "has an unknown project", data.get("project_ids")
    )


def _activity_changes(data: dict) -> dict:
    changes = _plain_changes(data, ACTIVITY_KEYS)
    if "archived" in data:
        changes["archived_at"] = _today() if data["archived"] else None
    return changes


async def activity_types_create(account, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        _refuse(_activity_problems(account, data, True))
        stamp = _now()
        record = {
            "id": None,
            "name": "",
            "notes": None,
            "color": None,
            "archived": False,
            "default": False,
            "created_at": stamp,
            "updated_at": stamp,
            "archived_at": None,
            **_activity_changes(data),
        }
        store.insert(account, "activity_types", record)
        _link_projects(account, record["id"], data.get("project_ids"))
        view = _activity_view(account, record)
    return respond(201, view)


async def _activity_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "activity_types", id_, "Activity type")
        _refuse(_activity_problems(account, data, False))
        record.update(_activity_changes(data), updated_at=_now())
        _link_projects(account, record["id"], data.get("project_ids"))
        view = _activity_view(account, record)
    return respond(200, view)


async def activity_types_update(account, id_, body):
    return await _activity_update(account, id_, body)


async def activity_types_patch(account, id_, body):
    return await _activity_update(account, id_, body)


async def activity_types_delete(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "activity_types", id_, "Activity type")
        _link_projects(account, record["id"], [])
        store.delete(account, "activity_types", record["id"])
    return respond(204)


async def activity_types_associations(account, id_):
    _account(account)
    record = _get(account, "activity_types", id_, "Activity type")
    store = _store()

    def count(table: str) -> int:
        return sum(1 for r in store.find(account, table, lambda r: r.get("activity_type_id") == record["id"]))

    body = {
        "bookings": count("bookings"),
        "projects": len(_activity_view(account, record)["project_ids"]),
        "timesheet_entries": count("timesheet_entries"),
    }
    return respond(200, body)
