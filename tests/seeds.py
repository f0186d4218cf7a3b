"""The exchanges the vendor documentation shows, read from the seed files in ../shared/seeds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
_REQUEST = re.compile(r"^(GET|POST|PATCH|PUT|DELETE)\s+(/\S+)$")


@dataclass
class Exchange:
    method: str
    path: str
    body: object
    status: int | None
    response: object


def _json_block(lines: list[str], start: int) -> tuple[object, int]:
    depth, out = 0, []
    for i in range(start, len(lines)):
        out.append(lines[i])
        depth += lines[i].count("{") + lines[i].count("[") - lines[i].count("}") - lines[i].count("]")
        if depth == 0:
            return json.loads("\n".join(out)), i + 1
    raise ValueError(f"unterminated JSON at line {start}")


def exchanges(name: str) -> list[Exchange]:
    """Request line + optional body, then `Responses[NNN]` + optional body, in document order."""
    lines = [line.strip() for line in (SEEDS / name).read_text(encoding="utf-8").splitlines()]
    found: list[Exchange] = []
    current, in_response, i = None, False, 0
    while i < len(lines):
        line = lines[i]
        match = _REQUEST.match(line)
        if match and i + 1 < len(lines) and lines[i + 1] in ("Headers", ""):
            if lines[i + 1] == "" and (i + 2 >= len(lines) or lines[i + 2] != "Headers"):
                i += 1
                continue
            current = Exchange(match.group(1), match.group(2), None, None, None)
            found.append(current)
            in_response = False
        elif current and line.startswith("Responses"):
            in_response = True
            status = line[len("Responses") :]
            current.status = int(status) if status.isdigit() else None
        elif current and line == "Body" and i + 1 < len(lines) and lines[i + 1].startswith("{"):
            value, i = _json_block(lines, i + 1)
            if in_response:
                current.response = value
            else:
                current.body = value
            continue
        i += 1
    return found


def shape(value):
    """Keys, types and nesting; null stands for any type (the vendor's nullable fields)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v), sort_keys=True) for v in value})
    if value is None:
        return None
    return (
        "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
    )


def same_shape(expected, actual, where="$") -> list[str]:
    """Differences between a documented body and ours; an empty list when they agree."""
    if expected is None or actual is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        problems = [f"{where}.{k}: missing" for k in expected if k not in actual]
        problems += [f"{where}.{k}: not documented" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                problems += same_shape(expected[k], actual[k], f"{where}.{k}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array"]
        kinds = {json.dumps(shape(v), sort_keys=True): v for v in expected}
        problems = []
        for item in actual:
            candidates = [same_shape(e, item, f"{where}[]") for e in kinds.values()] or [[]]
            best = min(candidates, key=len)
            problems += best
        return problems
    if shape(expected) != shape(actual):
        return [f"{where}: expected {shape(expected)}, got {shape(actual)}"]
    return []
