"""Resource Guru's scheduling arithmetic: availability per day, time off, booked minutes, clashes.

Pure functions over stored records (no request context), shared by the booking handlers, the
reports and the fixtures. Week days are 0 = Sunday .. 6 = Saturday, as the vendor numbers them;
times are minutes after midnight; `valid_until` of a weekly period is exclusive.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator

ONE_DAY = dt.timedelta(days=1)
MAX_SPAN_DAYS = 366  # bookings and time off span at most this many days


def date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def each_day(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        if day == dt.date.max:
            return
        day += ONE_DAY


def week_day(day: dt.date) -> int:
    return day.isoweekday() % 7


def count_week_day(wd: int, first: dt.date, last: dt.date) -> int:
    """How many dates in [first, last] fall on week day `wd`."""
    if last < first:
        return 0
    try:
        start = first + dt.timedelta(days=(wd - week_day(first)) % 7)
    except OverflowError:
        return 0
    return 0 if start > last else (last - start).days // 7 + 1


def _valid(period: dict, iso: str) -> bool:
    return (period.get("valid_from") or "") <= iso and (
        not period.get("valid_until") or iso < period["valid_until"]
    )


def weekly_blocks(resource: dict, day: dt.date) -> list[tuple[int, int]]:
    iso, wd = day.isoformat(), week_day(day)
    return [
        (p["start_time"], p["end_time"])
        for p in resource.get("available_periods") or []
        if p["week_day"] == wd and _valid(p, iso)
    ]


def custom_days(resource: dict) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list] = defaultdict(list)
    for p in resource.get("custom_available_periods") or []:
        out[p["date"]].append((p["start_time"], p["end_time"]))
    return out


def blocks(resource: dict, day: dt.date, custom: dict | None = None) -> list[tuple[int, int]]:
    """Working blocks of one day: custom availability when set for the date, else the week's."""
    custom = custom_days(resource) if custom is None else custom
    iso = day.isoformat()
    if iso in custom:
        return [(s, e) for s, e in custom[iso] if e > s]
    return weekly_blocks(resource, day)


def overtime(resource: dict, iso: str) -> int:
    return sum(o["duration"] for o in resource.get("overtimes") or [] if o["date"] == iso)


def downtime_window(downtime: dict, iso: str) -> tuple[int, int] | None:
    """The part of one day a time off covers: its start time on the first day, end on the last."""
    if not downtime["from"] <= iso <= downtime["to"]:
        return None
    start = downtime["start_time"] if iso == downtime["from"] else 0
    end = downtime["end_time"] if iso == downtime["to"] else 1440
    return (start, end) if end > start else None


def _union(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def downtime_minutes(resource: dict, day: dt.date, downtimes: list[dict], custom=None) -> int:
    iso = day.isoformat()
    windows = [w for d in downtimes if (w := downtime_window(d, iso))]
    return _overlap(blocks(resource, day, custom), _union(windows)) if windows else 0


def capacity(resource: dict, day: dt.date, custom=None) -> int:
    """Working minutes of the day before time off: blocks plus recorded overtime."""
    return sum(e - s for s, e in blocks(resource, day, custom)) + overtime(resource, day.isoformat())


def free_minutes(resource: dict, day: dt.date, downtimes: list[dict], custom=None) -> int:
    return capacity(resource, day, custom) - downtime_minutes(resource, day, downtimes, custom)


def durations(resource: dict, start: str, end: str, duration: int, start_time) -> list[dict]:
    """One entry per day between start and end on which the resource works (skipping the rest)."""
    custom = custom_days(resource)
    end_time = min(start_time + duration, 1440) if start_time is not None else None
    return [
        {
            "date": day.isoformat(),
            "duration": duration,
            "start_time": start_time,
            "end_time": end_time,
            "waiting": False,
            "elastic_overtime": [],  # periods booked as overtime (clash_resolution book_with_overtime)
        }
        for day in each_day(date(start), date(end))
        if capacity(resource, day, custom) > 0
    ]


def counts(booking: dict) -> bool:
    """Whether a booking takes up its resource's time (declined ones do not)."""
    return (booking.get("approval_state") or {}).get("status") != "declined"


def booked_by_day(bookings: Iterable[dict], exclude: set[int] = frozenset()) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for b in bookings:
        if b["id"] in exclude or not counts(b):
            continue
        for d in b["durations"]:
            if not d.get("waiting"):
                out[d["date"]] += d["duration"]
    return out


def clashes(
    resource: dict, entries: list[dict], others: Iterable[dict], downtimes: list[dict]
) -> dict[str, int]:
    """date -> minutes by which the new entries exceed what is left of the resource's day."""
    custom = custom_days(resource)
    booked = booked_by_day(others)
    out = {}
    for entry in entries:
        day = date(entry["date"])
        left = free_minutes(resource, day, downtimes, custom) - booked.get(entry["date"], 0)
        if entry["duration"] > left:
            out[entry["date"]] = entry["duration"] - max(left, 0)
    return out


# -- range arithmetic for reports -------------------------------------------------------------
def weekly_minutes(resource: dict, first: dt.date, last: dt.date) -> int:
    total = 0
    for p in resource.get("available_periods") or []:
        lo = max(first, date(p["valid_from"])) if p.get("valid_from") else first
        hi = last
        if p.get("valid_until"):
            if p["valid_until"] <= "0001-01-01":
                continue
            hi = min(last, date(p["valid_until"]) - ONE_DAY)
        total += (p["end_time"] - p["start_time"]) * count_week_day(p["week_day"], lo, hi)
    return total


def downtime_by_day(
    resource: dict, first: dt.date, last: dt.date, downtimes: list[dict], custom=None
) -> dict[str, int]:
    """date -> minutes of working time lost to time off, within [first, last]."""
    custom = custom_days(resource) if custom is None else custom
    days: set[dt.date] = set()
    for d in downtimes:
        lo, hi = max(first, date(d["from"])), min(last, date(d["to"]))
        days.update(each_day(lo, hi))
    out = {}
    for day in days:
        minutes = downtime_minutes(resource, day, downtimes, custom)
        if minutes:
            out[day.isoformat()] = minutes
    return out


def available_minutes(resource: dict, first: dt.date, last: dt.date, custom=None) -> int:
    """Working minutes in [first, last] before time off: weekly pattern, custom days, overtime."""
    custom = custom_days(resource) if custom is None else custom
    total = weekly_minutes(resource, first, last)
    lo, hi = first.isoformat(), last.isoformat()
    for iso, spans in custom.items():
        if lo <= iso <= hi:
            weekly = sum(e - s for s, e in weekly_blocks(resource, date(iso)))
            total += sum(e - s for s, e in spans if e > s) - weekly
    total += sum(o["duration"] for o in resource.get("overtimes") or [] if lo <= o["date"] <= hi)
    return max(total, 0)
