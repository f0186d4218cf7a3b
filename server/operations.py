"""Which spec operation a request is for, and what that operation documents (statuses, examples).

Built from the specs on first use, only by what reads it: `Prefer`, rules and the journal's
queries. The engine's own routing is connexion's; this index answers the same question for
tools that stand beside it, without adding anything to a request that uses none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@dataclass(frozen=True, slots=True)
class Operation:
    api: str
    method: str  # upper case
    template: str  # the spec's path, without the API's prefix
    operation_id: str
    responses: dict  # status ("200", "4XX", "default") -> response object, references resolved
    cacheable: bool

    def documents(self, status: int) -> bool:
        code = str(status)
        return code in self.responses or f"{code[0]}XX" in self.responses or "default" in self.responses

    @property
    def statuses(self) -> list[str]:
        return sorted(self.responses)

    def examples(self, status: int | None = None) -> dict[str, tuple[int, str, object]]:
        """Named examples: name -> (status, media type, value), of one status or of all."""
        found: dict[str, tuple[int, str, object]] = {}
        for code, response in self.responses.items():
            if not code.isdigit() or (status is not None and int(code) != status):
                continue
            for media, content in (response.get("content") or {}).items():
                for name, example in (content.get("examples") or {}).items():
                    if isinstance(example, dict) and "value" in example:
                        found.setdefault(name, (int(code), media, example["value"]))
        return found


def resolve(spec: dict, node):
    """A local `$ref` followed (repeatedly) to its target."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


def operations_of(api: str, spec: dict) -> list[Operation]:
    out = []
    for template, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            responses = {}
            for code, response in (op.get("responses") or {}).items():
                response = dict(resolve(spec, response))
                content = {}
                for media, body in (response.get("content") or {}).items():
                    body = dict(body)
                    body["examples"] = {k: resolve(spec, v) for k, v in (body.get("examples") or {}).items()}
                    content[media] = body
                response["content"] = content
                responses[str(code)] = response
            out.append(
                Operation(
                    api,
                    method.upper(),
                    template,
                    op.get("operationId", ""),
                    responses,
                    bool(op.get("x-standin-cacheable")),
                )
            )
    return out


def template_pattern(template: str) -> re.Pattern:
    """A spec path as a regular expression: each `{name}` is one non-empty segment."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "/?")


class OperationIndex:
    """method + request path -> Operation, for every mounted API under its prefix."""

    KEPT = 4096

    def __init__(self, specs: dict[str, dict], prefixes: dict[str, str]) -> None:
        rows = []
        for api, spec in specs.items():
            prefix = prefixes.get(api, "")
            for op in operations_of(api, spec):
                pattern = re.compile(re.escape(prefix) + template_pattern(op.template).pattern)
                rows.append((op.template.count("{"), len(prefix) == 0, pattern, op))
        # Literal segments win over parameters (`/timesheets/submit` before `/timesheets/{id}`),
        # and an API under a prefix before one served at the root.
        rows.sort(key=lambda r: (r[1], r[0]))
        self._rows = [(pattern, op) for _, _, pattern, op in rows]
        self._kept: dict[tuple[str, str], Operation | None] = {}
        self.by_id = {(op.api, op.operation_id): op for _, op in self._rows}

    def find(self, method: str, path: str) -> Operation | None:
        key = (method, path)
        if key in self._kept:
            return self._kept[key]
        found = None
        for pattern, op in self._rows:
            if op.method == method and pattern.fullmatch(path):
                found = op
                break
        if len(self._kept) >= self.KEPT:
            self._kept.clear()
        self._kept[key] = found
        return found
