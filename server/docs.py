"""A docs page per API: Swagger UI over the spec as this Standin serves it, demo credentials filled in.

The assets come from the `swagger_ui_bundle` package (installed by connexion[swagger-ui]); nothing
is fetched from the internet. `GET /_standin/specs/{api}` serves the spec with its `servers` (and
OAuth URLs) pointing at this Standin's prefix, so "Try it out" calls Standin, and each page
pre-authorizes the API's security schemes with its demo credentials (`Api.demo`), so it works at
once. `GET /` (outside every API) points at these pages.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

from server.api import ApiError, respond, runtime

DOCS = "/_standin/docs"
ASSETS = Path(swagger_ui_path)
# The files a page loads (and the OAuth2 redirect page): nothing else of the package is served.
ASSET_NAMES = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "oauth2-redirect.html",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
CONTENT_TYPES = {  # as specs/admin.yaml lists them
    "css": "text/css; charset=utf-8",
    "js": "application/javascript; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
}
_OAUTH_URL_KEY = re.compile(r"^(\s*(?:authorizationUrl|tokenUrl|refreshUrl):\s*)(\S+)\s*$")


def _mounted(name: str):
    api = next((a for a in runtime().apis if a.name == name), None)
    if api is None:
        raise ApiError("not_found", f"No API named {name!r} is mounted")
    return api


# -- the spec as served --------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def served_spec(path: Path, prefix: str) -> str:
    """The spec's text as written, but for its top-level `servers` (this Standin's prefix) and
    the OAuth flows' URLs (the same path under the prefix instead of the vendor's host)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, skipping = [], False
    for line in lines:
        if skipping and (line.startswith((" ", "-")) or not line.strip()):
            continue
        skipping = False
        if line.startswith("servers:"):
            out += ["servers:", f"  - url: {prefix or '/'}", "    description: this Standin"]
            skipping = True
            continue
        match = _OAUTH_URL_KEY.match(line)
        if match and "://" in match.group(2):
            rest = match.group(2).split("://", 1)[1]
            line = match.group(1) + prefix + "/" + rest.partition("/")[2]
        out.append(line)
    return "\n".join(out) + "\n"


# -- demo credentials for Swagger UI's "Authorize" -------------------------------------------------
def credentials(api, spec: dict) -> dict:
    """What each security scheme of the spec is pre-authorized with, from the API's demo record
    (none for the control API), and the demo tenant's path parameters."""
    demo = api.demo if api is not None else {}
    headers = demo.get("headers", {})
    found: dict = {"apiKey": {}, "basic": {}, "oauth": None, "path": demo.get("path_parameters", {})}
    for key, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
        kind = scheme.get("type")
        if kind == "apiKey" and scheme.get("in") == "header" and scheme.get("name") in headers:
            found["apiKey"][key] = str(headers[scheme["name"]])
        elif kind == "http" and scheme.get("scheme", "").lower() == "bearer":
            value = headers.get("Authorization", "")
            if value.lower().startswith("bearer "):
                found["apiKey"][key] = value[7:]
        elif kind == "http" and scheme.get("scheme", "").lower() == "basic":
            user = demo.get("username") or demo.get("email")
            if user and demo.get("password"):
                found["basic"][key] = [user, demo["password"]]
        elif kind == "oauth2" and demo.get("client_id"):
            found["oauth"] = {"clientId": demo["client_id"], "clientSecret": demo.get("client_secret", "")}
    return found


def _script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Standin</title>
<link rel="icon" href="{docs}/assets/favicon-32x32.png">
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script>
const demo = {demo};
window.ui = SwaggerUIBundle({{
  url: {spec_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  oauth2RedirectUrl: location.origin + "{docs}/assets/oauth2-redirect.html",
  // the demo tenant in path parameters (Resource Guru's account, iBuildApp's app code)
  parameterMacro: (operation, parameter) =>
    parameter.in === "path" && parameter.name in demo.path ? demo.path[parameter.name] : parameter.default,
  onComplete: () => {{
    for (const [name, value] of Object.entries(demo.apiKey)) window.ui.preauthorizeApiKey(name, value);
    for (const [name, pair] of Object.entries(demo.basic)) window.ui.preauthorizeBasic(name, pair[0], pair[1]);
  }},
}});
if (demo.oauth) window.ui.initOAuth(demo.oauth);
</script></body></html>
"""


# -- operations of specs/admin.yaml ----------------------------------------------------------------
async def docs_list():
    rt = runtime()
    items = "".join(
        f'<li><a href="{DOCS}/{a.name}">{html.escape(a.title or a.name)}</a> '
        f"<code>{html.escape(rt.prefixes[a.name] or '/')}</code></li>"
        for a in rt.apis
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Standin docs</title></head>'
        f"<body><h1>Standin</h1><p>Each API's documentation, with its demo credentials filled in:</p>"
        f'<ul>{items}</ul><p>Control API: <a href="{DOCS}/admin">/_standin</a> · '
        '<a href="/_standin/apis">/_standin/apis</a> (JSON)</p></body></html>'
    )
    return respond(200, page, "text/html; charset=utf-8")


async def docs_page(api: str):
    from server.app import load_spec  # the composition module imports this one's operations

    if api == "admin":
        title, spec_url, demo = "Standin control API", "/_standin/specs/admin", credentials(None, {})
    else:
        mounted = _mounted(api)
        title, spec_url = mounted.title or api, f"/_standin/specs/{api}"
        demo = credentials(mounted, load_spec(api))
    page = PAGE.format(
        title=html.escape(title), docs=DOCS, spec_url=_script_json(spec_url), demo=_script_json(demo)
    )
    return respond(200, page, "text/html; charset=utf-8")


async def docs_asset(name: str):
    if name not in ASSET_NAMES:
        raise ApiError("not_found", f"No docs asset named {name!r}")
    content_type = CONTENT_TYPES[name.rpartition(".")[2]]
    return respond(200, (ASSETS / name).read_bytes(), content_type, {"Cache-Control": "max-age=3600"})


def index_body() -> dict:
    """What `GET /` answers: where the docs and the control API are."""
    rt = runtime()
    return {
        "name": "Standin",
        "docs": DOCS,
        "apis": "/_standin/apis",
        "mounted": [
            {"name": a.name, "prefix": rt.prefixes[a.name] or "/", "docs": f"{DOCS}/{a.name}"}
            for a in rt.apis
        ],
    }


async def index(request):
    """`GET /` (a route of its own, outside every API's spec): HTML for a browser (its Accept
    names text/html), else JSON. With `--api NAME` the root is the vendor's and this is unused."""
    if "text/html" in request.headers.get("accept", ""):
        return await docs_list()
    return respond(200, index_body())
