"""`standin contract`: schemathesis over one API's spec, against Standin or any deployment.

Without --base-url, Standin itself is started on a free 127.0.0.1 port in this process. The run
is schemathesis's own CLI (all checks, examples/coverage/fuzzing/stateful phases, JUnit and HTML
reports); this module adds the target, the vendor's credentials, read-only mode, a per-operation
summary and exit codes 0 (conforms), 1 (violations), 2 (usage or connection error).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from contract_tests.auth import AuthError, credentials
from server.api import SPECS


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


def _config(reports: Path) -> Path:
    """The repository's schemathesis.toml, wherever the command runs from."""
    config = reports / "schemathesis.toml"
    config.write_text((Path(__file__).resolve().parents[1] / "schemathesis.toml").read_text(encoding="utf-8"))
    return config


def summarize(junit: Path) -> list[tuple[str, str, str, str]]:
    """(operation, result, first failure, a curl that reproduces it) per JUnit test case."""
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        problem = failure if failure is not None else error
        result = (
            "FAIL"
            if failure is not None
            else "ERROR"
            if error is not None
            else "SKIP"
            if skipped is not None
            else "ok"
        )
        text = ((problem.get("message") or "") + "\n" + (problem.text or "")) if problem is not None else ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        first = next((line for line in lines if not line.startswith(("1. Test Case ID", "-"))), "")
        codes = ", ".join(line[2:].split(" ")[0] for line in lines if line.startswith("- ST"))
        curl = next((line for line in lines if line.startswith("curl ")), "")
        rows.append((case.get("name", "?"), result, codes or first, curl))
    return rows


def run(
    api: str,
    base_url: str | None = None,
    headers: list[str] | None = None,
    allow_writes: bool = False,
    max_examples: int = 25,
    seed: int = 42,
    junit: str | None = None,
    report: str | None = None,
    app=None,
    extra: list[str] | None = None,
) -> int:
    spec = SPECS / f"{api}.yaml"
    if not spec.exists():
        print(f"standin contract: no spec for API {api!r}", file=sys.stderr)
        return 2
    demo = None
    if base_url is None:
        from server.app import create_app

        app = app or create_app([api], rate_limit=0)
        demo = next(a.demo for a in app.runtime.apis if a.name == api)
        base_url = f"{serve_in_thread(app)}/{api}"
        allow_writes = True  # our own throwaway state
    try:
        httpx.get(base_url, timeout=10)
    except httpx.TransportError as e:
        print(f"standin contract: cannot reach {base_url}: {e}", file=sys.stderr)
        return 2
    reports = Path(report or f"reports/{api}")
    reports.mkdir(parents=True, exist_ok=True)
    junit_path = Path(junit or reports / "junit.xml")
    try:
        found, path_parameters = credentials(api, base_url, demo)
    except (AuthError, httpx.TransportError) as e:
        print(f"standin contract: {api} credentials: {e}", file=sys.stderr)
        return 2
    config = _config(reports)
    argv = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(spec)]
    argv += ["--url", base_url, "--max-examples", str(max_examples), "--seed", str(seed)]
    argv += ["--generation-deterministic", "--report", "junit,html", "--report-junit-path", str(junit_path)]
    argv += ["--report-html-path", str(reports / "html"), "--no-color"]
    for header in headers or [f"{k}: {v}" for k, v in found.items()]:
        argv += ["-H", header]
    if not allow_writes:
        argv += ["--include-method", "GET"]
    argv += extra or []
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "contract_tests.hooks",
        "STANDIN_PATH_PARAMETERS": json.dumps(path_parameters),
    }
    code = subprocess.call(argv, env=env)
    if junit_path.exists():
        rows = summarize(junit_path)
        width = max((len(r[0]) for r in rows), default=10)
        print(f"\n{'operation':<{width}}  result  first failure")
        for name, result, first, curl in rows:
            print(f"{name:<{width}}  {result:<6}  {first[:100]}")
            if curl:
                print(f"{'':<{width}}          {curl[:300]}")
        print(f"\nJUnit: {junit_path}   HTML: {reports / 'html'}")
    return 0 if code == 0 else 1 if code == 1 else 2
