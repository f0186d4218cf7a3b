"""Memory over many create/delete cycles under `standin serve`'s collector policy.

    .venv/bin/python -m bench.memory [--cycles 1000000] [--thaw-every 16]

The fast mode freezes what survives each full garbage collection (server/fastpath.py,
`SurvivorFreezer`), so that the seeded store is not walked again and again. The risk it runs:
garbage the collector must find (reference cycles) that was frozen while still alive is never
freed until the next reset. This drives the store as handlers do: records created, each living
for a while (a window of live records, so that full collections run while they are alive and
freeze them), then deleted; every record holds a reference cycle, the worst case. It prints the
resident set every tenth of the run and exits 1 if it grew by more than `--limit-mb` over the
second half (by the half-way point the seeded store, the window and the allocator's pools are in
place: the stock collector stays flat from there).
`--thaw-every 0` runs the policy without thawing: the growth it shows is what the thaw prevents;
`--thaw-every -1` runs the stock collector (no freezing) for comparison.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

import fixtures
from server.fastpath import SurvivorFreezer, settle_collector
from server.store import Store

WINDOW = 2000  # live records at any time


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096 / 2**20


class FullPasses:
    """A gc callback timing each full collection: what the freezing is for."""

    def __init__(self) -> None:
        self.started, self.durations = 0.0, []

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                self.started = time.perf_counter()
            else:
                self.durations.append(time.perf_counter() - self.started)


def run(
    cycles: int, thaw_every: int, scale: int = 1, passes: FullPasses | None = None
) -> list[tuple[int, float]]:
    store = Store()
    fixtures.seed_all(store, 0, ["productive", "ibuildapp", "resourceguru"], scale)
    freezer = SurvivorFreezer()
    freezer.THAW_EVERY = thaw_every or sys.maxsize
    if thaw_every >= 0:  # -1: the stock collector, for comparison
        settle_collector()
        gc.callbacks.append(freezer)
    if passes is not None:
        gc.callbacks.insert(0, passes)
    samples = []
    try:
        live: list[int] = []
        for i in range(1, cycles + 1):
            record = store.insert(
                "bench", "notes", {"title": f"note {i}", "tags": ["a", "b"], "body": "x" * 1024}
            )
            record["self"] = [record]  # a reference cycle: only the collector frees it
            live.append(record["id"])
            if len(live) > WINDOW:
                store.delete("bench", "notes", live.pop(0))
            if i % (cycles // 10) == 0:
                samples.append((i, rss_mb()))
    finally:
        for callback in (freezer, passes):
            if callback in gc.callbacks:
                gc.callbacks.remove(callback)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=1_000_000)
    parser.add_argument("--thaw-every", type=int, default=SurvivorFreezer.THAW_EVERY)
    parser.add_argument("--limit-mb", type=float, default=3.0)
    parser.add_argument(
        "--scale", type=int, default=1, help="the seeded store's volume (standin serve --scale)"
    )
    args = parser.parse_args(argv)
    passes = FullPasses()
    samples = run(args.cycles, args.thaw_every, args.scale, passes)
    for cycle, mb in samples:
        print(f"{cycle:>10} cycles  {mb:8.1f} MB resident")
    if passes.durations:
        ms = sorted(d * 1000 for d in passes.durations)
        print(f"{len(ms)} full collections: median {ms[len(ms) // 2]:.1f} ms, longest {ms[-1]:.1f} ms")
    growth = samples[-1][1] - samples[len(samples) // 2 - 1][1]
    print(f"growth over the second half: {growth:.1f} MB (limit {args.limit_mb} MB)")
    return 0 if growth <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
