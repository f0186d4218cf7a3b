"""Per-client request budgets in fixed windows, as the vendors meter registered applications."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


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
        self._windows: dict[tuple, list[float]] = {}  # key -> [window start, count]
        self._lock = threading.Lock()

    def hit(self, key: tuple, limit: int, window: int) -> Budget:
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if not 0 <= now - start < window:  # a new window, or the clock was set back
                start, count = now, 0
            count += 1
            self._windows[key] = [start, count]
        retry = max(1, math.ceil(start + window - now))
        return Budget(limit, limit - count, retry)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
