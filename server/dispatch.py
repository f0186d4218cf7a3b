"""How connexion routes, validates and calls a handler, with the work done once per operation
instead of once per request. Each piece keeps connexion's own rules; what it drops is rebuilding.
These are fast paths: `server.fastpath` alone puts them in place (and `STANDIN_FASTPATH=0` runs
connexion's own classes instead), except `bound_handler`, which serves the stock mode.

- `EngineOperation`: connexion 3's AsyncOperation builds its decorator chain (uri parser,
  parameter and response decorators) again on every request, and `connexion.request` builds a new
  request object on every attribute read: together the largest share of a request's CPU in the
  profiles (docs/performance.md).
  This keeps connexion's argument rules (`get_arguments`) with parser and wrappers built once, and
  keeps GET answers while the store is unchanged. Handlers read the request via `api.request()`.
- `KeptValidationOperation`: connexion's request validation, its validators built once.
- `IndexedRouter`: Starlette's router, trying only routes whose literal segments fit.
- `KeptRoutingMiddleware`: connexion's routing, its decision kept per method and path.
- `DirectRequest`: connexion's request object, its scope and headers read without a detour.
- `MIDDLEWARES`: connexion's stack without the layers that do nothing here.
"""

from __future__ import annotations

import functools
import inspect
import weakref

from connexion import context as connexion_context
from connexion import utils
from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncASGIApp
from connexion.decorators.parameter import get_arguments, pythonic
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware, RoutingOperation
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.utils import inspect_function_arguments, is_json_mimetype
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.routing import Match, Mount, Route, Router

from server.api import API_KEY, bind
from server.errors import PARSED_BODY, RAW_BODY, first_header


class KeptValidationOperation(RequestValidationOperation):
    """connexion's request validation with its per-operation objects built once: it rebuilt the
    URI parser, the parameter validator and the body validator on every request.
    The checks and their order are connexion's own; these objects keep no per-request state."""

    MEDIA_TYPES_KEPT = 256  # content types seen; clients (and fuzzers) may send any

    @functools.cached_property
    def _parameter_validator(self):
        uri_parser = self._operation._uri_parser_class(
            self._operation.parameters, self._operation.body_definition()
        )
        return self._validator_map["parameter"](
            self._operation.parameters,
            uri_parser=uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )

    @functools.cached_property
    def _by_media_type(self) -> dict:
        return {}

    def _body_validator(self, mime_type: str, encoding: str):
        """None when the operation has no body schema or no validator takes this media type."""
        key = (mime_type, encoding)
        if key not in self._by_media_type:
            if len(self._by_media_type) >= self.MEDIA_TYPES_KEPT:
                self._by_media_type.clear()
            self.validate_mime_type(mime_type)  # raises before anything is kept for it
            operation, validator = self._operation, None
            schema = operation.body_schema(mime_type)
            try:  # a MediaTypeDict: [] matches media ranges, .get() would not
                body_validator = self._validator_map["body"][mime_type] if schema else None
            except KeyError:
                body_validator = None
            if body_validator is not None:
                validator = body_validator(
                    schema=schema,
                    required=operation.request_body.get("required", False),
                    nullable=utils.is_nullable(operation.body_definition(mime_type)),
                    encoding=encoding,
                    strict_validation=self.strict_validation,
                    uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
                )
            self._by_media_type[key] = validator
        return self._by_media_type[key]

    def _split_content_type(self, headers: list) -> tuple[str, str]:
        """connexion's `extract_content_type` (mime type, encoding), kept per Content-Type value."""
        raw = first_header(headers, b"content-type")
        found = self._by_content_type.get(raw)
        if found is None:
            if len(self._by_content_type) >= self.MEDIA_TYPES_KEPT:
                self._by_content_type.clear()
            found = self.extract_content_type([] if raw is None else [(b"content-type", raw)])
            self._by_content_type[raw] = found
        return found

    @functools.cached_property
    def _by_content_type(self) -> dict:
        return {}

    async def __call__(self, scope, receive, send):
        self._parameter_validator.validate(scope)
        mime_type, encoding = self._split_content_type(scope["headers"])
        validator = self._body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class KeptValidationAPI(RequestValidationAPI):
    def make_operation(self, operation) -> KeptValidationOperation:
        return KeptValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class KeptValidationMiddleware(RequestValidationMiddleware):
    api_cls = KeptValidationAPI


