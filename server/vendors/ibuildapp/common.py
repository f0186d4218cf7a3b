"""Plumbing shared by the iBuildApp operation modules (one place for each of these):

- the request: `request` (body, tenant and token info of the caller; `read_body`, `session`
  apart), `store`, `need` (get or 404), `required` (a missing body field, as the validator
  reports it), `pick`, `by_id`;
- the answers: `ok` (SUCCESS), `created`, `updated`, `deleted`, `unchanged` (NOT-MODIFIED),
  `csv_reply`;
- listing: `has` (substring filter), `page`, `group_key`, `found` (search) and `found_groups`
  (search_group) answers;
- related records: `render` (a views.py renderer bound to the request), `id_map`,
  `teams_map`, `entry_relations` (each rendering through the view it is given),
  `status_history`, `running_entry`;
- the operations that differ only by table: `read_one`, `update_one`, `delete_one`,
  `add_member`, `remove_member`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from connexion.context import context

from server.api import ApiError, Violation, json_body, respond
from server.api import store as api_store
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views
from server.vendors.ibuildapp.auth import tenant

# ------------------------------------------------------------------------------ the request


def store():
    return api_store("ibuildapp")


def read_body(body) -> dict:
    value = json_body(body)
    return value if isinstance(value, dict) else {}


def session() -> tuple[str, dict]:
    """The caller's tenant and token info (app, user_id)."""
    info = context["token_info"]
    info = info.get("bearerAuth", info)
    return tenant(info["app"]), info


def request(body) -> tuple[dict, str, dict]:
    """The JSON body (a dict), the caller's tenant and token info."""
    b = read_body(body)
    return b, *session()


def need(tn: str, table: str, record_id, entity: str, message: str | None = None) -> dict:
    found = store().get(tn, table, record_id) if record_id is not None else None
    if found is None:
        raise ApiError("not_found", message or f"{entity} not found.")
    return found


def required(name: str):
    raise ApiError(
        "invalid",
        f"'{name}' is a required property",
        violations=[Violation("body", (name,), "required", f"'{name}' is a required property")],
    )


def pick(b: dict, fields) -> dict:
    """The given body fields among `fields`."""
    return {k: b[k] for k in fields if k in b}


def by_id(rows) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


# ------------------------------------------------------------------------------ the envelope


def ok(**fields):
    return respond(200, {"status": "SUCCESS", **fields})


def created(record: dict):
    return ok(message="Successfully created.", id=record["id"])


def updated():
    return ok(message="Successfully updated.")


def deleted():
    return ok(message="Successfully deleted.")


def csv_reply(header: list[str] | None, rows) -> object:
    """A text/csv answer: the header line (when given), then the rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return respond(200, out.getvalue(), "text/csv")


def unchanged(rows: list[dict], last_update, stamp: int):
    """The NOT-MODIFIED answer when no row changed after `last_update`, else None."""
    if not last_update or any((r.get("updated") or r.get("created") or 0) > last_update for r in rows):
        return None
    return respond(200, {"status": "NOT-MODIFIED", "message": "Not modified.", "timestamp": stamp})


# ------------------------------------------------------------------------------ listing


def has(value, part) -> bool:
    return part is None or part.lower() in str(value or "").lower()


def page(rows: list, b: dict, default_limit: int | None = None) -> list:
    offset = b.get("offset") or 0
    limit = b.get("limit", default_limit)
    return rows[offset : offset + limit] if limit else rows[offset:]


def group_key(b: dict, default: str = "status", aliases: dict | None = None) -> Callable[[dict], object]:
    """The grouping field of a search_group body (`group_by`, some names standing for others)."""
    field = b.get("group_by") or default
    field = (aliases or {}).get(field, field)
    return lambda r: r.get(field)


def _group(rows: list[tuple[dict, dict]], key, order: str | None) -> list[dict]:
    """Groups of views by one field of their records ("?" for records without it), ordered by value."""
    groups: dict = {}
    for row, item in rows:
        value = key(row)
        groups.setdefault("?" if value is None else value, []).append(item)
    values = sorted(groups, key=lambda v: (str(type(v)), str(v)), reverse=order == "desc")
    return [{"value": v, "count": len(groups[v]), "items": groups[v]} for v in values]


def found(rows, b, show, noun: str, name: str | None = None, related=None, limit: int | None = None):
    """A search answer: the page's views (as data, or under data[name] beside `related(page)`)."""
    shown = page(rows, b, limit)
    views = [show(r) for r in shown]
    data = views if name is None else {name: views, **(related(shown) if related else {})}
    return ok(message=f"{len(rows)} {noun} found.", data=data, count=len(rows))


def found_groups(rows, b, show, key, related=None, order: str = "order_by", limit: int | None = None):
    """A search_group answer: the page's views grouped by `key`, beside `related(page)`."""
    shown = page(rows, b, limit)
    groups = _group([(r, show(r)) for r in shown], key, b.get(order))
    data = {"groups": groups, **(related(shown) if related else {})}
    return ok(message=f"{len(groups)} group(s) found.", data=data, count=len(groups))


