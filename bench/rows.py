"""What is measured, per API name: the rows, and the lists that grow with `--scale`.

A row names the spec's own path template; `{id}` comes from the row, every other `{name}` from
the API's demo (`GET /_standin/apis`, any case), and `id="first"` is the first id the list returns.
POST/PATCH bodies are the spec's requestBody example, so a spec change is benched as written.
APIs that are not mounted are skipped; APIs without rows here are listed as such.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from bench.servers import fetch
from server.api import SPECS


@dataclass(frozen=True)
class Row:
    method: str
    template: str  # the path as the spec writes it
    id: str | None = None  # "first": the first record the list at the parent path returns
    body: dict | None = None  # instead of the spec's requestBody example
    query: str = ""  # appended to the path, e.g. a page size


ROWS = {
    "productive": [
        Row("GET", "/api/v2/widgets"),
        Row("GET", "/api/v2/widgets/{id}", "1"),
        Row("POST", "/api/v2/widgets"),
        Row("PATCH", "/api/v2/widgets/{id}", "1"),
    ],
    "resourceguru": [
        Row("GET", "/v1/{account}/bookings"),
        Row("GET", "/v1/{account}/bookings/{id}", "first"),
        Row("GET", "/v1/{account}/resources"),
        Row("GET", "/v1/{account}/resources/{id}", "first"),
    ],
    "ibuildapp": [
        Row("POST", "/api/{APP_CODE}/user/search"),
        Row("POST", "/api/{APP_CODE}/ts/create"),
    ],
}

# The collections `--scale` multiplies: their list is where 100,000 records would show. Each asks
# for one page, as a frontend paging through them would (Resource Guru's bookings and iBuildApp's
# searches have no default page size: unpaged they answer with every record), and a page the
# default store fills too, so that both sizes answer the same number of records.
SCALE_LISTS = {
    "productive": [Row("GET", "/api/v2/entitlements")],
    "resourceguru": [Row("GET", "/v1/{account}/bookings", query="limit=50")],
    "ibuildapp": [Row("POST", "/api/{APP_CODE}/user/search", body={"limit": 10})],
}


def list_rows(name: str) -> list[Row]:
    """The API's GET-list rows plus its growing collections (a search may be a POST)."""
    scaled = SCALE_LISTS.get(name, [])
    paged = {(r.method, r.template) for r in scaled}  # an unpaged twin would answer every record
    rows = [r for r in ROWS.get(name, []) if r.method == "GET" and "{id}" not in r.template]
    return [r for r in rows if (r.method, r.template) not in paged] + scaled


@dataclass
class Request:
    label: str
    method: str
    path: str  # relative to the API's root (Standin adds its prefix; Prism serves at the root)
    headers: dict
    body: bytes | None
    error: str = ""  # why the row cannot be sent (not in the spec, no demo value, no id)


def load_spec(name: str) -> dict:
    with open(SPECS / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def _deref(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        for part in node["$ref"].lstrip("#/").split("/"):
            spec = spec[part]
        node = spec
    return node


def _example(spec: dict, row: Row) -> tuple[str, dict | None]:
    """(media type, body): the row's own body, else the example of the operation's requestBody."""
    operation = spec.get("paths", {}).get(row.template, {}).get(row.method.lower())
    if operation is None:
        raise LookupError(f"{row.method} {row.template} is not in the spec")
    content = _deref(spec, operation.get("requestBody", {})).get("content", {})
    media = next(iter(content), "application/json")
    item = content.get(media, {})
    examples = [_deref(spec, e).get("value") for e in item.get("examples", {}).values()]
    if row.body is not None:
        return media, row.body
    return media, item.get("example", examples[0] if examples else None)


def prepare(name: str, row: Row, demo: dict, spec: dict, base: str) -> Request:
    """The concrete request; `base` (Standin's URL for the API) resolves `id="first"`."""
    label = f"{name} {row.method} {row.template}" + (f"?{row.query}" if row.query else "")
    headers = dict(demo.get("headers", {}))
    media, example = _example(spec, row)

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key == "id" and row.id is not None:
            return row.id
        value = demo.get(key, demo.get(key.lower()))  # iBuildApp's spec writes {APP_CODE}
        if value is None:
            raise LookupError(f"no `{key}` in the demo of {name}")
        return str(value)

    path = re.sub(r"\{(\w+)\}", fill, row.template)
    if row.id == "first":
        parent = path.rsplit("/", 1)[0]
        status, body = fetch("GET", base + parent, headers)
        if status != 200:
            raise LookupError(f"GET {parent} answered {status}, so no id to read")
        path = f"{parent}/{_first_id(json.loads(body))}"
    body = None
    if row.method not in ("POST", "PUT", "PATCH"):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    else:
        if example is None:
            raise LookupError("no requestBody example in the spec")
        body = json.dumps(example, separators=(",", ":")).encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = media
    if row.query:
        path += f"?{row.query}"
    return Request(label, row.method, path, headers, body)


def _first_id(document) -> str:
    """The first record's id of a bare array, or of a `data` array (JSON:API, iBuildApp)."""
    items = document if isinstance(document, list) else document.get("data") or []
    if not items:
        raise LookupError("the list is empty")
    return str(items[0]["id"])
