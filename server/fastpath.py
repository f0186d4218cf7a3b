"""Every place Standin replaces connexion's, Starlette's or uvicorn's own per-request work.

Standin answers like stock connexion, only faster: each fast path below keeps the library's rules
and drops repeated work (rebuilding objects per request, regex scans, detours through
`__getattr__`). They touch private parts of those libraries, so they are fenced here:

- applied in one place (`install`, called by `server.app.create_app`), each with its reason;
- checked after applying (`install` verifies every swap took, `verify_app` that the app was built
  from the fast classes), so a fast path can't silently stop applying;
- guarded by the exact library versions they were written against (`TESTED`, pinned in
  pyproject.toml): start-up fails on any other version unless `STANDIN_FASTPATH=0`;
- switched off as a whole by `STANDIN_FASTPATH=0`, which runs stock connexion, Starlette and
  uvicorn end to end (`Engine.stock`), and proven to answer byte for byte what the stock
  engine answers by tests/test_fastpath.py over the documented exchanges, every spec example and
  a schemathesis sample of every API.

What is Standin behaviour rather than speed (errors rendered in the vendor's format with every
violation, the query parser's bad input as a 400, which query names are refused) lives in
`server.errors` and holds in both modes.
"""

from __future__ import annotations

import functools
import gc
import os
from dataclasses import dataclass
from importlib.metadata import version

import connexion.decorators.parameter
import connexion.middleware.routing
import connexion.middleware.security
import connexion.operations
import connexion.security
import connexion.spec
import connexion.utils
import connexion.validators.parameter
from connexion import AsyncApp
from connexion.middleware.main import ConnexionMiddleware

from server import dispatch, errors, serving

ENV = "STANDIN_FASTPATH"
# The versions every fast path was written and proven against (pinned in pyproject.toml).
TESTED = {"connexion": "3.3.0", "starlette": "1.10.0", "uvicorn": "0.54.0"}


def enabled() -> bool:
    """The fast paths are on unless STANDIN_FASTPATH=0."""
    return os.environ.get(ENV, "1").strip() != "0"


class UntestedVersion(RuntimeError):
    """A library the fast paths patch is at a version they were not proven against."""


@functools.cache
def check_versions() -> None:
    found = {name: version(name) for name in TESTED}
    wrong = {name: v for name, v in found.items() if v != TESTED[name]}
    if wrong:
        listed = ", ".join(f"{n} {v} (tested: {TESTED[n]})" for n, v in sorted(wrong.items()))
        raise UntestedVersion(
            f"Standin's fast paths were written against other versions: {listed}. "
            f"Install the pinned versions, or run with {ENV}=0 for stock connexion/Starlette/uvicorn."
        )


def _no_meta_schema_pass(cls, spec) -> None:
    """tests/test_specs.py validates every spec with openapi-spec-validator, which is stricter."""


_stock_body_definition = connexion.operations.OpenAPIOperation.body_definition


def _kept_body_definition(self, content_type: str | None = None) -> dict:
    kept = self.__dict__.setdefault("_standin_body_definitions", {})
    if content_type not in kept:
        kept[content_type] = _stock_body_definition(self, content_type)
    return kept[content_type]


_kept_arguments = functools.cache(connexion.utils.inspect_function_arguments)


@dataclass(frozen=True)
class Swap:
    """An attribute of a connexion or Starlette module or class replaced process-wide."""

    owner: object
    name: str
    replacement: object
    reason: str


SWAPS = (
    Swap(
        connexion.spec.Specification,
        "_validate_spec",
        classmethod(_no_meta_schema_pass),
        "its meta-schema pass over each spec was most of start-up; tests/test_specs.py is stricter",
    ),
    Swap(
        connexion.middleware.routing,
        "Router",
        dispatch.IndexedRouter,
        "Starlette tried every route's regex per request; this tries only routes whose literals fit",
    ),
    Swap(
        connexion.middleware.security,
        "ConnexionRequest",
        dispatch.DirectRequest,
        "security's request object read scope and headers through a failing __getattr__",
    ),
    Swap(
        connexion.validators.parameter,
        "ConnexionRequest",
        dispatch.DirectRequest,
        "parameter validation's request object, the same",
    ),
    Swap(
        connexion.operations.OpenAPIOperation,
        "body_definition",
        _kept_body_definition,
        "worked out from the spec several times per request; it depends only on the content type",
    ),
    Swap(
        connexion.security,
        "inspect_function_arguments",
        _kept_arguments,
        "inspect.signature of the same security function on every request",
    ),
    Swap(
        connexion.decorators.parameter,
        "inspect_function_arguments",
        _kept_arguments,
        "inspect.signature of the same handler on every request",
    ),
)

