"""In-memory state of one API: canonical records per tenant and table, id sequences, one lock,
snapshot and restore.

Each mounted API owns one `Store` (its namespace): its ids and answers do not depend on which
other APIs are mounted beside it. Records are plain snake_case dicts with an integer `id` and
`<type>_id` foreign keys. Handlers mutate only under `store.lock` and validate before they write,
so a refused request changes nothing.

The interface is small on purpose, so that a shared backend (Redis, issue 19) can implement it
per API namespace: reads `get`, `table`, `find`, `first_with`, `index`, `ordered`, `derived`;
writes `insert`, `update`, `delete`, `next_id` inside `lock`; lifecycle `snapshot`, `restore`,
`clear`, `contents`, `replace`, `count`. Id sequences are per table of the namespace (one
counter key per table); a tenant is a key prefix inside it.
"""

from __future__ import annotations

import itertools
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

NO_ROWS: Mapping[int, dict] = MappingProxyType({})  # a table never written: read-only, never created


class WriteLock:
    """The store's re-entrant lock. Every write happens inside it, so leaving it counts as a
    change: `Store.derived` values made before are rebuilt on their next use."""

    def __init__(self, store: Store) -> None:
        self._lock, self._store = threading.RLock(), store
        self.depth = 0

    def __enter__(self) -> WriteLock:
        self._lock.acquire()
        self.depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self.depth -= 1
        self._store.generation += 1
        if not self.depth and self._store._touched:
            self._store._forget_touched()
        self._lock.release()