class KeptRoutingMiddleware(RoutingMiddleware):
    """connexion's routing with its decision kept per (method, path, root path) once a request
    fully matched an operation: Starlette walked a router, a mount and a router again on every
    request. What a kept decision passes on is what connexion's RoutingOperation
    would: a copy of the scope with the path parameters and the operation. Any other outcome
    (no route, wrong method, trailing slash) is remembered only as such and takes connexion's own
    way every time, so its 404, 405 and redirect rules are unchanged."""

    KEPT = 4096  # distinct paths; many ids in paths only mean more misses

    def __init__(self, app) -> None:
        super().__init__(app)
        self._kept: dict[tuple, tuple | None] = {}  # None: connexion's own way (no operation matched)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        key = (scope["method"], scope["path"], scope.get("root_path", ""))
        if key in self._kept:
            decision = self._kept[key]
        else:
            decision = self._decide(scope)
            if len(self._kept) >= self.KEPT:
                self._kept.clear()
            self._kept[key] = decision
        if decision is None:  # routed again by connexion every time, only not decided again
            return await super().__call__(scope, receive, send)
        api_base_path, operation_id, path_params = decision
        downstream = scope.copy()
        downstream.setdefault("path_params", {}).update(path_params)
        routing = downstream.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
        routing.update({"api_base_path": api_base_path, "operation_id": operation_id})
        await self.app(downstream, receive, send)

    def _decide(self, scope) -> tuple | None:
        """The first full match in the API mounts, then in that API's routes, as Starlette picks;
        None unless it ends at an operation."""
        probe, router, route = dict(scope), self.router, None
        for kind in (Mount, Route):
            if not isinstance(router, IndexedRouter):
                return None
            route = None
            for candidate in router._candidates(router.route_path(probe)):
                match, child_scope = candidate.matches(probe)
                if match is Match.FULL:
                    route = candidate
                    break
            if not isinstance(route, kind):
                return None
            probe.update(child_scope)
            router = route.app
        operation = route.endpoint
        if not isinstance(operation, RoutingOperation) or operation.operation_id is None:
            return None
        base = _root_path(probe)[len(_root_path(scope)) :]
        return base, operation.operation_id, dict(probe.get("path_params", {}))


def _root_path(scope) -> str:
    """As connexion's RoutingOperation reads it."""
    return scope.get("route_root_path", scope.get("root_path", ""))


# connexion's stack minus two layers that do nothing here (no Swagger UI is served; responses are
# checked against the spec by the contract tests, not on every request), with its routing and
# request validation doing their per-operation work once.
_REPLACED = {RequestValidationMiddleware: KeptValidationMiddleware, RoutingMiddleware: KeptRoutingMiddleware}
MIDDLEWARES = tuple(
    _REPLACED.get(m, m)
    for m in ConnexionMiddleware.default_middlewares
    if m not in (SwaggerUIMiddleware, ResponseValidationMiddleware)
)  # a tuple: connexion inserts added middlewares into the list it is given


class DirectRequest(ConnexionRequest):
    """connexion's request, which security and parameter validation build for every request,
    with `scope` and `headers` as attributes of its own: connexion reaches them through
    `__getattr__`, which Python calls only after a failed lookup has raised and caught an
    AttributeError (nine reads per Productive request); creating one ran two more
    failed lookups. Everything else is connexion's."""

    def __init__(self, *args, uri_parser=None, **kwargs) -> None:
        if args or kwargs:  # else `from_starlette_request` has set it
            self._starlette_request = Request(*args, **kwargs)
        super().__init__(uri_parser=uri_parser)

    @property
    def scope(self):
        return self._starlette_request.scope

    @property
    def headers(self):
        return self._starlette_request.headers


def bound_handler(fn):
    """A handler as stock connexion calls it (STANDIN_FASTPATH=0), with the request bound for
    `api.request()` first, as `EngineOperation` binds it in the fast mode."""

    @functools.wraps(fn)
    async def handler(*args, **kwargs):
        scope = connexion_context.scope._get_current_object()
        bind(scope, Request(scope, connexion_context.receive._get_current_object()))
        return await fn(*args, **kwargs)

    return handler


@functools.cache
def _pythonic(name: str) -> str:
    """connexion's name rule (camelCase -> snake_case, built-ins shadowed), a pure function."""
    return pythonic(name)