_STOCK = {(id(s.owner), s.name): s.owner.__dict__[s.name] for s in SWAPS}


@dataclass(frozen=True)
class Engine:
    """The classes an app and its server are built from: the fast paths, or stock ones."""

    fast: bool
    app_class: type  # fast: operations built once, kept answers (dispatch.EngineOperation)
    middlewares: tuple  # fast: routing and validation that build their objects once
    validators: dict  # server.errors' validators: fast ones take jsonschema-rs's quick pass first
    uri_parser: type  # fast: parameter schemas and path values resolved once
    protocol: object  # uvicorn's `http=`: fast: each response in one write
    freeze_collector: bool  # `standin serve`: long-lived records out of the collector's passes

    def handler(self, fn):
        """Stock connexion calls the handler itself: bind the request for `api.request()` first."""
        return fn if self.fast else dispatch.bound_handler(fn)


FAST = Engine(
    fast=True,
    app_class=dispatch.EngineApp,
    middlewares=dispatch.MIDDLEWARES,
    validators=errors.FAST_VALIDATORS,
    uri_parser=errors.FastURIParser,
    protocol=serving.CoalescingHttpToolsProtocol,
    freeze_collector=True,
)
STOCK = Engine(
    fast=False,
    app_class=AsyncApp,
    middlewares=tuple(ConnexionMiddleware.default_middlewares),
    validators=errors.VALIDATORS,
    uri_parser=errors.SafeURIParser,
    protocol=serving.GuardedHttpToolsProtocol,  # Standin's bounds (limits, timeouts) hold in both modes
    freeze_collector=False,
)


def install(fast: bool | None = None) -> Engine:
    """Apply (or, for stock, undo) every swap and return the classes to build from.

    `fast` None reads STANDIN_FASTPATH. Swaps are process-wide; tests switch them per request."""
    fast = enabled() if fast is None else fast
    if fast:
        check_versions()
    for swap in SWAPS:
        setattr(swap.owner, swap.name, swap.replacement if fast else _STOCK[(id(swap.owner), swap.name)])
    for swap in SWAPS:
        if (swap.owner.__dict__[swap.name] is swap.replacement) != fast:
            raise RuntimeError(f"fast path {swap.owner.__name__}.{swap.name} did not apply: {swap.reason}")
    return FAST if fast else STOCK


def verify_app(app, engine: Engine) -> None:
    """The built app runs the engine's classes (a connexion change to how apps are assembled
    would otherwise drop a fast path silently)."""
    stack = tuple(app.middleware.middlewares)
    if not set(engine.middlewares) <= set(stack):
        raise RuntimeError(f"the app's middleware stack {stack} lacks {engine.middlewares}")
    if not isinstance(app, engine.app_class):
        raise RuntimeError(f"the app is a {type(app).__name__}, not a {engine.app_class.__name__}")
    if engine.fast and not isinstance(app.middleware.app, dispatch.EngineASGIApp):
        raise RuntimeError("connexion's app does not call Standin's operations")


def settle_collector() -> None:
    """The seeded records live until the next reset: keep the garbage collector from walking them
    again and again (its full passes over the seeded store showed as latency spikes under load).
    Unfrozen first, so that cyclic garbage frozen since the last reset is freed now."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class SurvivorFreezer:
    """A gc callback: after an automatic full collection, freeze what survived it (records
    written since the reset, long-lived by then), so the next full pass walks only what came
    since. A record deleted later is still freed at once (reference counting does not look at
    frozen objects); what a frozen generation can hold is cyclic garbage caught in flight, so
    every `THAW_EVERY`-th full pass first unfreezes everything and frees such cycles
    (bench/memory.py: memory flat over 1,000,000 create/delete cycles)."""

    THAW_EVERY = 4

    def __init__(self) -> None:
        self.full_passes = 0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.full_passes += 1
            if self.full_passes % self.THAW_EVERY == 0:
                gc.unfreeze()  # this pass walks everything once and frees frozen cycles
        else:
            gc.freeze()


def hold_collector(runtime) -> None:
    """`standin serve`'s collector policy (fast mode only; stock leaves the collector alone)."""
    settle_collector()
    runtime.after_reset = settle_collector
    gc.callbacks.append(SurvivorFreezer())
