"""Where the contract suite points: the in-process app (default) or a base URL with credentials.

Credentials for a real deployment come from the environment (see README, "Contract testing"):
STANDIN_TARGET (base URL), and per API the headers it needs.
"""

from __future__ import annotations

import os

import schemathesis
import yaml

from server.api import SPECS

# Demo headers of the in-process server; a real deployment's come from the environment.
ENV_HEADERS = {
    "productive": {"X-Auth-Token": "PRODUCTIVE_TOKEN", "X-Organization-Id": "PRODUCTIVE_ORGANIZATION_ID"},
    "ibuildapp": {"Authorization": "IBUILDAPP_AUTHORIZATION"},
    "resourceguru": {"Authorization": "RESOURCEGURU_AUTHORIZATION"},
}


APPS: dict = {}  # in-process apps by API name, reset before every test (conftest)


def in_process(name: str):
    """The in-process app serving one API at the root (the control API: every API, prefixed)."""
    from server.app import create_app

    if name not in APPS:
        APPS[name] = create_app([name] if name != "admin" else None, root=name != "admin", rate_limit=0)
    return APPS[name]


def target_url() -> str | None:
    return os.environ.get("STANDIN_TARGET") or None


def load(name: str):
    """A schemathesis schema for one API, wired to the in-process app or to STANDIN_TARGET."""
    with open(SPECS / f"{name}.yaml", encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    schema = schemathesis.openapi.from_dict(spec)
    url = target_url()
    if url:
        headers = {k: os.environ[v] for k, v in ENV_HEADERS.get(name, {}).items() if v in os.environ}
        schema.config.update(
            base_url=f"{url.rstrip('/')}/{name}" if name != "admin" else url, headers=headers
        )
        return schema
    app = in_process(name)
    schema.app = app
    demo = next((a.demo for a in app.runtime.apis if a.name == name), {})
    schema.config.update(headers=dict(demo.get("headers", {})))
    return schema
