"""Request validation that reports every failing field, and the one exception handler.

Connexion's defaults stop at the first error and answer problem+json. Here the validators
collect every violation as `Violation`s and raise `ApiError`; the handler finds the API that
owns the path and renders the error in that vendor's own format. Nothing reaches the client
as a traceback: unknown exceptions become the vendor's 500 body and are logged.

That is Standin behaviour and holds in both modes. The `Fast*` subclasses are fast paths, chosen
by `server.fastpath` only: the same answers with less work per request.
"""

from __future__ import annotations

import copy
import functools
import logging
import re

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import (
    BadRequestProblem,
    ExtraParameterProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionResponse
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATORS
from connexion.validators import FormDataValidator, JSONRequestBodyValidator, ParameterValidator
from jsonschema import FormatChecker
from starlette.exceptions import HTTPException

from server import inputs
from server.api import ApiError, Violation

log = logging.getLogger("standin")
PARSED_BODY = "standin.parsed_body"
RAW_BODY = "standin.raw_body"
# Every format jsonschema knows (Draft 4's own checker skips `date`, which the vendors use).
FORMATS = FormatChecker()
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def quick_check(schema: dict):
    """jsonschema-rs's `is_valid` for the same schema: compiled code instead of jsonschema's walk.

    It only lets valid input through early: it is as strict or stricter (it knows no `nullable`,
    checks `uri` and `email` more closely), so whatever it refuses goes on to jsonschema, whose
    answer stands and which names every violation. None when it can't compile the schema."""
    try:
        return jsonschema_rs.Draft4Validator(schema, validate_formats=True).is_valid
    except Exception:  # a construct it does not take: jsonschema alone decides
        return None


# Compiled request schemas (bodies and parameters), kept beyond the validators connexion builds.
# Each entry holds its schema, so the id cannot be reused by another schema while cached (tests
# build many apps in one process).
_COMPILED: dict[int, tuple[dict, Draft4RequestValidator, object]] = {}
NO_SCHEMA: dict = {}  # one object for parameters without a schema, so it is compiled once


def compiled(schema: dict) -> tuple:
    """(jsonschema validator, quick check) for a request schema, built once."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        validator = Draft4RequestValidator(schema, format_checker=FORMATS)
        entry = _COMPILED[id(schema)] = (schema, validator, quick_check(schema))
    return entry[1:]


def first_header(headers: list, name: bytes, default: bytes | None = None) -> bytes | None:
    """The first value of a header in ASGI scope headers (`name` in lower case), as Starlette and
    connexion read it; `default` when the request has none."""
    for key, value in headers:  # a loop, not next(generator): an unfinished generator is closed
        if key.lower() == name:  # by raising GeneratorExit in it, three times per request here
            return value
    return default


def violations(errors, location: str, prefix: tuple = ()) -> list[Violation]:
    """jsonschema errors -> Violations, sorted by path, a missing property named in the path."""
    out = []
    for e in errors:
        path = prefix + tuple(e.absolute_path)
        if e.validator == "required" and (m := _REQUIRED.match(e.message)):
            path += (m.group(1),)
        message = inputs.shorten(e.message, e.instance)  # a 10 MB value is not echoed back
        out.append(Violation(location, path, str(e.validator), message, e.instance, e.schema))
    return sorted(out, key=lambda v: [str(p) for p in v.path])


def whole_body(receive, scope):
    """`receive` for a body validator: the body must arrive whole (a client that disconnects
    mid-body gets nothing done for it) and within its size limit (server.inputs)."""
    limit = inputs.limit_for(scope.get("path", ""))
    announced = first_header(scope["headers"], b"content-length", b"0")
    if announced.isdigit() and int(announced) > limit:
        raise inputs.too_large(limit)
    received, done = 0, False

    async def receive_whole():
        nonlocal received, done
        message = await receive()
        if done:
            return message
        if message["type"] == "http.disconnect":
            raise ApiError("malformed", "The connection closed before the whole body arrived")
        received += len(message.get("body", b""))
        if received > limit:
            raise inputs.too_large(limit)
        done = not message.get("more_body", False)
        return message

    return receive_whole


class WholeBody:
    """A body validator that validates, and lets the handler run, only after the whole body."""

    async def wrap_receive(self, receive, *, scope):
        return await super().wrap_receive(whole_body(receive, scope), scope=scope)


class BodyValidator(WholeBody, JSONRequestBodyValidator):
    """JSON bodies: undecodable or malformed → 'malformed'; schema failures → every violation."""

    @property
    def _validator(self):
        return compiled(self._schema)[0]

    async def _parse(self, stream, scope):
        return self._decode(b"".join([chunk async for chunk in stream]), scope)

    def _decode(self, raw: bytes, scope):
        if not raw.strip():
            return None
        try:
            body = inputs.loads(raw, self._encoding)
        except (UnicodeDecodeError, ValueError) as e:
            raise ApiError("malformed", f"The request body is not valid JSON: {e}") from None
        scope[PARSED_BODY] = body  # server.dispatch hands it to the handler instead of parsing again
        scope[RAW_BODY] = raw  # and keeps answers to read-only operations per body
        return body

    def _validate(self, body):
        if body is None and not self._nullable:
            raise ApiError("malformed", "The request body must not be empty")
        found = violations(self._validator.iter_errors(body), "body")
        if found:
            raise ApiError("invalid", "The request body is invalid", violations=found, extra={"body": body})
        return body


class FastBodyValidator(BodyValidator):
    """A fast path (server.fastpath): jsonschema-rs's quick pass lets valid bodies through early,
    and connexion's `wrap_receive` runs without its async generator when a body is announced."""

    async def wrap_receive(self, receive, *, scope):
        """The body is read, parsed and validated, and its messages are replayed to the handler."""
        if not int(first_header(scope["headers"], b"content-length", b"0")):
            return await super().wrap_receive(receive, scope=scope)  # a default or required body
        receive = whole_body(receive, scope)
        messages, more_body = [], True
        while more_body:
            message = await receive()
            messages.append(message)
            more_body = message.get("more_body", False)
        body = self._decode(b"".join(m.get("body", b"") for m in messages), scope)
        if not (body is None and self._nullable):
            self._validate(body)
        return self._insert_messages(receive, messages=messages), scope

    def _validate(self, body):
        quick = compiled(self._schema)[1]
        if body is not None and quick is not None and quick(body):
            return body
        return super()._validate(body)


class FormValidator(WholeBody, FormDataValidator):
    """Form bodies (OAuth token requests) report violations the same way as JSON bodies."""

    @property
    def _validator(self):
        return compiled(self._schema)[0]

    def _validate(self, body):
        found = violations(self._validator.iter_errors(body), "body")
        if found:
            raise ApiError("invalid", "The request body is invalid", violations=found, extra={"body": body})
        return body


class FastFormValidator(FormValidator):
    """A fast path: jsonschema-rs's quick pass first."""

    def _validate(self, body):
        quick = compiled(self._schema)[1]
        if quick is not None and quick(body):
            return body
        return super()._validate(body)


class SafeURIParser(OpenAPIURIParser):
    """Query strings connexion's parser chokes on (deepObject nested too deep) are bad input, not 500s."""

    def resolve_query(self, query_data):
        try:
            return super().resolve_query(query_data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ApiError("bad_request", f"The query string cannot be parsed: {e}") from None


class FastURIParser(SafeURIParser):
    """A fast path: connexion rebuilt `param_schemas` for every parameter it resolved, and
    resolved the same path values twice per request (validation, arguments)."""

    PATHS_KEPT = 1024

    @functools.cached_property
    def param_schemas(self) -> dict:
        return super().param_schemas

    @functools.cached_property
    def _resolved_paths(self) -> dict:
        return {}

    def resolve_path(self, path_data):
        key = tuple(path_data.items())
        found = self._resolved_paths.get(key)
        if found is None:
            if len(self._resolved_paths) >= self.PATHS_KEPT:
                self._resolved_paths.clear()
            found = self._resolved_paths[key] = super().resolve_path(path_data)
        return {k: copy.deepcopy(v) if isinstance(v, (list, dict)) else v for k, v in found.items()}


class ParamValidator(ParameterValidator):
    """Path, query and header parameters: every violation, named by parameter."""

    strict_prefixes: tuple[str, ...] = ()

    def _check(self, location: str, param: dict, value) -> list[Violation]:
        if value is None:
            if param.get("required"):
                return [Violation(location, (param["name"],), "required", f"{param['name']} is required")]
            return []
        if param.get("schema", {}).get("nullable") and value in ("null", "None"):
            return []
        return self._schema_check(location, param, value)

    def _schema_check(self, location: str, param: dict, value) -> list[Violation]:
        validator = compiled(param.get("schema", NO_SCHEMA))[0]
        return violations(validator.iter_errors(value), location, (param["name"],))

    def validate_request(self, request):
        found: list[Violation] = []
        asked = bool(request.scope.get("query_string"))  # without one, nothing to parse
        if self.strict_prefixes and asked:
            extra = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            extra = {name for name in extra if name.startswith(self.strict_prefixes)}
            if extra:
                raise ApiError("unknown_parameter", "Unknown query parameter", extra={"names": sorted(extra)})
        query = request.query_params if asked else {}
        for param in self.parameters.get("query", []):
            found += self._check("query", param, query.get(param["name"]))
        for param in self.parameters.get("path", []):
            found += self._check("path", param, request.path_params.get(param["name"].replace("-", "_")))
        for param in self.parameters.get("header", []):
            found += self._check("header", param, request.headers.get(param["name"]))
        if found:
            raise ApiError("invalid", "Invalid parameters", violations=found)


class FastParamValidator(ParamValidator):
    """A fast path: jsonschema-rs's quick pass first."""

    def _schema_check(self, location: str, param: dict, value) -> list[Violation]:
        quick = compiled(param.get("schema", NO_SCHEMA))[1]
        if quick is not None and quick(value):
            return []
        return super()._schema_check(location, param, value)


def _body_validators(json_validator: type, form_validator: type) -> MediaTypeDict:
    return MediaTypeDict(
        {
            **CONNEXION_VALIDATORS["body"],
            "*/*json": json_validator,
            "application/x-www-form-urlencoded": form_validator,
        }
    )


VALIDATORS = {"parameter": ParamValidator, "body": _body_validators(BodyValidator, FormValidator)}
FAST_VALIDATORS = {
    "parameter": FastParamValidator,
    "body": _body_validators(FastBodyValidator, FastFormValidator),
}


def validator_map(strict_prefixes: tuple[str, ...] = (), validators: dict = VALIDATORS) -> dict:
    """Validators for one mounted API; unknown query names with these prefixes are errors."""
    params = type("ParamValidator", (validators["parameter"],), {"strict_prefixes": strict_prefixes})
    return {"parameter": params, "body": validators["body"]}


_PROBLEM_KINDS = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
}


def as_api_error(exc: Exception, runtime, path: str) -> ApiError:
    """Any exception raised on the way to a handler, as an ApiError the vendor can render."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ExtraParameterProblem):
        return ApiError("unknown_parameter", exc.detail)
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return ApiError("unsupported_media_type", exc.detail or "Unsupported media type")
    if isinstance(exc, BadRequestProblem):
        return ApiError("malformed", exc.detail or "Bad request")
    if isinstance(exc, (ProblemException, HTTPException)):
        status = exc.status_code
        kind = _PROBLEM_KINDS.get(status, "server_error" if status >= 500 else "bad_request")
        headers = {}
        if status == 405:
            headers["Allow"] = ", ".join(runtime.allowed_methods(path))
        return ApiError(kind, str(getattr(exc, "detail", "") or ""), status=status, headers=headers)
    log.error("unhandled error on %s", path, exc_info=exc)
    return ApiError("server_error", "Internal server error")


async def handle(request, exc: Exception) -> ConnexionResponse:
    """The one exception handler: the owning vendor renders every error."""
    runtime = request.scope["standin"]
    path = request.scope.get("path", "")
    reply = runtime.render_error(request.scope.get("method", "GET"), path, as_api_error(exc, runtime, path))
    return ConnexionResponse(
        status_code=reply.status, mimetype=reply.content_type, body=reply.encode(), headers=reply.headers
    )


def install(app) -> None:
    for key in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(key, handle)
