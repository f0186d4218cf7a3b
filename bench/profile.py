"""py-spy on Standin under the GET list load: a flame graph, and shares per function and per cost.

The raw (collapsed) stacks are summed here, so the report names file:line with a measured share
instead of asking the reader to eyeball the SVG.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench import load
from bench.servers import LOAD_CPU

PY_SPY = Path(sys.executable).with_name("py-spy")
# Where time goes, by what a stack passes through (a stack counts once per bucket; buckets overlap).
BUCKETS = [
    ("connexion security: inspect.signature per request", r"_accepts_kwarg \(", False),
    ("connexion re-decorates the handler per request", r"BaseDecorator\.decorate \(", False),
    ("vendor auth: token lookups in the store", r"server/vendors/\w+/auth\.py", False),
    ("request validation (connexion validators, jsonschema)", r"connexion/validators/|jsonschema/", False),
    ("connexion request objects (lifecycle.py)", r"connexion/lifecycle\.py", False),
    ("handler, JSON encoding included (server/vendors)", r"server/vendors/\w+/(?!auth\.)\w+\.py", False),
    ("JSON encoding (server/api.py Reply.encode)", r"Reply\.encode \(", False),
    ("outside the app: event loop, uvicorn, httptools", r"ConnexionMiddleware\.__call__ \(", True),
]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def record(pid: int, url: str, request, seconds: int, connections: int, out_dir: Path) -> dict:
    """Load the server with wrk while py-spy samples it twice: raw stacks, then the SVG."""
    raw, svg = out_dir / "profile.txt", out_dir / "profile.svg"
    total = 2 * seconds + 6
    loader = threading.Thread(
        target=load.wrk, args=(url, request.method, request.headers, request.body, total, connections)
    )
    loader.start()
    time.sleep(2)  # warm-up
    for fmt, path in (("raw", raw), ("flamegraph", svg)):
        argv = ["taskset", "-c", LOAD_CPU, str(PY_SPY), "record", "--pid", str(pid), "--duration"]
        argv += [str(seconds), "--rate", "200", "--format", fmt, "-o", str(path)]
        subprocess.run(argv, capture_output=True, timeout=seconds + 60, check=True)
    loader.join(timeout=total + 60)
    return summarize(raw.read_text())


def _short(frame: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:12)` -> `pkg/mod.py:12 func`."""
    m = FRAME.match(frame)
    if not m:
        return frame
    path = re.sub(r"^.*?(site-packages|lib/python3\.\d+)/", "", m["file"]).replace(str(Path.cwd()) + "/", "")
    return f"{path}:{m['line']} {m['func']}" if m["line"] else f"{path} {m['func']}"


def summarize(raw: str, top: int = 15) -> dict:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(c for _, c in stacks) or 1
    self_time, inclusive, buckets = Counter(), Counter(), Counter()
    for frames, count in stacks:
        self_time[_short(frames[-1])] += count
        for name in {re.sub(r":\d+ ", " ", _short(f)) for f in frames}:  # a function, any line
            inclusive[name] += count
        joined = ";".join(frames)
        for bucket, pattern, outside in BUCKETS:
            if bool(re.search(pattern, joined)) != outside:
                buckets[bucket] += count

    def share(counter: Counter, limit: int, cap: float) -> list[dict]:
        rows = [(k, v / total) for k, v in counter.most_common() if v / total < cap]
        return [{"where": k, "share": round(s, 3)} for k, s in rows[:limit]]

    return {
        "samples": total,
        "buckets": [{"where": k, "share": round(buckets[k] / total, 3)} for k, _, _ in BUCKETS],
        "self": share(self_time, top, 1.0),
        # Below half: the middleware chain every request passes through says nothing.
        "inclusive": share(inclusive, top, 0.5),
    }
