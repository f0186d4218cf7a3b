"""iBuildApp people: login and registration (sessions), users (with dashboard and history), groups."""

from __future__ import annotations

from server import clock
from server.api import ApiError
from server.vendors.ibuildapp import cascade
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views as v
from server.vendors.ibuildapp.auth import AUTH_TENANT, SESSION_LIFETIME, app_exists, session_ended, tenant
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
    need,
    ok,
    read_body,
    read_one,
    remove_member,
    render,
    request,
    running_entry,
    store,
    unchanged,
    update_one,
    updated,
)

# ------------------------------------------------------------------------------ auth


def _app_code(code: str) -> str:
    if not app_exists(store(), code):
        raise ApiError("not_found", "App not found.")
    return code


def _session_token(app: str, user_id: int) -> str:
    s = store()
    token = f"ibuildapp-{app}-{user_id}-{s.next_id('ibuildapp_sessions')}"
    ends = clock.now() + SESSION_LIFETIME
    s.insert(AUTH_TENANT, "tokens", {"token": token, "app": app, "user_id": user_id, "expires_at": ends})
    s.prune_oldest(AUTH_TENANT, "tokens", session_ended)
    return token


async def auth_login(app_code, body):
    b, s = read_body(body), store()
    app = _app_code(app_code)
    tn = tenant(app)
    email = b["email"].lower()
    user = next(s.find(tn, "users", lambda u: u["email"].lower() == email), None)
    if user is None or user.get("password") != b["password"]:
        raise ApiError("unauthorized", "Wrong e-mail or password.")
    if not user["activated"]:
        raise ApiError("forbidden", "User is not activated.")
    with s.lock:
        token = _session_token(app, user["id"])
    return ok(message="Successfully authorized.", token=token)


async def auth_register(app_code, body):
    b, s = read_body(body), store()
    app = _app_code(app_code)
    tn = tenant(app)
    with s.lock:
        unique_email(tn, b["email"])
        user = s.insert(tn, "users", new_user(b))
        token = _session_token(app, user["id"])
    return ok(message="Successfully registered.", token=token)


def unique_email(tn: str, email: str, except_id: int | None = None) -> None:
    taken = next(
        store().find(tn, "users", lambda u: u["email"].lower() == email.lower() and u["id"] != except_id),
        None,
    )
    if taken is not None:
        raise ApiError("conflict", "User with this email already exists.")


def new_user(b: dict) -> dict:
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
    """The body's user_id, else the caller."""
    return b.get("user_id") or info["user_id"]


async def user_get(app_code, body):
    return read_one(body, "users", _user_id, "User", v.user_record)


