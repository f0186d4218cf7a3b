"""Resource Guru operations, named by operationId. Validation against the spec has already run.

Every /v1/{account} operation first resolves the account: 404 when there is none, 403 when the
authenticated user is not one of its (non-deleted) users. Handlers validate everything before
they write, so a refused request changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from urllib.parse import urlencode, urlparse

import connexion
from connexion.context import context

from server.api import ApiError, Violation, dumps, json_body, respond, runtime
from server.vendors.resourceguru import auth, webhooks
from server.vendors.resourceguru.auth import OAUTH

WEEK_DAYS = (1, 2, 3, 4, 5)


# -- helpers ---------------------------------------------------------------------------------
def _now() -> str:
    return webhooks.now_stamp()


def _store():
    return runtime().store


def _identity() -> dict:
    info = context.get("token_info") or {}
    if "email" not in info:  # one scheme per requirement: connexion may nest it by scheme name
        info = next((v for v in info.values() if isinstance(v, dict) and "email" in v), {})
    return info


def _member(slug: str) -> dict | None:
    email = (_identity().get("email") or "").lower()
    return next(
        _store().find(slug, "users", lambda u: u["email"].lower() == email and not u["deleted"]),
        None,
    )


def _account(slug: str) -> tuple[dict, dict]:
    """(account, acting user); 404 for an unknown account, 403 for one the user doesn't belong to."""
    account = next(_store().find(OAUTH, "accounts", lambda a: a["subdomain"] == slug), None)
    if account is None:
        raise ApiError("not_found", "Account not found")
    user = _member(slug)
    if user is None:
        raise ApiError("forbidden", "You don't have access to this account")
    return account, user


def _query(name: str, default=None):
    return connexion.request.query_params.get(name, default)


def _flag(name: str, default: str = "0") -> bool:
    return _query(name, default) == "1"


def _page(rows: list, default_limit: str | None = "50") -> list:
    offset = int(_query("offset", "0") or 0)
    limit = _query("limit", default_limit)
    rows = rows[offset:]
    if limit not in (None, "", "0"):
        rows = rows[: int(limit)]
    return rows


def _get(slug: str, table: str, id_, label: str, where=None) -> dict:
    record = _store().get(slug, table, id_)
    if record is None or (where and not where(record)):
        raise ApiError("not_found", f"{label} not found")
    return record


def _refuse(problems: list[tuple[str, str, object]]) -> None:
    if problems:
        raise ApiError(
            "invalid",
            "Validation failed",
            violations=[Violation("body", (f,), "exists", m, v) for f, m, v in problems],
        )


def _missing(slug: str, table: str, ids) -> list:
    return [i for i in ids or [] if _store().get(slug, table, i) is None]


def _color(value):
    if value in (None, ""):
        return None
    return value if value.startswith("#") else f"#{value}"


def _body(body) -> dict:
    data = json_body(body)
    return data if isinstance(data, dict) else {}


def _user_ref(user: dict) -> dict:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or user["email"]
    return {"id": user["id"], "name": name, "email": user["email"]}


def _publish(slug: str, kind: str, action: str, view: dict, user: dict) -> None:
    try:
        webhooks.publish(_store(), slug, kind, action, dict(view), _user_ref(user))
    except Exception:  # noqa: BLE001 - a webhook must never fail the request
        webhooks_log_failure()


def webhooks_log_failure() -> None:
    import logging

    logging.getLogger("standin").exception("webhook publishing failed")


# -- OAuth -----------------------------------------------------------------------------------
def _oauth_error(code: str, detail: str, kind: str = "bad_request"):
    return ApiError(kind, detail, extra={"oauth_error": code})


def _client_auth(data: dict) -> dict:
    client_id, secret = data.get("client_id"), data.get("client_secret")
    if not client_id:
        basic = auth.basic_credentials(connexion.request.headers.get("authorization"))
        if basic:
            client_id, secret = basic
    client = auth.client_by_id(_store(), client_id)
    if client is None or not secrets.compare_digest(
        client["client_secret"].encode(), (secret or "").encode()
    ):
        raise _oauth_error("invalid_client", "Client authentication failed.", "unauthorized")
    return client


def _redirect_ok(uri: str) -> bool:
    parts = urlparse(uri)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    )


