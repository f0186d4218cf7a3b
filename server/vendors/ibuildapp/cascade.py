"""What deleting an iBuildApp record takes with it (callers hold `store.lock`).

Deleting a client deletes its projects and invoices; deleting a project deletes its tasks;
deleting a task deletes its time entries with their breaks, comments and status history, its
own comments and history, and removes it from invoices (an invoice left without tasks stays,
with its amount). Deleting a user deletes their time entries (same cascade), rates and
sessions, and removes them from groups and task assignments. Deleting a schedule deletes its
rates; time entries keep no schedule.
"""

from __future__ import annotations

from server.vendors.ibuildapp.auth import AUTH_TENANT
from server.vendors.ibuildapp.common import store


def delete_where(tn: str, table: str, where) -> None:
    s = store()
    for row in list(s.find(tn, table, where)):
        s.delete(tn, table, row["id"])


def delete_comments(tn: str, target: str, target_id: int) -> None:
    delete_where(tn, "comments", lambda c: c["target"] == target and c["target_id"] == target_id)


def delete_entry(tn: str, entry_id: int) -> None:
    delete_where(tn, "breaks", lambda r: r["time_entry_id"] == entry_id)
    delete_where(tn, "ts_history", lambda r: r["time_entry_id"] == entry_id)
    delete_comments(tn, "time_entry", entry_id)
    store().delete(tn, "time_entries", entry_id)


def delete_task(tn: str, task_id: int) -> None:
    s = store()
    for e in list(s.find(tn, "time_entries", lambda e: e["task_id"] == task_id)):
        delete_entry(tn, e["id"])
    delete_where(tn, "task_history", lambda r: r["task_id"] == task_id)
    delete_comments(tn, "task", task_id)
    for invoice in s.find(tn, "invoices", lambda i: task_id in i["task_ids"]):
        invoice["task_ids"] = [t for t in invoice["task_ids"] if t != task_id]
    s.delete(tn, "tasks", task_id)


def delete_project(tn: str, project_id: int) -> None:
    for t in list(store().find(tn, "tasks", lambda t: t["project_id"] == project_id)):
        delete_task(tn, t["id"])
    store().delete(tn, "projects", project_id)


def delete_invoice(tn: str, invoice_id: int) -> None:
    delete_comments(tn, "invoice", invoice_id)
    store().delete(tn, "invoices", invoice_id)


def delete_client(tn: str, client_id: int) -> None:
    s = store()
    for p in list(s.find(tn, "projects", lambda p: p["client_id"] == client_id)):
        delete_project(tn, p["id"])
    for i in list(s.find(tn, "invoices", lambda i: i["client_id"] == client_id)):
        delete_invoice(tn, i["id"])
    s.delete(tn, "clients", client_id)


def delete_schedule(tn: str, schedule_id: int) -> None:
    s = store()
    delete_where(tn, "rates", lambda r: r["schedule_id"] == schedule_id)
    for e in s.find(tn, "time_entries", lambda e: e.get("schedule_id") == schedule_id):
        e["schedule_id"] = None
    s.delete(tn, "schedules", schedule_id)


def delete_user(tn: str, uid: int) -> None:
    s = store()
    for e in list(s.find(tn, "time_entries", lambda e: e["user_id"] == uid)):
        delete_entry(tn, e["id"])
    delete_where(tn, "rates", lambda r: r["user_id"] == uid)
    for g in s.find(tn, "groups", lambda g: uid in g["user_ids"]):
        g["user_ids"] = [u for u in g["user_ids"] if u != uid]
    for t in s.find(tn, "tasks", lambda t: uid in t["user_ids"]):
        t["user_ids"] = [u for u in t["user_ids"] if u != uid]
    app = tn.split(":", 1)[1]
    delete_where(AUTH_TENANT, "tokens", lambda t: t["app"] == app and t["user_id"] == uid)
    s.delete(tn, "users", uid)