async def user_create(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        unique_email(tn, b["email"])
        user = s.insert(tn, "users", new_user(b))
    return created(user)


async def user_update(app_code, body):
    b, tn, info = request(body)
    s = store()
    with s.lock:
        user = need(tn, "users", _user_id(b, info), "User")
        if "email" in b:
            unique_email(tn, b["email"], user["id"])
        changes = {k: b[k] for k in _USER_FIELDS if k in b}
        if "is_active" in b:
            changes["activated"] = b["is_active"]
        s.update(tn, "users", user["id"], {**changes, "updated": rec.now()})
    return updated()


USER_FILTERS = ("user_id", "email", "first_name", "last_name", "position", "is_active")


def _user_rows(tn: str, b: dict) -> list[dict]:
    if all(b.get(k) is None for k in USER_FILTERS):  # tables keep id order: nothing to sort
        return list(store().table(tn, "users").values())

    def keep(u):
        return (
            (b.get("user_id") is None or u["id"] == b["user_id"])
            and has(u["email"], b.get("email"))
            and has(u.get("first_name"), b.get("first_name"))
            and has(u.get("last_name"), b.get("last_name"))
            and has(u.get("position"), b.get("position"))
            and (b.get("is_active") is None or u["activated"] == b["is_active"])
        )

    return by_id(store().find(tn, "users", keep))


async def user_search(app_code, body):
    b, tn, _info = request(body)
    return found(_user_rows(tn, b), b, render(tn, v.user_item), "user(s)")


async def user_search_group(app_code, body):
    b, tn, _info = request(body)
    key = group_key(b, "is_active", {"is_active": "activated"})
    return found_groups(_user_rows(tn, b), b, render(tn, v.user_record), key, order="order")


async def user_delete(app_code, body):
    return delete_one(body, "users", _user_id, "User", cascade.delete_user)


async def user_dashboard(app_code, body):
    b, tn, info = request(body)
    s = store()
    user = need(tn, "users", _user_id(b, info), "User")
    tasks = by_id(
        s.find(tn, "tasks", lambda t: user["id"] in t["user_ids"] and t["status"] in ("new", "in-progress"))
    )
    running = running_entry(tn, user["id"])
    watched = tasks + list(s.find(tn, "time_entries", lambda e: e["user_id"] == user["id"]))
    stamp = rec.now()
    if (reply := unchanged(watched, b.get("last_update"), stamp)) is not None:
        return reply
    data = {
        "current_tasks": [v.task_summary(s, tn, t) for t in tasks],
        "current_time_entry": v.current_entry(s, tn, running) if running else None,
    }
    return ok(message=f"{len(tasks)} task(s) found.", data=data, timestamp=stamp)


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


async def user_history(app_code, body):
    b, tn, info = request(body)
    s = store()
    user = need(tn, "users", _user_id(b, info), "User")
    rows = by_id(s.find(tn, "time_entries", lambda e: e["user_id"] == user["id"]))
    stamp = rec.now()
    if (reply := unchanged(rows, b.get("last_update"), stamp)) is not None:
        return reply
    rows = _filter_entries(rows, b.get("filters"))
    for field, order in reversed(list((b.get("sorts") or {}).items())):
        rows.sort(
            key=lambda e, f=field: (e.get(f) is None, str(type(e.get(f))), e.get(f) or 0),
            reverse=order == "desc",
        )
    data = {"time_entries": [v.history_entry(s, tn, e) for e in rows]}
    data.update(entry_relations(tn, rows, b.get("with"), v.user_ref, v.task_ref, v.project_ref))
    return ok(message=f"{len(rows)} time entries found.", data=data, count=len(rows), timestamp=stamp)


# ------------------------------------------------------------------------------ groups


async def group_get(app_path, body):
    return read_one(body, "groups", "group_id", "Group", v.group_record, message="Successfully found.")


async def group_create(app_path, body):
    b, tn, _info = request(body)
    s = store()
    record = {
        "id": None,
        "name": b["name"],
        "description": b.get("description"),
        "notes": b.get("notes"),
        "pay_rate": b.get("pay_rate"),
        "status": "inactive" if b.get("status") is False else "active",
        "user_ids": [],
    }
    with s.lock:
        group = s.insert(tn, "groups", record)
    return created(group)


async def group_update(app_path, body):
    return update_one(body, "groups", "group_id", "Group", ("name", "description", "notes", "status"))


async def group_search(app_path, body):
    b, tn, _info = request(body)

    def keep(g):
        return (
            (b.get("group_id") is None or g["id"] == b["group_id"])
            and (b.get("name") is None or g["name"].lower() == b["name"].lower())
            and has(g["name"], b.get("keyword"))
        )

    return found(by_id(store().find(tn, "groups", keep)), b, render(tn, v.group_record), "group(s)")


async def group_add_user(app_path, body):
    return add_member(body, "groups", "group_id", "Group", "Successfully added.")


async def group_delete_user(app_path, body):
    return remove_member(body, "groups", "group_id", "Group", "Successfully deleted.")


async def group_get_users(app_path, body):
    b, tn, _info = request(body)
    s = store()
    group = need(tn, "groups", b["group_id"], "Group")
    users = [s.get(tn, "users", u) for u in sorted(group["user_ids"])]
    data = [v.group_member(s, tn, u) for u in users if u]
    return ok(message=f"{len(data)} user(s) found.", data=data, count=len(data))


async def group_delete(app_path, body):
    return delete_one(body, "groups", "group_id", "Group")
