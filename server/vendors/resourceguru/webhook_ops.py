"""Webhook operations: CRUD, test deliveries, the payload log and resending.

Delivery itself (signing, retries, the payload log's records) lives in `webhooks`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from server.api import ApiError, dumps, respond
from server.vendors.resourceguru import webhooks
from server.vendors.resourceguru.common import (
    _account,
    _blank,
    _body,
    _get,
    _now,
    _page,
    _refuse,
    _store,
    _unique,
    _user_ref,
)

WEBHOOK_KEYS = ("name", "payload_url", "events", "secret", "send_secret_header", "paused")


def _webhook_problems(data: dict) -> list:
    problems = _blank(data, "name")
    if "payload_url" in data:
        parts = urlparse(data["payload_url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(("payload_url", "must be an http(s) URL", data["payload_url"]))
    if "events" in data and not data["events"]:
        problems.append(("events", "can't be blank", data["events"]))
    return problems


def _normalise(record: dict) -> None:
    record["events"] = _unique(record["events"])
    record["secret"] = record["secret"] or None


def _payloads(account: str, hook_id: int) -> list[dict]:
    return list(_store().find(account, "webhook_payloads", lambda p: p["webhook_id"] == hook_id))


def _status(code):
    return respond(200, dumps(f"status: {code}"))


async def webhooks_list(account):
    _account(account)
    return respond(200, list(_store().find(account, "webhooks")))


async def webhooks_get(account, id_):
    _account(account)
    return respond(200, _get(account, "webhooks", id_, "Webhook"))


async def webhooks_create(account, body):
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
        _normalise(record)
        store.insert(account, "webhooks", record)
    return respond(201, dict(record))


async def webhooks_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "webhooks", id_, "Webhook")
        _refuse(_webhook_problems(data))
        record.update({k: data[k] for k in WEBHOOK_KEYS if k in data}, updated_at=_now())
        _normalise(record)
        last = None
        if data.get("retry_last"):
            mine = _payloads(account, record["id"])
            last = mine[-1] if mine else None
        view = dict(record)
    if last is not None:
        webhooks.resend(store, account, last)
    return respond(200, view)


async def webhooks_delete(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "webhooks", id_, "Webhook")
        store.delete(account, "webhooks", record["id"])
        for p in _payloads(account, record["id"]):
            store.delete(account, "webhook_payloads", p["id"])
    return respond(204)


async def webhooks_test(account, id_):
    _, user = _account(account)
    hook = dict(_get(account, "webhooks", id_, "Webhook"))
    status = await asyncio.to_thread(webhooks.test_delivery, hook["payload_url"], hook, _user_ref(user))
    if status is None:
        raise ApiError("server_error", f"Could not connect to {hook['payload_url']}")
    return _status(status)


# GET is how the vendor's docs gave the same operation until 2020; both are served (spec).
webhooks_test_legacy = webhooks_test


async def webhooks_test_url(account, body):
    data = _body(body)
    _, user = _account(account)
    _refuse(_webhook_problems({"payload_url": data["payload_url"]}))
    status = await asyncio.to_thread(webhooks.test_delivery, data["payload_url"], None, _user_ref(user))
    if status is None:
        _refuse([("payload_url", "could not be reached", data["payload_url"])])
    return _status(status)


async def webhooks_payloads(account, id_, offset="0", limit=None):
    _account(account)
    hook = _get(account, "webhooks", id_, "Webhook")
    with _store().lock:
        rows = [dict(p) for p in _payloads(account, hook["id"])]
    return respond(200, _page(rows, None))


async def webhooks_resend_payload(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    hook = _get(account, "webhooks", id_, "Webhook")
    payload = store.get(account, "webhook_payloads", data["id"])
    if payload is None or payload["webhook_id"] != hook["id"]:
        raise ApiError("not_found", "Payload not found")
    payload["attempts"] = 0 if payload["status"] == "failed" else payload["attempts"]
    webhooks.resend(store, account, payload)
    return respond(204)
