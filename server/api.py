"""What every vendor package hands the engine: the `Api` record, `ApiError`, and request context.

The engine mounts an `Api`, renders every error through `Api.render`, and gives handlers the
running `Runtime` (seed, clock) through `runtime()` and their own API's store through `store(name)`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import FunctionType
from typing import Any

import orjson
from starlette.responses import Response

# The specs ship inside the package (package data, read through importlib.resources); the
# repository's `specs` link keeps the old path working for people and docs.
SPECS = Path(str(resources.files("server").joinpath("specs")))


class Kind(StrEnum):
    """What went wrong, in no vendor's terms: each vendor's renderer turns a kind into its own
    status and body. A StrEnum, so a kind compares equal to its name (`error.kind == "invalid"`),
    and `ApiError` refuses any other (tests/test_handler_contract.py checks every raise)."""

    BAD_REQUEST = "bad_request"  # a request the handler refuses as a whole
    MALFORMED = "malformed"  # a body that is not the media type it claims
    INVALID = "invalid"  # schema or handler checks failed: `ApiError.violations` names each
    UNKNOWN_PARAMETER = "unknown_parameter"  # a query parameter the spec does not declare
    BAD_HTTP = "bad_http"  # not valid HTTP at all (server.serving)
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    NOT_IMPLEMENTED = "not_implemented"

    @property
    def status(self) -> int:
        """The usual status of the kind; a vendor's renderer may answer another."""
        return _USUAL_STATUS.get(self, 400)


_USUAL_STATUS = {
    Kind.INVALID: 422,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.METHOD_NOT_ALLOWED: 405,
    Kind.CONFLICT: 409,
    Kind.PAYLOAD_TOO_LARGE: 413,
    Kind.UNSUPPORTED_MEDIA_TYPE: 415,
    Kind.RATE_LIMITED: 429,
    Kind.SERVER_ERROR: 500,
    Kind.NOT_IMPLEMENTED: 501,
}


@dataclass(slots=True)
class Violation:
    """One failed rule of a request: where (body pointer or parameter name), which rule, the value."""

    location: str  # "body", "query", "path", "header"
    path: tuple  # JSON path inside the body, or (parameter name,)
    rule: str  # jsonschema keyword that failed: required, type, format, enum, minimum, ...
    message: str
    value: Any = None
    schema: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "/".join(str(p) for p in self.path)


class ApiError(Exception):
    """Raised by handlers, security and validation; rendered into the vendor's own error body."""

    def __init__(
        self,
        kind: Kind | str,
        detail: str = "",
        *,
        field: str | None = None,
        status: int | None = None,
        violations: list[Violation] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail or kind)
        self.kind = Kind(kind)
        self.detail = detail
        self.field = field
        self.status_code = status or self.kind.status
        self.violations = violations or []
        self.headers = headers or {}
        self.extra = extra or {}
        # the operationId the request was for (at a known path with another method: that path's
        # first operation; None: no operation's path), set by the engine before rendering
        self.operation: str | None = None


@dataclass(slots=True)
class Reply:
    """A rendered response: status, body (dict/list/str/bytes/None), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return encode_json(self.body)


def respond(
    status: int, body: Any = None, content_type: str = "application/json", headers: dict | None = None
):
    """A finished response, serialized once here and passed through connexion untouched."""
    reply = Reply(status, body, headers or {}, content_type)
    return Response(reply.encode(), status, reply.headers, media_type=None if body is None else content_type)


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the vendors send it. orjson: a quarter of a list request's time
    went to the standard encoder (bench/results); it can't take ints past 64 bits, json can."""
    for option in (None, orjson.OPT_NON_STR_KEYS):  # keys other than str halve orjson's speed
        try:
            return orjson.dumps(body, option=option)
        except TypeError:
            pass
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def dumps(body: Any) -> str:
    """Compact JSON text."""
    return encode_json(body).decode()


@dataclass(slots=True)
class RatePolicy:
    """Requests allowed per window for one client key (e.g. a registered OAuth application)."""

    limit: int
    window: int = 60
    key: Callable[[dict[str, str]], str | None] = lambda headers: None


@dataclass(slots=True)
class Api:
    """One vendor API as the engine sees it."""

    name: str  # spec stem, URL prefix, fixtures module and vendor package share it
    render: Callable[[ApiError], Reply]  # the vendor's error format
    demo: dict  # demo tenant and credentials, shown by /_standin/apis and at start-up
    strict_query: tuple[str, ...] = ()  # unknown query parameters starting so are errors ("" = all)
    rate: RatePolicy | None = None
    title: str = ""
    # (tenant, table) pairs holding sessions and tokens obtained by logging in: kept by
    # `POST /_standin/reset?keep_sessions=true` (server/persistence.py)
    sessions: tuple[tuple[str, str], ...] = ()

    @property
    def spec_path(self) -> Path:
        return SPECS / f"{self.name}.yaml"

    @property
    def handlers(self) -> dict[str, Callable]:
        """Its handlers by operationId (`handlers_in`), found in its vendor package."""
        return handlers_in(f"server.vendors.{self.name}")


@functools.cache
def handlers_in(package: str) -> dict[str, Callable]:
    """Every public coroutine function defined in the package's modules, by name: a handler is
    found where it is written, named by its operationId, with no re-export list to keep in step
    (tests/test_handler_contract.py holds them to their operations). A name defined in two
    modules would make one of them unreachable, so it is refused."""
    found: dict[str, Callable] = {}
    for module_info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{module_info.name}")
        for name, fn in vars(module).items():
            if name.startswith("_") or type(fn) is not FunctionType:  # not a proxy's class either
                continue
            if not inspect.iscoroutinefunction(fn) or fn.__module__ != module.__name__:
                continue
            if name in found:
                twice = f"{found[name].__module__} and {module.__name__}"
                raise TypeError(f"{package}: {name} is defined in {twice}")
            found[name] = fn
    return found


API_KEY = "standin.api"  # scope key: the name of the API owning the request (None: the control API)
_scope: ContextVar[dict] = ContextVar("standin.scope")
_request: ContextVar = ContextVar("standin.request")


def bind(scope: dict, request=None) -> None:
    """Called by the engine as a request enters, and with the request as the handler is called:
    `runtime()` and `request()` read them. Context variables, not scope keys: a request kept in
    its own scope is a reference cycle per request, which cost milliseconds of garbage collection."""
    _scope.set(scope)
    if request is not None:
        _request.set(request)


def runtime():
    """The Runtime serving the current request (stores, seed, clock), set by the engine per app."""
    return _scope.get()["standin"]


def store(api: str):
    """The store of one API (its own namespace) in the Runtime serving the current request."""
    return _scope.get()["standin"].stores[api]


def request():
    """The current request (path, query, headers), built once by `server.dispatch`.

    `connexion.request` builds a new request object on every attribute read."""
    return _request.get()


def json_body(body: Any) -> Any:
    """The parsed body: connexion hands raw bytes when the request named no Content-Type."""
    if isinstance(body, (bytes, bytearray)):
        return json.loads(body or b"null")
    return body
