"""`python -m bench` (`make bench`): Standin against Prism on 127.0.0.1, bounded in time.

Per mounted API, each row runs under wrk against Standin and against Prism serving the same spec;
then start-up time, RSS, list latency with the store scaled to ~100,000 records per API, and a
py-spy profile of the GET list row. Results: bench/results/latest.{json,md}; the table is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import connexion  # noqa: F401  (fails early when the venv is not set up)

from bench import load, profile, report, rows
from bench.servers import PRISM, ServerFailed, fetch, prism, standin
from server.api import SPECS
from server.app import API_NAMES

RESULTS = Path(__file__).parent / "results"
TARGET_RECORDS = 100_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def mounted(server) -> dict[str, dict]:
    """name -> {prefix, demo} as the running Standin lists them."""
    _, body = fetch("GET", server.base + "/_standin/apis")
    return {a["name"]: a for a in json.loads(body)["apis"]}


def run_row(server, base: str, request, args) -> dict:
    """One probe (a non-2xx answer is reported instead of benched), then wrk."""
    try:
        status, body = fetch(request.method, base + request.path, request.headers, request.body)
    except OSError as e:
        return {"error": f"no answer ({e.__class__.__name__})"}
    if not 200 <= status < 300:
        return {"error": f"answers {status}", "body": body[:200].decode(errors="replace")}
    result = load.measure(
        base + request.path,
        request.method,
        request.headers,
        request.body,
        server,
        seconds=args.seconds,
        warmup=args.warmup,
        connections=args.connections,
        windows=args.windows,
    )
    return {"status": status, **result}


def prepared(name: str, api: dict, base: str, row_list) -> list:
    """Requests for the rows; a row the spec or demo cannot express becomes an error entry."""
    spec = rows.load_spec(name)
    out = []
    for row in row_list:
        try:
            out.append(rows.prepare(name, row, api["demo"], spec, base + api["prefix"]))
        except LookupError as e:
            out.append(rows.Request(f"{name} {row.method} {row.template}", row.method, "", {}, None, str(e)))
    return out


def bench_rows(names: list[str], args) -> tuple[list[dict], dict[str, list], float, dict]:
    """Every row against one Standin with every API mounted (store reset before each row), and
    right after it against Prism serving the same spec file: a shared host's speed drifts by
    tens of percent over minutes, so the two sides of a ratio are measured back to back."""
    table, requests, prism_rss = [], {}, {}
    with standin() as server:
        server.start()
        apis = mounted(server)
        for name in names:
            requests[name] = prepared(name, apis[name], server.base, rows.ROWS[name])
            with prism(SPECS / f"{name}.yaml") as mock:
                try:
                    mock.start(timeout=90)
                    refused = None
                except ServerFailed as e:
                    refused = {"error": f"Prism can't serve this spec: {e}"}
                for request in requests[name]:
                    log(f"Standin, Prism  {request.label}")
                    row = {"api": name, "label": request.label}
                    if request.error:
                        row["standin"] = row["prism"] = {"error": request.error}
                    else:
                        fetch("POST", server.base + "/_standin/reset")
                        row["standin"] = run_row(server, server.base + apis[name]["prefix"], request, args)
                        row["prism"] = refused or run_row(mock, mock.base, request, args)
                    table.append(row)
                prism_rss[name] = None if refused else mock.rss_mb()
        standin_rss = server.rss_mb()
    return table, requests, standin_rss, prism_rss


def scale_for(name: str) -> tuple[int, int]:
    """(scale, records at scale 1): the `--scale` giving ~100k records, from seeding in-process
    at scales 1 and 101 (faker volume is only roughly linear in the scale: small scales
    overestimate Resource Guru's growth by half)."""
    import fixtures
    from server.store import Store

    counts = []
    for scale in (1, 101):
        store = Store()
        fixtures.seed_all(store, 0, [name], scale)
        counts.append(store.count())
    step = (counts[1] - counts[0]) / 100
    if step <= 0:
        return 0, counts[0]
    return max(1, round((TARGET_RECORDS - counts[0]) / step) + 1), counts[0]


def bench_scaled(name: str, args) -> dict:
    """One API alone at the root: its lists at the default size and at ~100k records, every
    request answered afresh (`--fresh-answers`): a kept answer would hide what a list costs."""
    scale, step = scale_for(name)
    if scale == 0:
        return {"api": name, "error": f"fixtures.{name} ignores --scale (stays at {step} records)"}
    runs = {}
    row_list = rows.list_rows(name)
    for key, n in (("default", 1), ("scaled", scale)):
        with standin("--api", name, "--scale", str(n), "--fresh-answers") as server:
            log(f"Scaled   {name} --scale {n}")
            startup = server.start(timeout=600)
            _, health = fetch("GET", server.base + "/_standin/health")
            api = mounted(server)[name]
            results = []
            for request in prepared(name, api, server.base, row_list):
                log(f"Scaled   {request.label} --scale {n}")
                results.append(
                    {"error": request.error} if request.error else run_row(server, server.base, request, args)
                )
            runs[key] = {
                "scale": n,
                "records": json.loads(health)["records"],
                "startup_s": round(startup, 2),
                "rss_mb": server.rss_mb(),
                "results": results,
            }
    out_rows = []
    for i, row in enumerate(row_list):
        entry = {"label": f"{row.method} {row.template}"}
        entry["default"], entry["scaled"] = runs["default"]["results"][i], runs["scaled"]["results"][i]
        if "error" not in entry["default"] and "error" not in entry["scaled"]:
            entry["p50_ratio"] = round(entry["scaled"]["p50_ms"] / entry["default"]["p50_ms"], 2)
        out_rows.append(entry)
    scaled, default = runs["scaled"], runs["default"]
    default.pop("results")
    scaled.pop("results")
    return {"api": name, **scaled, "default": default, "rows": out_rows}


def bench_profile(name: str, requests: list, args) -> dict:
    request = next(r for r in requests if r.method == "GET" and not r.error)
    with standin() as server:
        server.start()
        base = server.base + mounted(server)[name]["prefix"]
        log(f"Profile  {request.label} ({2 * args.profile_seconds} s)")
        result = profile.record(
            server.proc.pid, base + request.path, request, args.profile_seconds, args.connections, RESULTS
        )
    return {"row": request.label, **result}


def machine() -> dict:
    cpu = next((x.split(":", 1)[1].strip() for x in open("/proc/cpuinfo") if x.startswith("model name")), "?")
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip()
    version = subprocess.run([str(PRISM), "--version"], capture_output=True, text=True, timeout=60)
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "wrk": wrk,
        "prism": version.stdout.strip(),
        "loadavg_before": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per row")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per row")
    parser.add_argument("--windows", type=int, default=3, help="measured runs per row (medians reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--startups", type=int, default=3, help="start-ups timed (median reported)")
    parser.add_argument("--profile-seconds", type=int, default=8, help="0 skips the py-spy profile")
    parser.add_argument("--skip-scale", action="store_true", help="skip the ~100k-record runs")
    args = parser.parse_args()

    names = [n for n in API_NAMES if n in rows.ROWS]
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "windows": args.windows,
            "warmup": args.warmup,
            "connections": args.connections,
        },
        "apis": API_NAMES,
        "unbenched_apis": [n for n in API_NAMES if n not in rows.ROWS],
    }
    samples = []
    for _ in range(args.startups):
        with standin() as server:
            samples.append(round(server.start(), 3))
    results["startup"] = {"samples": samples, "median_s": report.median(samples)}

    table, requests, standin_rss, prism_rss = bench_rows(names, args)
    for row in table:
        st, pr = row["standin"], row["prism"]
        if "error" not in st and "error" not in pr:
            row["ratio"] = round(st["requests_per_second"] / pr["requests_per_second"], 2)
            row["cpu_ratio"] = round(pr["cpu_us_per_request"] / max(st["cpu_us_per_request"], 1), 2)
    results["rows"] = table
    results["rss"] = {"standin_mb": standin_rss, "prism_mb": {k: v for k, v in prism_rss.items() if v}}
    results["scaling"] = [] if args.skip_scale else [bench_scaled(n, args) for n in names]
    if args.profile_seconds:
        try:
            results["profile"] = bench_profile(names[0], requests[names[0]], args)
        except (OSError, subprocess.SubprocessError) as e:
            said = (getattr(e, "stderr", None) or b"").decode(errors="replace").strip()[-300:]
            results["profile"] = {"error": f"py-spy failed: {e} {said}".strip()}
    results["machine"]["loadavg_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results["targets"] = report.targets(results)

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report.markdown(results)
    (RESULTS / "latest.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
