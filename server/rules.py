"""Rules that last: which requests to steer (API, method, path, headers, query, body) and how
(a status in the vendor's format, a delay, a fault, a body in slow chunks), how often.

Rules apply to the vendor APIs only, never to the control API, which stays reachable to remove
them. The first active rule that matches a request, in the order they were added, applies.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from server.api import ApiError, respond, runtime
from server.operations import template_pattern

MAX_RULES = 100  # a ceiling, so rules created in a loop cannot grow the matching cost without end
MAX_DELAY_MS = 60_000


@dataclass(slots=True)
class Delay:
    """Milliseconds: fixed (low == high), uniform between low and high, or lognormal."""

    low: float = 0.0
    high: float = 0.0
    median: float | None = None
    sigma: float = 0.0

    @classmethod
    def parse(cls, value) -> Delay:
        """An integer (ms), "MIN-MAX", or {"median": ms, "sigma": s} (lognormal)."""
        if isinstance(value, dict):
            return cls(median=float(value["median"]), sigma=float(value["sigma"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(float(value), float(value))
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
        if not match:
            raise ValueError(f"{value!r} is not a delay: MS or MIN-MAX in milliseconds")
        low = float(match.group(1))
        return cls(low, float(match.group(2)) if match.group(2) else low)

    def seconds(self) -> float:
        if self.median is not None:
            ms = random.lognormvariate(math.log(self.median), self.sigma) if self.median > 0 else 0.0
        else:
            ms = random.uniform(self.low, self.high) if self.high != self.low else self.low
        return min(max(ms, 0.0), MAX_DELAY_MS) / 1000

    def describe(self) -> str:
        if self.median is not None:
            return f"lognormal median {self.median:g} ms sigma {self.sigma:g}"
        if self.low == self.high:
            return f"{self.low:g} ms"
        return f"{self.low:g}-{self.high:g} ms"


@dataclass(slots=True)
class Rule:
    id: int
    definition: dict  # as posted, echoed back when listed
    api: str | None = None
    method: str | None = None
    path: str | None = None
    operation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> glob
    query: dict[str, str] = field(default_factory=dict)
    body_contains: str | None = None
    status: int | None = None
    delay: Delay | None = None
    fault: str | None = None  # "drop" (connection reset) or "empty" (closed, nothing sent)
    chunks: tuple[int, float] | None = None  # (pieces, seconds between them)
    retry_after: int | None = None
    times: int | None = None
    probability: float = 1.0
    hits: int = 0
    created: float = field(default_factory=time.time)
    _template: re.Pattern | None = None

    @property
    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    @property
    def needs_operation(self) -> bool:
        return self.operation_id is not None

    def matches(self, request: RequestView) -> bool:
        """Everything but the body; `takes` decides probability and counts the hit."""
        if self.api is not None and request.api != self.api:
            return False
        if self.method is not None and request.method != self.method:
            return False
        if self.path is not None and not self._path_matches(request):
            return False
        if self.operation_id is not None and request.operation_id() != self.operation_id:
            return False
        for name, pattern in self.headers.items():
            value = request.headers().get(name)
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        for name, pattern in self.query.items():
            values = request.query().get(name)
            if not values or not any(fnmatch.fnmatchcase(v, pattern) for v in values):
                return False
        return True

    def _path_matches(self, request: RequestView) -> bool:
        if self._template is not None:
            return bool(
                self._template.fullmatch(request.relative_path) or self._template.fullmatch(request.path)
            )
        return fnmatch.fnmatchcase(request.relative_path, self.path) or fnmatch.fnmatchcase(
            request.path, self.path
        )

    def body_matches(self, body: bytes) -> bool:
        return self.body_contains is None or self.body_contains.encode() in body

    def takes(self) -> bool:
        """Whether this matching request is steered (probability), counting the hit if so."""
        if not self.active or (self.probability < 1.0 and random.random() >= self.probability):
            return False
        self.hits += 1
        return True

    def view(self) -> dict:
        return {
            **self.definition,
            "id": self.id,
            "hits": self.hits,
            "active": self.active,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
        }


class RequestView:
    """The parts of a request rules look at, each worked out only when a rule asks for it."""

    def __init__(self, scope: dict, api, prefix: str, operations) -> None:
        self.scope, self.api, self.method, self.path = scope, api.name, scope["method"], scope["path"]
        self.relative_path = self.path[len(prefix) :] or "/"
        self._operations = operations
        self._headers: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None

    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {}
            for name, value in self.scope["headers"]:
                self._headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        return self._headers

    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        return self._query

    def operation(self):
        return self._operations.find(self.method, self.path)

    def operation_id(self) -> str | None:
        found = self.operation()
        return found.operation_id if found else None


def build(rule_id: int, body: dict) -> Rule:
    """A rule from its posted definition (already valid against specs/admin.yaml's schema)."""
    match, act, limit = body.get("match") or {}, body.get("action") or {}, body.get("limit") or {}
    rule = Rule(rule_id, body)
    rule.api = match.get("api")
    rule.method = match["method"].upper() if match.get("method") else None
    rule.path = match.get("path")
    if rule.path is not None and "{" in rule.path:
        rule._template = template_pattern(rule.path)
    rule.operation_id = match.get("operation_id")
    rule.headers = {k.lower(): v for k, v in (match.get("headers") or {}).items()}
    rule.query = dict(match.get("query") or {})
    rule.body_contains = match.get("body_contains")
    rule.status = act.get("status")
    if "delay" in act:
        try:
            rule.delay = Delay.parse(act["delay"])
        except (ValueError, KeyError, TypeError) as e:
            raise ApiError("bad_request", f"action.delay: {e}") from None
    rule.fault = act.get("fault")
    if act.get("chunks"):
        rule.chunks = (int(act["chunks"]["count"]), act["chunks"]["interval_ms"] / 1000)
    rule.retry_after = act.get("retry_after")
    rule.times = limit.get("times")
    rule.probability = float(limit.get("probability", 1.0))
    if not any(k in act for k in ("status", "delay", "fault", "chunks")):
        raise ApiError("bad_request", "action: give at least one of status, delay, fault, chunks")
    return rule


# -- the control API ---------------------------------------------------------------------------


async def rules_list():
    book = runtime().steering
    return respond(200, {"rules": [r.view() for r in book.rules]})


async def rules_create(body):
    book = runtime().steering
    if len(book.rules) >= MAX_RULES:
        raise ApiError("conflict", f"At most {MAX_RULES} rules; delete some first")
    book.next_id += 1
    rule = build(book.next_id, dict(body or {}))
    book.add(rule)
    return respond(201, rule.view(), headers={"Location": f"/_standin/rules/{rule.id}"})


async def rules_clear():
    runtime().steering.remove(None)
    return respond(204)


async def rules_delete(id_):
    if not runtime().steering.remove(id_):
        raise ApiError("not_found", f"No rule {id_}")
    return respond(204)
