"""Recorded traffic checked against an API's spec, one exchange at a time (openapi-core).

Used by `standin proxy` (live traffic to a real deployment) and `standin validate` (a HAR file).
Each exchange is matched to its operation and yields findings: an unknown path or method, a
request the spec does not allow, an undocumented status code, a content type the spec does not
give, a body or header that breaks its schema (errors), and keys the schema does not declare
(warnings: vendors add fields without notice, and a client that reads them relies on them).

A request that breaks the spec is an error only when the server accepted it (a 2xx or 3xx):
rejecting it with a 4xx is what the vendor should do, so it is then a warning.
Security (whether the caller is logged in) is left to the server: it is not a contract of shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import OperationNotFound, PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)
from openapi_core.validation.response.validators import V30ResponseValidator

from contract_tests.strict import undeclared_in_answer
from server.api import SPECS

# Paths are matched without the host: the spec's server is replaced by this one, and every
# exchange is read as if sent to it (Standin's prefix or the vendor's host stripped before).
HOST = "http://standin.invalid"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    kind: str  # unknown-path, unknown-method, request, undocumented-status, content-type, schema, header, undeclared-field
    where: str  # "response body $.data[0].id", "request query page", ...
    message: str

    def prism(self) -> dict:
        """The shape of one entry of Prism's `sl-violations` header."""
        return {
            "location": self.where.split(" ", 2),
            "severity": self.severity.capitalize(),
            "code": self.kind,
            "message": self.message,
        }


@dataclass
class Exchange:
    method: str
    url: str  # path and query under the API's root, or a full URL (its host is ignored)
    status: int
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    label: str = ""  # where the exchange came from (HAR entry, documentation line)


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _json_path(parts) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class SpecValidator:
    """One API's spec, loaded once; `check` matches and validates one exchange."""

    def __init__(self, api: str):
        with open(SPECS / f"{api}.yaml", encoding="utf-8") as f:
            self.raw = yaml.safe_load(f)
        self.raw["servers"] = [{"url": HOST}]
        self.api = api
        self.openapi = OpenAPI.from_dict(self.raw)
        self.finder = APICallPathFinder(self.openapi.spec)
        self.request_validators = [
            V30RequestParametersValidator(self.openapi.spec),
            V30RequestBodyValidator(self.openapi.spec),
        ]
        self.response_validator = V30ResponseValidator(self.openapi.spec)
        self.operations = [
            f"{method.upper()} {path}"
            for path, item in self.raw["paths"].items()
            for method in item
            if method in METHODS
        ]

    def template(self, method: str, path: str) -> str | None:
        """The spec's path template an actual path falls under, if it has this method."""
        try:
            return self.finder.find(method.lower(), HOST + path).path_result.pattern
        except PathError:
            return None

    def check(self, exchange: Exchange) -> tuple[str, list[Finding]]:
        """(operation, findings); an exchange outside the spec is named by its method and path.
        Whatever the traffic holds, this answers: an exchange the validator itself cannot read
        is reported as not checked (a warning), never passed on as an exception."""
        try:
            return self._check(exchange)
        except Exception as e:  # noqa: BLE001  (one odd recording must not stop a proxy or a report)
            where = f"{exchange.method.upper()} {urlsplit(exchange.url).path}"
            return where, [Finding("warning", "not-checked", "exchange", f"the validator failed: {e!r}")]

    def _check(self, exchange: Exchange) -> tuple[str, list[Finding]]:
        parts = urlsplit(exchange.url)
        path = parts.path or "/"
        method = exchange.method.lower()
        try:
            template = self.finder.find(method, HOST + path).path_result.pattern
        except OperationNotFound:
            message = f"the spec has no {method.upper()} at this path"
            return f"{method.upper()} {path}", [Finding("error", "unknown-method", "request method", message)]
        except PathError:  # PathNotFound, or ServerNotFound: a template matched the path's end only
            message = f"no path of the spec matches {path}"
            return f"{method.upper()} {path}", [Finding("error", "unknown-path", "request path", message)]
        operation = f"{method.upper()} {template}"
        request = MockRequest(
            HOST,
            method,
            path,
            args=parse_qsl(parts.query, keep_blank_values=True),
            headers=dict(exchange.request_headers),
            data=exchange.request_body,
            content_type=_header(exchange.request_headers, "content-type").lower(),
        )
        accepted = exchange.status < 400
        findings = [
            Finding("error" if accepted else "warning", "request", *self._where_what(error, "request"))
            for validator in self.request_validators
            for error in validator.iter_errors(request)
        ]
        content_type = _header(exchange.response_headers, "content-type").lower()
        response = MockResponse(
            exchange.response_body,
            exchange.status,
            headers=dict(exchange.response_headers),
            content_type=content_type,
        )
        clean = True
        for error in self.response_validator.iter_errors(request, response):
            clean = False
            findings += self._response_findings(error, exchange.status)
        if clean:
            findings += self._undeclared(template, method, exchange, content_type)
        return operation, findings

    def _response_findings(self, error: Exception, status: int) -> list[Finding]:
        cause = error.__cause__
        if isinstance(error, ResponseNotFound):
            message = f"status {status} is not documented for this operation"
            return [Finding("error", "undocumented-status", "response status", message)]
        if isinstance(cause, MediaTypeNotFound):
            message = f"content type {cause.mimetype or '(none)'} is not documented (the spec gives {', '.join(cause.availableMimetypes)})"
            return [Finding("error", "content-type", "response header Content-Type", message)]
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            return [
                Finding("error", "schema", f"response body {_json_path(e.absolute_path)}", e.message)
                for e in schema_errors
            ]
        kind = "header" if "Header" in type(error).__name__ else "schema"
        where, message = self._where_what(error, "response")
        return [Finding("error", kind, where, message)]

    @staticmethod
    def _where_what(error: Exception, side: str) -> tuple[str, str]:
        cause = error.__cause__
        schema_errors = getattr(cause, "schema_errors", None)
        name = getattr(error, "name", None)
        where = f"{side} {'parameter ' + name if name else 'body'}"
        if schema_errors:
            first = schema_errors[0]
            detail = "; ".join(f"{_json_path(e.absolute_path)}: {e.message}" for e in schema_errors)
            return where + (f" {_json_path(first.absolute_path)}" if not name else ""), detail
        return where, str(error) if cause is None else f"{error.__class__.__name__}: {cause}"

    def _undeclared(self, template: str, method: str, exchange: Exchange, content_type: str) -> list[Finding]:
        """Warnings for keys in a JSON body that its response schema does not declare."""
        found = undeclared_in_answer(
            self.raw, template, method, exchange.status, content_type, exchange.response_body
        )
        return [
            Finding("warning", "undeclared-field", f"response body {path}", "key not declared in the spec")
            for path in found
        ]


@cache
def validator(api: str) -> SpecValidator:
    return SpecValidator(api)


def is_preflight(exchange: Exchange) -> bool:
    """A browser's CORS preflight: the browser's question to the server, not a vendor operation
    (a browser HAR has one before most cross-origin calls)."""
    return exchange.method.upper() == "OPTIONS" and bool(
        _header(exchange.request_headers, "access-control-request-method")
    )


def normalized(where: str) -> str:
    """`$.data[3].id` and `$.data[0].id` are one place in a per-operation summary."""
    return re.sub(r"\[\d+\]", "[*]", where)
