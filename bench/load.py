"""wrk on CPU 1 against one request: a warm-up run, then the measured runs (stack.md §6)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from bench.servers import LOAD_CPU, SERVER_CPU

SCRIPT = Path(__file__).with_name("request.lua")
TIMEOUT_S = 30


def wrk(url: str, method: str, headers: dict, body: bytes | None, seconds: int, connections: int) -> dict:
    """One bounded wrk run; the numbers come from request.lua's done() JSON line."""
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": (body or b"").decode(),
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
    }
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["--timeout", f"{TIMEOUT_S}s"]  # slow rows (100k records) are measured, not dropped
    argv += ["-s", str(SCRIPT), url]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 30, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    s = json.loads(line[len("BENCH ") :])
    return {
        "requests_per_second": round(s["requests"] / (s["duration_us"] / 1e6), 1),
        "p50_ms": round(s["p50_us"] / 1000, 2),
        "p99_ms": round(s["p99_us"] / 1000, 2),
        "requests": s["requests"],
        "non_2xx": s["status"],  # wrk counts every status >= 400 here
        "socket_errors": s["connect"] + s["read"] + s["write"] + s["timeout"],
    }


def core_seconds(cpu: str) -> float:
    """Time one core spent running tasks (user, nice, system), from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            user, nice, system = (int(x) for x in line.split()[1:4])
            return (user + nice + system) / os.sysconf("SC_CLK_TCK")
    return 0.0


def measure(
    url, method, headers, body, server, *, seconds: int, warmup: int, connections: int, windows: int = 1
) -> dict:
    """wrk after a warm-up, in `windows` runs of `seconds`, plus what the server's CPU time says.

    On a shared host one run's p99 is at the mercy of a few slow seconds: a fixed-work ASGI app
    with the same CPU per request saw its p99 move between 16.7 and 21.2 ms from one 5 s run to
    the next. So each figure is the median over the windows; `windows` keeps every run.
    CPU time per request does not depend on who else runs on the host, so it compares servers
    fairly when wall-clock req/s cannot; `cpu0_others` is the share of the server's core that
    other processes took during a run (0 = the server had its core to itself; the most of any run).
    """
    if warmup:
        wrk(url, method, headers, body, warmup, connections)
        settle(server)
    runs = [_window(url, method, headers, body, server, seconds, connections) for _ in range(windows)]
    silent = next((r for r in runs if r["requests"] == 0), None)
    if silent is not None:  # a run with no answer has no latency to take a median of
        return {"error": f"no answer within {TIMEOUT_S} s", **silent}
    result = {k: statistics.median(r[k] for r in runs) for k in MEDIAN_OF_WINDOWS}
    result["cpu_us_per_request"] = round(result["cpu_us_per_request"])
    result.update({k: sum(r[k] for r in runs) for k in ("requests", "non_2xx", "socket_errors")})
    result["cpu0_others"] = max(r["cpu0_others"] for r in runs)
    if windows > 1:
        result["windows"] = runs
    return result


MEDIAN_OF_WINDOWS = ("requests_per_second", "p50_ms", "p99_ms", "cpu_us_per_request")


def _window(url, method, headers, body, server, seconds: int, connections: int) -> dict:
    server0, core0, t0 = server.cpu_seconds(), core_seconds(SERVER_CPU), time.perf_counter()
    result = wrk(url, method, headers, body, seconds, connections)
    server_s = server.cpu_seconds() - server0
    core_s, wall = core_seconds(SERVER_CPU) - core0, time.perf_counter() - t0
    result["cpu_us_per_request"] = round(server_s * 1e6 / max(result["requests"], 1))
    result["cpu0_others"] = round(max(core_s - server_s, 0) / wall, 2)
    settle(server)
    return result


def settle(server, quiet_s: float = 0.2, limit_s: float = 60.0) -> None:
    """Wait until the server stops using CPU: wrk leaves queued requests behind when it stops,
    and on a slow row the next run would otherwise start against that backlog."""
    deadline = time.perf_counter() + limit_s
    used = server.cpu_seconds()
    while time.perf_counter() < deadline:
        time.sleep(quiet_s)
        now = server.cpu_seconds()
        if now - used < quiet_s * 0.1:
            return
        used = now
