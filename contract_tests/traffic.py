"""The contract run's own manners on the wire, inside the schemathesis process: it keeps to the
vendor's documented rate limit, waits out a 429 as its Retry-After says, and logs in again once
when its credentials stop working mid-run.

Installed on requests' HTTPAdapter (every request schemathesis sends, checks included, goes
through it) only when `standin contract` sets STANDIN_TRAFFIC; the pytest suite never does.
Settings (JSON): {"rate": [requests, seconds] | null, "credentials": {header: value},
"relogin": {"api", "base", "env"} | null}.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque

import schemathesis
from schemathesis.generation import GenerationMode

# What the runner reports: requests sent, 429s waited out, seconds spent waiting, re-logins.
STATS: dict = {"requests": 0, "rate_limited": 0, "waited": 0.0, "relogin": None}
RETRIES = 5  # 429s in a row before the answer is left to the checks
GIVE_UP = 3  # requests still refused after all retries: the server limits everything, stop waiting


class Throttle:
    """At most `requests` sends in any `seconds`: then no fixed window of the vendor's can overflow."""

    def __init__(self, requests: int, seconds: float) -> None:
        self.requests, self.seconds = requests, seconds
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            if len(self.sent) >= self.requests:
                pause = self.sent[0] + self.seconds + 0.05 - now
                if pause > 0:
                    STATS["waited"] += pause
                    time.sleep(pause)
                self.sent.popleft()
            self.sent.append(time.monotonic())


def retry_after(response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), 120.0)
    except ValueError:
        return 1.0


class Manners:
    def __init__(self, settings: dict) -> None:
        rate = settings.get("rate")
        self.throttle = Throttle(*rate) if rate else None
        self.credentials: dict[str, str] = settings.get("credentials") or {}
        self.swap: dict[str, tuple[str, str]] = {}  # header -> (dead value, fresh value)
        self.login = settings.get("relogin")
        self.patient, self.refusals = True, 0
        self.tenant = json.loads(os.environ.get("STANDIN_PATH_PARAMETERS", "{}"))

    def send(self, original, adapter, request, **kwargs):
        for name, (dead, fresh) in self.swap.items():
            if request.headers.get(name) == dead:
                request.headers[name] = fresh
        for _ in range(RETRIES + 1 if self.patient else 1):
            if self.throttle:
                self.throttle.wait()
            STATS["requests"] += 1
            response = original(adapter, request, **kwargs)
            if response.status_code != 429 or not response.headers.get("Retry-After"):
                return response
            STATS["rate_limited"] += 1
            if self.patient:
                pause = retry_after(response)
                STATS["waited"] += pause
                time.sleep(pause)
        self.refusals += 1
        if self.refusals >= GIVE_UP and self.patient:
            self.patient = False  # a server that refuses everything: its 429s go to the checks
            STATS["gave_up_waiting"] = True
        return response

    def refused(self, label: str, sent_headers) -> None:
        """A 401 to a request that carried the run's credentials: log in again, once."""
        if STATS["relogin"] is not None or not self.credentials:
            return
        if any(sent_headers.get(k) != v for k, v in self.credentials.items()):
            return  # a request sent without (or with altered) credentials on purpose
        STATS["relogin"] = {"after": label, "ok": False}
        if not self.login:
            return
        from contract_tests.auth import AuthError, login

        try:
            fresh = login(self.login["api"], self.login["base"], self.login["env"])
        except (AuthError, OSError) as e:
            STATS["relogin"]["error"] = str(e)[:200]
            return
        self.swap = {k: (v, fresh[k]) for k, v in self.credentials.items() if fresh.get(k, v) != v}
        STATS["relogin"]["ok"] = True


MANNERS: Manners | None = None


def install() -> None:
    global MANNERS
    settings = os.environ.get("STANDIN_TRAFFIC")
    if not settings or MANNERS is not None:
        return
    from requests.adapters import HTTPAdapter

    MANNERS = Manners(json.loads(settings))
    original = HTTPAdapter.send

    def send(adapter, request, **kwargs):
        return MANNERS.send(original, adapter, request, **kwargs)

    HTTPAdapter.send = send


@schemathesis.hook
def after_call(ctx, case, response) -> None:
    """An unexpected 401 (an operation that needs credentials refused the run's own) starts a re-login."""
    if MANNERS is None or response.status_code != 401:
        return
    if case.operation.definition.raw.get("security") == []:
        return  # a login or token request refused for what its body says
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return  # a deliberately broken request may well be refused
    pinned = MANNERS.tenant
    if any(str((case.path_parameters or {}).get(k, v)) != str(v) for k, v in pinned.items()):
        return  # another tenant than the run's (iBuildApp answers an unknown app code with 401)
    request = response.request
    body = (
        request.body.decode("utf-8", "replace")
        if isinstance(request.body, bytes)
        else str(request.body or "")
    )
    MANNERS.refused(f"{request.method} {request.url} {body[:200]}", request.headers)
