"""Accounts (the user's own, by id), the signed-in user (/v1/me) and an account's users."""

from __future__ import annotations

from server.api import ApiError, respond
from server.vendors.resourceguru.auth import OAUTH
from server.vendors.resourceguru.common import (
    _account,
    _body,
    _get,
    _member,
    _now,
    _page,
    _publish,
    _refuse,
    _store,
    _unique,
    _unknown,
    _user_ref,
)


# -- accounts --------------------------------------------------------------------------------
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


async def accounts_list():
    store = _store()
    return respond(200, [_account_view(store, a, summary=True) for a in _my_accounts()])


async def accounts_get(id_):
    return respond(200, _account_view(_store(), _my_account(id_)))


async def accounts_update(id_, body):
    data, store = _body(body), _store()
    with store.lock:
        account = _my_account(id_)
        slug = account["subdomain"]
        ids = data.get("default_booking_approver_ids") or []
        _refuse(_unknown(slug, "users", "default_booking_approver_ids", "has an unknown user", ids))
        account.update(
            booking_approvals=data.get("booking_approvals", account["booking_approvals"]),
            default_booking_approver_ids=_unique(ids),
            updated_at=_now(),
        )
        if data.get("apply_to_all_resources"):
            for r in store.find(slug, "resources"):
                r["booking_approver_ids"] = list(account["default_booking_approver_ids"])
        view = _account_view(store, account)
    _publish(slug, "account", "update", {"id": account["id"], "name": account["name"]}, _member(slug))
    return respond(200, view)


# -- the signed-in user and an account's users -------------------------------------------------
def _me() -> dict:
    for account in _my_accounts():
        return _member(account["subdomain"])
    raise ApiError("forbidden", "You don't belong to any account")


async def me_get():
    return respond(200, _me())


async def users_list(account, limit="50", offset="0"):
    _account(account)
    rows = [u for u in _store().find(account, "users") if not u["deleted"]]
    return respond(200, _page(rows))


async def users_all(account):
    _account(account)
    return respond(200, list(_store().find(account, "users")))


async def users_me(account):
    return respond(200, _account(account)[1])


async def users_get(account, id_):
    _account(account)
    return respond(200, _get(account, "users", id_, "User"))
