"""`standin contract`: schemathesis over one API's spec, against Standin or any deployment.

Without --base-url, Standin itself is started on a free 127.0.0.1 port in this process. The run
is schemathesis's own CLI (all checks; examples, coverage, fuzzing and stateful phases; its HTML
report) in a subprocess that loads contract_tests.hooks: observe.py tallies every answer per
operation, traffic.py keeps to the vendor's rate limit and logs in again after an unexpected 401.
This module picks the operations (reads only, unless writes are allowed; operations that end the
caller's session in a last pass of their own), then judges the run (report.py).

Exit codes: 0 every selected operation exercised and conforming; 1 a check failed, or an
operation was not exercised (unless allow_unexercised); 2 usage or connection error.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx

from contract_tests import report, selection
from contract_tests.auth import PLACEHOLDERS, AuthError, can_login, credentials, demo_env
from server.api import SPECS

# Requests per operation each phase sent in runs over the three specs (all checks on): what the
# duration printed up front is estimated from. Coverage sends ~40-60 whatever --max-examples says.
PER_OPERATION = {"examples": 4, "coverage": 50, "fuzzing": 3}  # fuzzing: per example
STEPS_PER_SCENARIO = 4
# Stateful scenarios per declared link: each scenario starts at a random root and follows a few
# links, so some are never followed in fewer (75-95% over iBuildApp's reads at 4-6 a link). A
# throttled run gets fewer: each scenario costs requests out of the vendor's budget.
SCENARIOS_PER_LINK = 10
SCENARIOS_PER_LINK_THROTTLED = 3
PHASES = "examples,coverage,fuzzing,stateful"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_thread(app) -> str:
    """Serve an ASGI app on 127.0.0.1 in a daemon thread; returns its base URL once it answers."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/_standin/health", timeout=1)
            return base
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("Standin did not start")


@dataclass
class Target:
    api: str
    base_url: str
    headers: dict
    path_parameters: dict
    relogin: dict | None  # what traffic.py needs to log in again
    in_process: bool


class UsageError(Exception):
    """Exit 2: the run cannot start."""


def resolve(api: str, base_url: str | None, given: list[str] | None, app=None) -> Target:
    if not (SPECS / f"{api}.yaml").exists():
        raise UsageError(f"no spec for API {api!r}")
    demo, env = None, dict(os.environ)
    if base_url is None:
        from server.app import create_app

        app = app or create_app([api], rate_limit=0)
        demo = next(a.demo for a in app.runtime.apis if a.name == api)
        base_url = f"{serve_in_thread(app)}/{api}"
        env = demo_env(api, demo)
    try:
        httpx.get(base_url, timeout=10)
    except httpx.TransportError as e:
        raise UsageError(f"cannot reach {base_url}: {e}") from e
    try:
        headers, path_parameters = credentials(api, base_url, demo, given=given)
    except (AuthError, httpx.TransportError, ValueError) as e:
        raise UsageError(f"{api} credentials: {e}") from e
    relogin = {"api": api, "base": base_url, "env": env} if can_login(api, env) and not given else None
    return Target(api, base_url, headers, path_parameters, relogin, demo is not None)


def _config(reports: Path, scenarios: int) -> Path:
    """The package's schemathesis.toml (the repository root links to it), wherever the command runs from, with link inference
    off (the stateful phase follows the spec's declared links, which are what coverage counts) and
    room for enough scenarios to follow each of them."""
    config = reports / "schemathesis.toml"
    text = resources.files("contract_tests").joinpath("schemathesis.toml").read_text(encoding="utf-8")
    text += f"\n[phases.stateful]\ngeneration.max-examples = {scenarios}\ninference.algorithms = []\n"
    config.write_text(text, encoding="utf-8")
    return config


def reproduce_line(target: Target) -> str:
    names = sorted({p.split("$")[1].split()[0] for p in PLACEHOLDERS.get(target.api, {}).values()})
    where = f"http://127.0.0.1:8000/{target.api} (`standin serve`)" if target.in_process else target.base_url
    values = ", ".join(names) or "no credentials"
    return f"The curl lines reproduce against {where}; set {values} to your credentials first."


