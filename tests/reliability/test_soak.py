"""The mixed-load soak (tests/reliability/soak.py), bounded for CI: 20 s, first vs last 5 s.
`make soak` (STANDIN_SOAK_SECONDS=300) compares the first and last minute.

Issue 18: under 5 minutes of mixed load throughput fell from 1,870 to ~290 req/s and p99 rose
from 37 to ~240 ms as writes and sessions piled up."""

from __future__ import annotations

import os

from tests.reliability import soak

# The 50 ms p99 target is for Standin alone on its machine (`make soak`); the bounded form runs
# beside the rest of `make test` on a shared runner, where only a gross tail is a finding.
P99_MS = 50 if os.environ.get("STANDIN_SOAK_SECONDS") else 250


def test_mixed_load_holds_its_throughput_latency_and_memory():
    figures = soak.run()
    summary = figures.summary()
    print(summary)
    assert not figures.errors, figures.errors[:5]
    assert summary["last_vs_first"] >= 0.8, summary
    assert summary["p99_ms"] < P99_MS, summary
    assert summary["rss_growth_mb"] < 50, summary
