"""A soak of mixed load against one `standin serve` process: reads, writes, logins and searches
on all three APIs from a few concurrent clients, for `STANDIN_SOAK_SECONDS` (default 20).

It reports throughput per window (the first and last are compared: costs must not grow with the
store), latency percentiles, errors (any 5xx, unexpected status or transport error) and the
server's resident memory from /proc. `python -m tests.reliability.soak` prints the figures;
tests/reliability/test_soak.py asserts them; `make soak` runs five minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

from tests.live import free_port

IB = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
RG = {"Authorization": "Bearer 1.standin-resourceguru-demo-token"}
PR = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
PR_JSON = {**PR, "Content-Type": "application/vnd.api+json"}
WIDGET = {
    "data": {
        "type": "widgets",
        "attributes": {"width": 3, "height": 1, "widget_type_id": 2},
        "relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}},
    }
}
GRANT = {
    "grant_type": "password",
    "username": "user@example.com",
    "password": "secret",
    "client_id": "the_client_id",
    "client_secret": "the_client_secret",
}


def _mix(n: int):
    """The n-th request of a client: (method, path, keyword arguments, expected status)."""
    kinds = [
        ("GET", "/resourceguru/v1/example-corp/clients?limit=30", {"headers": RG}, 200),
        ("POST", "/ibuildapp/api/demo/client/search", {"json": {"limit": 10}, "headers": IB}, 200),
        ("GET", "/productive/api/v2/widgets?page[size]=30", {"headers": PR}, 200),
        (
            "POST",
            "/resourceguru/v1/example-corp/clients",
            {"json": {"name": f"soak {n}"}, "headers": RG},
            201,
        ),
        (
            "POST",
            "/ibuildapp/api/demo/client/create",
            {"json": {"name": f"soak {n}", "status": True}, "headers": IB},
            200,
        ),
        ("POST", "/productive/api/v2/widgets", {"content": json.dumps(WIDGET), "headers": PR_JSON}, 201),
        (
            "POST",
            "/ibuildapp/api/demo/login",
            {"json": {"email": "test@test.com", "password": "12345678"}},
            200,
        ),
        ("POST", "/resourceguru/oauth/token", {"data": GRANT}, 200),
        (
            "POST",
            "/ibuildapp/api/demo/client/search",
            {"json": {"name": f"soak {n // 2}", "limit": 5}, "headers": IB},
            200,
        ),
        ("GET", "/resourceguru/v1/example-corp/clients?limit=30&page=2", {"headers": RG}, 200),
    ]
    return kinds[n % len(kinds)]


@dataclass
class Figures:
    seconds: float
    window: float
    windows: list[int] = field(default_factory=list)  # requests completed per window
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss_kb: list[tuple[float, int]] = field(default_factory=list)  # (elapsed, VmRSS)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (elapsed, server CPU seconds)

    def throughput(self, index: int) -> float:
        return self.windows[index] / self.window

    def cpu_per_request(self, index: int) -> float:
        """The server's CPU seconds per answered request in one window: unlike throughput it
        does not fall when another process takes the machine, so it shows costs that grow."""
        start = index * self.window if index >= 0 else self.seconds + index * self.window
        inside = [c for at, c in self.cpu if start - 0.5 <= at <= start + self.window + 0.5]
        return (inside[-1] - inside[0]) / max(self.windows[index], 1)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    @property
    def rss_growth_mb(self) -> float:
        settled = [kb for at, kb in self.rss_kb if at >= self.window] or [self.rss_kb[0][1]]
        return (self.rss_kb[-1][1] - settled[0]) / 1024

    def summary(self) -> dict:
        return {
            "seconds": self.seconds,
            "requests": len(self.latencies),
            "first_window_rps": round(self.throughput(0)),
            "last_window_rps": round(self.throughput(-1)),
            "last_vs_first": round(self.throughput(-1) / max(self.throughput(0), 1e-9), 3),
            "cpu_us_first": round(self.cpu_per_request(0) * 1e6),
            "cpu_us_last": round(self.cpu_per_request(-1) * 1e6),
            "cpu_last_vs_first": round(self.cpu_per_request(-1) / max(self.cpu_per_request(0), 1e-9), 3),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "max_ms": round(max(self.latencies) * 1000, 2),
            "errors": len(self.errors),
            "rss_start_mb": round(self.rss_kb[0][1] / 1024, 1),
            "rss_end_mb": round(self.rss_kb[-1][1] / 1024, 1),
            "rss_growth_mb": round(self.rss_growth_mb, 1),
        }


def _cpu_seconds(pid: int) -> float:
    """User plus system time of the process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@contextlib.contextmanager
def server(*args: str):
    """`standin serve` on a free port: (base URL, pid)."""
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), "--rate-limit", "0", *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/_standin/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _load(base: str, pid: int, figures: Figures, clients: int) -> None:
    counter = itertools.count()
    started = time.monotonic()
    end = started + figures.seconds
    figures.windows = [0] * max(1, round(figures.seconds / figures.window))
    figures.rss_kb.append((0.0, _rss_kb(pid)))
    figures.cpu.append((0.0, _cpu_seconds(pid)))

    async def client(http: httpx.AsyncClient):
        while (now := time.monotonic()) < end:
            n = next(counter)
            method, path, kwargs, expected = _mix(n)
            try:
                r = await http.request(method, path, **kwargs)
                status = r.status_code
            except httpx.HTTPError as e:
                status = f"{type(e).__name__}"
            done = time.monotonic()
            figures.latencies.append(done - now)
            slot = min(int((done - started) / figures.window), len(figures.windows) - 1)
            figures.windows[slot] += 1
            if status != expected:
                figures.errors.append(f"{method} {path}: {status}")

    async def sample_memory():
        while time.monotonic() < end:
            await asyncio.sleep(0.5)
            figures.rss_kb.append((time.monotonic() - started, _rss_kb(pid)))
            figures.cpu.append((time.monotonic() - started, _cpu_seconds(pid)))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as http:
        await asyncio.gather(sample_memory(), *(client(http) for _ in range(clients)))
    figures.rss_kb.append((time.monotonic() - started, _rss_kb(pid)))
    figures.cpu.append((time.monotonic() - started, _cpu_seconds(pid)))


def run(seconds: float | None = None, clients: int = 4) -> Figures:
    seconds = seconds or float(os.environ.get("STANDIN_SOAK_SECONDS", "20"))
    window = 60.0 if seconds >= 180 else 5.0  # first and last minute, or first and last 5 s
    figures = Figures(seconds, window)
    with server() as (base, pid):
        asyncio.run(_load(base, pid, figures, clients))
    return figures


if __name__ == "__main__":
    print(json.dumps(run().summary(), indent=2))