async def oauth_authorize(client_id=None, redirect_uri=None, response_type=None, state=None, **_):
    store = _store()
    client = auth.client_by_id(store, client_id)
    if client is None:
        raise _oauth_error("invalid_client", "Unknown client_id.")
    if not _redirect_ok(redirect_uri or ""):
        raise _oauth_error("invalid_request", "The redirect_uri must use HTTPS (or http://localhost).")
    if redirect_uri not in client["redirect_uris"]:
        raise _oauth_error("invalid_grant", "The redirect_uri does not match the one registered for the app.")
    # The sign-in step: Basic credentials of the signing-in user; without them the mock signs in the
    # app's demo user (the one who registered it) and consents at once.
    basic = auth.basic_credentials(connexion.request.headers.get("authorization"))
    if basic:
        login = auth.check_password(store, *basic)
        if login is None:
            query = {"error": "access_denied", "error_description": "The resource owner denied the request."}
            return _redirect(redirect_uri, query, state)
        email = login["email"]
    else:
        email = client.get("owner_email")
        if email is None:
            page = "<!doctype html><title>Resource Guru</title><h1>Sign in to authorize this app</h1>"
            return respond(200, page, "text/html")
    code = secrets.token_urlsafe(24)
    with store.lock:
        store.insert(
            OAUTH,
            "codes",
            {
                "id": None,
                "code": code,
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "email": email,
                "used": False,
            },
        )
    return _redirect(redirect_uri, {"code": code}, state)


def _redirect(uri: str, query: dict, state):
    if state:
        query["state"] = state
    sep = "&" if urlparse(uri).query else "?"
    return respond(302, None, headers={"Location": f"{uri}{sep}{urlencode(query)}"})


async def oauth_token(body=None, **_):
    data = _body(body)
    store = _store()
    grant = data.get("grant_type")
    with store.lock:
        client = _client_auth(data)
        if grant == "password":
            if not data.get("username") or data.get("password") is None:
                raise _oauth_error("invalid_request", "username and password are required.")
            login = auth.check_password(store, data["username"], data["password"])
            if login is None:
                raise _oauth_error("invalid_grant", "The provided authorization grant is invalid.")
            token = auth.issue(store, client, login["email"])
        elif grant == "authorization_code":
            code = next(store.find(OAUTH, "codes", lambda c: c["code"] == data.get("code")), None)
            if code is None or code["used"] or code["client_id"] != client["client_id"]:
                raise _oauth_error("invalid_grant", "The provided authorization grant is invalid.")
            if data.get("redirect_uri") != code["redirect_uri"]:
                raise _oauth_error(
                    "invalid_grant", "The redirect_uri does not match the authorization request."
                )
            code["used"] = True
            token = auth.issue(store, client, code["email"])
        else:  # refresh_token (the schema allows no other grant)
            old = next(
                store.find(OAUTH, "tokens", lambda t: t["refresh_token"] == data.get("refresh_token")),
                None,
            )
            if old is None or old["revoked"] or old["client_id"] != client["client_id"]:
                raise _oauth_error("invalid_grant", "The provided authorization grant is invalid.")
            old["revoked"] = True  # the old access token stops working at once
            token = auth.issue(store, client, old["email"])
    return respond(200, auth.token_body(token))


# -- accounts and users ----------------------------------------------------------------------
def _account_view(store, account: dict, summary: bool = False) -> dict:
    owner = store.get(account["subdomain"], "users", account["owner_user_id"]) or {}
    view = {
        "id": account["id"],
        "name": account["name"],
        "subdomain": account["subdomain"],
        "plan": account["plan"],
        "created_at": account["created_at"],
        "updated_at": account["updated_at"],
        "owner": {
            "id": owner.get("id", 1),
            "name": _user_ref(owner)["name"] if owner else "",
            "email": owner.get("email", ""),
            "timezone": owner.get("timezone", "London"),
        },
        "default_booking_approver_ids": list(account["default_booking_approver_ids"]),
    }
    if summary:
        view["rootdomain"] = "resourceguruapp.com"
        view["dashboard_path"] = f"/{account['subdomain']}/dashboard"
    else:
        view["on_trial"] = account["on_trial"]
        view["trial_expires_on"] = account["trial_expires_on"]
    return view


def _my_accounts() -> list[dict]:
    store = _store()
    return [a for a in store.find(OAUTH, "accounts") if _member(a["subdomain"])]


