"""Webhook payloads: queued per subscribed webhook, delivered off the request path, retried with backoff.

Each event becomes one payload record per subscribed (unpaused) webhook, in the account's
`webhook_payloads` table, and a daemon thread posts it: `User-Agent: ResourceGuru/Webhooks`,
`X-ResourceGuru-Key` (when a secret is set and `send_secret_header`), and
`X-ResourceGuru-Signature` = hex HMAC-SHA256 of the body with the secret (seed 003).
A failing payload is retried MAX_ATTEMPTS times with doubling delays, visible in the queue.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import http.client
import os
import threading
import time
from urllib.parse import urlparse

from server import clock
from server.api import dumps

MAX_ATTEMPTS = 5
FIRST_DELAY = 0.5  # seconds; doubled after every failed attempt
TIMEOUT = 3.0
# Hosts deliveries may go to: loopback, plus those STANDIN_WEBHOOK_HOSTS names (comma-separated;
# "*" for any). A mock never calls the internet unasked, and fuzzed webhook URLs stay on the machine.
_EXTRA_HOSTS = os.environ.get("STANDIN_WEBHOOK_HOSTS", "")
ALLOWED_HOSTS: set[str] | None = (
    None
    if _EXTRA_HOSTS.strip() == "*"
    else {"127.0.0.1", "localhost", "::1", *(h.strip() for h in _EXTRA_HOSTS.split(",") if h.strip())}
)
EVENT_OF = {
    "booking": "bookings",
    "downtime": "downtimes",
    "resource": "resources",
    "project": "projects",
    "client": "clients",
    "account": "accounts",
    "resource_type": "resource_types",
}


def now_stamp() -> str:
    return clock.iso(clock.now())


def deliverable(url: str) -> bool:
    parts = urlparse(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return ALLOWED_HOSTS is None or parts.hostname in ALLOWED_HOSTS


def headers_for(webhook: dict, body: bytes) -> dict[str, str]:
    headers = {"User-Agent": "ResourceGuru/Webhooks", "Content-Type": "application/json"}
    secret = webhook.get("secret")
    if secret:
        if webhook.get("send_secret_header", True):
            headers["X-ResourceGuru-Key"] = secret
        headers["X-ResourceGuru-Signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
    """One delivery attempt: the receiver's status, or None when it could not be reached.

    http.client keeps the header names as written (urllib would send `X-resourceguru-key`).
    """
    if not deliverable(url):
        return None
    parts = urlparse(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = kind(parts.hostname, parts.port, timeout=TIMEOUT)
        try:
            connection.request("POST", target, body=body, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()
    except (OSError, ValueError, http.client.HTTPException):
        return None


def publish(store, tenant: str, kind: str, action: str, record: dict, user: dict | None) -> list[dict]:
    """Queue one event for every webhook subscribed to it and start delivering; never raises."""
    event = EVENT_OF[kind]
    queued = []
    with store.lock:
        hooks = [
            w for w in store.find(tenant, "webhooks", lambda w: event in w["events"] and not w["paused"])
        ]
        for hook in hooks:
            payload = {
                "id": None,
                "account_id": hook["account_id"],
                "webhook_id": hook["id"],
                "model": {
                    "id": 0,
                    "timestamp": int(clock.now()),
                    "payload": {**record, "action": action, "type": kind},
                },
                "user": user,
                "action": action,
                "attempts": 0,
                "status": "pending",
                "last_sent_on": None,
                "created_at": now_stamp(),
                "request_headers": {},
                "response_from_http_client": None,
                "next_try": now_stamp(),
            }
            store.insert(tenant, "webhook_payloads", payload)
            payload["model"]["id"] = payload["id"]
            queued.append(payload)
    for payload in queued:
        schedule(store, tenant, payload["id"])
    return queued


def schedule(store, tenant: str, payload_id: int) -> None:
    # in the request's context: the thread's stamps follow the engine's clock (server.clock)
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(_deliver, store, tenant, payload_id), daemon=True).start()


def _deliver(store, tenant: str, payload_id: int) -> None:
    delay = FIRST_DELAY
    while True:
        with store.lock:
            payload = store.get(tenant, "webhook_payloads", payload_id)
            hook = payload and store.get(tenant, "webhooks", payload["webhook_id"])
            if payload is None or hook is None or payload["status"] in ("delivered", "failed"):
                return
            url = hook["payload_url"]
            body = dumps(payload["model"]).encode()
            headers = headers_for(hook, body)
        status = post(url, body, headers)
        ok = status is not None and 200 <= status < 300
        with store.lock:
            # The store may have been reset meanwhile: only touch the record if it is still there.
            payload = store.get(tenant, "webhook_payloads", payload_id)
            hook = store.get(tenant, "webhooks", payload["webhook_id"]) if payload else None
            if payload is None:
                return
            payload["attempts"] += 1
            payload["last_sent_on"] = now_stamp()
            payload["request_headers"] = headers
            payload["response_from_http_client"] = status
            done = ok or payload["attempts"] >= MAX_ATTEMPTS
            payload["status"] = "delivered" if ok else ("failed" if done else "failing")
            payload["next_try"] = None if done else _later(delay)
            if hook is not None:
                hook["status"] = "success" if ok else ("failed" if done else "retrying")
        if done:
            return
        time.sleep(delay)
        delay *= 2


def _later(seconds: float) -> str:
    return clock.iso(clock.now() + seconds)


def resend(store, tenant: str, payload: dict) -> None:
    with store.lock:
        payload["status"] = "pending"
        payload["next_try"] = now_stamp()
    schedule(store, tenant, payload["id"])


def test_delivery(url: str, webhook: dict | None, user: dict | None) -> int | None:
    """A synchronous test payload (run in a worker thread by the handler)."""
    model = {
        "id": 0,
        "timestamp": int(clock.now()),
        "payload": {"id": 0, "name": "Test", "action": "create", "type": "client"},
    }
    body = dumps(model).encode()
    return post(url, body, headers_for(webhook or {}, body))
