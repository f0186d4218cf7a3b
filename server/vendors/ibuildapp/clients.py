"""iBuildApp clients (with their CSV export) and invoices.

Cost of a search: without a filter, its page (plus its offset): the table is paged in place, in
id order, and counted by its length; with a filter, one pass over the tenant's clients.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from server.api import ApiError
from server.vendors.ibuildapp import cascade
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp import views as v
from server.vendors.ibuildapp.common import (
    by_id,
    created,
    csv_reply,
    delete_one,
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
    render,
    request,
    store,
    update_one,
    updated,
)

# ------------------------------------------------------------------------------ clients

CLIENT_FIELDS = (
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


async def client_get(app_code, body):
    return read_one(body, "clients", "client_id", "Client", v.client_record)


async def client_create(app_code, body):
    b, tn, _info = request(body)
    s = store()
    record = {"id": None, **{k: b.get(k) for k in CLIENT_FIELDS}, "status": _client_status(b)}
    with s.lock:
        client = s.insert(tn, "clients", record)
    return created(client)


async def client_update(app_code, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        client = need(tn, "clients", b["client_id"], "Client")
        changes = pick(b, CLIENT_FIELDS)
        changes["status"] = _client_status(b, client["status"])
        s.update(tn, "clients", client["id"], changes)
    return updated()


class TablePages(Sequence):
    """A table (id -> record, kept in id order by the store) as a list of its records whose
    slices cost their length plus their offset, not the table's."""

    def __init__(self, table) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self._table))
            return list(itertools.islice(self._table.values(), start, stop, step))
        return list(self._table.values())[index]


CLIENT_FILTERS = ("user_id", "client_ids", "status", "email", "name", "contact_info", "address")
CLIENT_FILTERS += ("industry", "state", "city", "description", "keyword")


def _client_rows(tn: str, b: dict) -> list[dict]:
    """The clients a search matches, in id order. Without a filter, the table itself (a page of
    it costs the page: Store.rows); with one, a scan of the table."""
    s = store()
    if not any(b.get(f) is not None for f in CLIENT_FILTERS):
        return TablePages(s.table(tn, "clients"))
    user_projects = None
    if b.get("user_id") is not None:
        tasks = s.find(tn, "tasks", lambda t: b["user_id"] in t["user_ids"])
        user_projects = {t["project_id"] for t in tasks}

    def keep(c):
        if b.get("client_ids") and c["id"] not in b["client_ids"]:
            return False
        if "status" in b and c["status"] != ("active" if b["status"] else "inactive"):
            return False
        if user_projects is not None and not set(rec.projects_of_client(s, tn, c["id"])) & user_projects:
            return False
        fields = ("email", "name", "contact_info", "address", "industry", "state", "city")
        if not all(has(c.get(f), b.get(f)) for f in fields):
            return False
        return has(c.get("notes"), b.get("description")) and has(c["name"], b.get("keyword"))

    return by_id(s.find(tn, "clients", keep))


def _client_projects(tn: str, b: dict, show):
    """The `related` of client searches: the clients' projects (rendered by `show`) when
    `with` asks for them."""

    def related(clients: list[dict]) -> dict:
        if "projects" not in (b.get("with") or []):
            return {}
        ids = [p for c in clients for p in rec.projects_of_client(store(), tn, c["id"])]
        return {"projects": id_map(tn, "projects", ids, show)}

    return related


async def client_search(app_code, body):
    b, tn, _info = request(body)
    show, related = render(tn, v.client_item), _client_projects(tn, b, v.project_ref)
    return found(_client_rows(tn, b), b, show, "client(s)", "clients", related, limit=10)


async def client_search_group(app_code, body):
    b, tn, _info = request(body)
    field = b.get("group_by") or "status"
    show, related = render(tn, v.client_group_item), _client_projects(tn, b, v.project_tasks)

    def key(c):
        return c.get(field) or None  # an empty field groups as "?"

    return found_groups(_client_rows(tn, b), b, show, key, related, limit=10)


