"""How connexion calls a handler, with the work done once per operation instead of per request.

connexion 3's AsyncOperation builds its decorator chain (uri parser, parameter and response
decorators) again on every request, and `connexion.request` builds a new request object on every
attribute read: together about 40% of a request's CPU (bench/results). `EngineOperation` keeps
connexion's own argument rules (`get_arguments`: path, query and body, cast by the spec) and
builds its parser and wrappers once. Handlers reach the request through `server.api.request()`.
"""

from __future__ import annotations

import functools
import inspect

from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncASGIApp
from connexion.decorators.parameter import get_arguments, pythonic
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.utils import inspect_function_arguments

from server.api import REQUEST_KEY, bind

# connexion's stack minus two layers that do nothing here: no Swagger UI is served, and responses
# are checked against the spec by the contract tests, not on every request.
MIDDLEWARES = tuple(
    m
    for m in ConnexionMiddleware.default_middlewares
    if m not in (SwaggerUIMiddleware, ResponseValidationMiddleware)
)  # a tuple: connexion inserts added middlewares into the list it is given


@functools.cache
def _pythonic(name: str) -> str:
    """connexion's name rule (camelCase -> snake_case, built-ins shadowed), a pure function."""
    return pythonic(name)


class EngineOperation:
    """One spec operation bound to its handler; called by connexion's routed middleware."""

    def __init__(self, operation, uri_parser_class) -> None:
        self.operation = operation
        self.fn = operation.function
        if not inspect.iscoroutinefunction(self.fn):
            raise TypeError(f"{operation.operation_id}: handlers are async and return a Response")
        self.uri_parser = (uri_parser_class or operation.uri_parser_class)(
            operation.parameters, operation.body_definition()
        )
        self.arguments, self.has_kwargs = inspect_function_arguments(self.fn)
        self.takes_body = operation.is_request_body_defined and (self.has_kwargs or bool(self.arguments))

    async def __call__(self, scope, receive, send) -> None:
        request = ConnexionRequest(scope, receive, uri_parser=self.uri_parser)
        scope[REQUEST_KEY] = request._starlette_request  # handlers read raw query strings
        bind(scope)  # body validation may have handed on a copy of the scope
        body = await request.get_body() if self.takes_body else None
        kwargs = get_arguments(
            self.operation,
            path_params=request.path_params,
            query_params=request.query_params,
            body=body,
            files={},
            arguments=self.arguments,
            has_kwargs=self.has_kwargs,
            sanitize=_pythonic,
            content_type=request.mimetype,
        )
        response = await self.fn(**{_pythonic(k): v for k, v in kwargs.items()})
        await response(scope, receive, send)


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