def _my_account(id_) -> dict:
    account = _store().get(OAUTH, "accounts", id_)
    if account is None:
        raise ApiError("not_found", "Account not found")
    if not _member(account["subdomain"]):
        raise ApiError("forbidden", "You don't have access to this account")
    return account


async def accounts_list(**_):
    store = _store()
    return respond(200, [_account_view(store, a, summary=True) for a in _my_accounts()])


async def accounts_get(id_=None, **_):
    return respond(200, _account_view(_store(), _my_account(id_)))


async def accounts_update(id_=None, body=None, **_):
    data, store = _body(body), _store()
    with store.lock:
        account = _my_account(id_)
        slug = account["subdomain"]
        ids = data.get("default_booking_approver_ids") or []
        _refuse(
            [("default_booking_approver_ids", "has an unknown user", i) for i in _missing(slug, "users", ids)]
        )
        account.update(
            booking_approvals=data.get("booking_approvals", account["booking_approvals"]),
            default_booking_approver_ids=list(dict.fromkeys(ids)),
            updated_at=_now(),
        )
        if data.get("apply_to_all_resources"):
            for r in store.find(slug, "resources"):
                r["booking_approver_ids"] = list(account["default_booking_approver_ids"])
        view = _account_view(store, account)
    _publish(slug, "account", "update", {"id": account["id"], "name": account["name"]}, _member(slug))
    return respond(200, view)


def _me() -> dict:
    for account in _my_accounts():
        return _member(account["subdomain"])
    raise ApiError("forbidden", "You don't belong to any account")


async def me_get(**_):
    return respond(200, _me())


async def users_list(account=None, **_):
    _account(account)
    rows = [u for u in _store().find(account, "users") if not u["deleted"]]
    return respond(200, _page(rows))


async def users_all(account=None, **_):
    _account(account)
    return respond(200, list(_store().find(account, "users")))


async def users_me(account=None, **_):
    return respond(200, _account(account)[1])


async def users_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _get(account, "users", id_, "User"))


# -- resource types and resources --------------------------------------------------------------
def _field_view(slug: str, field: dict) -> dict:
    options = [
        {"id": o["id"], "value": o["value"]}
        for o in _store().find(slug, "custom_field_options", lambda o: o["custom_field_id"] == field["id"])
    ]
    return {
        "id": field["id"],
        "name": field["label"],
        "label": field["label"],
        "required": field["required"],
        "type": field["type"],
        "single_select": field["type"] == "single_select",
        "resource_type_ids": list(field["resource_type_ids"]),
        "created_at": field["created_at"],
        "updated_at": field["updated_at"],
        "custom_field_options": options,
    }


def _type_view(slug: str, rtype: dict) -> dict:
    fields = _store().find(slug, "custom_fields", lambda f: rtype["id"] in f["resource_type_ids"])
    return {**rtype, "custom_fields": [_field_view(slug, f) for f in fields]}


async def resource_types_list(account=None, **_):
    _account(account)
    return respond(200, [_type_view(account, t) for t in _store().find(account, "resource_types")])


async def resource_types_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _type_view(account, _get(account, "resource_types", id_, "Resource type")))


def _resource_view(slug: str, r: dict, availability: bool = True) -> dict:
    store = _store()
    rtype = store.get(slug, "resource_types", r["resource_type_id"]) or {
        "id": r["resource_type_id"],
        "name": "",
    }
    view = {k: v for k, v in r.items() if k not in ("resource_type_id", "custom_field_option_ids")}
    view["resource_type"] = {"id": rtype["id"], "name": rtype["name"]}
    view["phone"] = (r.get("custom_attributes") or {}).get("phone")
    selected = []
    for oid in r.get("custom_field_option_ids", []):
        option = store.get(slug, "custom_field_options", oid)
        field = option and store.get(slug, "custom_fields", option["custom_field_id"])
        if option and field:
            selected.append({"id": option["id"], "name": field["label"], "value": option["value"]})
    view["selected_custom_field_options"] = selected
    bookings = list(store.find(slug, "bookings", lambda b: b.get("resource_id") == r["id"]))
    view["booked_client_ids"] = sorted({b["client_id"] for b in bookings if b.get("client_id")})
    view["booked_project_ids"] = sorted({b["project_id"] for b in bookings if b.get("project_id")})
    if not availability:
        view.pop("available_periods", None)
    return view


