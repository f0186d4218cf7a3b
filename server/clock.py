"""Standin's time: one `Clock` per running engine, which every time-dependent rule reads.

Token expiry, running timers, rate-limit windows, created/updated stamps and the kept answers all
ask the clock instead of the system, so a test can set, freeze or advance time through
`PUT /_standin/clock` and see every one of them follow (a refresh flow after a week, a timer's
duration after an hour) without waiting. Fixtures do not read it: seeded data is anchored on a
fixed day (`fixtures.TODAY`) and stays byte-identical whatever the clock says.
"""

from __future__ import annotations

import datetime as dt
import math
import time

from server import api


class Clock:
    """The system time, shifted by an offset, or frozen at one instant."""

    def __init__(self, source=time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._frozen: float | None = None

    def time(self) -> float:
        """Seconds since the epoch, as `time.time()` would answer in Standin's world."""
        frozen = self._frozen
        return frozen if frozen is not None else self._source() + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    def today(self) -> dt.date:
        return self.now().date()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def set(self, moment: float) -> None:
        if self._frozen is not None:
            self._frozen = moment
        else:
            self._offset = moment - self._source()

    def advance(self, seconds: float) -> None:
        self.set(self.time() + seconds)

    def freeze(self, frozen: bool) -> None:
        """Stop at the current instant, or run on from where it stopped."""
        if frozen and self._frozen is None:
            self._frozen = self.time()
        elif not frozen and self._frozen is not None:
            moment, self._frozen = self._frozen, None
            self.set(moment)

    def reset(self) -> None:
        """Back to the system time, running (what `POST /_standin/reset` restores)."""
        self._offset, self._frozen = 0.0, None

    def describe(self) -> dict:
        moment = self.time()
        return {
            "now": iso(moment),
            "frozen": self.frozen,
            "offset_seconds": round(moment - self._source(), 3),
        }


def iso(moment: float) -> str:
    """RFC 3339 in UTC with milliseconds, the form `GET /_standin/clock` answers."""
    when = dt.datetime.fromtimestamp(moment, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse(text: str) -> float:
    """An RFC 3339 / ISO 8601 instant as epoch seconds (no offset: UTC); ValueError otherwise."""
    when = dt.datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    moment = when.timestamp()
    if not math.isfinite(moment):
        raise ValueError(text)
    return moment


EARLIEST, LATEST = 0.0, 253402300799.0  # 1970-01-01, 9999-12-31T23:59:59Z
SYSTEM = Clock()  # outside any request (a fixture, a script): the plain system time


def clock() -> Clock:
    """The clock of the engine serving the current request (a webhook thread inherits it)."""
    try:
        return api.runtime().clock
    except LookupError:
        return SYSTEM


def now() -> float:
    return clock().time()


# -- operations of specs/admin.yaml ----------------------------------------------------------------
async def clock_get():
    return api.respond(200, api.runtime().clock.describe())


async def clock_put(body):
    """Set, then advance, then freeze or release: the fields apply in that order."""
    change = api.json_body(body)
    engine = api.runtime().clock
    target = engine.time()
    if change.get("now") is not None:
        try:
            target = parse(change["now"])
        except (ValueError, OverflowError, OSError):
            raise api.ApiError(
                "bad_request", f"now: {change['now']!r} is not an ISO 8601 date-time"
            ) from None
    target += change.get("advance") or 0
    if not EARLIEST <= target <= LATEST:  # every stamp must stay printable
        raise api.ApiError("bad_request", "the clock must stay between 1970-01-01 and 9999-12-31")
    if change.get("now") is not None or change.get("advance"):
        engine.set(target)
    if change.get("frozen") is not None:
        engine.freeze(change["frozen"])
    return api.respond(200, engine.describe())
