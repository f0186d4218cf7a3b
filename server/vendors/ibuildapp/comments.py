"""Comments on invoices, tasks and time entries (table `comments`: target, target_id, user_id).

The three targets answer alike; only the table, id field and 404 message differ.
"""

from __future__ import annotations

from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views
from server.vendors.ibuildapp.common import by_id, id_map, need, ok, request, store


def add_comment(tn: str, user_id: int, target: str, target_id: int, content: str) -> dict:
    record = {
        "id": None,
        "target": target,
        "target_id": target_id,
        "user_id": user_id,
        "content": content,
        "date": rec.now(),
    }
    return store().insert(tn, "comments", record)


def comment_list(tn: str, target: str, target_id: int, wanted) -> dict:
    """{"comments": [...]}, with the commentators under "users" when `with` asks for them."""
    s = store()
    rows = by_id(rec.comments_of(s, tn, target, target_id))
    data: dict = {"comments": [views.comment(s, tn, c) for c in rows]}
    if "users" in (wanted or []):
        data["users"] = id_map(tn, "users", {c["user_id"] for c in rows}, views.user_ref)
    return data


# target -> (table, body id field, entity, 404 message)
_TARGETS = {
    "invoice": ("invoices", "invoice_id", "Invoice", None),
    "task": ("tasks", "task_id", "Task", None),
    "time_entry": ("time_entries", "time_entry_id", "", "Time Entry not found."),
}


def _comment(body, target: str):
    table, key, entity, missing = _TARGETS[target]
    b, tn, info = request(body)
    with store().lock:
        need(tn, table, b[key], entity, missing)
        comment = add_comment(tn, info["user_id"], target, b[key], b["content"])
    return ok(id=comment["id"])  # documented as {"status", "id"}: no message


def _comments(body, target: str):
    table, key, entity, missing = _TARGETS[target]
    b, tn, _info = request(body)
    need(tn, table, b[key], entity, missing)
    data = comment_list(tn, target, b[key], b.get("with"))
    return ok(data=data, count=len(data["comments"]))  # documented without a message


async def invoice_add_comment(app_code, body):
    return _comment(body, "invoice")


async def invoice_comments(app_code, body):
    return _comments(body, "invoice")


async def task_add_comment(app_code, body):
    return _comment(body, "task")


async def task_comments(app_code, body):
    return _comments(body, "task")


async def ts_add_comment(app_code, body):
    return _comment(body, "time_entry")


async def ts_comments(app_code, body):
    return _comments(body, "time_entry")
