"""The targets of issue 7, judged on the measured numbers, and the markdown of a run."""

from __future__ import annotations

import statistics

MIN_RATIO = 2.0  # Standin req/s over Prism req/s, every row
MAX_P99_MS = 20.0  # at 32 connections
MAX_STARTUP_S = 1.5  # to the first 200 of /_standin/health, every API mounted
MAX_SCALED_SLOWDOWN = 2.0  # list p50 at ~100k records over list p50 at the default size
MAX_SCALED_RSS_MB = 300.0  # at ~100k records per API


def _verdict(ok: list[bool]) -> str:
    return "n/a" if not ok else "PASS" if all(ok) else "FAIL"


def targets(results: dict) -> list[dict]:
    """Each target over the rows it can be judged on; rows that could not be measured are named."""
    rows = results["rows"]
    both = [r for r in rows if "error" not in r["prism"]]  # a row Standin cannot serve fails
    served = [r for r in rows if "p99_ms" in r["standin"] and "error" not in r["standin"]]
    scaled = [s for s in results["scaling"] if "rows" in s]
    slow = [row for s in scaled for row in s["rows"] if "error" not in row["default"]]
    startup = results["startup"]["median_s"]
    out = [
        {
            "target": f"every row >= {MIN_RATIO:g}x Prism req/s",
            "result": _verdict([r.get("ratio", 0) >= MIN_RATIO for r in both]),
            "detail": f"{sum(r.get('ratio', 0) >= MIN_RATIO for r in both)}/{len(both)} rows; "
            f"min {min((r.get('ratio', 0) for r in both), default=0):.2f}x; "
            f"{len(rows) - len(both)} rows Prism could not serve",
        },
        {
            "target": f"p99 < {MAX_P99_MS:g} ms at {results['settings']['connections']} connections",
            "result": _verdict([r["standin"]["p99_ms"] < MAX_P99_MS for r in served]),
            "detail": f"max p99 {max((r['standin']['p99_ms'] for r in served), default=0):.1f} ms "
            f"over {len(served)} Standin rows",
        },
        {
            "target": f"start-up, all APIs, < {MAX_STARTUP_S:g} s",
            "result": _verdict([startup < MAX_STARTUP_S]),
            "detail": f"median {startup:.2f} s of {len(results['startup']['samples'])} starts",
        },
        {
            "target": f"list p50 at ~100k records within {MAX_SCALED_SLOWDOWN:g}x of default",
            "result": _verdict([r.get("p50_ratio", 1e9) <= MAX_SCALED_SLOWDOWN for r in slow]),
            "detail": ", ".join(
                f"{r['label']} "
                + (f"{r['p50_ratio']:.1f}x" if "p50_ratio" in r else r["scaled"].get("error", "?"))
                for r in slow
            )
            or "nothing scaled",
        },
        {
            "target": f"RSS < {MAX_SCALED_RSS_MB:g} MB at ~100k records per API",
            "result": _verdict([s["rss_mb"] < MAX_SCALED_RSS_MB for s in scaled]),
            "detail": ", ".join(f"{s['api']} {s['rss_mb']:.0f} MB" for s in scaled) or "nothing scaled",
        },
    ]
    unscaled = [f"{s['api']}: {s['error']}" for s in results["scaling"] if "error" in s]
    if unscaled:
        out[3]["detail"] += "; not scaled: " + "; ".join(unscaled)
    return out


def _num(result: dict, key: str, fmt: str) -> str:
    if "error" in result:
        return result["error"] if key == "requests_per_second" else "-"
    return format(result[key], fmt) if key in result else "-"