def _resource_rows(account: str, archived: bool) -> list[dict]:
    rows = [r for r in _store().find(account, "resources") if r["archived"] == archived]
    ids = set()
    for value in connexion.request.query_params.getlist("ids"):
        ids |= {int(x) for x in value.split(",") if x.strip().isdigit()}
    if ids:
        rows = [r for r in rows if r["id"] in ids]
    show = _query("show_availability", "1") != "0"
    return [_resource_view(account, r, show) for r in _page(rows)]


async def resources_list(account=None, **_):
    _account(account)
    return respond(200, _resource_rows(account, False))


async def resources_archived(account=None, **_):
    _account(account)
    return respond(200, _resource_rows(account, True))


async def resources_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _resource_view(account, _get(account, "resources", id_, "Resource")))


def _resource_changes(slug: str, data: dict, current: dict | None) -> dict:
    """Validated changes of a create (current None) or update; raises before anything is written."""
    problems = []
    type_id = data.get("resource_type_id", current and current["resource_type_id"])
    rtype = _store().get(slug, "resource_types", type_id)
    if rtype is None:
        problems.append(("resource_type_id", "is not a resource type of this account", type_id))
    options = data.get("custom_field_option_ids")
    problems += [
        ("custom_field_option_ids", "has an unknown option", o)
        for o in _missing(slug, "custom_field_options", options)
    ]
    problems += [
        ("booking_approver_ids", "has an unknown user", u)
        for u in _missing(slug, "users", data.get("booking_approver_ids"))
    ]
    for key in ("replacement_approver_user_id", "replacement_reviewer_user_id"):
        if key in data:
            problems += [(key, "is not a user", u) for u in _missing(slug, "users", [data[key]])]
    human = rtype["human"] if rtype else False
    first = data.get("first_name", current and current["first_name"])
    last = data.get("last_name", current and current["last_name"])
    name = data.get("name") or (current and current["name"]) or " ".join(p for p in (first, last) if p)
    if not (name or "").strip():
        problems.append(("name", "can't be blank", data.get("name")))
    _refuse(problems)
    changes = {"name": name.strip(), "human": human, "resource_type_id": rtype["id"], "updated_at": _now()}
    for key in ("job_title", "bookable", "notes", "email", "first_name", "last_name", "archived"):
        if key in data:
            changes[key] = data[key]
    if "color" in data:
        changes["color"] = _color(data["color"])
    if "timezone" in data:
        changes["timezone"] = {"name": data["timezone"], "offset": 0}
    attributes = dict(
        (current or {}).get("custom_attributes")
        or {"phone": None, "capacity": None, "registration_number": None}
    )
    for key in ("phone", "capacity", "registration_number"):
        if key in data:
            attributes[key] = data[key]
    changes["custom_attributes"] = attributes
    if options is not None:
        changes["custom_field_option_ids"] = list(dict.fromkeys(options))
    if "booking_approver_ids" in data:
        changes["booking_approver_ids"] = list(dict.fromkeys(data["booking_approver_ids"]))
    return changes


async def resources_create(account=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        changes = _resource_changes(account, data, None)
        stamp = _now()
        record = {
            "id": None,
            "archived": False,
            "available_periods": [
                {"week_day": d, "start_time": 540, "end_time": 1020, "valid_from": None, "valid_until": None}
                for d in WEEK_DAYS
            ],
            "bookable": True,
            "color": None,
            "created_at": stamp,
            "custom_attributes": {},
            "creator_id": user["id"],
            "custom_available_periods": [],
            "email": None,
            "images": {},
            "job_title": None,
            "last_updated_by": user["id"],
            "minutes_per_day": 480,
            "first_name": None,
            "last_name": None,
            "notes": None,
            "overtimes": [],
            "phone": None,
            "custom_field_option_ids": [],
            "timezone": {"name": "London", "offset": 0},
            "user_id": None,
            "vacation_allowance": None,
            "booking_approver_ids": [],
            **changes,
        }
        store.insert(account, "resources", record)
        view = _resource_view(account, record)
    _publish(account, "resource", "create", view, user)
    return respond(201, view)


async def resources_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "resources", id_, "Resource")
        changes = _resource_changes(account, data, record)
        record.update(changes, last_updated_by=user["id"])
        view = _resource_view(account, record)
    _publish(account, "resource", "update", view, user)
    return respond(200, view)