class EngineOperation:
    """One spec operation bound to its handler; called by connexion's routed middleware.

    The answer of an operation its spec marks `x-standin-cacheable` is kept and sent again for the
    same request (URL, headers, body) while the store has not changed and within the same second
    of Standin's clock: the handler and the JSON encoding were most of a read's cost. Only marked
    operations: a GET may have a side effect (Resource Guru's webhook test delivers a payload, its
    OAuth authorize issues a code), so none is assumed pure. Security and validation still run on
    every request. Reads are GETs and the operations a spec marks `x-standin-reads` (iBuildApp's
    searches are POSTs); any other request ends a store epoch, so nothing kept outlives a change
    even if a handler forgot the lock. Under `standin serve --fresh-answers` nothing is kept."""

    KEPT_PER_OPERATION = 32  # distinct requests; an answer lives a second at most anyway

    def __init__(self, operation, uri_parser_class) -> None:
        self.operation = operation
        self.fn = operation.function
        if not inspect.iscoroutinefunction(self.fn):
            raise TypeError(f"{operation.operation_id}: handlers are async and return a Response")
        self.uri_parser = (uri_parser_class or operation.uri_parser_class)(
            operation.parameters, operation.body_definition()
        )
        self.arguments, self.has_kwargs = inspect_function_arguments(self.fn)
        self.has_body = operation.is_request_body_defined
        self.takes_body = self.has_body and (self.has_kwargs or bool(self.arguments))
        self.reads = operation.method.lower() == "get" or bool(operation._operation.get("x-standin-reads"))
        self.kept: dict | None = {} if operation._operation.get("x-standin-cacheable") else None

    async def __call__(self, scope, receive, send) -> None:
        runtime = scope["standin"]
        store = runtime.stores.get(scope.get(API_KEY)) or _NO_STORE  # the API's own state
        # a body the JSON validator did not read (a form, none) can't be told from another one
        if self.kept is None or not runtime.keep_answers or (self.has_body and RAW_BODY not in scope):
            try:
                return await self._answer(scope, receive, send, store, None)
            finally:
                if not self.reads:
                    store.epoch += 1
        key = (
            scope["scheme"],
            repr(scope.get("server")),
            scope.get("root_path", ""),
            scope["path"],
            scope["query_string"],
            tuple(tuple(h) for h in scope["headers"]),
            scope[RAW_BODY] if self.has_body else None,
        )
        stamp = (store.generation, store.epoch, int(runtime.clock.time()))
        kept = self.kept.get(key)
        if kept is not None and kept[0] == stamp and not store.lock.depth:
            status, headers, body = kept[1]
            await send({"type": "http.response.start", "status": status, "headers": list(headers)})
            await send({"type": "http.response.body", "body": body})
            return
        await self._answer(scope, receive, send, store, (key, stamp))

    async def _answer(self, scope, receive, send, store, keep) -> None:
        """The handler's answer; kept under `keep` (key, stamp) if the store did not change.

        Arguments follow connexion's ConnexionRequest and `get_arguments`, read from the scope
        directly (a ConnexionRequest proxies each attribute through a Starlette request)."""
        request = Request(scope, receive)
        bind(scope, request)  # handlers read raw query strings; validation may have copied the scope
        raw_type = first_header(scope["headers"], b"content-type", b"application/octet-stream")
        content_type = raw_type.decode("latin-1")  # as ConnexionRequest.content_type reads it
        if not self.takes_body:
            body = None
        elif PARSED_BODY in scope and is_json_mimetype(content_type):
            body = scope[PARSED_BODY]  # JSON the validator has parsed already
        else:
            body = await ConnexionRequest.from_starlette_request(request, self.uri_parser).get_body()
        if scope["query_string"]:
            args = request.query_params
            query = self.uri_parser.resolve_query({k: args.getlist(k) for k in args})
        else:
            query = {}  # what resolve_query makes of no parameters
        kwargs = get_arguments(
            self.operation,
            path_params=self.uri_parser.resolve_path(scope.get("path_params", {})),
            query_params=query,
            body=body,
            files={},
            arguments=self.arguments,
            has_kwargs=self.has_kwargs,
            sanitize=_pythonic,
            content_type=_mimetype(content_type),
        )
        response = await self.fn(**{_pythonic(k): v for k, v in kwargs.items()})
        if keep is not None and 200 <= response.status_code < 300 and not store.lock.depth:
            key, stamp = keep
            if stamp == (store.generation, store.epoch, int(scope["standin"].clock.time())):
                answer = (response.status_code, tuple(response.raw_headers), response.body)
                KEPT.keep(self, key, stamp, answer)
        await response(scope, receive, send)