def markdown(results: dict) -> str:
    s = results["settings"]
    m = results["machine"]
    lines = [
        f"# Standin benchmark ({results['date']})",
        "",
        f"{m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, {m['wrk']}, Prism {m['prism']}. "
        f"Server on CPU 0, wrk on CPU 1, loopback; {s['warmup']} s warm-up, then "
        f"{s.get('windows', 1)} runs of {s['seconds']} s, each figure the median of the runs, "
        f"{s['connections']} connections, one uvicorn worker, rate limits off, state reset before each row; "
        "each row runs against Standin and right after against Prism, so both meet the same host. "
        f"Load average {m['loadavg_before']} before, {m['loadavg_after']} after; 'core 0 taken by others' "
        "is the share of the server's core other processes used during a row (Standin/Prism): "
        "when it is not ~0%, wall-clock numbers are depressed and CPU µs per request is the fair comparison.",
        "",
        "| row | Standin req/s | Prism req/s | Standin/Prism | p50 ms | p99 ms | Prism p50 / p99 ms "
        "| CPU µs/req Standin / Prism | Standin/Prism by CPU | core 0 taken by others |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        st, pr = r["standin"], r["prism"]
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        cpu_ratio = f"{r['cpu_ratio']:.2f}x" if "cpu_ratio" in r else "-"
        prism_lat = f"{pr['p50_ms']:.1f} / {pr['p99_ms']:.1f}" if "p50_ms" in pr else "-"
        cpu = f"{_num(st, 'cpu_us_per_request', ',')} / {_num(pr, 'cpu_us_per_request', ',')}"
        others = "/".join(f"{x['cpu0_others']:.0%}" for x in (st, pr) if "cpu0_others" in x) or "-"
        lines.append(
            f"| {r['label']} | {_num(st, 'requests_per_second', ',.0f')} | "
            f"{_num(pr, 'requests_per_second', ',.0f')} | {ratio} | {_num(st, 'p50_ms', '.1f')} | "
            f"{_num(st, 'p99_ms', '.1f')} | {prism_lat} | {cpu} | {cpu_ratio} | {others} |"
        )
    startup = results["startup"]
    lines += [
        "",
        f"Start-up to the first 200 of `/_standin/health`, all APIs ({', '.join(results['apis'])}): "
        f"median {startup['median_s']:.2f} s ({', '.join(f'{x:.2f}' for x in startup['samples'])}).",
        f"RSS after the rows: Standin {results['rss']['standin_mb']:.0f} MB; Prism "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in results["rss"]["prism_mb"].items())
        + ".",
        "",
        "## Scaling (one API at the root, `--scale N`, every answer afresh: `--fresh-answers`)",
        "",
        "| API | scale | records | start-up s | RSS MB | list | req/s | p50 ms | p99 ms | p50 vs default |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in results["scaling"]:
        if "error" in s:
            lines.append(f"| {s['api']} | - | - | - | - | {s['error']} | | | | |")
            continue
        for key, run in (("default", s["default"]), ("scaled", s)):
            for row in s["rows"]:
                res = row.get(key, {})
                vs = f"{row['p50_ratio']:.1f}x" if key == "scaled" and "p50_ratio" in row else ""
                lines.append(
                    f"| {s['api']} | {run['scale']} | {run['records']:,} | {run['startup_s']:.1f} | "
                    f"{run['rss_mb']:.0f} | {row['label']} | {_num(res, 'requests_per_second', ',.0f')} | "
                    f"{_num(res, 'p50_ms', '.1f')} | {_num(res, 'p99_ms', '.1f')} | {vs} |"
                )
    lines += ["", "## Targets", "", "| target | result | detail |", "|---|---|---|"]
    lines += [f"| {t['target']} | **{t['result']}** | {t['detail']} |" for t in results["targets"]]
    profile = results.get("profile")
    if profile and "error" in profile:
        lines += ["", f"Profile: {profile['error']}"]
    elif profile:
        lines += [
            "",
            f"## Profile: {profile['row']} ({profile['samples']} py-spy samples, `profile.svg`)",
            "",
            "| cost (stacks passing through) | share |",
            "|---|---:|",
        ]
        lines += [f"| {b['where']} | {b['share']:.0%} |" for b in profile["buckets"]]
        lines += ["", "| hottest lines (self time) | share |", "|---|---:|"]
        lines += [f"| `{x['where']}` | {x['share']:.1%} |" for x in profile["self"]]
        lines += ["", "| functions (inclusive, under 50%) | share |", "|---|---:|"]
        lines += [f"| `{x['where']}` | {x['share']:.1%} |" for x in profile["inclusive"]]
    return "\n".join(lines) + "\n"


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)
