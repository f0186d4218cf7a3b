"""The control API under /_standin: health, the mounted APIs with demo credentials, specs, reset."""

from __future__ import annotations

import time

from server import docs, persistence
from server.api import SPECS, ApiError, Reply, respond, runtime
from server.clock import clock_get, clock_put  # noqa: F401 (operations of admin.yaml)
from server.docs import docs_asset, docs_list, docs_page  # noqa: F401 (operations of admin.yaml)
from server.journal import requests_clear, requests_count, requests_list  # noqa: F401 (operations of admin.yaml)
from server.persistence import state_get, state_put  # noqa: F401 (operations of admin.yaml)
from server.rules import rules_clear, rules_create, rules_delete, rules_list  # noqa: F401 (operations of admin.yaml)


def render(error: ApiError) -> Reply:
    """Standin's own error body, used for the control API and for paths no API owns."""
    if error.kind in ("invalid", "unknown_parameter"):
        error.status_code = 400
    body = {"error": {"status": error.status_code, "kind": error.kind, "detail": error.detail or error.kind}}
    if error.violations:
        body["error"]["detail"] = "; ".join(f"{v.name}: {v.message}" for v in error.violations)
    return Reply(error.status_code, body, dict(error.headers))


async def health():
    rt = runtime()
    uptime = round(time.time() - rt.started, 3)
    return respond(200, {"status": "ok", "seed": rt.seed, "uptime_seconds": uptime, "records": rt.count()})


async def apis_list():
    rt = runtime()
    items = [
        {
            "name": api.name,
            "title": api.title,
            "prefix": rt.prefixes[api.name],
            "spec_url": f"/_standin/specs/{api.name}",
            "demo": api.demo,
        }
        for api in rt.apis
    ]
    return respond(200, {"apis": items})


async def specs_get(api: str):
    rt = runtime()
    if api == "admin":
        return respond(200, docs.served_spec(SPECS / "admin.yaml", "/_standin"), "application/yaml")
    match = next((a for a in rt.apis if a.name == api), None)
    if match is None:
        raise ApiError("not_found", f"No API named {api!r} is mounted")
    return respond(200, docs.served_spec(match.spec_path, rt.prefixes[api]), "application/yaml")


async def reset(seed: int | None = None, keep_sessions: bool = False):
    rt = runtime()
    sessions = persistence.sessions(rt) if keep_sessions else None
    rt.reset(seed)
    if sessions is not None:
        persistence.restore_sessions(rt, sessions)
    return respond(200, {"status": "reset", "seed": rt.seed, "records": rt.count()})
