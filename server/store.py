"""In-memory state: canonical records per tenant and table, ids, one lock, snapshot and restore.

Records are plain snake_case dicts with an integer `id` and `<type>_id` foreign keys. Handlers
mutate only under `store.lock` and validate before they write, so a refused request changes
nothing. The interface is small on purpose, so that a shared backend can replace it later.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._tables: dict[str, dict[str, dict[int, dict]]] = {}
        self._ids: dict[str, int] = {}

    # -- reads -------------------------------------------------------------------------------
    def table(self, tenant: str, name: str) -> dict[int, dict]:
        """The live table (id -> record) of one tenant; created empty on first use."""
        return self._tables.setdefault(str(tenant), {}).setdefault(name, {})

    def get(self, tenant: str, name: str, record_id) -> dict | None:
        try:
            return self._tables.get(str(tenant), {}).get(name, {}).get(int(record_id))
        except (TypeError, ValueError):
            return None

    def find(self, tenant: str, name: str, where: Callable[[dict], bool] | None = None) -> Iterator[dict]:
        rows = self.table(tenant, name).values()
        return iter(rows) if where is None else (r for r in rows if where(r))

    def tenants(self) -> Iterable[str]:
        return list(self._tables)

    def tenant_of(self, name: str, record_id: int) -> str | None:
        """Which tenant holds this record (ids are unique per table across tenants)."""
        for tenant, tables in self._tables.items():
            if record_id in tables.get(name, {}):
                return tenant
        return None

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
            table = self.table(tenant, name)
            out_of_order = bool(table) and int(record["id"]) < next(reversed(table))
            table[int(record["id"])] = record
            if out_of_order:
                ordered = dict(sorted(table.items()))
                table.clear()
                table.update(ordered)
            return record

    def update(self, tenant: str, name: str, record_id: int, changes: dict) -> dict:
        with self.lock:
            record = self.table(tenant, name)[int(record_id)]
            record.update(changes)
            return record

    def delete(self, tenant: str, name: str, record_id: int) -> dict | None:
        with self.lock:
            return self.table(tenant, name).pop(int(record_id), None)

    # -- lifecycle ---------------------------------------------------------------------------
    def snapshot(self) -> tuple:
        with self.lock:
            return copy.deepcopy((self._tables, self._ids))

    def restore(self, snap: tuple) -> None:
        with self.lock:
            self._tables, self._ids = copy.deepcopy(snap)

    def clear(self) -> None:
        with self.lock:
            self._tables, self._ids = {}, {}

    def count(self) -> int:
        return sum(len(t) for tables in self._tables.values() for t in tables.values())
