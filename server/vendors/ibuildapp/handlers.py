"""iBuildApp Timesheets operations, named by operationId. The spec has validated every body.

Every operation is a POST with a JSON body and answers the vendor envelope. Handlers validate
fully (every referenced record exists, state allows the change) before they write, under
`store.lock`, so a refused request changes nothing.

Deleting a client deletes its projects; deleting a project deletes its tasks; deleting a task
deletes its time entries with their breaks, comments and status history, its own comments and
history, and removes it from invoices (an invoice left without tasks stays, with its amount).
Deleting a user deletes their time entries (same cascade), rates and sessions, and removes
them from groups and task assignments.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from connexion.context import context

from server.api import ApiError, Violation, json_body, respond, runtime
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp.auth import AUTH_TENANT, app_exists, tenant

# ------------------------------------------------------------------------------ plumbing


def _ok(payload: dict | None = None, **fields):
    return respond(200, {"status": "SUCCESS", **(payload or {}), **fields})


def _session() -> tuple[str, dict]:
    info = context["token_info"]
    info = info.get("bearerAuth", info)
    return tenant(info["app"]), info


def _body(body) -> dict:
    value = json_body(body)
    return value if isinstance(value, dict) else {}


def _store():
    return runtime().store


def _need(tn: str, table: str, record_id, entity: str, message: str | None = None) -> dict:
    found = _store().get(tn, table, record_id) if record_id is not None else None
    if found is None:
        raise ApiError("not_found", message or f"{entity} not found.")
    return found


def _required(name: str):
    raise ApiError(
        "invalid",
        f"'{name}' is a required property",
        violations=[Violation("body", (name,), "required", f"'{name}' is a required property")],
    )


def _page(rows: list, b: dict, default_limit: int | None = None) -> list:
    offset = b.get("offset") or 0
    limit = b.get("limit", default_limit)
    rows = rows[offset:]
    return rows[:limit] if limit else rows


def _has(value, part) -> bool:
    return part is None or part.lower() in str(value or "").lower()


def _group(rows: list[dict], key, order: str | None) -> list[dict]:
    """Groups of records by one field ("?" for records without it), ordered by value."""
    groups: dict = {}
    for row, item in rows:
        value = key(row)
        groups.setdefault("?" if value is None else value, []).append(item)
    values = sorted(groups, key=lambda v: (str(type(v)), str(v)), reverse=order == "desc")
    return [{"value": v, "count": len(groups[v]), "items": groups[v]} for v in values]


def _keyed(views: list[dict]) -> dict | list:
    """PHP's id-keyed map; an empty map is sent as []."""
    return {str(v["id"]): v for v in views} or []


def _users_map(tn: str, ids) -> dict | list:
    store = _store()
    users = [store.get(tn, "users", i) for i in sorted(set(ids))]
    return _keyed([rec.user_view(store, tn, u) for u in users if u])


def _projects_map(tn: str, ids) -> dict | list:
    store = _store()
    projects = [store.get(tn, "projects", i) for i in sorted(set(ids))]
    return _keyed([rec.project_view(store, tn, p) for p in projects if p])


def _tasks_map(tn: str, ids) -> dict | list:
    store = _store()
    tasks = [store.get(tn, "tasks", i) for i in sorted(set(ids))]
    return _keyed([rec.task_view(store, tn, t) for t in tasks if t])


def _clients_map(tn: str, ids) -> dict | list:
    store = _store()
    clients = [store.get(tn, "clients", i) for i in sorted(set(ids))]
    return _keyed([rec.client_view(store, tn, c) for c in clients if c])


def _teams_map(tn: str, user_ids) -> dict | list:
    wanted = set(user_ids)
    groups = _store().find(tn, "groups", lambda g: wanted & set(g["user_ids"]))
    return _keyed([rec.group_view(g) for g in sorted(groups, key=lambda g: g["id"])])


def _sorted(rows, key="id", reverse=False):
    return sorted(rows, key=lambda r: r[key], reverse=reverse)


# ------------------------------------------------------------------------------ auth


def _app_code(kwargs: dict) -> str:
    code = kwargs.get("app_code") or kwargs.get("APP_CODE") or kwargs.get("app_path")
    if not code or not app_exists(_store(), code):
        raise ApiError("not_found", "App not found.")
    return code


def _session_token(store, app: str, user_id: int) -> str:
    token = f"ibuildapp-{app}-{user_id}-{store.next_id('ibuildapp_sessions')}"
    store.insert(AUTH_TENANT, "tokens", {"token": token, "app": app, "user_id": user_id})
    return token


async def auth_login(body=None, **kwargs):
    b, store = _body(body), _store()
    app = _app_code(kwargs)
    tn = tenant(app)
    email = b["email"].lower()
    user = next(store.find(tn, "users", lambda u: u["email"].lower() == email), None)
    if user is None or user.get("password") != b["password"]:
        raise ApiError("unauthorized", "Wrong e-mail or password.")
    if not user["activated"]:
        raise ApiError("forbidden", "User is not activated.")
    with store.lock:
        token = _session_token(store, app, user["id"])
    return _ok(message="Successfully authorized.", token=token)


async def auth_register(body=None, **kwargs):
    b, store = _body(body), _store()
    app = _app_code(kwargs)
    tn = tenant(app)
    with store.lock:
        _unique_email(tn, b["email"])
        user = store.insert(tn, "users", _new_user(b))
        token = _session_token(store, app, user["id"])
    return _ok(message="Successfully registered.", token=token)


def _unique_email(tn: str, email: str, except_id: int | None = None) -> None:
    taken = next(
        _store().find(tn, "users", lambda u: u["email"].lower() == email.lower() and u["id"] != except_id),
        None,
    )
    if taken is not None:
        raise ApiError("conflict", "User with this email already exists.")


def _new_user(b: dict) -> dict:
    stamp = rec.now()
    return {
        "id": None,
        "email": b["email"],
        "password": b.get("password"),
        "first_name": b.get("first_name"),
        "last_name": b.get("last_name"),
        "sex": b.get("sex"),
        "position": b.get("position"),
        "hourly_rate": b.get("hourly_rate", 0),
        "roles": ["ROLE_USER"],
        "created": stamp,
        "updated": stamp,
        "exported": None,
        "activated": b.get("is_active", True),
        "settings": b.get("settings", []),
        "picture": None,
        "notes": b.get("notes"),
        "birth_date": b.get("birth_date"),
    }


# ------------------------------------------------------------------------------ users

_USER_FIELDS = (
    "email",
    "password",
    "first_name",
    "last_name",
    "sex",
    "position",
    "hourly_rate",
    "settings",
    "notes",
    "birth_date",
)


def _user_id(b: dict, info: dict) -> int:
    return b.get("user_id") or info["user_id"]


async def user_get(body=None, **_):
    b = _body(body)
    tn, info = _session()
    user = _need(tn, "users", _user_id(b, info), "User")
    return _ok(data=rec.user_view(_store(), tn, user))


async def user_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        _unique_email(tn, b["email"])
        user = store.insert(tn, "users", _new_user(b))
    return _ok(message="Successfully created.", id=user["id"])