class KeptBudget:
    """The byte budget of every operation's kept answers in the process: an answer larger than a
    quarter of it is not kept, and keeping one past it empties them all (as does a reset), so a
    few large lists cannot hold memory that writes and resets never free."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._holders: weakref.WeakSet = weakref.WeakSet()  # EngineOperations holding answers

    def keep(self, op: EngineOperation, key: tuple, stamp: tuple, answer: tuple) -> None:
        size = len(answer[2]) + sum(len(k) + len(v) for k, v in answer[1]) + 256
        if size > self.limit // 4:
            return
        if len(op.kept) >= op.KEPT_PER_OPERATION:
            self._forget(op)
        old = op.kept.pop(key, None)
        if old is not None:
            self.used -= old[2]
        if self.used + size > self.limit:
            self.empty()
        op.kept[key] = (stamp, answer, size)
        self.used += size
        self._holders.add(op)

    def _forget(self, op: EngineOperation) -> None:
        self.used -= sum(entry[2] for entry in op.kept.values())
        op.kept.clear()

    def empty(self) -> None:
        for op in list(self._holders):
            op.kept.clear()
        self._holders.clear()
        self.used = 0


KEPT = KeptBudget(16 << 20)  # bytes


class _NoStore:
    """What the control API's operations see as their store: nothing to keep answers by."""

    class lock:
        depth = 0

    generation = epoch = 0


_NO_STORE = _NoStore()


@functools.lru_cache(maxsize=256)
def _mimetype(content_type: str) -> str:
    """ConnexionRequest.mimetype: the media type without its parameters."""
    return parse_options_header(content_type)[0].decode()


class EngineApi(AsyncApi):
    def make_operation(self, operation) -> EngineOperation:
        return EngineOperation(operation, self.uri_parser_class)


class EngineASGIApp(AsyncASGIApp):
    api_cls = EngineApi


class EngineApp(AsyncApp):
    """connexion's AsyncApp whose operations are `EngineOperation`s."""

    def __init__(self, import_name: str, **kwargs) -> None:
        super().__init__(import_name, **kwargs)
        self._middleware_app = EngineASGIApp()
        self.middleware.app = self._middleware_app


class IndexedRouter(Router):
    """Starlette's router, trying only the routes whose literal path segments fit the request.

    Starlette tries every route's regex in turn: about 80 per request to reach a late Resource
    Guru path, a quarter of the request's CPU. The candidates here are the routes in their
    original order whose literal segments equal the path's (each parameter is one segment), plus
    any route that can't be indexed; so the first match is the one Starlette would pick. With no
    match, Starlette's own logic runs (405 via partial matches, trailing-slash redirects, default).
    """

    _CACHE_SIZE = 4096

    @staticmethod
    def route_path(scope) -> str:
        """Starlette's private `get_route_path`, imported on first use: only the fast mode routes
        here, after server.fastpath has checked Starlette's version."""
        from starlette._utils import get_route_path

        IndexedRouter.route_path = staticmethod(get_route_path)
        return get_route_path(scope)

    def _index(self) -> tuple[dict, list]:
        by_length: dict[int, list] = {}
        always: list = []
        for order, route in enumerate(self.routes):
            if not isinstance(route, Route) or any(c.regex == ".*" for c in route.param_convertors.values()):
                always.append((order, route, ()))
                continue
            segments = route.path.split("/")
            literal = tuple((i, seg) for i, seg in enumerate(segments) if "{" not in seg)
            by_length.setdefault(len(segments), []).append((order, route, literal))
        return by_length, always

    def _candidates(self, path: str) -> list:
        cache = self.__dict__.setdefault("_candidate_cache", {})
        found = cache.get(path)
        if found is None:
            if "_route_index" not in self.__dict__:
                self._route_index = self._index()
            by_length, always = self._route_index
            segments = path.split("/")
            fits = [
                entry
                for entry in by_length.get(len(segments), ())
                if all(segments[i] == seg for i, seg in entry[2])
            ]
            found = [route for _, route, _ in sorted(fits + always, key=lambda e: e[0])]
            if len(cache) >= self._CACHE_SIZE:
                cache.clear()
            cache[path] = found
        return found

    async def app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await super().app(scope, receive, send)
        scope.setdefault("router", self)
        partial = None
        for route in self._candidates(self.route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                return await route.handle(scope, receive, send)
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            return await partial.handle(scope, receive, send)
        await super().app(scope, receive, send)
