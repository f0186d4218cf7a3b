"""State you can keep: the store as a JSON document, checked whole before any of it is loaded.

`GET /_standin/state` exports every mounted API's records (or one API's, `?api=`), with the id
counters; `PUT /_standin/state` loads such a document, and `standin serve --state FILE` keeps
one on disk (`StateFile`). A document that does not check out changes nothing: it is refused
with the first problem found, named by its place in the document
(`tenants.productive.1308.widgets[3]: ...`).

The document: `{"format": "standin-state/2", "apis": [...], "seed": N, "saved_at": "...",
"tenants": {api: {tenant: {table: [record, ...]}}}, "ids": {api: {table: last id}}}`: each API
owns its store (server/store.py), so tenants and id sequences are per API. Records are listed in
id order and keyed again by their `id` on loading, so a whole-store document round-trips exactly
(JSON keys are strings; the store's are ints). The fields and JSON types of each table's records
are learnt from the API's own fixtures (`_profile`), so a record missing a field every seeded one
has, or holding a string where they hold numbers, is refused instead of surfacing later as a
server error.
"""

from __future__ import annotations

import functools
import os
import pickle
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

import orjson

from server import clock
from server.api import ApiError, json_body, respond, runtime
from server.store import Store

FORMAT = "standin-state/2"
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
def _profile(api: str, seed: int) -> dict:
    """Per table of one API, the fields every seeded record has with the JSON kinds seen in each
    (nulls aside): its fixtures seeded into a scratch store, once per seed."""
    from server import app as composition  # the one module that knows the fixtures

    scratch = Store(api)
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
    return shapes


def _locked(runtime) -> ExitStack:
    """Every API's store lock at once: a document is one moment of the whole state."""
    stack = ExitStack()
    for store in runtime.stores.values():
        stack.enter_context(store.lock)
    return stack


def generation(runtime) -> int:
    """Grows with every write to any API's store."""
    return sum(store.generation for store in runtime.stores.values())


# -- export ------------------------------------------------------------------------------------
def export(runtime, api: str | None = None) -> bytes:
    """The state of every mounted API (or of one) as a JSON document."""
    names = [a.name for a in runtime.apis] if api is None else [api]
    tenants, ids = {}, {}
    with _locked(runtime):
        for name in names:
            tables, counters = runtime.stores[name].contents()
            tenants[name] = {
                tenant: {table: list(rows.values()) for table, rows in tenant_tables.items()}
                for tenant, tenant_tables in tables.items()
            }
            ids[name] = dict(counters)
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
    """Replace the state of the APIs the document names with its records, or refuse it whole;
    the other APIs' stores are left as they are."""
    checked = _checked(runtime, document)
    with _locked(runtime):
        for name, (tables, ids) in checked.items():
            runtime.stores[name].replace(tables, ids)


def _checked(runtime, document) -> dict[str, tuple[dict, dict]]:
    """Per API named, its tables and counters from a document, or StateError naming the first
    problem."""
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
    for key in ("tenants", "ids"):
        section = document.get(key)
        if not isinstance(section, dict) or set(section) != set(apis):
            raise StateError(f"{key}: must be an object with one entry per API of apis")
    return {
        api: _checked_api(api, document["tenants"][api], document["ids"][api], runtime.seed) for api in apis
    }


def _checked_api(api: str, tenants, ids, seed: int) -> tuple[dict, dict]:
    if not isinstance(ids, dict):
        raise StateError(f"ids.{api}: must be an object of table name -> last id issued")
    for name, last in ids.items():
        if type(last) is not int or last < 0:
            raise StateError(f"ids.{api}.{name}: must be a whole number, 0 or more")
    if not isinstance(tenants, dict):
        raise StateError(f"tenants.{api}: must be an object of tenant -> table -> list of records")
    shapes = _profile(api, seed)
    tables = {}
    for tenant, tenant_tables in tenants.items():
        where = f"tenants.{api}.{tenant}"
        if not isinstance(tenant_tables, dict):
            raise StateError(f"{where}: must be an object of table -> list of records")
        tables[tenant] = {
            name: _rows(f"{where}.{name}", rows, shapes.get(name), ids.get(name, 0))
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
    kept = {}
    with _locked(runtime):
        for api in runtime.apis:
            tables, ids = runtime.stores[api.name].contents()
            rows = {(tenant, name): tables.get(tenant, {}).get(name, {}) for tenant, name in api.sessions}
            kept[api.name] = (rows, ids)
        return pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)


def restore_sessions(runtime, kept: bytes) -> None:
    """Put sessions taken by `sessions` back after a reset. Id counters never go back, so no
    kept token's id (nor the number in an iBuildApp token) is issued again."""
    for api, (kept_tables, kept_ids) in pickle.loads(kept).items():  # noqa: S301 (made by `sessions`)
        store = runtime.stores[api]
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
        self._saved = generation(self.runtime)
        return True

    def save(self) -> None:
        with _locked(self.runtime):
            body = export(self.runtime)
            # leaving each lock counts as one more write
            saved = generation(self.runtime) + len(self.runtime.stores)
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
        self._saved = saved

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
            if generation(self.runtime) != self._saved:
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
    return respond(200, {"status": "loaded", "records": rt.count()})