async def user_update(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        user = _need(tn, "users", _user_id(b, info), "User")
        if "email" in b:
            _unique_email(tn, b["email"], user["id"])
        changes = {k: b[k] for k in _USER_FIELDS if k in b}
        if "is_active" in b:
            changes["activated"] = b["is_active"]
        store.update(tn, "users", user["id"], {**changes, "updated": rec.now()})
    return _ok(message="Successfully updated.")


def _user_rows(tn: str, b: dict) -> list[dict]:
    def keep(u):
        return (
            (b.get("user_id") is None or u["id"] == b["user_id"])
            and _has(u["email"], b.get("email"))
            and _has(u.get("first_name"), b.get("first_name"))
            and _has(u.get("last_name"), b.get("last_name"))
            and _has(u.get("position"), b.get("position"))
            and (b.get("is_active") is None or u["activated"] == b["is_active"])
        )

    return _sorted(_store().find(tn, "users", keep))


async def user_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    rows = _user_rows(tn, b)
    page = [rec.user_view(_store(), tn, u) for u in _page(rows, b)]
    return _ok(message=f"{len(rows)} user(s) found.", data=page, count=len(rows))


def _user_group_key(field: str):
    if field == "is_active":
        return lambda u: u["activated"]
    return lambda u: u.get(field)


async def user_search_group(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    rows = _page(_user_rows(tn, b), b)
    pairs = [(u, rec.user_view(_store(), tn, u)) for u in rows]
    groups = _group(pairs, _user_group_key(b.get("group_by") or "is_active"), b.get("order"))
    return _ok(message=f"{len(groups)} group(s) found.", data={"groups": groups}, count=len(groups))


def _delete_entry(tn: str, entry_id: int) -> None:
    store = _store()
    for table, where in (
        ("breaks", lambda r: r["time_entry_id"] == entry_id),
        ("ts_history", lambda r: r["time_entry_id"] == entry_id),
        ("comments", lambda r: r["target"] == "time_entry" and r["target_id"] == entry_id),
    ):
        for row in list(store.find(tn, table, where)):
            store.delete(tn, table, row["id"])
    store.delete(tn, "time_entries", entry_id)


def _delete_task(tn: str, task_id: int) -> None:
    store = _store()
    for e in list(store.find(tn, "time_entries", lambda e: e["task_id"] == task_id)):
        _delete_entry(tn, e["id"])
    for table, where in (
        ("task_history", lambda r: r["task_id"] == task_id),
        ("comments", lambda r: r["target"] == "task" and r["target_id"] == task_id),
    ):
        for row in list(store.find(tn, table, where)):
            store.delete(tn, table, row["id"])
    for invoice in store.find(tn, "invoices", lambda i: task_id in i["task_ids"]):
        invoice["task_ids"] = [t for t in invoice["task_ids"] if t != task_id]
    store.delete(tn, "tasks", task_id)


def _delete_project(tn: str, project_id: int) -> None:
    store = _store()
    for t in list(store.find(tn, "tasks", lambda t: t["project_id"] == project_id)):
        _delete_task(tn, t["id"])
    store.delete(tn, "projects", project_id)


async def user_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        user = _need(tn, "users", _user_id(b, info), "User")
        uid = user["id"]
        for e in list(store.find(tn, "time_entries", lambda e: e["user_id"] == uid)):
            _delete_entry(tn, e["id"])
        for r in list(store.find(tn, "rates", lambda r: r["user_id"] == uid)):
            store.delete(tn, "rates", r["id"])
        for g in store.find(tn, "groups", lambda g: uid in g["user_ids"]):
            g["user_ids"] = [u for u in g["user_ids"] if u != uid]
        for t in store.find(tn, "tasks", lambda t: uid in t["user_ids"]):
            t["user_ids"] = [u for u in t["user_ids"] if u != uid]
        app = tn.split(":", 1)[1]
        for s in list(store.find(AUTH_TENANT, "tokens", lambda s: s["app"] == app and s["user_id"] == uid)):
            store.delete(AUTH_TENANT, "tokens", s["id"])
        store.delete(tn, "users", uid)
    return _ok(message="Successfully deleted.")


def _running(tn: str, user_id: int) -> dict | None:
    return next(
        _store().find(tn, "time_entries", lambda e: e["user_id"] == user_id and e["end_time"] is None), None
    )


def _changed_since(tn: str, rows: list[dict], last_update) -> bool:
    if not last_update:
        return True
    return any((r.get("updated") or r.get("created") or 0) > last_update for r in rows)


async def user_dashboard(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    user = _need(tn, "users", _user_id(b, info), "User")
    tasks = _sorted(
        store.find(
            tn, "tasks", lambda t: user["id"] in t["user_ids"] and t["status"] in ("new", "in-progress")
        )
    )
    running = _running(tn, user["id"])
    watched = tasks + list(store.find(tn, "time_entries", lambda e: e["user_id"] == user["id"]))
    stamp = rec.now()
    if not _changed_since(tn, watched, b.get("last_update")):
        return respond(200, {"status": "NOT-MODIFIED", "message": "Not modified.", "timestamp": stamp})
    data = {
        "current_tasks": [rec.task_view(store, tn, t) for t in tasks],
        "current_time_entry": rec.entry_view(store, tn, running) if running else None,
    }
    return _ok(message=f"{len(tasks)} task(s) found.", data=data, timestamp=stamp)


_OPERANDS = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _filter_entries(rows: list[dict], filters: dict) -> list[dict]:
    """user/history filters: field -> value, or field -> {value, operand}; unknown fields match nothing."""
    for field, cond in (filters or {}).items():
        value, operand = (
            (cond.get("value"), cond.get("operand", "=")) if isinstance(cond, dict) else (cond, "=")
        )
        test = _OPERANDS.get(operand)
        if test is None:
            raise ApiError("bad_request", f"Unknown operand '{operand}' for '{field}'.")

        def keep(e, field=field, value=value, test=test):
            have = e.get(field)
            try:
                return have is not None and test(have, type(have)(value))
            except (TypeError, ValueError):
                return False

        rows = [e for e in rows if keep(e)]
    return rows


def _with_maps(tn: str, entries: list[dict], wanted) -> dict:
    out: dict = {}
    wanted = set(wanted or [])
    store = _store()
    task_ids = {e["task_id"] for e in entries}
    if "users" in wanted:
        out["users"] = _users_map(tn, {e["user_id"] for e in entries})
    if "tasks" in wanted:
        out["tasks"] = _tasks_map(tn, task_ids)
    if "projects" in wanted:
        tasks = [store.get(tn, "tasks", t) for t in task_ids]
        out["projects"] = _projects_map(tn, {t["project_id"] for t in tasks if t})
    return out


async def user_history(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    user = _need(tn, "users", _user_id(b, info), "User")
    rows = _sorted(store.find(tn, "time_entries", lambda e: e["user_id"] == user["id"]))
    stamp = rec.now()
    if not _changed_since(tn, rows, b.get("last_update")):
        return respond(200, {"status": "NOT-MODIFIED", "message": "Not modified.", "timestamp": stamp})
    rows = _filter_entries(rows, b.get("filters"))
    for field, order in reversed(list((b.get("sorts") or {}).items())):
        rows.sort(
            key=lambda e, f=field: (e.get(f) is None, str(type(e.get(f))), e.get(f) or 0),
            reverse=order == "desc",
        )
    data = {"time_entries": [rec.entry_view(store, tn, e, "datetime") for e in rows]}
    data.update(_with_maps(tn, rows, b.get("with")))
    return _ok(message=f"{len(rows)} time entries found.", data=data, count=len(rows), timestamp=stamp)


# ------------------------------------------------------------------------------ groups


async def group_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    group = _need(tn, "groups", b["group_id"], "Group")
    return _ok(message="Successfully found.", data=rec.group_view(group))


async def group_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    record = {
        "id": None,
        "name": b["name"],
        "description": b.get("description"),
        "notes": b.get("notes"),
        "pay_rate": b.get("pay_rate"),
        "status": "inactive" if b.get("status") is False else "active",
        "user_ids": [],
    }
    with store.lock:
        group = store.insert(tn, "groups", record)
    return _ok(message="Successfully created.", id=group["id"])


async def group_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        group = _need(tn, "groups", b["group_id"], "Group")
        store.update(
            tn, "groups", group["id"], {k: b[k] for k in ("name", "description", "notes", "status") if k in b}
        )
    return _ok(message="Successfully updated.")


async def group_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()

    def keep(g):
        return (
            (b.get("group_id") is None or g["id"] == b["group_id"])
            and (b.get("name") is None or g["name"].lower() == b["name"].lower())
            and _has(g["name"], b.get("keyword"))
        )

    rows = _sorted(_store().find(tn, "groups", keep))
    page = [rec.group_view(g) for g in _page(rows, b)]
    return _ok(message=f"{len(rows)} group(s) found.", data=page, count=len(rows))


async def group_add_user(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        group = _need(tn, "groups", b["group_id"], "Group")
        _need(tn, "users", b["user_id"], "User")
        if b["user_id"] not in group["user_ids"]:
            group["user_ids"] = [*group["user_ids"], b["user_id"]]
    return _ok(message="Successfully added.")


async def group_delete_user(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        group = _need(tn, "groups", b["group_id"], "Group")
        if b["user_id"] not in group["user_ids"]:
            raise ApiError("not_found", "User not found.")
        group["user_ids"] = [u for u in group["user_ids"] if u != b["user_id"]]
    return _ok(message="Successfully deleted.")


async def group_get_users(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    group = _need(tn, "groups", b["group_id"], "Group")
    users = [store.get(tn, "users", u) for u in sorted(group["user_ids"])]
    data = [rec.user_view(store, tn, u) for u in users if u]
    return _ok(message=f"{len(data)} user(s) found.", data=data, count=len(data))


async def group_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        group = _need(tn, "groups", b["group_id"], "Group")
        store.delete(tn, "groups", group["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ clients

_CLIENT_FIELDS = (
    "name",
    "phone",
    "email",
    "contact_info",
    "address",
    "city",
    "state",
    "industry",
    "website",
    "notes",
)


def _client_status(b: dict, default="active") -> str:
    if "status" not in b:
        return default
    return "active" if b["status"] else "inactive"


async def client_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    client = _need(tn, "clients", b["client_id"], "Client")
    return _ok(data=rec.client_view(_store(), tn, client))


async def client_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    record = {"id": None, **{k: b.get(k) for k in _CLIENT_FIELDS}, "status": _client_status(b)}
    with store.lock:
        client = store.insert(tn, "clients", record)
    return _ok(message="Successfully created.", id=client["id"])


async def client_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        client = _need(tn, "clients", b["client_id"], "Client")
        changes = {k: b[k] for k in _CLIENT_FIELDS if k in b}
        changes["status"] = _client_status(b, client["status"])
        store.update(tn, "clients", client["id"], changes)
    return _ok(message="Successfully updated.")


def _client_rows(tn: str, b: dict) -> list[dict]:
    store = _store()
    user_projects = None
    if b.get("user_id") is not None:
        tasks = store.find(tn, "tasks", lambda t: b["user_id"] in t["user_ids"])
        user_projects = {t["project_id"] for t in tasks}

    def keep(c):
        if b.get("client_ids") and c["id"] not in b["client_ids"]:
            return False
        if "status" in b and c["status"] != ("active" if b["status"] else "inactive"):
            return False
        if user_projects is not None and not set(rec.projects_of_client(store, tn, c["id"])) & user_projects:
            return False
        fields = ("email", "name", "contact_info", "address", "industry", "state", "city")
        if not all(_has(c.get(f), b.get(f)) for f in fields):
            return False
        return _has(c.get("notes"), b.get("description")) and _has(c["name"], b.get("keyword"))

    return _sorted(store.find(tn, "clients", keep))


def _client_projects(tn: str, clients: list[dict]) -> dict | list:
    ids = [p for c in clients for p in rec.projects_of_client(_store(), tn, c["id"])]
    return _projects_map(tn, ids)


async def client_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    rows = _client_rows(tn, b)
    page = _page(rows, b, 10)
    data = {"clients": [rec.client_view(_store(), tn, c) for c in page]}
    if "projects" in (b.get("with") or []):
        data["projects"] = _client_projects(tn, page)
    return _ok(message=f"{len(rows)} client(s) found.", data=data, count=len(rows))


async def client_search_group(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    page = _page(_client_rows(tn, b), b, 10)
    field = b.get("group_by") or "status"
    pairs = [(c, rec.client_view(_store(), tn, c)) for c in page]
    groups = _group(pairs, lambda c: c.get(field) or None, b.get("order_by"))
    data: dict = {"groups": groups}
    if "projects" in (b.get("with") or []):
        data["projects"] = _client_projects(tn, page)
    return _ok(message=f"{len(groups)} group(s) found.", data=data, count=len(groups))


CLIENT_COLUMNS = [
    "id",
    "email",
    "name",
    "contact_info",
    "address",
    "state",
    "city",
    "industry",
    "website",
    "notes",
    "status",
]


async def client_export_csv(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    columns = CLIENT_COLUMNS + (["projects"] if "projects" in (b.get("with") or []) else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for c in _page(_client_rows(tn, b), b, 10):
        view = rec.client_view(_store(), tn, c)
        row = [view.get(k, "") for k in CLIENT_COLUMNS]
        if "projects" in columns:
            row.append(",".join(str(p) for p in view.get("projects", [])))
        writer.writerow(row)
    return respond(200, out.getvalue(), "text/csv")


async def client_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        client = _need(tn, "clients", b["client_id"], "Client")
        for p in list(store.find(tn, "projects", lambda p: p["client_id"] == client["id"])):
            _delete_project(tn, p["id"])
        for i in list(store.find(tn, "invoices", lambda i: i["client_id"] == client["id"])):
            _delete_comments(tn, "invoice", i["id"])
            store.delete(tn, "invoices", i["id"])
        store.delete(tn, "clients", client["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ invoices


async def invoice_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    return _ok(
        message="Successfully found.",
        data=rec.invoice_view(_need(tn, "invoices", b["invoice_id"], "Invoice")),
    )


def _invoice_amount(tn: str, task_ids: list[int]) -> float:
    """Cost of the approved time entries of the tasks."""
    store = _store()
    entries = store.find(
        tn, "time_entries", lambda e: e["task_id"] in task_ids and e["status"] == "approved" and e["end_time"]
    )
    return _cost(tn, list(entries))[1]


async def invoice_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        client = _need(tn, "clients", b["client_id"], "Client")
        for task_id in b["task_ids"]:
            task = _need(tn, "tasks", task_id, "Task")
            project = store.get(tn, "projects", task["project_id"])
            if project is None or project["client_id"] != client["id"]:
                raise ApiError("bad_request", f"Task {task_id} does not belong to client {client['id']}.")
        record = {
            "id": None,
            "client_id": client["id"],
            "task_ids": list(dict.fromkeys(b["task_ids"])),
            "due_date": b.get("due_date"),
            "payed_date": None,
            "amount": b["amount"] if "amount" in b else _invoice_amount(tn, b["task_ids"]),
            "status": b.get("status", "new"),
            "created": rec.now(),
        }
        invoice = store.insert(tn, "invoices", record)
    return _ok(message="Successfully created.", id=invoice["id"])


async def invoice_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        invoice = _need(tn, "invoices", b["invoice_id"], "Invoice")
        store.update(
            tn, "invoices", invoice["id"], {k: b[k] for k in ("due_date", "status", "amount") if k in b}
        )
    return _ok(message="Successfully updated.")


async def invoice_set_payed(body=None, **_):
    """Marks the invoice paid and the time entries it bills as payed."""
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        invoice = _need(tn, "invoices", b["invoice_id"], "Invoice")
        store.update(tn, "invoices", invoice["id"], {"payed_date": b["payed_date"], "status": "paid"})
        for e in store.find(
            tn, "time_entries", lambda e: e["task_id"] in invoice["task_ids"] and e["status"] == "approved"
        ):
            e["payment_status"] = "payed"
    return _ok(message="Successfully payed.")


def _invoice_rows(tn: str, b: dict) -> list[dict]:
    def keep(i):
        return (
            i["client_id"] in b["client_id"]
            and (b.get("due_date") is None or i.get("due_date") == b["due_date"])
            and (b.get("payed_date") is None or i.get("payed_date") == b["payed_date"])
        )

    return _sorted(_store().find(tn, "invoices", keep))


async def invoice_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    rows = _invoice_rows(tn, b)
    page = [rec.invoice_view(i) for i in _page(rows, b, 10)]
    return _ok(message=f"{len(rows)} invoice(s) found.", data=page, count=len(rows))


async def invoice_search_group(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    field = b.get("group_by") or "status"
    pairs = [(i, rec.invoice_view(i)) for i in _page(_invoice_rows(tn, b), b, 10)]
    groups = _group(pairs, lambda i: i.get(field), b.get("order_by"))
    return _ok(message=f"{len(groups)} group(s) found.", data={"groups": groups}, count=len(groups))


async def invoice_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        invoice = _need(tn, "invoices", b["invoice_id"], "Invoice")
        _delete_comments(tn, "invoice", invoice["id"])
        store.delete(tn, "invoices", invoice["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ comments


def _delete_comments(tn: str, target: str, target_id: int) -> None:
    store = _store()
    for c in list(
        store.find(tn, "comments", lambda c: c["target"] == target and c["target_id"] == target_id)
    ):
        store.delete(tn, "comments", c["id"])


def _add_comment(tn: str, info: dict, target: str, target_id: int, content: str) -> dict:
    record = {
        "id": None,
        "target": target,
        "target_id": target_id,
        "user_id": info["user_id"],
        "content": content,
        "date": rec.now(),
    }
    return _store().insert(tn, "comments", record)


def _comments(tn: str, target: str, target_id: int, wanted) -> dict:
    rows = _sorted(
        _store().find(tn, "comments", lambda c: c["target"] == target and c["target_id"] == target_id)
    )
    data: dict = {"comments": [rec.comment_view(c) for c in rows]}
    if "users" in (wanted or []):
        data["users"] = _users_map(tn, {c["user_id"] for c in rows})
    return data


async def invoice_add_comment(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        _need(tn, "invoices", b["invoice_id"], "Invoice")
        comment = _add_comment(tn, info, "invoice", b["invoice_id"], b["content"])
    return _ok(message="Successfully created.", id=comment["id"])


async def invoice_comments(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    _need(tn, "invoices", b["invoice_id"], "Invoice")
    data = _comments(tn, "invoice", b["invoice_id"], b.get("with"))
    return _ok(message=f"{len(data['comments'])} comment(s) found.", data=data, count=len(data["comments"]))


async def task_add_comment(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        _need(tn, "tasks", b["task_id"], "Task")
        comment = _add_comment(tn, info, "task", b["task_id"], b["content"])
    return _ok(message="Successfully created.", id=comment["id"])


async def task_comments(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    _need(tn, "tasks", b["task_id"], "Task")
    data = _comments(tn, "task", b["task_id"], b.get("with"))
    return _ok(message=f"{len(data['comments'])} comment(s) found.", data=data, count=len(data["comments"]))


async def ts_add_comment(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        _need(tn, "time_entries", b["time_entry_id"], "", "Time Entry not found.")
        comment = _add_comment(tn, info, "time_entry", b["time_entry_id"], b["content"])
    return _ok(message="Successfully created.", id=comment["id"])


async def ts_comments(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    _need(tn, "time_entries", b["time_entry_id"], "", "Time Entry not found.")
    data = _comments(tn, "time_entry", b["time_entry_id"], b.get("with"))
    return _ok(message=f"{len(data['comments'])} comment(s) found.", data=data, count=len(data["comments"]))


# ------------------------------------------------------------------------------ tasks


def _task_with(tn: str, tasks: list[dict], wanted, teams: bool = False) -> dict:
    wanted = set(wanted or [])
    out: dict = {}
    user_ids = {u for t in tasks for u in t["user_ids"]}
    if "users" in wanted:
        out["users"] = _users_map(tn, user_ids)
        if teams:
            out["teams"] = _teams_map(tn, user_ids)
    if "projects" in wanted:
        out["projects"] = _projects_map(tn, {t["project_id"] for t in tasks})
    return out


async def task_get_timesheets(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    task = _need(tn, "tasks", b["task_id"], "Task")
    data = {"tasks": [rec.task_view(store, tn, task, "list")], **_task_with(tn, [task], b.get("with"))}
    return _ok(message="1 task(s) found.", data=data)


def _task_status_change(tn: str, task: dict, status: str, user_id: int) -> None:
    _store().insert(
        tn,
        "task_history",
        {"id": None, "task_id": task["id"], "status": status, "date": rec.now(), "user_id": user_id},
    )


async def task_create(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        _need(tn, "projects", b["project_id"], "Project")
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
        task = store.insert(tn, "tasks", record)
        _task_status_change(tn, task, task["status"], info["user_id"])
    return _ok(message="Successfully created.", id=task["id"])


async def task_update_timesheets(body=None, **_):
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        task = _need(tn, "tasks", b["task_id"], "Task")
        changes = {k: b[k] for k in ("name", "description", "estimate", "estimate_unit", "status") if k in b}
        if "status" in b and b["status"] != task["status"]:
            _task_status_change(tn, task, b["status"], info["user_id"])
        store.update(tn, "tasks", task["id"], changes)
    return _ok(message="Successfully updated.")


def _task_rows(tn: str, b: dict) -> list[dict]:
    store = _store()
    client_projects = None
    if b.get("client_id") is not None:
        client_projects = set(rec.projects_of_client(store, tn, b["client_id"]))

    def keep(t):
        project = store.get(tn, "projects", t["project_id"]) or {}
        text = " ".join(str(x or "") for x in (t["name"], t.get("description"), project.get("category")))
        return (
            (b.get("task_id") is None or t["id"] == b["task_id"])
            and (b.get("project_id") is None or t["project_id"] == b["project_id"])
            and (b.get("user_id") is None or b["user_id"] in t["user_ids"])
            and (client_projects is None or t["project_id"] in client_projects)
            and _has(t["name"], b.get("name"))
            and _has(t.get("description"), b.get("description"))
            and _has(project.get("category"), b.get("category"))
            and (b.get("status") is None or t["status"] == b["status"])
            and (b.get("duration_unit") is None or t.get("estimate_unit") == b["duration_unit"])
            and _has(text, b.get("keyword"))
        )

    return _sorted(store.find(tn, "tasks", keep))


async def task_search(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    rows = _task_rows(tn, b)
    page = _page(rows, b)
    data = {
        "tasks": [rec.task_view(store, tn, t, "map") for t in page],
        **_task_with(tn, page, b.get("with"), True),
    }
    data["count"] = len(rows)
    return _ok(message=f"{len(rows)} task(s) found.", data=data)


async def task_search_group(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    page = _page(_task_rows(tn, b), b)
    field = b.get("group_by") or "status"
    key = {"project": lambda t: t["project_id"], "project_id": lambda t: t["project_id"]}.get(
        field, lambda t: t.get(field)
    )
    groups = _group([(t, rec.task_view(store, tn, t, "map")) for t in page], key, b.get("order_by"))
    data = {"groups": groups, **_task_with(tn, page, b.get("with"), True)}
    return _ok(message=f"{len(groups)} group(s) found.", data=data, count=len(groups))


async def task_delete_timesheets(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        task = _need(tn, "tasks", b["task_id"], "Task")
        _delete_task(tn, task["id"])
    return _ok(message="Successfully deleted.")


async def task_add_user(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        task = _need(tn, "tasks", b["task_id"], "Task")
        _need(tn, "users", b["user_id"], "User")
        if b["user_id"] not in task["user_ids"]:
            task["user_ids"] = [*task["user_ids"], b["user_id"]]
    return _ok(message="User successfully added to task.")


async def task_delete_user(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        task = _need(tn, "tasks", b["task_id"], "Task")
        if b["user_id"] not in task["user_ids"]:
            raise ApiError("not_found", "User not found.")
        task["user_ids"] = [u for u in task["user_ids"] if u != b["user_id"]]
    return _ok(message="User successfully deleted from task.")


async def task_history(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    task = _need(tn, "tasks", b["task_id"], "Task")
    rows = _sorted(store.find(tn, "task_history", lambda h: h["task_id"] == task["id"]))
    data = [
        {
            "status": h["status"],
            "date": rec.fmt_time(h["date"], "str"),
            "user": rec.person(store.get(tn, "users", h["user_id"])),
        }
        for h in rows
    ]
    return _ok(message=f"{len(data)} history record(s) found.", data=data)


async def task_work_history(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    task = _need(tn, "tasks", b["task_id"], "Task")
    rows = _sorted(
        store.find(
            tn,
            "time_entries",
            lambda e: (
                e["task_id"] == task["id"] and (b.get("user_id") is None or e["user_id"] == b["user_id"])
            ),
        )
    )
    data = {
        "time_entries": [rec.entry_view(store, tn, e, "str") for e in rows],
        **_with_maps(tn, rows, b.get("with")),
    }
    return _ok(message=f"{len(rows)} time entries found.", data=data, timestamp=rec.now())


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
        import datetime as dt

        return int(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp())
    return value


def _project_changes(b: dict) -> dict:
    changes = {k: b[k] for k in _PROJECT_FIELDS if k in b}
    for key in ("planned_start_date", "actual_start_date", "planned_end_date", "actual_end_date"):
        if key in changes:
            changes[key] = _unix(changes[key])
    return changes


async def project_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    return _ok(data=rec.project_view(_store(), tn, _need(tn, "projects", b["project_id"], "Project")))


async def project_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        _need(tn, "clients", b["client_id"], "Client")
        record = {k: None for k in _PROJECT_FIELDS}
        record.update(id=None, client_id=b["client_id"], status="new", updated=rec.now())
        record.update(_project_changes(b))
        project = store.insert(tn, "projects", record)
    return _ok(message="Successfully created.", id=project["id"])


async def project_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        project = _need(tn, "projects", b["project_id"], "Project")
        changes = _project_changes(b)
        if "client_id" in b:
            _need(tn, "clients", b["client_id"], "Client")
            changes["client_id"] = b["client_id"]
        store.update(tn, "projects", project["id"], {**changes, "updated": rec.now()})
    return _ok(message="Successfully updated.")


def _project_rows(tn: str, b: dict) -> list[dict]:
    def keep(p):
        text = " ".join(str(p.get(k) or "") for k in ("name", "description", "category"))
        return (
            (b.get("client_id") is None or p["client_id"] == b["client_id"])
            and _has(p["name"], b.get("name"))
            and _has(p.get("category"), b.get("category"))
            and _has(p.get("description"), b.get("description"))
            and (b.get("duration_unit") is None or p.get("duration_unit") == b["duration_unit"])
            and (b.get("status") is None or p["status"] == b["status"])
            and _has(text, b.get("keyword"))
        )

    return _sorted(_store().find(tn, "projects", keep))


def _project_with(tn: str, projects: list[dict], wanted) -> dict:
    wanted, store, out = set(wanted or []), _store(), {}
    if "tasks" in wanted:
        out["tasks"] = _tasks_map(tn, [t for p in projects for t in rec.tasks_of_project(store, tn, p["id"])])
    if "clients" in wanted:
        out["clients"] = _clients_map(tn, {p["client_id"] for p in projects})
    return out


async def project_search(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    rows = _project_rows(tn, b)
    page = _page(rows, b)
    data = {
        "projects": [rec.project_view(store, tn, p) for p in page],
        **_project_with(tn, page, b.get("with")),
    }
    return _ok(message=f"{len(rows)} project(s) found.", data=data, count=len(rows))


async def project_search_group(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    page = _page(_project_rows(tn, b), b)
    field = {"client": "client_id"}.get(b.get("group_by") or "status", b.get("group_by") or "status")
    groups = _group(
        [(p, rec.project_view(store, tn, p)) for p in page], lambda p: p.get(field), b.get("order_by")
    )
    data = {"groups": groups, **_project_with(tn, page, b.get("with"))}
    return _ok(message=f"{len(groups)} group(s) found.", data=data, count=len(groups))


async def project_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        project = _need(tn, "projects", b["project_id"], "Project")
        _delete_project(tn, project["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ schedules

_SCHEDULE_FIELDS = ("name", "days_of_week", "start_time", "end_time", "is_holiday", "is_overnight")


async def schedule_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    return _ok(data=rec.schedule_view(_need(tn, "schedules", b["schedule_id"], "Schedule")))


async def schedule_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        schedule = store.insert(tn, "schedules", {"id": None, **{k: b[k] for k in _SCHEDULE_FIELDS}})
    return _ok(message="Successfully created.", id=schedule["id"])


async def schedule_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        schedule = _need(tn, "schedules", b["schedule_id"], "Schedule")
        store.update(tn, "schedules", schedule["id"], {k: b[k] for k in _SCHEDULE_FIELDS if k in b})
    return _ok(message="Successfully updated.")


async def schedule_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()

    def keep(s):
        return (b.get("name") is None or s["name"].lower() == b["name"].lower()) and _has(
            s["name"], b.get("keyword")
        )

    rows = _sorted(_store().find(tn, "schedules", keep))
    if b.get("name") is not None and not rows:  # the vendor's name search matches parts too
        rows = _sorted(
            _store().find(
                tn, "schedules", lambda s: _has(s["name"], b["name"]) and _has(s["name"], b.get("keyword"))
            )
        )
    page = [rec.schedule_view(s) for s in _page(rows, b)]
    return _ok(message=f"{len(rows)} schedule(s) found.", data=page, count=len(rows))


async def schedule_delete(body=None, **_):
    """Rates of the schedule are deleted with it; time entries keep no schedule."""
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        schedule = _need(tn, "schedules", b["schedule_id"], "Schedule")
        for r in list(store.find(tn, "rates", lambda r: r["schedule_id"] == schedule["id"])):
            store.delete(tn, "rates", r["id"])
        for e in store.find(tn, "time_entries", lambda e: e.get("schedule_id") == schedule["id"]):
            e["schedule_id"] = None
        store.delete(tn, "schedules", schedule["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ rates

_RATE_FIELDS = ("user_id", "schedule_id", "name", "amount", "duration_unit")


async def rate_get(body=None, **_):
    b = _body(body)
    tn, _info = _session()
    return _ok(data=rec.rate_view(_need(tn, "rates", b["rate_id"], "Rate")))


def _rate_refs(tn: str, b: dict) -> None:
    if "user_id" in b:
        _need(tn, "users", b["user_id"], "User")
    if "schedule_id" in b:
        _need(tn, "schedules", b["schedule_id"], "Schedule")


async def rate_create(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        _rate_refs(tn, b)
        rate = store.insert(
            tn, "rates", {"id": None, "amount": 0, **{k: b[k] for k in _RATE_FIELDS if k in b}}
        )
    return _ok(message="Successfully created.", id=rate["id"])


async def rate_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        rate = _need(tn, "rates", b["rate_id"], "Rate")
        _rate_refs(tn, b)
        store.update(tn, "rates", rate["id"], {k: b[k] for k in _RATE_FIELDS if k in b})
    return _ok(message="Successfully updated.")


async def rate_search(body=None, **_):
    b = _body(body)
    tn, _info = _session()

    def keep(r):
        return all(
            b.get(k) is None or r.get(k) == b[k]
            for k in ("user_id", "schedule_id", "amount", "duration_unit")
        ) and _has(r["name"], b.get("name"))

    rows = _sorted(_store().find(tn, "rates", keep))
    page = [rec.rate_view(r) for r in _page(rows, b)]
    return _ok(message=f"{len(rows)} rate(s) found.", data=page, count=len(rows))


async def rate_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        rate = _need(tn, "rates", b["rate_id"], "Rate")
        store.delete(tn, "rates", rate["id"])
    return _ok(message="Successfully deleted.")


# ------------------------------------------------------------------------------ time entries


def _entry_status(tn: str, entry: dict, status: str, user_id: int, at: int) -> None:
    _store().insert(
        tn,
        "ts_history",
        {"id": None, "time_entry_id": entry["id"], "status": status, "event_date": at, "user_id": user_id},
    )


def _schedule_for(tn: str, user_id: int):
    rate = next(_store().find(tn, "rates", lambda r: r["user_id"] == user_id), None)
    return rate["schedule_id"] if rate else None


def _new_entry(tn: str, user_id: int, task_id: int, start: int, end, location, comment, actor: int) -> dict:
    store = _store()
    stamp = rec.now()
    entry = store.insert(
        tn,
        "time_entries",
        {
            "id": None,
            "user_id": user_id,
            "task_id": task_id,
            "schedule_id": _schedule_for(tn, user_id),
            "status": "in-progress",
            "start_time": start,
            "end_time": end,
            "approve_date": None,
            "created": stamp,
            "updated": stamp,
            "payment_status": "pending",
            "start_location": location,
            "end_location": location if end is not None else None,
        },
    )
    _entry_status(tn, entry, "in-progress", actor, stamp)
    if comment:
        _add_comment(tn, {"user_id": actor}, "time_entry", entry["id"], comment)
    return entry


async def ts_start(body=None, **_):
    """Opens a time entry of the caller for the task; one running entry per user."""
    b, store = _body(body), _store()
    tn, info = _session()
    if b.get("task_id") is None:
        _required("task_id")
    with store.lock:
        task = _need(tn, "tasks", b["task_id"], "Task")
        if _running(tn, info["user_id"]) is not None:
            raise ApiError("conflict", "Found started TimeEntry.")
        _new_entry(
            tn,
            info["user_id"],
            task["id"],
            rec.now(),
            None,
            b.get("location"),
            b.get("comment"),
            info["user_id"],
        )
        if task["status"] == "new":
            _task_status_change(tn, task, "in-progress", info["user_id"])
            task["status"] = "in-progress"
    return _ok(message="Successfully started.")


async def ts_stop(body=None, **_):
    """Closes the caller's running entry (of the task, when task_id is given) and its open break."""
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        entry = _running(tn, info["user_id"])
        if entry is None or (b.get("task_id") is not None and entry["task_id"] != b["task_id"]):
            raise ApiError("not_found", "Started TimeEntry not found.")
        stamp = rec.now()
        for br in store.find(
            tn, "breaks", lambda x: x["time_entry_id"] == entry["id"] and x["end_time"] is None
        ):
            br["end_time"] = stamp
        store.update(
            tn,
            "time_entries",
            entry["id"],
            {"end_time": stamp, "end_location": b.get("location"), "updated": stamp},
        )
        if b.get("comment"):
            _add_comment(tn, info, "time_entry", entry["id"], b["comment"])
    return _ok(message="Stopped.")


async def ts_create(body=None, **_):
    """A finished (or, without end_time, running) entry for any user, with the given times."""
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        user = _need(tn, "users", b["user_id"], "User")
        if b.get("task_id") is None:
            _required("task_id")
        task = _need(tn, "tasks", b["task_id"], "Task")
        start = b.get("start_time", rec.now())
        end = b.get("end_time")
        if end is not None and end < start:
            raise ApiError("bad_request", "end_time must not be before start_time.")
        if end is None and _running(tn, user["id"]) is not None:
            raise ApiError("conflict", "Found started TimeEntry.")
        entry = _new_entry(
            tn, user["id"], task["id"], start, end, b.get("location"), b.get("comment"), info["user_id"]
        )
    return _ok(message="Successfully created.", id=entry["id"])


async def ts_get(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    entry = _need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    wanted = set(b.get("with") or [])
    data: dict = {"time_entry": rec.entry_view(store, tn, entry)}
    task = store.get(tn, "tasks", entry["task_id"])
    project = store.get(tn, "projects", task["project_id"]) if task else None
    if "users" in wanted:
        data["users"] = _users_map(tn, [entry["user_id"]])
    if "breaks" in wanted:
        rows = _sorted(store.find(tn, "breaks", lambda x: x["time_entry_id"] == entry["id"]))
        data["breaks"] = [rec.break_view(x) for x in rows]
    if "comments" in wanted:
        comments = _comments(tn, "time_entry", entry["id"], ["users"])
        data["comments"], data["commentators"] = comments["comments"], comments["users"]
    if "tasks" in wanted or "projects" in wanted or "customers" in wanted:
        data["tasks"] = _tasks_map(tn, [entry["task_id"]])
    if ("projects" in wanted or "customers" in wanted) and project:
        data["projects"] = _projects_map(tn, [project["id"]])
    if "customers" in wanted or ("projects" in wanted and project):
        data["customers"] = _clients_map(tn, [project["client_id"]] if project else [])
    return _ok(message="1 time entries found.", data=data, count=1)


async def ts_update(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        entry = _need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
        changes: dict = {}
        if "task_id" in b:
            changes["task_id"] = _need(tn, "tasks", b["task_id"], "Task")["id"]
        start = b.get("start_datetime", entry["start_time"])
        end = b.get("end_datetime", entry["end_time"])
        if end is not None and end < start:
            raise ApiError("bad_request", "end_datetime must not be before start_datetime.")
        changes.update(start_time=start, end_time=end, updated=rec.now())
        store.update(tn, "time_entries", entry["id"], changes)
    return _ok(message="Successfully updated.")


def _entry_rows(tn: str, b: dict) -> list[dict]:
    store = _store()

    def keep(e):
        task = store.get(tn, "tasks", e["task_id"]) or {}
        if b.get("time_entry_ids") and e["id"] not in b["time_entry_ids"]:
            return False
        if b.get("keywords"):
            comments = store.find(
                tn, "comments", lambda c: c["target"] == "time_entry" and c["target_id"] == e["id"]
            )
            text = " ".join([task.get("name") or ""] + [c["content"] for c in comments])
            if not _has(text, b["keywords"]):
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

    return _sorted(store.find(tn, "time_entries", keep))


async def ts_search(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    rows = _entry_rows(tn, b)
    page = _page(rows, b)
    data = {
        "time_entries": [rec.entry_view(store, tn, e) for e in page],
        **_with_maps(tn, page, b.get("with")),
    }
    return _ok(message=f"{len(rows)} time entries found.", data=data, count=len(rows))


async def ts_search_group(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    page = _page(_entry_rows(tn, b), b)
    field = {"user": "user_id", "task": "task_id", "schedule": "schedule_id"}.get(
        b.get("group_by") or "status", b.get("group_by") or "status"
    )
    groups = _group(
        [(e, rec.entry_view(store, tn, e)) for e in page], lambda e: e.get(field), b.get("order_by")
    )
    data = {"groups": groups, **_with_maps(tn, page, b.get("with"))}
    return _ok(message=f"{len(groups)} group(s) found.", data=data, count=len(groups))


async def ts_delete(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        entry = _need(tn, "time_entries", b["time_entry_id"], "", "Time entry not found.")
        _delete_entry(tn, entry["id"])
    return _ok(message="Successfully deleted.")


async def ts_history(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    entry = _need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    rows = _sorted(store.find(tn, "ts_history", lambda h: h["time_entry_id"] == entry["id"]))
    data = [
        {
            "status": h["status"],
            "event_date": rec.fmt_time(h["event_date"], "datetime"),
            "user": rec.person(store.get(tn, "users", h["user_id"])),
        }
        for h in rows
    ]
    return _ok(message=f"{len(data)} time entries found.", data=data)


async def ts_break_start(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        entry = store.get(tn, "time_entries", b["time_entry_id"])
        if entry is None or entry["end_time"] is not None:
            raise ApiError("not_found", "Started TimeEntry not found.")
        if next(
            store.find(tn, "breaks", lambda x: x["time_entry_id"] == entry["id"] and x["end_time"] is None),
            None,
        ):
            raise ApiError("conflict", "Found started Break.")
        brk = store.insert(
            tn,
            "breaks",
            {"id": None, "time_entry_id": entry["id"], "start_time": rec.now(), "end_time": None},
        )
    return _ok(message="Successfully started.", id=brk["id"])


async def ts_break_stop(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        _need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
        brk = next(
            store.find(
                tn, "breaks", lambda x: x["time_entry_id"] == b["time_entry_id"] and x["end_time"] is None
            ),
            None,
        )
        if brk is None:
            raise ApiError("not_found", "Started Break not found.")
        brk["end_time"] = max(rec.now(), brk["start_time"])
    return _ok(message="Stopped.")


async def ts_breaks(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    entry = _need(tn, "time_entries", b["time_entry_id"], "TimeEntry")
    rows = _sorted(store.find(tn, "breaks", lambda x: x["time_entry_id"] == entry["id"]))
    data = [rec.break_view(x, "str") for x in rows]
    return _ok(message=f"{len(data)} break(s) found.", data=data, count=len(data))


def _entries(tn: str, ids: list[int]) -> list[dict]:
    store = _store()
    found = []
    for i in dict.fromkeys(ids):
        entry = store.get(tn, "time_entries", i)
        if entry is None:
            raise ApiError("not_found", "TimeEntry not found.")
        found.append(entry)
    return found


async def ts_approve(body=None, **_):
    """Approves the finished entries among the ids; running or already approved ones are left."""
    b, store = _body(body), _store()
    tn, info = _session()
    with store.lock:
        entries = _entries(tn, b["time_entry_ids"])
        stamp = rec.now()
        done = []
        for e in entries:
            if e["end_time"] is None or e["status"] == "approved":
                continue
            e.update(status="approved", approve_date=stamp, updated=stamp)
            _entry_status(tn, e, "approved", info["user_id"], stamp)
            done.append(e["id"])
    return _ok(message="Successfully approved.", data=done, count=len(done))


def _cost(tn: str, entries: list[dict]) -> tuple[int, float]:
    store = _store()
    duration, total = 0, 0.0
    for e in entries:
        seconds = rec.entry_duration(store, tn, e)
        duration += seconds
        total += seconds * rec.hourly_price(store, tn, e) / 3600
    return duration, round(total, 2)


async def ts_calc(body=None, **_):
    """Worked seconds (breaks deducted) and cost of the APPROVED entries among the ids."""
    b = _body(body)
    tn, _info = _session()
    entries = [
        e
        for e in _entries(tn, b["time_entry_ids"])
        if e["status"] == "approved" and e["end_time"] is not None
    ]
    duration, total = _cost(tn, entries)
    return _ok(message="Successfully calculated.", data={"duration": duration, "sum": total})


TS_COLUMNS = [
    "id",
    "user_id",
    "user",
    "task_id",
    "task",
    "project",
    "status",
    "payment_status",
    "start_time",
    "end_time",
    "breaks",
    "duration",
    "sum",
]


async def ts_export(body=None, **_):
    b, store = _body(body), _store()
    tn, _info = _session()
    rows = _entry_rows(tn, {k: b[k] for k in ("time_entry_ids", "task_id", "user_id", "status") if k in b})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if b.get("with_headers"):
        writer.writerow(TS_COLUMNS)
    for e in rows:
        user = store.get(tn, "users", e["user_id"]) or {}
        task = store.get(tn, "tasks", e["task_id"]) or {}
        project = store.get(tn, "projects", task.get("project_id")) or {}
        seconds, total = _cost(tn, [e])
        writer.writerow(
            [
                e["id"],
                e["user_id"],
                " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x),
                e["task_id"],
                task.get("name", ""),
                project.get("name", ""),
                e["status"],
                e["payment_status"],
                rec.fmt_time(e["start_time"], "datetime"),
                rec.fmt_time(e["end_time"], "datetime") or "",
                rec.break_seconds(store, tn, e["id"], e["end_time"]),
                seconds,
                f"{total:.2f}",
            ]
        )
    return respond(200, out.getvalue(), "text/csv")


# ------------------------------------------------------------------------------ integrations

AUTHORIZE = {
    "qbo": ("https://appcenter.intuit.com/connect/oauth2", "com.intuit.quickbooks.accounting"),
    "xero": (
        "https://login.xero.com/identity/connect/authorize",
        "offline_access accounting.transactions payroll.employees",
    ),
    "adp": ("https://accounts.adp.com/auth/oauth/v2/authorize", "api"),
}


def _integration(tn: str, name: str) -> dict:
    store = _store()
    found = next(store.find(tn, "integrations", lambda i: i["name"] == name), None)
    if found is None:
        found = store.insert(
            tn,
            "integrations",
            {
                "id": None,
                "name": name,
                "client_id": None,
                "client_secret": None,
                "settings": {},
                "connected": False,
            },
        )
    return found


def _update(name: str, body) -> object:
    b, store = _body(body), _store()
    tn, _info = _session()
    with store.lock:
        record = _integration(tn, name)
        for key in ("client_id", "client_secret"):
            if key in b:
                record[key] = b[key]
        if "settings" in b:
            record["settings"] = {**record["settings"], **b["settings"]}
    return _ok(message="Update success")


def _authorize(name: str) -> object:
    store = _store()
    tn, _info = _session()
    with store.lock:
        record = _integration(tn, name)
    if not record["client_id"]:
        raise ApiError("bad_request", "Integration is not configured: client_id is missing.")
    base, scope = AUTHORIZE[name]
    query = {
        "client_id": record["client_id"],
        "scope": scope,
        "redirect_uri": f"http://localhost:8080/oauth/{name}",
        "response_type": "code",
        "state": tn.split(":", 1)[1],
    }
    return _ok(data={"url": f"{base}?{urlencode(query)}"})


def _disconnect(name: str) -> object:
    store = _store()
    tn, _info = _session()
    with store.lock:
        _integration(tn, name)["connected"] = False
    return _ok(message="Disconnect success")


async def integration_qbo_update(body=None, **_):
    return _update("qbo", body)


async def integration_xero_update(body=None, **_):
    return _update("xero", body)


async def integration_adp_update(body=None, **_):
    return _update("adp", body)


async def integration_qbo_authorize(body=None, **_):
    return _authorize("qbo")


async def integration_xero_authorize(body=None, **_):
    return _authorize("xero")


async def integration_adp_authorize(body=None, **_):
    return _authorize("adp")


async def integration_qbo_disconnect(body=None, **_):
    return _disconnect("qbo")


async def integration_xero_disconnect(body=None, **_):
    return _disconnect("xero")


async def integration_adp_disconnect(body=None, **_):
    return _disconnect("adp")


async def integration_xero_import_employees(body=None, **_):
    """Xero's employees (fixture table `xero_employees`): new e-mails become users, known ones are updated."""
    store = _store()
    tn, _info = _session()
    imported, updated = {}, {}
    with store.lock:
        for person in _sorted(store.find(tn, "xero_employees")):
            fields = {k: person[k] for k in ("first_name", "last_name", "email")}
            user = next(
                store.find(tn, "users", lambda u, p=person: u["email"].lower() == p["email"].lower()), None
            )
            if user is None:
                user = store.insert(tn, "users", _new_user(fields))
                imported[str(user["id"])] = fields
            else:
                store.update(tn, "users", user["id"], {**fields, "updated": rec.now()})
                updated[str(user["id"])] = fields
    return _ok(data={"imported": imported or [], "updated": updated or []})


async def integration_xero_import_customers(body=None, **_):
    """Xero's contacts (fixture table `xero_customers`): clients matched by name are passed, others imported."""
    store = _store()
    tn, _info = _session()
    out = {kind: {"imported": {}, "updated": {}, "passed": {}} for kind in ("customers", "projects", "tasks")}
    with store.lock:
        for contact in _sorted(store.find(tn, "xero_customers")):
            client = next(store.find(tn, "clients", lambda c, x=contact: c["name"] == x["name"]), None)
            if client is None:
                record = {"id": None, **{k: None for k in _CLIENT_FIELDS}, "status": "active"}
                record.update(
                    name=contact["name"],
                    email=contact.get("email"),
                    notes=f"Imported from Xero as Contact '{contact['name']}'",
                )
                client = store.insert(tn, "clients", record)
                out["customers"]["imported"][str(client["id"])] = {"name": client["name"]}
            else:
                out["customers"]["passed"][str(client["id"])] = {"name": client["name"]}
                for pid in rec.projects_of_client(store, tn, client["id"]):
                    project = store.get(tn, "projects", pid)
                    tasks = rec.tasks_of_project(store, tn, pid)
                    out["projects"]["passed"][str(pid)] = {"name": project["name"], "tasks": tasks}
                    for tid in tasks:
                        out["tasks"]["passed"][str(tid)] = {"name": store.get(tn, "tasks", tid)["name"]}
    data = {kind: {k: (v or []) for k, v in parts.items()} for kind, parts in out.items()}
    return _ok(data=data)


async def integration_qbo_export_timeentries(body=None, **_):
    """Approved, finished entries are exported (a QBO TimeActivity id each); users already exported
    are passed, others exported; running or unapproved entries fail with QBO's message."""
    b, store = _body(body), _store()
    tn, _info = _session()
    users = {"exported": {}, "passed": {}, "fail": {}}
    entries = {"exported": {}, "updated": [], "passed": [], "fail": {}}
    with store.lock:
        found = _entries(tn, b["time_entry_ids"])
        stamp = rec.now()
        for e in found:
            if e["end_time"] is None or e["status"] != "approved":
                entries["fail"][str(e["id"])] = "Only approved, finished time entries can be exported."
                continue
            user = store.get(tn, "users", e["user_id"])
            view = {
                "id": str(1000 + user["id"]),
                "name": " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x),
                "hourly_rate": user.get("hourly_rate") or 0,
            }
            key = "passed" if user.get("exported") else "exported"
            users[key][str(user["id"])] = view
            user["exported"] = user.get("exported") or stamp
            e["qbo_id"] = e.get("qbo_id") or str(5000 + e["id"])
            entries["exported"][str(e["id"])] = e["qbo_id"]
    data = {
        "users": {k: (v or []) for k, v in users.items()},
        "time_entries": {
            **entries,
            "exported": [entries["exported"]] if entries["exported"] else [],
            "fail": entries["fail"] or [],
        },
    }
    return _ok(data=data)