# ------------------------------------------------------------------------------ related records


def render(tn: str, show) -> Callable[[dict], dict]:
    """`show` (a renderer of views.py) bound to the store and tenant: record -> view."""
    s = store()
    return lambda record: show(s, tn, record)


def _keyed(shown: list[dict]) -> dict | list:
    """PHP's id-keyed map; an empty map is sent as []."""
    return {str(v["id"]): v for v in shown} or []


def id_map(tn: str, table: str, ids, show) -> dict | list:
    """The records of `table` with these ids (missing ones left out), keyed by id, each
    rendered by `show` (the short view the operation's documentation shows)."""
    s = store()
    rows = [s.get(tn, table, i) for i in sorted(set(ids))]
    return _keyed([show(s, tn, r) for r in rows if r])


def teams_map(tn: str, user_ids) -> dict | list:
    wanted = set(user_ids)
    s = store()
    groups = s.find(tn, "groups", lambda g: wanted & set(g["user_ids"]))
    return _keyed([views.team(s, tn, g) for g in by_id(groups)])


def entry_relations(tn: str, entries: list[dict], wanted, users, tasks, projects) -> dict:
    """The users, tasks and projects of time entries, as far as `with` asks for them, each
    rendered by the given renderer (the operation's documented short view)."""
    out: dict = {}
    wanted = set(wanted or [])
    task_ids = {e["task_id"] for e in entries}
    if "users" in wanted:
        out["users"] = id_map(tn, "users", {e["user_id"] for e in entries}, users)
    if "tasks" in wanted:
        out["tasks"] = id_map(tn, "tasks", task_ids, tasks)
    if "projects" in wanted:
        rows = [store().get(tn, "tasks", t) for t in task_ids]
        out["projects"] = id_map(tn, "projects", {t["project_id"] for t in rows if t}, projects)
    return out


def status_history(tn: str, table: str, where, date_key: str, form: str) -> list[dict]:
    """Status changes (task_history, ts_history) with their date and who made them."""
    s = store()
    return [
        {
            "status": h["status"],
            date_key: rec.fmt_time(h[date_key], form),
            "user": rec.person(s.get(tn, "users", h["user_id"])),
        }
        for h in by_id(s.find(tn, table, where))
    ]


def running_entry(tn: str, user_id: int) -> dict | None:
    return next(
        store().find(tn, "time_entries", lambda e: e["user_id"] == user_id and e["end_time"] is None), None
    )


# ------------------------------------------------------------------------------ operations by table

# `key`: the body field holding the record id, or a function (body, token info) -> id.
Key = str | Callable[[dict, dict], object]


def _record_id(key: Key, b: dict, info: dict):
    return key(b, info) if callable(key) else b[key]


def read_one(body, table: str, key: Key, entity: str, show, **fields):
    """Get or 404, answered with the record's `show` view (after `fields`, e.g. a message)."""
    b, tn, info = request(body)
    record = need(tn, table, _record_id(key, b, info), entity)
    return ok(**fields, data=show(store(), tn, record))


def update_one(body, table: str, key: Key, entity: str, fields, check=None):
    """Get or 404, `check(tn, body)` the references, then store the given `fields`."""
    b, tn, info = request(body)
    s = store()
    with s.lock:
        record = need(tn, table, _record_id(key, b, info), entity)
        if check is not None:
            check(tn, b)
        s.update(tn, table, record["id"], pick(b, fields))
    return updated()


def delete_one(body, table: str, key: Key, entity: str, cascade=None, missing: str | None = None):
    """Get or 404 (`missing`: the message), then delete: `cascade(tn, id)` or the record alone."""
    b, tn, info = request(body)
    s = store()
    with s.lock:
        record = need(tn, table, _record_id(key, b, info), entity, missing)
        if cascade is not None:
            cascade(tn, record["id"])
        else:
            s.delete(tn, table, record["id"])
    return deleted()


def add_member(body, table: str, key: str, entity: str, message: str):
    """Adds the body's user_id to the record's user_ids (once); both must exist."""
    b, tn, _info = request(body)
    with store().lock:
        record = need(tn, table, b[key], entity)
        need(tn, "users", b["user_id"], "User")
        if b["user_id"] not in record["user_ids"]:
            record["user_ids"] = [*record["user_ids"], b["user_id"]]
    return ok(message=message)


def remove_member(body, table: str, key: str, entity: str, message: str):
    """Removes the body's user_id from the record's user_ids; 404 when it is not there."""
    b, tn, _info = request(body)
    with store().lock:
        record = need(tn, table, b[key], entity)
        if b["user_id"] not in record["user_ids"]:
            raise ApiError("not_found", "User not found.")
        record["user_ids"] = [u for u in record["user_ids"] if u != b["user_id"]]
    return ok(message=message)
