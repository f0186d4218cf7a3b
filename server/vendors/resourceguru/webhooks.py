"""Webhook payloads: queued per subscribed webhook, delivered off the request path, retried with backoff.

Each event becomes one payload record per subscribed (unpaused) webhook, in the account's
`webhook_payloads` table, and a daemon thread posts it: `User-Agent: ResourceGuru/Webhooks`,
`X-ResourceGuru-Key` (when a secret is set and `send_secret_header`), and
`X-ResourceGuru-Signature` = hex HMAC-SHA256 of the body with the secret (seed 003).
A failing payload is retried MAX_ATTEMPTS times with doubling delays, visible in the queue.

Bounded: every attempt goes through one pool of WORKERS threads fed by a time-ordered queue
(a retry waits in the queue, not in a thread), each attempt with a TIMEOUT per socket operation.
A delivery or test never targets the address Standin itself listens on (a hook would otherwise
let a tenant drive the control API), and a test that cannot reach its URL answers after the same
TIMEOUT whatever the reason (closed, filtered, refused), as the vendor documents only "a 500 if
there are problems connecting".
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import heapq
import hmac
import http.client
import ipaddress
import itertools
import os
import socket
import threading
import time
from urllib.parse import urlparse

from server import api, clock
from server.api import dumps

MAX_ATTEMPTS = 5
FIRST_DELAY = 0.5  # seconds; doubled after every failed attempt
TIMEOUT = 3.0  # seconds per connect or read of one attempt
WORKERS = 4  # attempts in flight at once, whatever the number of hooks and events
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
    if not deliverable(url) or targets_standin(url):
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


def targets_standin(url: str) -> bool:
    """Whether the URL reaches the address this Standin listens on (its port on this machine)."""
    try:
        server = api.request().scope.get("server")
    except LookupError:  # outside a request (a script): no listener of ours to protect
        return False
    if not server or server[1] is None:
        return False
    parts = urlparse(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if port != int(server[1]):
            return False
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return False
    return any(_on_this_machine(entry[4][0]) for entry in found)


@functools.lru_cache(maxsize=256)
def _on_this_machine(address: str) -> bool:
    """Loopback, unspecified, or an address of one of this machine's interfaces (bindable)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_loopback or ip.is_unspecified:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False


class DeliveryPool:
    """WORKERS threads, started as needed, taking attempts from one queue ordered by due time.

    A job is a callable that makes one attempt and returns the delay before the next, or None."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._due: list[tuple[float, int, object]] = []
        self._ready = threading.Condition()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []

    def submit(self, job, delay: float = 0.0) -> None:
        with self._ready:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), job))
            if len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, name="standin-webhooks", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._ready.notify()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._ready.wait(self._due[0][0] - time.monotonic() if self._due else None)
                job = heapq.heappop(self._due)[2]
            try:
                again = job()
            except Exception:  # a delivery never takes a worker down
                again = None
            if again is not None:
                self.submit(job, again)


POOL = DeliveryPool(WORKERS)


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
    # in the request's context: stamps follow the engine's clock (server.clock), and the
    # address Standin listens on is known (targets_standin)
    context = contextvars.copy_context()
    POOL.submit(functools.partial(context.run, _attempt, store, tenant, payload_id))


def _attempt(store, tenant: str, payload_id: int) -> float | None:
    """One attempt at a payload; the delay before the next, or None when it is done."""
    with store.lock:
        payload = store.get(tenant, "webhook_payloads", payload_id)
        hook = payload and store.get(tenant, "webhooks", payload["webhook_id"])
        if payload is None or hook is None or payload["status"] in ("delivered", "failed"):
            return None
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
            return None
        payload["attempts"] += 1
        delay = FIRST_DELAY * 2 ** (payload["attempts"] - 1)
        payload["last_sent_on"] = now_stamp()
        payload["request_headers"] = headers
        payload["response_from_http_client"] = status
        done = ok or payload["attempts"] >= MAX_ATTEMPTS
        payload["status"] = "delivered" if ok else ("failed" if done else "failing")
        payload["next_try"] = None if done else _later(delay)
        if hook is not None:
            hook["status"] = "success" if ok else ("failed" if done else "retrying")
    return None if done else delay


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
    started = time.monotonic()
    status = post(url, body, headers_for(webhook or {}, body))
    if status is None and deliverable(url):  # closed, filtered or ours: all answer alike
        time.sleep(max(0.0, started + TIMEOUT - time.monotonic()))
    return status