def _pass(target: Target, labels: list[str], opts: dict, reports: Path, name: str) -> dict:
    """One schemathesis run over `labels`; the outcome observe.py wrote."""
    spec = selection.load(target.api)
    links = selection.links(spec, set(labels))
    outcome = reports / f"outcome-{name}.json"
    outcome.unlink(missing_ok=True)
    config = _config(reports, scenarios(opts, len(links)))
    argv = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    argv += [str(SPECS / f"{target.api}.yaml"), "--url", target.base_url, "--no-color"]
    argv += [
        "--max-examples",
        str(opts["max_examples"]),
        "--seed",
        str(opts["seed"]),
        "--generation-database",
        "none",
    ]
    argv += [
        "--report",
        "html",
        "--report-html-path",
        str(reports / ("html" if name == "main" else f"html-{name}")),
    ]
    for header, value in target.headers.items():
        argv += ["-H", f"{header}: {value}"]
    for label in labels:
        argv += ["--include-name", label]
    phases = [p for p in opts["phases"].split(",") if links or p != "stateful"]  # no links: nothing stateful
    argv += ["--phases", ",".join(phases)]
    argv += opts.get("extra") or []
    placeholders = {k: v for k, v in PLACEHOLDERS.get(target.api, {}).items()}
    traffic = {"rate": opts["rate"], "credentials": target.headers, "relogin": target.relogin}
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "contract_tests.hooks",
        "STANDIN_PATH_PARAMETERS": json.dumps(target.path_parameters),
        "STANDIN_API": target.api,
        "STANDIN_OUTCOME": str(outcome),
        "STANDIN_PLACEHOLDERS": json.dumps(placeholders),
        "STANDIN_TRAFFIC": json.dumps(traffic),
        "STANDIN_CONTRACT_TARGET": "in-process" if target.in_process else "base-url",
    }
    log = reports / f"schemathesis-{name}.log"
    with open(log, "w", encoding="utf-8") as out:
        subprocess.call(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    if not outcome.exists():
        raise UsageError(f"schemathesis stopped without a result; see {log}:\n{log.read_text()[-2000:]}")
    return json.loads(outcome.read_text(encoding="utf-8"))


def merge(outcomes: list[dict]) -> dict:
    merged = {"statuses": {}, "exercised": {}, "failures": {}, "links": [], "errors": [], "traffic": {}}
    for o in outcomes:
        for label, counts in o["statuses"].items():
            mine = merged["statuses"].setdefault(label, {})
            for status, n in counts.items():
                mine[status] = mine.get(status, 0) + n
        for label, n in o["exercised"].items():
            merged["exercised"][label] = merged["exercised"].get(label, 0) + n
        for label, failures in o["failures"].items():
            merged["failures"].setdefault(label, []).extend(failures)
        merged["links"] += o["links"]
        merged["errors"] += o["errors"]
        for key, value in o["traffic"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                merged["traffic"][key] = merged["traffic"].get(key, 0) + value
            elif value is not None:
                merged["traffic"][key] = value
    return merged


def plan(target: Target, allow_writes: bool, rate_limit: int | None) -> tuple[list, list, list | None]:
    """(operations of the main pass, of the last pass, the throttle as [requests, seconds])."""
    spec = selection.load(target.api)
    chosen = [op for op in selection.operations(spec) if allow_writes or op.reads]
    main = [op.label for op in chosen if not op.ends_session]
    last = [op.label for op in chosen if op.ends_session]
    documented = selection.rate_limit(spec)
    if rate_limit is not None:
        rate = [rate_limit, 60] if rate_limit > 0 else None
    else:
        rate = [documented.requests, documented.seconds] if documented and not target.in_process else None
    return main, last, rate


def estimate(operations: int, opts: dict, links: int) -> int:
    phases = opts["phases"].split(",")
    per_operation = sum(n for phase, n in PER_OPERATION.items() if phase in phases and phase != "fuzzing")
    if "fuzzing" in phases:
        per_operation += PER_OPERATION["fuzzing"] * opts["max_examples"]
    stateful = scenarios(opts, links) * STEPS_PER_SCENARIO if "stateful" in phases and links else 0
    return operations * per_operation + stateful


def scenarios(opts: dict, links: int) -> int:
    per_link = SCENARIOS_PER_LINK_THROTTLED if opts["rate"] else SCENARIOS_PER_LINK
    return max(opts["max_examples"], per_link * links)


def announce(target: Target, main: list, last: list, rate: list | None, opts: dict, links: int) -> None:
    count = len(main) + len(last)
    mode = "reads and writes" if opts["allow_writes"] else "reads only"
    print(
        f"standin contract: {target.api} at {target.base_url}: {count} operations ({mode}); seed {opts['seed']}"
    )
    if rate:
        requests = estimate(len(main) + len(last), opts, links)
        minutes = max(0.0, requests - rate[0]) / rate[0] * rate[1] / 60
        print(
            f"  throttled to {rate[0]} requests per {rate[1]} s: about {requests} requests, ~{minutes:.0f} min"
        )
    if last:
        print(f"  last, in a pass of their own (they may end the session): {', '.join(last)}")
    sys.stdout.flush()


def run(
    api: str,
    base_url: str | None = None,
    headers: list[str] | None = None,
    allow_writes: bool = False,
    max_examples: int = 25,
    seed: int | None = None,
    junit: str | None = None,
    report_dir: str | None = None,
    app=None,
    extra: list[str] | None = None,
    rate_limit: int | None = None,
    allow_unexercised: bool = False,
    phases: str = PHASES,
) -> int:
    reports = Path(report_dir or f"reports/{api}")
    reports.mkdir(parents=True, exist_ok=True)
    try:
        target = resolve(api, base_url, headers, app)
        allow_writes = allow_writes or target.in_process  # in-process: our own throwaway state
        main, last, rate = plan(target, allow_writes, rate_limit)
        seed = random.randrange(2**31) if seed is None else seed
        opts = {"max_examples": max_examples, "seed": seed, "extra": extra, "rate": rate, "phases": phases}
        opts["allow_writes"] = allow_writes
        links = selection.links(selection.load(api), set(main + last))
        announce(target, main, last, rate, opts, len(links))
        outcomes = [_pass(target, main, opts, reports, "main")]
        if last:
            outcomes.append(_pass(target, last, opts, reports, "last"))
    except UsageError as e:
        print(f"standin contract: {e}", file=sys.stderr)
        return 2
    labels = main + last
    verdict = report.verdict(labels, links, merge(outcomes), reproduce_line(target))
    report.print_table(verdict, sys.stdout)
    junit_path = Path(junit or reports / "junit.xml")
    report.write_junit(verdict, api, junit_path)
    report.write_html(
        verdict,
        api,
        reports / "summary.html",
        "<p>schemathesis's report: <a href='html/index.html'>html/</a></p>",
    )
    (reports / "verdict.json").write_text(
        json.dumps([r.__dict__ for r in verdict.rows], indent=1), encoding="utf-8"
    )
    print(f"JUnit: {junit_path}   HTML: {reports / 'summary.html'} (schemathesis's: {reports / 'html'})")
    print(f"Reproduce this run: --seed {seed}")
    if verdict.failed:
        return 1
    return 1 if verdict.unexercised and not allow_unexercised else 0