async def resources_delete(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "resources", id_, "Resource")
        problems = []
        for key in ("replacement_approver_user_id", "replacement_reviewer_user_id"):
            if key in data:
                problems += [(key, "is not a user", u) for u in _missing(account, "users", [data[key]])]
        _refuse(problems)
        view = _resource_view(account, record)
        store.delete(account, "resources", record["id"])
        # The resource's bookings and time off go with it.
        for row in list(store.find(account, "bookings", lambda b: b["resource_id"] == record["id"])):
            store.delete(account, "bookings", row["id"])
        for row in list(store.find(account, "downtimes", lambda d: record["id"] in d["resource_ids"])):
            row["resource_ids"].remove(record["id"])
            if not row["resource_ids"]:
                store.delete(account, "downtimes", row["id"])
    _publish(account, "resource", "delete", view, user)
    return respond(204)


# -- clients and projects ----------------------------------------------------------------------
def _listing(account: str, table: str, archived_only: bool) -> list[dict]:
    rows = list(_store().find(account, table))
    if archived_only:
        rows = [r for r in rows if r["archived"] and not r["deleted"]]
    else:
        if not _flag("includeArchived"):
            rows = [r for r in rows if not r["archived"]]
        if not _flag("includeDeleted"):
            rows = [r for r in rows if not r["deleted"]]
    return _page(rows)


def _alive(record: dict) -> bool:
    return not record.get("deleted")


async def clients_list(account=None, **_):
    _account(account)
    return respond(200, _listing(account, "clients", False))


async def clients_archived(account=None, **_):
    _account(account)
    return respond(200, _listing(account, "clients", True))


async def clients_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _get(account, "clients", id_, "Client", _alive))


def _plain_changes(data: dict, keys: tuple[str, ...]) -> dict:
    changes = {k: data[k] for k in keys if k in data}
    if "color" in data:
        changes["color"] = _color(data["color"])
    if "name" in data:
        changes["name"] = (data["name"] or "").strip()
    return changes


def _name_check(data: dict, creating: bool) -> list:
    if ("name" in data or creating) and not (data.get("name") or "").strip():
        return [("name", "can't be blank", data.get("name"))]
    return []


async def clients_create(account=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        _refuse(_name_check(data, True))
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
            **_plain_changes(data, ("name", "notes", "archived", "custom_field_values")),
        }
        store.insert(account, "clients", record)
        view = dict(record)
    _publish(account, "client", "create", view, user)
    return respond(201, view)


async def clients_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "clients", id_, "Client", _alive)
        _refuse(_name_check(data, False))
        record.update(_plain_changes(data, ("name", "notes", "archived", "custom_field_values")))
        record.update(updated_at=_now(), last_updated_by=user["id"])
        view = dict(record)
    _publish(account, "client", "update", view, user)
    return respond(200, view)


async def clients_delete(account=None, id_=None, **_):
    store = _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "clients", id_, "Client", _alive)
        record.update(deleted=True, deleted_at=dt.datetime.now(dt.UTC).date().isoformat(), updated_at=_now())
        view = dict(record)
    _publish(account, "client", "delete", view, user)
    return respond(204)


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


async def projects_list(account=None, **_):
    _account(account)
    return respond(200, _listing(account, "projects", False))


async def projects_archived(account=None, **_):
    _account(account)
    return respond(200, _listing(account, "projects", True))


async def projects_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _project_view(account, _get(account, "projects", id_, "Project", _alive)))


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


def _project_problems(account: str, data: dict, current: dict | None) -> list:
    problems = _name_check(data, current is None)
    client_id = data.get("client_id")
    if client_id is not None and _store().get(account, "clients", client_id) is None:
        problems.append(("client_id", "is not a client of this account", client_id))
    problems += [
        ("activity_type_ids", "has an unknown activity type", a)
        for a in _missing(account, "activity_types", data.get("activity_type_ids"))
    ]
    start = data.get("start_date", current and current["start_date"])
    end = data.get("end_date", current and current["end_date"])
    if start and end and end < start:
        problems.append(("end_date", "must be on or after the start date", end))
    return problems


async def projects_create(account=None, body=None, **_):
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
        record["activity_type_ids"] = list(dict.fromkeys(record["activity_type_ids"]))
        store.insert(account, "projects", record)
        view = _project_view(account, record)
    _publish(account, "project", "create", dict(record), user)
    return respond(201, view)


