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
    """Keys, types and nesting; int, float, str and bool apart; null stands for any type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v), sort_keys=True) for v in value})
    if value is None:
        return None
    return type(value).__name__


def same_shape(expected, actual, where="$") -> list[str]:
    """Differences between a documented body and ours; an empty list when they agree.

    Strict at every depth: every object has exactly the documented keys (one missing or one
    more is a difference), and every value the documented JSON type (int, float, str, bool,
    object, array: int and float apart). null matches anything (the vendor's nullable fields).
    What the documentation itself shows varying is not a difference:
    - the items of an array are compared with all its documented items together: a key that
      some documented item lacks may be absent (PHP leaves unset fields out), and a key no
      documented item has is a difference; a value may have the type of any of them
      (JSON:API resources are compared only with documented items of the same `type`);
    - an object keyed by ids (every key all digits: PHP's id-keyed maps) holds data, not
      keys: its values are compared like array items, and `[]` stands for an empty one
      (PHP's json_encode of an empty array).
    """
    return _compare([expected], actual, where)


def _kind(value) -> str:
    if isinstance(value, dict):
        return "map" if _id_keyed(value) else "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _compare(docs: list, actual, where: str) -> list[str]:
    docs = [d for d in docs if d is not None]
    if not docs or actual is None:
        return []
    if any(_kind(d) == "map" for d in docs) and actual == []:
        return []  # an empty id-keyed map
    same = [d for d in docs if _kind(d) == _kind(actual)]
    if _kind(actual) == "map" and not same and docs == [[]] * len(docs):
        return []  # documented as an empty map
    if not same:
        kinds = " or ".join(sorted({_kind(d) for d in docs}))
        return [f"{where}: expected {kinds}, got {_kind(actual)}"]
    if isinstance(actual, list):
        items = [item for d in same for item in d]
        problems = [p for item in actual for p in _compare(items, item, f"{where}[]")]
        return sorted(set(problems), key=problems.index)
    if _kind(actual) == "map":
        values = [v for d in same for v in d.values()]
        problems = [p for v in actual.values() for p in _compare(values, v, f"{where}.<id>")]
        return sorted(set(problems), key=problems.index)
    if isinstance(actual, dict):
        if isinstance(actual.get("type"), str):
            same = [d for d in same if d.get("type") == actual["type"]] or same
        required = set.intersection(*(set(d) for d in same))
        known = {k for d in same for k in d}
        problems = [f"{where}.{k}: missing" for k in sorted(required - set(actual))]
        problems += [f"{where}.{k}: not documented" for k in actual if k not in known]
        for k in actual:
            if k in known:
                problems += _compare([d[k] for d in same if k in d], actual[k], f"{where}.{k}")
        return problems
    return []


def _id_keyed(value) -> bool:
    """An object whose keys are all record ids (PHP's id-keyed map), not field names."""
    return isinstance(value, dict) and bool(value) and all(k.isdigit() for k in value)
