"""Plumbing shared by every Resource Guru operation module.

The acting user and their account (404 for an unknown account, 403 for one the user doesn't belong
to), get-or-404, query flags and list paging, validation refusals, soft-delete/archive listings and
webhook publishing. Operation modules import from here, never from one another's internals.
"""

from __future__ import annotations

import itertools
import logging

from connexion.context import context

from server.api import ApiError, Violation, json_body, request, store
from server.clock import clock
from server.vendors.resourceguru import webhooks
from server.vendors.resourceguru.auth import OAUTH

log = logging.getLogger("standin")


# -- clock, store, request -------------------------------------------------------------------
def _now() -> str:
    return webhooks.now_stamp()


def _today() -> str:
    return clock().today().isoformat()


def _store():
    return store("resourceguru")


def _query(name: str, default=None):
    return request().query_params.get(name, default)


def _flag(name: str, default: str = "0") -> bool:
    return _query(name, default) == "1"


def _body(body) -> dict:
    data = json_body(body)
    return data if isinstance(data, dict) else {}


# -- who is asking -----------------------------------------------------------------------------
def _identity() -> dict:
    info = context.get("token_info") or {}
    if "email" not in info:  # one scheme per requirement: connexion may nest it by scheme name
        info = next((v for v in info.values() if isinstance(v, dict) and "email" in v), {})
    return info


def _member(slug: str) -> dict | None:
    """The account's live user with the caller's e-mail (any case)."""
    email = (_identity().get("email") or "").lower()

    def by_email():
        users: dict[str, list[dict]] = {}
        for u in _store().find(slug, "users"):
            users.setdefault(u["email"].lower(), []).append(u)
        return users

    users = _store().derived(("resourceguru members", slug), by_email).get(email, ())
    return next((u for u in users if not u["deleted"]), None)


def _account(slug: str) -> tuple[dict, dict]:
    """(account, acting user); 404 for an unknown account, 403 for one the user doesn't belong to."""
    account = next(_store().find(OAUTH, "accounts", lambda a: a["subdomain"] == slug), None)
    if account is None:
        raise ApiError("not_found", "Account not found")
    user = _member(slug)
    if user is None:
        raise ApiError("forbidden", "You don't have access to this account")
    return account, user


def _user_ref(user: dict) -> dict:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or user["email"]
    return {"id": user["id"], "name": name, "email": user["email"]}


# -- records -----------------------------------------------------------------------------------
def _get(slug: str, table: str, id_, label: str, where=None) -> dict:
    record = _store().get(slug, table, id_)
    if record is None or (where and not where(record)):
        raise ApiError("not_found", f"{label} not found")
    return record


def _alive(record: dict) -> bool:
    return not record.get("deleted")


def _page(rows, default_limit: str | None = "50") -> list:
    """The page (offset, limit) of a list, or of an iterable read only as far as the page: a
    page then costs its offset and size, not the table's."""
    offset = max(0, int(_query("offset", "0") or 0))
    limit = _query("limit", default_limit)
    stop = None if limit in (None, "", "0") else offset + max(0, int(limit))
    return rows[offset:stop] if isinstance(rows, list) else list(itertools.islice(rows, offset, stop))


def _listing(account: str, table: str, archived_only: bool) -> list[dict]:
    """A page of an archivable, soft-deletable table (includeArchived / includeDeleted flags),
    filtered lazily in id order: it costs the page and the records skipped before it."""
    if archived_only:

        def keep(r):
            return r["archived"] and not r["deleted"]
    else:
        archived, deleted = _flag("includeArchived"), _flag("includeDeleted")

        def keep(r):
            return (archived or not r["archived"]) and (deleted or not r["deleted"])

    return _page(filter(keep, _store().find(account, table)))


def _unique(values) -> list:
    """The values without repeats, in their first order."""
    return list(dict.fromkeys(values))


# -- validation ----------------------------------------------------------------------------------
def _refuse(problems: list[tuple[str, str, object]]) -> None:
    if problems:
        raise ApiError(
            "invalid",
            "Validation failed",
            violations=[Violation("body", (f,), "exists", m, v) for f, m, v in problems],
        )


def _missing(slug: str, table: str, ids) -> list:
    return [i for i in ids or [] if _store().get(slug, table, i) is None]


def _unknown(slug: str, table: str, field: str, message: str, ids) -> list:
    """One problem per id in `ids` that `table` doesn't hold."""
    return [(field, message, i) for i in _missing(slug, table, ids)]


def _reference_problems(slug: str, data: dict, refs) -> list:
    """One problem per `(key, table)` whose id in `data` is not a live record of the account."""
    store, problems = _store(), []
    for key, table in refs:
        value = data.get(key)
        record = store.get(slug, table, value) if value is not None else None
        if value is not None and (record is None or record.get("deleted")):
            problems.append((key, f"is not one of the account's {table.replace('_', ' ')}", value))
    return problems


def _blank(data: dict, key: str, required: bool = False) -> list:
    """The "can't be blank" problem of a text field that is given (or required) but empty."""
    if (key in data or required) and not (data.get(key) or "").strip():
        return [(key, "can't be blank", data.get(key))]
    return []


def _color(value):
    if value in (None, ""):
        return None
    return value if value.startswith("#") else f"#{value}"


def _plain_changes(data: dict, keys: tuple[str, ...]) -> dict:
    changes = {k: data[k] for k in keys if k in data}
    if "color" in data:
        changes["color"] = _color(data["color"])
    if "name" in data:
        changes["name"] = (data["name"] or "").strip()
    return changes


# -- webhooks ------------------------------------------------------------------------------------
def _publish(slug: str, kind: str, action: str, view: dict, user: dict) -> None:
    try:
        webhooks.publish(_store(), slug, kind, action, dict(view), _user_ref(user))
    except Exception:  # noqa: BLE001 - a webhook must never fail the request
        log.exception("webhook publishing failed")
