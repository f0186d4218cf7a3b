"""The benchmark's arithmetic: what a row reports from several measured runs (no load is run)."""

from __future__ import annotations

from bench import load


class _Server:
    """CPU seconds that grow by one second per wrk run."""

    def __init__(self) -> None:
        self.used = 0.0

    def cpu_seconds(self) -> float:
        return self.used


def _measure(monkeypatch, runs: list[dict]) -> dict:
    server, runs = _Server(), iter(runs)

    def wrk(*_args):
        server.used += 1.0
        return {**next(runs), "socket_errors": 0}

    monkeypatch.setattr(load, "wrk", wrk)
    monkeypatch.setattr(load, "settle", lambda _server: None)
    return load.measure("u", "GET", {}, None, server, seconds=5, warmup=0, connections=32, windows=3)


def test_a_row_reports_the_median_of_its_windows(monkeypatch):
    result = _measure(
        monkeypatch,
        [
            {"requests": 1000, "requests_per_second": 200.0, "p50_ms": 5.0, "p99_ms": 30.0, "non_2xx": 1},
            {"requests": 4000, "requests_per_second": 800.0, "p50_ms": 2.0, "p99_ms": 9.0, "non_2xx": 0},
            {"requests": 2000, "requests_per_second": 400.0, "p50_ms": 3.0, "p99_ms": 12.0, "non_2xx": 2},
        ],
    )
    assert (result["requests_per_second"], result["p50_ms"], result["p99_ms"]) == (400.0, 3.0, 12.0)
    assert result["cpu_us_per_request"] == 500  # 1 s of CPU over 2000 requests, the median run
    assert (result["requests"], result["non_2xx"]) == (7000, 3)
    assert [w["p99_ms"] for w in result["windows"]] == [30.0, 9.0, 12.0]


def test_a_row_with_a_run_that_got_no_answer_is_an_error(monkeypatch):
    quiet = {"requests": 0, "requests_per_second": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "non_2xx": 0}
    busy = {"requests": 900, "requests_per_second": 180.0, "p50_ms": 9.0, "p99_ms": 19.0, "non_2xx": 0}
    result = _measure(monkeypatch, [busy, quiet, busy])
    assert "error" in result and result["requests"] == 0
