"""Where the contract suite points: the in-process app (default) or a base URL with credentials.

STANDIN_TARGET (set by `--target`) is a running Standin's root URL; each API is under its prefix.
Credentials: contract_tests/auth.py (demo values in-process, the environment otherwise).
"""

from __future__ import annotations

import os

import httpx
import schemathesis
import yaml

from contract_tests import hooks
from contract_tests.auth import AuthError, credentials
from server.api import SPECS

APPS: dict = {}  # in-process apps by API name, reset before every test (conftest)


def in_process(name: str):
    """The in-process app serving one API at the root (the control API: every API, prefixed)."""
    from server.app import create_app

    if name not in APPS:
        APPS[name] = create_app([name] if name != "admin" else None, root=name != "admin", rate_limit=0)
    return APPS[name]


def target_url() -> str | None:
    return os.environ.get("STANDIN_TARGET") or None


def target_credentials(name: str, root: str, base: str) -> tuple[dict, dict]:
    """The environment's credentials for this API, else the running Standin's demo ones
    (GET /_standin/apis): each API needs only what it needs, and a Standin needs nothing."""
    if name == "admin":
        return {}, {}
    try:
        return credentials(name, base)
    except AuthError:
        apis = httpx.get(f"{root}/_standin/apis", timeout=10).json()["apis"]
        demo = next((a["demo"] for a in apis if a["name"] == name), None)
        if demo is None:
            raise
        return credentials(name, base, demo)


def load(name: str):
    """A schemathesis schema for one API, wired to the in-process app or to STANDIN_TARGET."""
    with open(SPECS / f"{name}.yaml", encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    schema = schemathesis.openapi.from_dict(spec)
    url = target_url()
    if url:
        base = f"{url.rstrip('/')}/_standin" if name == "admin" else f"{url.rstrip('/')}/{name}"
        headers, path_parameters = target_credentials(name, url.rstrip("/"), base)
        schema.config.update(base_url=base)
    else:
        os.environ.setdefault("STANDIN_UNDECLARED_KEYS", "fail")  # Standin itself: exact key sets
        app = in_process(name)
        schema.app = app
        demo = next((a.demo for a in app.runtime.apis if a.name == name), {})
        headers, path_parameters = credentials(name, "", demo)
    schema.config.update(headers=headers)
    hooks.PINNED.update(path_parameters)
    return schema


def state_machine(schema):
    """The schema's state machine; in-process, every scenario starts from the seeded state, so
    that hypothesis sees the same answers when it replays a scenario."""

    class Machine(schema.as_state_machine()):
        def setup(self):
            for app in APPS.values():
                app.runtime.reset()

    return Machine
