"""State you can keep: the store as a JSON document, checked whole before any of it is loaded.

`GET /_standin/state` exports every mounted API's records (or one API's, `?api=`), with the id
counters; `PUT /_standin/state` loads such a document, and `standin serve --state FILE` keeps
one on disk (`StateFile`). A document that does not check out changes nothing: it is refused
with the first problem found, named by its place in the document (`tenants.1308.widgets[3]: ...`).

The document: `{"format": "standin-state/1", "apis": [...], "seed": N, "saved_at": "...",
"tenants": {tenant: {table: [record, ...]}}, "ids": {table: last id}}`. Records are listed in id
order and keyed again by their `id` on loading, so a whole-store document round-trips exactly
(JSON keys are strings; the store's are ints). Which API a tenant belongs to, and the fields and
JSON types of each table's records, are learnt from the API's own fixtures (`_profile`), so a
record missing a field every seeded one has, or holding a string where they hold numbers, is
refused instead of surfacing later as a server error.
"""

from __future__ import annotations

import functools
import os
import pickle
import signal
import sys
import tempfile
import threading
from pathlib import Path

import orjson

from server import clock
from server.api import ApiError, json_body, respond, runtime
from server.store import Store

FORMAT = "standin-state/1"
SAVE_EVERY = 1.0  # seconds between two looks at the store's write generation


class StateError(ValueError):
    """A document that can't be loaded; the message names the problem and where it is."""


# -- what each API's fixtures make -------------------------------------------------------------
def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


@functools.lru_cache(maxsize=8)
def _profile(api: str, seed: int) -> tuple[frozenset, dict]:
    """The tenants one API's fixtures make, and per table the fields every seeded record has with
    the JSON kinds seen in each (nulls aside): seeded into a scratch store, once per seed."""
    from server import app as composition  # the one module that knows the fixtures

    scratch = Store()
    composition.fixtures.seed_all(scratch, seed, [api])
    tables, _ = scratch.contents()
    shapes: dict[str, tuple[frozenset, dict]] = {}
    for tenant_tables in tables.values():
        for name, rows in tenant_tables.items():
            for record in rows.values():
                kinds = {k: {_kind(v)} - {"null"} for k, v in record.items()}
                if name not in shapes:
                    shapes[name] = (frozenset(record), kinds)
                    continue
                required, seen = shapes[name]
                for key, found in kinds.items():
                    seen.setdefault(key, set()).update(found)
                shapes[name] = (required & frozenset(record), seen)
    return frozenset(tables), shapes


def _owner(runtime, tenant: str) -> str | None:
    for api in runtime.apis:
        if tenant in _profile(api.name, runtime.seed)[0]:
            return api.name
    return None


# -- export ------------------------------------------------------------------------------------
def export(runtime, api: str | None = None) -> bytes:
    """The state of every mounted API (or of one) as a JSON document."""
    names = [a.name for a in runtime.apis] if api is None else [api]
    with runtime.store.lock:
        tables, ids = runtime.store.contents()
        tenants = {
            tenant: {name: list(rows.values()) for name, rows in tenant_tables.items()}
            for tenant, tenant_tables in tables.items()
            if api is None or _owner(runtime, tenant) == api
        }
        if api is not None:
            named = {name for tenant_tables in tenants.values() for name in tenant_tables}
            every = {name for tenant_tables in tables.values() for name in tenant_tables}
            ids = {k: v for k, v in ids.items() if k in named or k not in every}
        document = {
            "format": FORMAT,
            "apis": names,
            "seed": runtime.seed,
            "saved_at": clock.iso(runtime.clock.time()),
            "tenants": tenants,
            "ids": ids,
        }
        return orjson.dumps(document)


# -- checking and loading ------------------------------------------------------------------------
def load(runtime, document) -> None:
    """Replace the state of the APIs the document names with its records, or refuse it whole."""
    tables, ids = _checked(runtime, document)
    store = runtime.store
    with store.lock:
        current, current_ids = store.contents()
        if set(document["apis"]) != {a.name for a in runtime.apis}:
            # one API's document: the other APIs' tenants stay; counters never go back
            named = set(document["apis"])
            kept = {t: v for t, v in current.items() if _owner(runtime, t) not in named}
            tables = {**kept, **tables}
            ids = {**current_ids, **{k: max(v, current_ids.get(k, 0)) for k, v in ids.items()}}
        store.replace(tables, ids)


def _checked(runtime, document) -> tuple[dict, dict]:
    """The store's tables and counters from a document, or StateError naming the first problem."""
    if not isinstance(document, dict):
        raise StateError("the document must be a JSON object (as GET /_standin/state answers)")
    if document.get("format") != FORMAT:
        raise StateError(f"format: must be {FORMAT!r} (as GET /_standin/state answers)")
    mounted = [a.name for a in runtime.apis]
    apis = document.get("apis")
    if not isinstance(apis, list) or not apis or not all(isinstance(a, str) for a in apis):
        raise StateError("apis: must be a non-empty list of API names")
    for name in apis:
        if name not in mounted:
            raise StateError(f"apis: {name!r} is not mounted here (mounted: {', '.join(mounted)})")
    ids = document.get("ids")
    if not isinstance(ids, dict):
        raise StateError("ids: must be an object of table name -> last id issued")
    for name, last in ids.items():
        if type(last) is not int or last < 0:
            raise StateError(f"ids.{name}: must be a whole number, 0 or more")
    tenants = document.get("tenants")
    if not isinstance(tenants, dict):
        raise StateError("tenants: must be an object of tenant -> table -> list of records")
    whole = set(apis) == set(mounted)
    tables = {}
    for tenant, tenant_tables in tenants.items():
        owner = _owner(runtime, tenant)
        if not whole and owner not in apis:
            raise StateError(f"tenants.{tenant}: not a tenant of {', '.join(apis)}")
        if not isinstance(tenant_tables, dict):
            raise StateError(f"tenants.{tenant}: must be an object of table -> list of records")
        shapes = _profile(owner, runtime.seed)[1] if owner else {}
        tables[tenant] = {
            name: _rows(f"tenants.{tenant}.{name}", rows, shapes.get(name), ids.get(name, 0))
            for name, rows in tenant_tables.items()
        }
    return tables, dict(ids)