async def projects_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "projects", id_, "Project", _alive)
        _refuse(_project_problems(account, data, record))
        record.update(_plain_changes(data, PROJECT_KEYS))
        record["activity_type_ids"] = list(dict.fromkeys(record["activity_type_ids"]))
        record.update(updated_at=_now(), last_updated_by=user["id"])
        view = _project_view(account, record)
    _publish(account, "project", "update", dict(record), user)
    return respond(200, view)


async def projects_delete(account=None, id_=None, **_):
    store = _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "projects", id_, "Project", _alive)
        record.update(deleted=True, deleted_at=_now(), updated_at=_now())
    _publish(account, "project", "delete", dict(record), user)
    return respond(204)


# -- activity types --------------------------------------------------------------------------
def _activity_view(account: str, record: dict) -> dict:
    projects = _store().find(
        account, "projects", lambda p: record["id"] in p["activity_type_ids"] and not p["deleted"]
    )
    return {**record, "project_ids": [p["id"] for p in projects]}


async def activity_types_list(account=None, **_):
    _account(account)
    rows = _store().find(account, "activity_types", lambda a: not a["archived"])
    return respond(200, [_activity_view(account, a) for a in rows])


async def activity_types_archived(account=None, **_):
    _account(account)
    rows = _store().find(account, "activity_types", lambda a: a["archived"])
    return respond(200, [_activity_view(account, a) for a in rows])


async def activity_types_get(account=None, id_=None, **_):
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
    problems = _name_check(data, creating)
    problems += [
        ("project_ids", "has an unknown project", p)
        for p in _missing(account, "projects", data.get("project_ids"))
    ]
    return problems


def _activity_changes(data: dict) -> dict:
    changes = _plain_changes(data, ("name", "notes", "default", "archived"))
    if "archived" in data:
        changes["archived_at"] = dt.datetime.now(dt.UTC).date().isoformat() if data["archived"] else None
    return changes


async def activity_types_create(account=None, body=None, **_):
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


async def activity_types_update(account=None, id_=None, body=None, **_):
    return await _activity_update(account, id_, body)


async def activity_types_patch(account=None, id_=None, body=None, **_):
    return await _activity_update(account, id_, body)


async def activity_types_delete(account=None, id_=None, **_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "activity_types", id_, "Activity type")
        _link_projects(account, record["id"], [])
        store.delete(account, "activity_types", record["id"])
    return respond(204)


async def activity_types_associations(account=None, id_=None, **_):
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


# -- custom fields ---------------------------------------------------------------------------
async def custom_fields_list(account=None, **_):
    _account(account)
    return respond(200, list(_store().find(account, "custom_fields")))


async def custom_fields_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _get(account, "custom_fields", id_, "Custom field"))


def _field_problems(account: str, data: dict) -> list:
    problems = []
    if "label" in data and not data["label"].strip():
        problems.append(("label", "can't be blank", data["label"]))
    problems += [
        ("resource_type_ids", "has an unknown resource type", t)
        for t in _missing(account, "resource_types", data.get("resource_type_ids"))
    ]
    return problems


FIELD_KEYS = ("label", "required", "entity_types", "resource_type_ids", "icon")


