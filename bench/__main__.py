"""A first, bounded load run on 127.0.0.1: start-up time, req/s, p50/p99 latency and RSS.

Standin is started as its own process (`standin serve`); a thread pool of keep-alive httpx
clients sends requests for a fixed time per scenario. Results go to bench/results/latest.json.
Prism side-by-side and the 100k-record scale runs are still to come (issue 7).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
SCENARIOS = {
    "productive GET list": ("GET", "/productive/api/v2/widgets?page[size]=30", None),
    "productive GET one": ("GET", "/productive/api/v2/widgets/1", None),
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load(base: str, method: str, path: str, seconds: float, connections: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        mine = []
        with httpx.Client(base_url=base, headers=PRODUCTIVE) as c:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                c.request(method, path)
                mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(args.port), "--rate-limit", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"{base}/_standin/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        results = {"startup_seconds": round(time.perf_counter() - started, 3), "rows": {}}
        for name, (method, path, _) in SCENARIOS.items():
            results["rows"][name] = load(base, method, path, args.seconds, args.connections)
        results["rss_mb"] = round(rss_mb(proc.pid), 1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = Path(__file__).parent / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
