"""What a contract run reads from an API's spec before it starts: which operations only read,
which end the caller's session, the vendor's documented rate limit, the declared links, and the
statuses each operation documents as success.

The spec says it (not the runner) so that the server, the runner and a reader of the spec agree:
`x-standin-reads` marks a POST that changes nothing (the server keeps its answers like a GET's),
`x-standin-ends-session` an operation after which the caller's credentials may be dead, and the
top-level `x-rate-limit` the vendor's documented budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import yaml

from server.api import SPECS

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    label: str  # schemathesis's name for it: "GET /api/v2/widgets/{id}"
    operation_id: str | None
    reads: bool  # safe to send to a deployment that must not change
    ends_session: bool
    successes: frozenset[str] = field(default_factory=frozenset)  # "200", "2XX"

    def is_success(self, status: int) -> bool:
        return str(status) in self.successes or f"{str(status)[0]}XX" in self.successes


@dataclass(frozen=True)
class RateLimit:
    requests: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.seconds} s"


@cache
def load(api: str) -> dict:
    with open(SPECS / f"{api}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def operations(spec: dict) -> list[Operation]:
    found = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            successes = frozenset(str(s).upper() for s in op.get("responses", {}) if str(s).startswith("2"))
            found.append(
                Operation(
                    label=f"{method.upper()} {path}",
                    operation_id=op.get("operationId"),
                    reads=method in ("get", "head") or bool(op.get("x-standin-reads")),
                    ends_session=bool(op.get("x-standin-ends-session")),
                    successes=successes,
                )
            )
    return found


def rate_limit(spec: dict) -> RateLimit | None:
    """The vendor's documented limit (`x-rate-limit: {requests: 200, seconds: 60}`), if any."""
    declared = spec.get("x-rate-limit")
    return RateLimit(int(declared["requests"]), int(declared["seconds"])) if declared else None


def links(spec: dict, selected: set[str]) -> list[str]:
    """Declared links between selected operations, named as schemathesis names a transition:
    "SOURCE -> [status] name -> TARGET"."""
    by_id = {op.operation_id: op.label for op in operations(spec) if op.operation_id}
    found = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            source = f"{method.upper()} {path}"
            for status, response in op.get("responses", {}).items():
                for name, link in (response.get("links") or {}).items() if isinstance(response, dict) else ():
                    target = by_id.get(link.get("operationId"))
                    if source in selected and target in selected:
                        found.append(f"{source} -> [{status}] {name} -> {target}")
    return found