async def custom_fields_create(account=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        _refuse(_field_problems(account, data))
        stamp = _now()
        record = {
            "id": None,
            "label": "",
            "required": False,
            "type": data.get("type", "multi_select"),
            "entity_types": ["resource"],
            "resource_type_ids": [],
            "default": False,
            "icon": None,
            "created_at": stamp,
            "updated_at": stamp,
            **{k: data[k] for k in FIELD_KEYS if k in data},
        }
        record["label"] = record["label"].strip()
        store.insert(account, "custom_fields", record)
        for value in data.get("custom_field_options") or []:
            store.insert(account, "custom_field_options", _option(record["id"], value))
    return respond(201, dict(record))


def _option(field_id: int, value: str) -> dict:
    stamp = _now()
    return {"id": None, "custom_field_id": field_id, "value": value, "created_at": stamp, "updated_at": stamp}


async def custom_fields_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_fields", id_, "Custom field")
        _refuse(_field_problems(account, data))
        record.update({k: data[k] for k in FIELD_KEYS if k in data}, updated_at=_now())
        record["label"] = record["label"].strip()
    return respond(200, dict(record))


async def custom_fields_delete(account=None, id_=None, **_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_fields", id_, "Custom field")
        options = [
            o["id"]
            for o in store.find(
                account, "custom_field_options", lambda o: o["custom_field_id"] == record["id"]
            )
        ]
        for oid in options:
            store.delete(account, "custom_field_options", oid)
        for r in store.find(account, "resources"):
            r["custom_field_option_ids"] = [o for o in r["custom_field_option_ids"] if o not in options]
        store.delete(account, "custom_fields", record["id"])
    return respond(204)


async def custom_field_options_list(account=None, **_):
    _account(account)
    field = _query("custom_field_id")
    rows = _store().find(
        account, "custom_field_options", lambda o: field is None or o["custom_field_id"] == int(field)
    )
    return respond(200, list(rows))


async def custom_field_options_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _get(account, "custom_field_options", id_, "Custom field option"))


async def custom_field_options_create(account=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        problems = [
            ("custom_field_id", "is not a custom field", f)
            for f in _missing(account, "custom_fields", [data["custom_field_id"]])
        ]
        if not data["value"].strip():
            problems.append(("value", "can't be blank", data["value"]))
        _refuse(problems)
        record = store.insert(
            account, "custom_field_options", _option(data["custom_field_id"], data["value"].strip())
        )
    return respond(201, dict(record))


async def custom_field_options_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_field_options", id_, "Custom field option")
        if "value" in data:
            _refuse([("value", "can't be blank", data["value"])] if not data["value"].strip() else [])
            record.update(value=data["value"].strip(), updated_at=_now())
    return respond(200, dict(record))


async def custom_field_options_delete(account=None, id_=None, **_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_field_options", id_, "Custom field option")
        store.delete(account, "custom_field_options", record["id"])
        for r in store.find(account, "resources"):
            if record["id"] in r["custom_field_option_ids"]:
                r["custom_field_option_ids"].remove(record["id"])
    return respond(204)


# -- webhooks --------------------------------------------------------------------------------
WEBHOOK_KEYS = ("name", "payload_url", "events", "secret", "send_secret_header", "paused")


def _webhook_problems(data: dict) -> list:
    problems = []
    if "name" in data and not data["name"].strip():
        problems.append(("name", "can't be blank", data["name"]))
    if "payload_url" in data:
        parts = urlparse(data["payload_url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(("payload_url", "must be an http(s) URL", data["payload_url"]))
    if "events" in data and not data["events"]:
        problems.append(("events", "can't be blank", data["events"]))
    return problems


async def webhooks_list(account=None, **_):
    _account(account)
    return respond(200, list(_store().find(account, "webhooks")))


async def webhooks_get(account=None, id_=None, **_):
    _account(account)
    return respond(200, _get(account, "webhooks", id_, "Webhook"))


async def webhooks_create(account=None, body=None, **_):
    data, store = _body(body), _store()
    acc, user = _account(account)
    with store.lock:
        _refuse(_webhook_problems(data))
        stamp = _now()
        record = {
            "id": None,
            "account_id": acc["id"],
            "status": "ready",
            "user_id": user["id"],
            "created_at": stamp,
            "updated_at": stamp,
            **{k: data[k] for k in WEBHOOK_KEYS},
        }
        record["events"] = list(dict.fromkeys(record["events"]))
        record["secret"] = record["secret"] or None
        store.insert(account, "webhooks", record)
    return respond(201, dict(record))


async def webhooks_update(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "webhooks", id_, "Webhook")
        _refuse(_webhook_problems(data))
        record.update({k: data[k] for k in WEBHOOK_KEYS if k in data}, updated_at=_now())
        record["events"] = list(dict.fromkeys(record["events"]))
        record["secret"] = record["secret"] or None
        last = None
        if data.get("retry_last"):
            mine = [
                p for p in store.find(account, "webhook_payloads", lambda p: p["webhook_id"] == record["id"])
            ]
            last = mine[-1] if mine else None
        view = dict(record)
    if last is not None:
        webhooks.resend(store, account, last)
    return respond(200, view)


async def webhooks_delete(account=None, id_=None, **_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "webhooks", id_, "Webhook")
        store.delete(account, "webhooks", record["id"])
        for p in list(store.find(account, "webhook_payloads", lambda p: p["webhook_id"] == record["id"])):
            store.delete(account, "webhook_payloads", p["id"])
    return respond(204)


async def webhooks_test(account=None, id_=None, **_):
    _, user = _account(account)
    hook = dict(_get(account, "webhooks", id_, "Webhook"))
    status = await asyncio.to_thread(webhooks.test_delivery, hook["payload_url"], hook, _user_ref(user))
    if status is None:
        raise ApiError("server_error", f"Could not connect to {hook['payload_url']}")
    return respond(200, dumps(f"status: {status}"))


async def webhooks_test_url(account=None, body=None, **_):
    data = _body(body)
    _, user = _account(account)
    _refuse(_webhook_problems({"payload_url": data["payload_url"]}))
    status = await asyncio.to_thread(webhooks.test_delivery, data["payload_url"], None, _user_ref(user))
    if status is None:
        _refuse([("payload_url", "could not be reached", data["payload_url"])])
    return respond(200, dumps(f"status: {status}"))


async def webhooks_payloads(account=None, id_=None, **_):
    _account(account)
    hook = _get(account, "webhooks", id_, "Webhook")
    with _store().lock:
        rows = [
            dict(p)
            for p in _store().find(account, "webhook_payloads", lambda p: p["webhook_id"] == hook["id"])
        ]
    return respond(200, _page(rows, None))


async def webhooks_resend_payload(account=None, id_=None, body=None, **_):
    data, store = _body(body), _store()
    _account(account)
    hook = _get(account, "webhooks", id_, "Webhook")
    payload = store.get(account, "webhook_payloads", data["id"])
    if payload is None or payload["webhook_id"] != hook["id"]:
        raise ApiError("not_found", "Payload not found")
    payload["attempts"] = 0 if payload["status"] == "failed" else payload["attempts"]
    webhooks.resend(store, account, payload)
    return respond(204)


# -- part 2 lives in its own modules; they import the helpers above, so they come last --------
from server.vendors.resourceguru.availability import (  # noqa: E402
    custom_availability_list,
    custom_availability_reset,
    custom_availability_set,
    downtime_types_list,
    downtimes_clashes,
    downtimes_create,
    downtimes_delete,
    downtimes_get,
    downtimes_list,
    downtimes_split,
    downtimes_update,
    overtimes_set,
    resources_update_availability,
)
from server.vendors.resourceguru.bookings import (  # noqa: E402
    bookings_activities,
    bookings_approval,
    bookings_create,
    bookings_delete,
    bookings_get,
    bookings_list,
    bookings_remind_approvers,
    bookings_split,
    bookings_update,
    clients_bookings,
    projects_bookings,
    resources_bookings,
)
from server.vendors.resourceguru.reports import (  # noqa: E402
    reports_client,
    reports_clients,
    reports_project,
    reports_projects,
    reports_resource,
    reports_resources,
    reports_v2_client,
    reports_v2_clients,
    reports_v2_clients_unassigned,
    reports_v2_project,
    reports_v2_projects,
    reports_v2_projects_unassigned,
    reports_v2_resource,
    reports_v2_resources,
)
from server.vendors.resourceguru.timesheets import (  # noqa: E402
    calendars_delete,
    calendars_external_events,
    calendars_get,
    calendars_list,
    calendars_update,
    timesheets_create,
    timesheets_dismiss,
    timesheets_list,
    timesheets_submit,
    timesheets_unsubmit,
    timesheets_update,
)

__all__ = [
    "bookings_activities",
    "bookings_approval",
    "bookings_create",
    "bookings_delete",
    "bookings_get",
    "bookings_list",
    "bookings_remind_approvers",
    "bookings_split",
    "bookings_update",
    "calendars_delete",
    "calendars_external_events",
    "calendars_get",
    "calendars_list",
    "calendars_update",
    "clients_bookings",
    "custom_availability_list",
    "custom_availability_reset",
    "custom_availability_set",
    "downtime_types_list",
    "downtimes_clashes",
    "downtimes_create",
    "downtimes_delete",
    "downtimes_get",
    "downtimes_list",
    "downtimes_split",
    "downtimes_update",
    "overtimes_set",
    "projects_bookings",
    "reports_client",
    "reports_clients",
    "reports_project",
    "reports_projects",
    "reports_resource",
    "reports_resources",
    "reports_v2_client",
    "reports_v2_clients",
    "reports_v2_clients_unassigned",
    "reports_v2_project",
    "reports_v2_projects",
    "reports_v2_projects_unassigned",
    "reports_v2_resource",
    "reports_v2_resources",
    "resources_bookings",
    "resources_update_availability",
    "timesheets_create",
    "timesheets_dismiss",
    "timesheets_list",
    "timesheets_submit",
    "timesheets_unsubmit",
    "timesheets_update",
]