CLIENT_COLUMNS = "id email name contact_info address state city industry website notes status".split()


async def client_export_csv(app_code, body):
    b, tn, _info = request(body)
    with_projects = "projects" in (b.get("with") or [])
    rows = []
    for c in page(_client_rows(tn, b), b, 10):
        client = v.client_item(store(), tn, c)
        row = [client.get(k, "") for k in CLIENT_COLUMNS]
        if with_projects:
            row.append(",".join(str(p) for p in client.get("projects", [])))
        rows.append(row)
    return csv_reply(CLIENT_COLUMNS + (["projects"] if with_projects else []), rows)


async def client_delete(app_code, body):
    return delete_one(body, "clients", "client_id", "Client", cascade.delete_client)


# ------------------------------------------------------------------------------ invoices


async def invoice_get(app_path, body):
    return read_one(
        body, "invoices", "invoice_id", "Invoice", v.invoice_record, message="Successfully found."
    )


def _invoice_amount(tn: str, task_ids: list[int]) -> float:
    """Cost of the approved time entries of the tasks."""
    s = store()
    entries = s.find(
        tn, "time_entries", lambda e: e["task_id"] in task_ids and e["status"] == "approved" and e["end_time"]
    )
    return rec.cost(s, tn, list(entries))[1]


async def invoice_create(app_path, body):
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        client = need(tn, "clients", b["client_id"], "Client")
        for task_id in b["task_ids"]:
            task = need(tn, "tasks", task_id, "Task")
            project = s.get(tn, "projects", task["project_id"])
            if project is None or project["client_id"] != client["id"]:
                raise ApiError("bad_request", f"Task {task_id} does not belong to client {client['id']}.")
        record = {
            "id": None,
            "client_id": client["id"],
            "task_ids": list(dict.fromkeys(b["task_ids"])),
            "due_date": b["due_date"] if "due_date" in b else rec.now(),  # documented default: now
            "payed_date": None,
            "amount": b["amount"] if "amount" in b else _invoice_amount(tn, b["task_ids"]),
            "status": b.get("status", "new"),
            "created": rec.now(),
        }
        invoice = s.insert(tn, "invoices", record)
    return created(invoice)


async def invoice_update(app_path, body):
    return update_one(body, "invoices", "invoice_id", "Invoice", ("due_date", "status", "amount"))


async def invoice_set_payed(app_path, body):
    """Marks the invoice paid and the time entries it bills as payed."""
    b, tn, _info = request(body)
    s = store()
    with s.lock:
        invoice = need(tn, "invoices", b["invoice_id"], "Invoice")
        s.update(tn, "invoices", invoice["id"], {"payed_date": b["payed_date"], "status": "paid"})
        for e in s.find(
            tn, "time_entries", lambda e: e["task_id"] in invoice["task_ids"] and e["status"] == "approved"
        ):
            e["payment_status"] = "payed"
    return ok(message="Successfully payed.")


def _invoice_rows(tn: str, b: dict) -> list[dict]:
    def keep(i):
        return (
            i["client_id"] in b["client_id"]
            and (b.get("due_date") is None or i.get("due_date") == b["due_date"])
            and (b.get("payed_date") is None or i.get("payed_date") == b["payed_date"])
        )

    return by_id(store().find(tn, "invoices", keep))


async def invoice_search(app_path, body):
    b, tn, _info = request(body)
    return found(_invoice_rows(tn, b), b, render(tn, v.invoice_record), "invoice(s)", limit=10)


async def invoice_search_group(app_path, body):
    b, tn, _info = request(body)
    show = render(tn, v.invoice_record)
    return found_groups(_invoice_rows(tn, b), b, show, group_key(b), limit=10)


async def invoice_delete(app_path, body):
    return delete_one(body, "invoices", "invoice_id", "Invoice", cascade.delete_invoice)