def _rows(where: str, rows, shape, last_id: int) -> dict[int, dict]:
    if not isinstance(rows, list):
        raise StateError(f"{where}: must be a list of records")
    table: dict[int, dict] = {}
    for i, record in enumerate(rows):
        at = f"{where}[{i}]"
        if not isinstance(record, dict):
            raise StateError(f"{at}: must be an object")
        record_id = record.get("id")
        if type(record_id) is not int:
            raise StateError(f"{at}.id: must be an integer")
        if record_id in table:
            raise StateError(f"{at}.id: {record_id} appears twice")
        if record_id > last_id:
            raise StateError(f"{at}.id: {record_id} is above the table's counter in ids ({last_id})")
        if shape is not None:
            _check_shape(at, record, shape)
        table[record_id] = record
    return dict(sorted(table.items()))  # tables iterate in id order (server/store.py)


def _check_shape(at: str, record: dict, shape: tuple[frozenset, dict]) -> None:
    required, kinds = shape
    missing = sorted(required - record.keys())
    if missing:
        raise StateError(f"{at}: lacks {', '.join(missing)} (every seeded record has it)")
    for key, value in record.items():
        expected = kinds.get(key)
        if value is not None and expected and _kind(value) not in expected:
            raise StateError(
                f"{at}.{key}: a {_kind(value)}, where records hold a {' or '.join(sorted(expected))}"
            )


# -- sessions across a reset --------------------------------------------------------------------
def sessions(runtime) -> bytes:
    """The tables where the mounted APIs keep logged-in sessions and tokens, with the counters."""
    with runtime.store.lock:
        tables, ids = runtime.store.contents()
        kept = {
            (tenant, name): tables.get(tenant, {}).get(name, {})
            for api in runtime.apis
            for tenant, name in api.sessions
        }
        return pickle.dumps((kept, ids), protocol=pickle.HIGHEST_PROTOCOL)


def restore_sessions(runtime, kept: bytes) -> None:
    """Put sessions taken by `sessions` back after a reset. Id counters never go back, so no
    kept token's id (nor the number in an iBuildApp token) is issued again."""
    kept_tables, kept_ids = pickle.loads(kept)  # noqa: S301 (made by `sessions` above)
    store = runtime.store
    with store.lock:
        for (tenant, name), rows in kept_tables.items():
            for record in rows.values():
                store.insert(tenant, name, record)  # by its own id: a seeded one is replaced
        ids = store.contents()[1]
        for name, last in kept_ids.items():
            ids[name] = max(ids.get(name, 0), last)


# -- the state file ----------------------------------------------------------------------------
class StateFile:
    """`standin serve --state FILE`: loaded at start when it exists, saved atomically (a
    temporary file renamed over it) within SAVE_EVERY of a write and at shutdown."""

    def __init__(self, runtime, path: str | os.PathLike) -> None:
        self.runtime, self.path = runtime, Path(path)
        self._saved = -1  # the store generation the file holds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(cls, runtime, path) -> StateFile:
        """The state file of `standin serve --state`, loaded if it exists and being kept."""
        state = cls(runtime, path)
        if not state.load():
            try:  # a path that can't be written is said at start, not at the first save
                state.save()
            except OSError as e:
                raise StateError(f"{state.path}: cannot be written ({e.strerror or e})") from None
        state.start()
        return state

    def load(self) -> bool:
        """Load the file if there is one; StateError (nothing loaded) if it can't be used."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StateError(f"{self.path}: cannot be read ({e.strerror or e})") from None
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise StateError(f"{self.path}: not a whole JSON document (truncated or corrupt?): {e}") from None
        try:
            load(self.runtime, document)
        except StateError as e:
            raise StateError(f"{self.path}: {e}") from None
        self._saved = self.runtime.store.generation
        return True

    def save(self) -> None:
        store = self.runtime.store
        with store.lock:
            body = export(self.runtime)
            generation = store.generation + 1  # leaving the lock counts as one more write
        directory = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._saved = generation

    def start(self) -> None:
        """Save within SAVE_EVERY after writes; a SIGTERM unwinds through `close` (uvicorn shuts
        down, then raises the signal again: its default action would end the process unsaved)."""
        signal.signal(signal.SIGTERM, _exit_on_signal)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # Ctrl-C: no traceback
            signal.signal(signal.SIGINT, _exit_on_signal)
        self._thread = threading.Thread(target=self._watch, name="standin-state", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(SAVE_EVERY):
            if self.runtime.store.generation != self._saved:
                try:
                    self.save()
                except OSError as e:
                    print(f"standin: could not save {self.path}: {e}", file=sys.stderr)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.save()


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


# -- operations of specs/admin.yaml ----------------------------------------------------------------
async def state_get(api: str | None = None):
    rt = runtime()
    if api is not None and api not in {a.name for a in rt.apis}:
        raise ApiError("not_found", f"No API named {api!r} is mounted")
    return respond(200, export(rt, api))


async def state_put(body):
    rt = runtime()
    try:
        load(rt, json_body(body))
    except StateError as e:
        raise ApiError("bad_request", str(e)) from None
    return respond(200, {"status": "loaded", "records": rt.store.count()})
