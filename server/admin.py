"""The control API under /_standin: health, the mounted APIs with demo credentials, specs, reset."""

from __future__ import annotations

import time

from server.api import ApiError, Reply, respond, runtime


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
    return respond(
        200, {"status": "ok", "seed": rt.seed, "uptime_seconds": uptime, "records": rt.store.count()}
    )


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
    match = next((a for a in rt.apis if a.name == api), None)
    if match is None:
        raise ApiError("not_found", f"No API named {api!r} is mounted")
    return respond(200, match.spec_path.read_text(encoding="utf-8"), "application/yaml")


async def reset(seed: int | None = None):
    rt = runtime()
    rt.reset(seed)
    return respond(200, {"status": "reset", "seed": rt.seed, "records": rt.store.count()})
