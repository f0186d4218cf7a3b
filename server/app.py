"""Composition: the only place that knows every API. Builds the connexion app and its Runtime."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import pickle
import pkgutil
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import connexion
import yaml
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.datastructures import MutableHeaders

import fixtures
from server import dispatch, errors, fastpath, limits, vendors
from server.api import API_KEY, SPECS, Api, ApiError, Reply, bind
from server.clock import Clock
from server.cors import AnyOriginCORS
from server.journal import Journal, JournalMiddleware
from server.limits import RateLimiter
from server.rules import Delay
from server.steering import Steering, SteeringMiddleware
from server.store import Store

# Listed first, in the order the README, the banner and /_standin/apis have always shown them;
# any other API follows alphabetically.
FIRST = ("productive", "ibuildapp", "resourceguru")


def _discover_apis() -> list[str]:
    """Every vendor API: a package in server/vendors with a spec of the same name in server/specs.
    Adding a fourth needs no list (ARCHITECTURE.md, "Adding an API")."""
    found = [
        m.name
        for m in pkgutil.iter_modules(vendors.__path__)
        if m.ispkg and (SPECS / f"{m.name}.yaml").is_file()
    ]
    return sorted(found, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


API_NAMES = _discover_apis()  # `--api NAME` picks one
ADMIN_PREFIX = "/_standin"
EXPOSED = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "Retry-After",
    "Location",
    "Link",
    "Preference-Applied",
]


def load_api(name: str) -> Api:
    return importlib.import_module(f"server.vendors.{name}").API


def _handler(api: Api, operation_id: str):
    try:
        return api.handlers[operation_id]
    except KeyError:  # connexion reports it as a ResolverError: start-up fails, naming it
        where = f"server/vendors/{api.name}/"
        raise AttributeError(f"{api.name}: no handler named {operation_id!r} in {where}") from None


# libyaml's loader: parsing the specs with the pure-Python one was most of start-up time.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Parsed specs, pickled by content hash: unpickling takes 1/50 of parsing the YAML (~0.35 s of
# start-up for all APIs). Written by this process only; a cache that can't be used is skipped.
_HOME = os.path.expanduser("~")  # stays "~" for a user with neither $HOME nor a passwd entry
_CACHE_ROOT = os.environ.get("XDG_CACHE_HOME") or (None if _HOME == "~" else os.path.join(_HOME, ".cache"))
SPEC_CACHE = Path(_CACHE_ROOT) / "standin" / "specs" if _CACHE_ROOT else None


def load_spec(name: str) -> dict:
    """Specs are passed to connexion as dicts: a file would go through Jinja2 and lose `{{ }}`."""
    text = (SPECS / f"{name}.yaml").read_bytes()
    if SPEC_CACHE is None:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    cached = SPEC_CACHE / f"{name}-{hashlib.sha256(text).hexdigest()[:32]}.pickle"
    try:
        return pickle.loads(cached.read_bytes())  # noqa: S301 (written by load_spec below)
    except Exception:  # missing or unreadable: parse the YAML
        pass
    spec = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    try:
        SPEC_CACHE.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(cached)
        for stale in SPEC_CACHE.glob(f"{name}-*.pickle"):
            if stale != cached:
                stale.unlink(missing_ok=True)
    except OSError:
        pass
    return spec


def _route_table(spec: dict, prefix: str) -> list[tuple[re.Pattern, list[str]]]:
    table = []
    for template, item in spec.get("paths", {}).items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
        methods = sorted(m.upper() for m in item if m in {"get", "put", "post", "patch", "delete"})
        table.append((template.count("{"), re.compile(f"^{re.escape(prefix)}{pattern}/?$"), methods))
    # Literal segments win over parameters: `/timesheets/submit` before `/timesheets/{id}`.
    return [(pattern, methods) for _, pattern, methods in sorted(table, key=lambda t: t[0])]


@dataclass
class Runtime:
    """Everything a request may need: the store, the mounted APIs, the seed, the limiter."""

    apis: list[Api]
    prefixes: dict[str, str]  # api name -> URL prefix ("" when served at the root)
    seed: int = 0
    scale: int = 1
    rate_limit: int | None = None  # overrides every API's limit; 0 switches limiting off
    keep_answers: bool = True  # False: every read is answered afresh (server.dispatch.EngineOperation)
    stores: dict[str, Store] = field(default_factory=dict)  # api name -> its own state
    clock: Clock = field(default_factory=Clock)  # Standin's time (server/clock.py)
    limiter: RateLimiter | None = None  # metered by the clock above
    started: float = field(default_factory=time.time)
    routes: dict[str, list] = field(default_factory=dict)
    after_reset: Callable[[], None] | None = None  # `standin serve` settles the collector here
    journal: Journal = field(default_factory=Journal)  # the last exchanges (server/journal.py)
    steering: Steering | None = None  # Prefer, rules, latency (server/steering.py)
    _snapshots: dict[str, bytes] = field(default_factory=dict)  # api name -> its seeded state

    def __post_init__(self) -> None:
        for api in self.apis:
            self.stores.setdefault(api.name, Store(api.name))
        self._longest_prefix_first = sorted(self.apis, key=lambda a: -len(self.prefixes[a.name]))
        if self.limiter is None:
            self.limiter = RateLimiter(self.clock.time)
        if self.steering is None:
            self.steering = Steering(self)

    def reset(self, seed: int | None = None) -> None:
        """Back to the seeded state: cheap restore, or a new seeding when the seed changes.

        Each API is seeded into its own store from its own Faker stream, so its records and id
        sequences are the same whichever other APIs are mounted."""
        self.limiter.reset()
        self.clock.reset()
        dispatch.KEPT.empty()  # kept answers of the old state would only hold memory
        reseed = seed is not None and (seed != self.seed or not self._snapshots)
        if seed is not None:
            self.seed = seed
        for name, store in self.stores.items():
            if reseed or name not in self._snapshots:
                store.clear()
                fixtures.seed_all(store, self.seed, [name], self.scale)
                self._snapshots[name] = store.snapshot()
            else:
                store.restore(self._snapshots[name])
        if self.after_reset is not None:
            self.after_reset()

    def count(self) -> int:
        """Records held by every mounted API."""
        return sum(store.count() for store in self.stores.values())

    def owner(self, path: str) -> Api | None:
        """The API whose prefix owns the path (longest prefix first); None for the control API."""
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return None
        for api in self._longest_prefix_first:
            prefix = self.prefixes[api.name]
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return api
        return None

    def operation_id(self, method: str, path: str) -> str | None:
        """The operation a request is for; with a method the path does not serve, the path's
        first operation (the renderer picks the format of that family of endpoints)."""
        operations = self.steering.operations
        for candidate in (method, *self.allowed_methods(path)):
            found = operations.find(candidate, path)
            if found is not None:
                return found.operation_id
        return None

    def allowed_methods(self, path: str) -> list[str]:
        api = self.owner(path)
        for pattern, methods in self.routes.get(api.name if api else "admin", []):
            if pattern.match(path):
                return methods
        return []

    def render_error(self, method: str, path: str, error: ApiError) -> Reply:
        """The error in the format of the API owning the path, told which operation it is for."""
        error.operation = self.operation_id(method, path)
        api = self.owner(path)
        if api is None:
            from server import admin

            return admin.render(error)
        return api.render(error)


class EngineMiddleware:
    """Outside connexion's exception handling: binds the Runtime, meters clients, adds rate headers."""

    def __init__(self, app, runtime: Runtime) -> None:
        self.app, self.runtime = app, runtime

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rt = scope.setdefault("standin", self.runtime)  # steering may run a request on a copy
        bind(scope)
        limits.strict_authorization(scope)  # `scheme SP token68` or no credentials at all
        api = rt.owner(scope["path"])
        scope[API_KEY] = api.name if api is not None else None  # whose store answers (dispatch)
        if api is None or api.rate is None or rt.rate_limit == 0:
            return await self.app(scope, receive, send)
        limit = rt.rate_limit or api.rate.limit
        client = limits.client_key(api.rate, scope)  # the authenticated client, else the address
        budget = rt.limiter.hit((api.name, client), limit, api.rate.window)
        rate_headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(budget.remaining, 0)),
        }
        if budget.exhausted:
            rate_headers["Retry-After"] = str(budget.retry_after)
            error = ApiError("rate_limited", "Rate limit exceeded", headers=rate_headers)
            reply = rt.render_error(scope["method"], scope["path"], error)
            return await _send_reply(send, reply)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(rate_headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_reply(send, reply: Reply) -> None:
    body = reply.encode()
    headers = {"content-type": reply.content_type, "content-length": str(len(body)), **reply.headers}
    raw = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def create_app(
    apis: list[str] | None = None,
    *,
    seed: int = 0,
    root: bool = False,
    scale: int = 1,
    rate_limit: int | None = None,
    keep_answers: bool = True,
    fast: bool | None = None,
    journal: int = 1000,
    latency: str | None = None,
    admin_token: str | None = None,
) -> connexion.AsyncApp:
    """The ASGI app: each API under its prefix (or one API at the root), plus the control API.

    `fast` None: the fast paths unless STANDIN_FASTPATH=0 (server.fastpath)."""
    from server import admin, docs

    engine = fastpath.install(fast)
    names = apis or API_NAMES
    mounted = [load_api(n) for n in names]
    prefixes = {a.name: ("" if root else f"/{a.name}") for a in mounted}
    runtime = Runtime(mounted, prefixes, scale=scale, rate_limit=rate_limit, keep_answers=keep_answers)
    runtime.journal = Journal(journal)
    runtime.steering.latency = Delay.parse(latency) if latency else None
    runtime.reset(seed)

    # connexion logs every undeclared query parameter at ERROR; they are ignored by design.
    logging.getLogger("connexion.decorators.parameter").setLevel(logging.CRITICAL)
    app = engine.app_class(
        __name__, middlewares=list(engine.middlewares), jsonifier=Jsonifier(json, separators=(",", ":"))
    )
    options = dict(
        pythonic_params=True,
        validate_responses=False,
        uri_parser_class=engine.uri_parser,
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
    for api in mounted:
        spec = load_spec(api.name)
        runtime.routes[api.name] = _route_table(spec, prefixes[api.name])
        resolver = Resolver(function_resolver=lambda op, api=api: engine.handler(_handler(api, op)))
        app.add_api(
            spec,
            base_path=prefixes[api.name],
            name=api.name,
            resolver=resolver,
            validator_map=errors.validator_map(api.strict_query, engine.validators),
            **options,
        )
    admin_spec = load_spec("admin")
    runtime.routes["admin"] = _route_table(admin_spec, ADMIN_PREFIX)
    app.add_api(
        admin_spec,
        base_path=ADMIN_PREFIX,
        name="admin",
        resolver=Resolver(function_resolver=lambda op: engine.handler(getattr(admin, op))),
        validator_map=errors.validator_map(("",), engine.validators),
        **options,
    )
    if not root:  # `/` is no API's: it points at the docs (server/docs.py); at the root it is the vendor's
        app.add_url_rule("/", "standin_index", docs.index, methods=["GET"])
    errors.install(app)
    # Outermost first: journal, CORS (so every answer carries it, 429s and steered ones included,
    # and preflights are answered before the rate limiter), steering, then the engine.
    app.add_middleware(JournalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=runtime)
    app.add_middleware(
        AnyOriginCORS,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        expose_headers=EXPOSED,
        max_age=600,
        admin_token=admin_token,  # the control API's (server/cors.py)
    )
    app.add_middleware(SteeringMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=runtime)
    app.add_middleware(EngineMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime=runtime)
    app.runtime = runtime
    app.admin_token = admin_token
    app.engine = engine
    fastpath.verify_app(app, engine)
    return app