class Store:
    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace  # the API owning this state (a key prefix for a shared backend)
        self.lock = WriteLock(self)
        self.generation = 0  # counts writes (exits of the lock); derived values remember theirs
        self.epoch = 0  # counts requests that may have written (server.dispatch: every non-GET)
        self._tables: dict[str, dict[str, dict[int, dict]]] = {}
        self._ids: dict[str, int] = {}
        self._derived: dict[tuple, tuple[int, object]] = {}
        # Lookups kept up to date by insert/update/delete (not rebuilt after unrelated writes):
        # (tenant, table, field) -> value -> records in id order; fields looked up per table.
        self._lookups: dict[tuple[str, str, str], dict[object, list[dict]]] = {}
        self._looked_up: dict[tuple[str, str], set[str]] = {}
        # Tables read while the lock is held: a record read there may be changed in place, so
        # their lookups are dropped when the lock is left (the store's own writes keep theirs).
        self._touched: set[tuple[str, str]] = set()

    # -- reads -------------------------------------------------------------------------------
    def table(self, tenant: str, name: str) -> Mapping[int, dict]:
        """The live table (id -> record) of one tenant, for reading; an empty read-only mapping
        when nothing was ever written there (a read creates nothing)."""
        if self.lock.depth:
            self._touched.add((str(tenant), name))
        return self._tables.get(str(tenant), {}).get(name, NO_ROWS)

    def _live(self, tenant: str, name: str) -> dict[int, dict]:
        """The table an insert writes into (created here, and only here)."""
        return self._tables.setdefault(tenant, {}).setdefault(name, {})

    def _rows(self, tenant: str, name: str) -> Mapping[int, dict]:
        """`table` for the store's own use: no lookups dropped, nothing created."""
        return self._tables.get(tenant, {}).get(name, NO_ROWS)

    def get(self, tenant: str, name: str, record_id) -> dict | None:
        if self.lock.depth:
            self._touched.add((str(tenant), name))
        try:
            return self._tables.get(str(tenant), {}).get(name, {}).get(int(record_id))
        except (TypeError, ValueError):
            return None

    def find(self, tenant: str, name: str, where: Callable[[dict], bool] | None = None) -> Iterator[dict]:
        rows = self.table(tenant, name).values()
        return iter(rows) if where is None else (r for r in rows if where(r))

    def derived(self, key: tuple, build: Callable[[], object]):
        """A value computed from the state (an index, a sort order), kept until the next write;
        while the lock is held it is built fresh and not kept, records may be mid-change.
        Read-only for callers."""
        generation = self.generation  # read first: a write that lands while building outdates it
        kept = self._derived.get(key)
        if kept is not None and kept[0] == generation and not self.lock.depth:
            return kept[1]
        value = build()
        if not self.lock.depth:
            self._derived[key] = (generation, value)
        return value

    def index(self, tenant: str, name: str, field: str) -> dict[object, list[dict]]:
        """Records of one table grouped by a field's value, in id order: a page of a listing
        looks up its related rows without scanning the table."""

        def build():
            groups: dict[object, list[dict]] = {}
            for record in self.table(tenant, name).values():
                groups.setdefault(record.get(field), []).append(record)
            return groups

        return self.derived(("index", str(tenant), name, field), build)

    def first_with(self, tenant: str, name: str, field: str, value) -> dict | None:
        """The first record, by id, whose field equals the value (a token, an e-mail), in O(1).

        The lookup is built on first use and kept up to date by `insert`, `update` and `delete`,
        so a write elsewhere (another table, another tenant) costs it nothing. A looked-up field
        changes only through `update` (other fields of the record found may change in place): a
        hit is checked anyway, and a stale one rebuilds it."""
        key = (str(tenant), name, field)
        try:
            for _ in range(2):
                groups = self._lookups.get(key)
                if groups is None:
                    groups = self._build_lookup(key)
                found = groups.get(value)
                if not found:
                    return None
                record = found[0]
                if record.get(field) == value and self._rows(*key[:2]).get(record["id"]) is record:
                    return record
                self._lookups.pop(key, None)  # changed behind the store's back: build it again
        except TypeError:  # an unhashable value: nothing stored under it can be looked up
            return None
        return None

    def _build_lookup(self, key: tuple[str, str, str]) -> dict[object, list[dict]]:
        tenant, name, field = key
        with self.lock._lock:  # the raw lock: building is not a write
            groups: dict[object, list[dict]] = {}
            for record in self._tables.get(tenant, {}).get(name, {}).values():
                _add(groups, record.get(field), record)
            self._lookups[key] = groups
            self._looked_up.setdefault((tenant, name), set()).add(field)
            return groups

    def _unlook(self, tenant: str, name: str, record: dict, fields=None) -> None:
        for field in self._looked_up.get((tenant, name), ()):
            groups = self._lookups.get((tenant, name, field))
            if groups is not None and (fields is None or field in fields):
                _remove(groups, record.get(field), record)

    def _look(self, tenant: str, name: str, record: dict, fields=None) -> None:
        for field in self._looked_up.get((tenant, name), ()):
            groups = self._lookups.get((tenant, name, field))
            if groups is not None and (fields is None or field in fields):
                _add(groups, record.get(field), record)

    def _forget_lookups(self) -> None:
        self._lookups, self._looked_up, self._touched = {}, {}, set()

    def _forget_touched(self) -> None:
        for tenant, name in self._touched:
            for field in self._looked_up.pop((tenant, name), ()):
                self._lookups.pop((tenant, name, field), None)
        self._touched = set()

    def prune_oldest(self, tenant: str, name: str, expired: Callable[[dict], bool], at_most: int = 64) -> int:
        """Delete the oldest records (lowest ids: sessions, in the order they were issued) that
        `expired` says have ended, up to the first that has not; records that never end (expired
        None, e.g. seeded demo tokens) are passed over. Called on each new session, it keeps pace
        with them at the cost of what it deletes, not of the table. The number deleted."""
        ended = []
        for record in itertools.islice(self._rows(str(tenant), name).values(), at_most):
            verdict = expired(record)
            if verdict is None:
                continue
            if not verdict:
                break
            ended.append(record["id"])
        if ended:
            with self.lock:
                for record_id in ended:
                    self.delete(tenant, name, record_id)
        return len(ended)

    def ordered(self, tenant: str, name: str, fields: tuple[str, ...]) -> list[dict]:
        """The table's records sorted by these fields: a listing in that order pages through it
        without sorting the table on every request."""

        def build():
            return sorted(self.table(tenant, name).values(), key=lambda r: tuple(r[f] for f in fields))

        return self.derived(("ordered", str(tenant), name, fields), build)

    # -- writes ------------------------------------------------------------------------------
    def next_id(self, name: str) -> int:
        with self.lock:
            self._ids[name] = self._ids.get(name, 0) + 1
            return self._ids[name]

    def insert(self, tenant: str, name: str, record: dict) -> dict:
        """Store a record; it gets the next id of its table unless it brings one.

        Tables iterate in id order (handlers page through them without sorting): an explicit id
        below the table's largest puts the table back in order."""
        with self.lock:
            if record.get("id") is None:
                record["id"] = self.next_id(name)
            else:
                self._ids[name] = max(self._ids.get(name, 0), int(record["id"]))
            tenant = str(tenant)
            table = self._live(tenant, name)
            out_of_order = bool(table) and int(record["id"]) < next(reversed(table))
            replaced = table.get(int(record["id"]))
            if replaced is not None:
                self._unlook(tenant, name, replaced)
            table[int(record["id"])] = record
            self._look(tenant, name, record)
            if out_of_order:
                ordered = dict(sorted(table.items()))
                table.clear()
                table.update(ordered)
            return record

    def update(self, tenant: str, name: str, record_id: int, changes: dict) -> dict:
        with self.lock:
            tenant = str(tenant)
            record = self._rows(tenant, name)[int(record_id)]
            self._unlook(tenant, name, record, changes)
            record.update(changes)
            self._look(tenant, name, record, changes)
            return record

    def delete(self, tenant: str, name: str, record_id: int) -> dict | None:
        with self.lock:
            tenant = str(tenant)
            record = self._rows(tenant, name).get(int(record_id))
            if record is not None:
                del self._tables[tenant][name][int(record_id)]
                self._unlook(tenant, name, record)
            return record

    # -- lifecycle ---------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The whole state, pickled: a third of the memory of a deep copy, and faster to restore."""
        with self.lock:
            return pickle.dumps((self._tables, self._ids), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, snap: bytes) -> None:
        with self.lock:
            self._tables, self._ids = pickle.loads(snap)  # noqa: S301 (made by snapshot above)
            self._forget_lookups()

    def clear(self) -> None:
        with self.lock:
            self._tables, self._ids = {}, {}
            self._forget_lookups()

    def contents(self) -> tuple[dict[str, dict[str, dict[int, dict]]], dict[str, int]]:
        """The live tables (tenant -> table -> id -> record) and id counters, for exporting
        (server/persistence.py); read them inside `lock`, never change them."""
        return self._tables, self._ids

    def replace(self, tables: dict[str, dict[str, dict[int, dict]]], ids: dict[str, int]) -> None:
        """Take these tables and counters as the whole state (a loaded, validated document)."""
        with self.lock:
            self._tables, self._ids = tables, ids
            self._forget_lookups()

    def count(self) -> int:
        return sum(len(t) for tables in self._tables.values() for t in tables.values())


def _add(groups: dict[object, list[dict]], value, record: dict) -> None:
    """Into a lookup's group, keeping id order (a record that brings a lower id goes in place)."""
    try:
        group = groups.setdefault(value, [])
    except TypeError:  # an unhashable value (a list): never looked up by first_with
        return
    group.append(record)
    if len(group) > 1 and group[-2]["id"] > record["id"]:
        group.sort(key=lambda r: r["id"])


def _remove(groups: dict[object, list[dict]], value, record: dict) -> None:
    try:
        group = groups.get(value)
    except TypeError:
        return
    if group is None:
        return
    for i, member in enumerate(group):
        if member is record:
            del group[i]
            break
    if not group:
        del groups[value]
