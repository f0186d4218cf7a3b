"""iBuildApp integrations with QuickBooks Online (qbo), Xero and ADP (table `integrations`).

Each of the three has the same update / authorize / disconnect operations; Xero imports
employees and customers, QBO exports time entries.
"""

from __future__ import annotations

from urllib.parse import urlencode

from server.api import ApiError
from server.vendors.ibuildapp import records as rec
from server.vendors.ibuildapp.clients import CLIENT_FIELDS
from server.vendors.ibuildapp.common import by_id, ok, request, session, store
from server.vendors.ibuildapp.timesheets import need_entries
from server.vendors.ibuildapp.users import new_user

AUTHORIZE = {
    "qbo": ("https://appcenter.intuit.com/connect/oauth2", "com.intuit.quickbooks.accounting"),
    "xero": (
        "https://login.xero.com/identity/connect/authorize",
        "offline_access accounting.transactions payroll.employees",
    ),
    "adp": ("https://accounts.adp.com/auth/oauth/v2/authorize", "api"),
}


def _integration(tn: str, name: str) -> dict:
    s = store()
    found = next(s.find(tn, "integrations", lambda i: i["name"] == name), None)
    if found is None:
        found = s.insert(
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
    b, tn, _info = request(body)
    with store().lock:
        record = _integration(tn, name)
        for key in ("client_id", "client_secret"):
            if key in b:
                record[key] = b[key]
        if "settings" in b:
            record["settings"] = {**record["settings"], **b["settings"]}
    return ok(message="Update success")


def _authorize(name: str) -> object:
    tn, _info = session()
    with store().lock:
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
    return ok(data={"url": f"{base}?{urlencode(query)}"})


def _disconnect(name: str) -> object:
    tn, _info = session()
    with store().lock:
        _integration(tn, name)["connected"] = False
    return ok(message="Disconnect success")


async def integration_qbo_update(app_code, body):
    return _update("qbo", body)


async def integration_xero_update(app_code, body):
    return _update("xero", body)


async def integration_adp_update(app_code, body):
    return _update("adp", body)


async def integration_qbo_authorize(app_code, body):
    return _authorize("qbo")


async def integration_xero_authorize(app_code, body):
    return _authorize("xero")


async def integration_adp_authorize(app_code, body):
    return _authorize("adp")


async def integration_qbo_disconnect(app_code, body):
    return _disconnect("qbo")


async def integration_xero_disconnect(app_code, body):
    return _disconnect("xero")


async def integration_adp_disconnect(app_code, body):
    return _disconnect("adp")


async def integration_xero_import_employees(app_code, body):
    """Xero's employees (fixture table `xero_employees`): new e-mails become users, known ones are updated."""
    tn, _info = session()
    s = store()
    imported, updated = {}, {}
    with s.lock:
        for person in by_id(s.find(tn, "xero_employees")):
            fields = {k: person[k] for k in ("first_name", "last_name", "email")}
            user = next(
                s.find(tn, "users", lambda u, p=person: u["email"].lower() == p["email"].lower()), None
            )
            if user is None:
                user = s.insert(tn, "users", new_user(fields))
                imported[str(user["id"])] = fields
            else:
                s.update(tn, "users", user["id"], {**fields, "updated": rec.now()})
                updated[str(user["id"])] = fields
    return ok(data={"imported": imported or [], "updated": updated or []})


async def integration_xero_import_customers(app_code, body):
    """Xero's contacts (fixture table `xero_customers`): clients matched by name are passed, others imported."""
    tn, _info = session()
    s = store()
    out = {kind: {"imported": {}, "updated": {}, "passed": {}} for kind in ("customers", "projects", "tasks")}
    with s.lock:
        for contact in by_id(s.find(tn, "xero_customers")):
            client = next(s.find(tn, "clients", lambda c, x=contact: c["name"] == x["name"]), None)
            if client is None:
                record = {"id": None, **{k: None for k in CLIENT_FIELDS}, "status": "active"}
                record.update(
                    name=contact["name"],
                    email=contact.get("email"),
                    notes=f"Imported from Xero as Contact '{contact['name']}'",
                )
                client = s.insert(tn, "clients", record)
                out["customers"]["imported"][str(client["id"])] = {"name": client["name"]}
            else:
                out["customers"]["passed"][str(client["id"])] = {"name": client["name"]}
                for pid in rec.projects_of_client(s, tn, client["id"]):
                    project = s.get(tn, "projects", pid)
                    tasks = rec.tasks_of_project(s, tn, pid)
                    out["projects"]["passed"][str(pid)] = {"name": project["name"], "tasks": tasks}
                    for tid in tasks:
                        out["tasks"]["passed"][str(tid)] = {"name": s.get(tn, "tasks", tid)["name"]}
    data = {kind: {k: (v or []) for k, v in parts.items()} for kind, parts in out.items()}
    return ok(data=data)


async def integration_qbo_export_timeentries(app_code, body):
    """Approved, finished entries are exported (a QBO TimeActivity id each); users already exported
    are passed, others exported; running or unapproved entries fail with QBO's message."""
    b, tn, _info = request(body)
    s = store()
    users = {"exported": {}, "passed": {}, "fail": {}}
    entries = {"exported": {}, "updated": [], "passed": [], "fail": {}}
    with s.lock:
        found = need_entries(tn, b["time_entry_ids"])
        stamp = rec.now()
        for e in found:
            if e["end_time"] is None or e["status"] != "approved":
                entries["fail"][str(e["id"])] = "Only approved, finished time entries can be exported."
                continue
            user = s.get(tn, "users", e["user_id"])
            view = {
                "id": str(1000 + user["id"]),
                "name": rec.full_name(user),
                "hourly_rate": float(user.get("hourly_rate") or 0),  # a Float, as everywhere
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
    return ok(data=data)
