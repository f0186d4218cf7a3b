"""The exchanges the vendor documentation shows, and how an answer is compared with one.

The exchanges are data in tests/data/ (one JSON file per seed, each exchange with the seed line
it was read from), written by tests/data/extract.py from the seed files, so the tests run in a
clone without ../shared beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# The seed files themselves, for tests/data/extract.py only: no test reads them at run time.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@dataclass
class Exchange:
    method: str
    path: str
    body: object
    status: int | None
    response: object
    line: int = 0
    headers: dict = field(default_factory=dict)
    operation: str | None = None  # Resource Guru: the seed lost paths, samples are tied to operationIds
    request_line: int | None = None
    error: bool = False  # Resource Guru: the sample is an error body of an unstated status
    dropped_keys_at: list[str] = field(default_factory=list)  # objects the scrape lost a key from


def exchanges(name: str) -> list[Exchange]:
    """Every documented exchange of seed `name` (e.g. "000_9bcbfb234c7390af.txt"), in document order."""
    document = json.loads((DATA / (Path(name).stem + ".json")).read_text(encoding="utf-8"))
    assert document["seed"] == name, (document["seed"], name)
    known = Exchange.__dataclass_fields__
    return [Exchange(**{k: v for k, v in x.items() if k in known}) for x in document["exchanges"]]


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
