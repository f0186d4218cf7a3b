"""Per-client request budgets in fixed windows, as the vendors meter registered applications.

Whom a request is charged to (`client_key`): the application or user its credentials
authenticate (the vendor's `RatePolicy.key`, which checks them against the store), else the
client's address; so made-up credentials spend no real application's budget, and clients
without credentials do not share one budget. An `Authorization` header is credentials only in
RFC 7235's form, `scheme SP token68` (one space): any other is dropped before authentication
(`strict_authorization`), so it can neither authenticate nor be charged elsewhere. Windows idle
past their length are dropped, so distinct clients do not accumulate until a reset.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass

CREDENTIALS = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ [0-9A-Za-z._~+/-]+=*")
PRUNE_EVERY = 1024  # hits between sweeps of idle windows


def strict_authorization(scope) -> None:
    """Drop an `Authorization` header that is not `scheme SP token68` from the request."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if not CREDENTIALS.fullmatch(value):
                scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"authorization"]
            return


def client_key(policy, scope) -> str:
    """The rate-limit key of a request: its authenticated client, else its address."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    key = policy.key(headers)
    if key:
        return key
    client = scope.get("client")
    return f"address:{client[0]}" if client else "address:unknown"


@dataclass(slots=True)
class Budget:
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets; only meaningful when exhausted

    @property
    def exhausted(self) -> bool:
        return self.remaining < 0


class RateLimiter:
    """Counts requests per (api, client key) in windows of `window` seconds of `clock` (the
    engine's `Clock.time`: advancing Standin's time opens the next window)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple, list[float]] = {}  # key -> [window start, count, length]
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, key: tuple, limit: int, window: int) -> Budget:
        now = self._clock()
        with self._lock:
            start, count, _ = self._windows.get(key, (now, 0, window))
            if not 0 <= now - start < window:  # a new window, or the clock was set back
                start, count = now, 0
            count += 1
            self._windows[key] = [start, count, window]
            self._hits += 1
            if self._hits % PRUNE_EVERY == 0:
                self._prune(now)
        retry = max(1, math.ceil(start + window - now))
        return Budget(limit, limit - count, retry)

    def _prune(self, now: float) -> None:
        """Drop the windows that ended: their clients start afresh anyway."""
        ended = [k for k, (start, _, length) in self._windows.items() if not 0 <= now - start < length]
        for key in ended:
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
