"""The strict handler contract (issue 17 item 4): every operationId has a handler and every
handler an operation, and a handler takes exactly the arguments connexion passes for its
operation: path and query parameters by their pythonic names, the request body as `body`.
Path parameters and the body are always passed, so they have no default; an optional query
parameter defaults to the spec's default, or to None when the spec gives none. A renamed spec
parameter would otherwise reach a `**_` and become a silent None."""

from __future__ import annotations

import copy
import inspect
import sys

import pytest
from connexion.decorators.parameter import pythonic

from server import admin
from server.api import handlers_in
from server.app import API_NAMES, load_api, load_spec

METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
REQUIRED = "(required)"


def _resolve(spec: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def declared(spec: dict) -> dict[str, dict[str, object]]:
    """operationId -> argument name -> its default (REQUIRED: none), as connexion passes them."""
    found = {}
    for item in spec["paths"].values():
        shared = [_resolve(spec, p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method not in METHODS:
                continue
            params = {(p["name"], p["in"]): p for p in shared}
            params.update(
                {
                    (p["name"], p["in"]): p
                    for p in map(lambda p: _resolve(spec, p), operation.get("parameters", []))
                }
            )
            arguments = {}
            for p in params.values():
                if p["in"] not in ("path", "query"):  # headers and cookies are not passed
                    continue
                schema = _resolve(spec, p.get("schema", {}))
                if p["in"] == "path" or p.get("required"):
                    arguments[pythonic(p["name"])] = REQUIRED
                else:
                    arguments[pythonic(p["name"])] = p.get("default", schema.get("default"))
            if "requestBody" in operation:  # passed even when absent (as the schema's default or {})
                body = _resolve(spec, operation["requestBody"])
                arguments[pythonic(body.get("x-body-name", "body"))] = REQUIRED
            found[operation["operationId"]] = arguments
    return found


def taken(fn) -> dict[str, object] | str:
    """A handler's arguments and defaults, or what makes it take more than it names."""
    arguments = {}
    for name, parameter in inspect.signature(fn).parameters.items():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            return f"takes anything ({parameter})"
        arguments[name] = REQUIRED if parameter.default is inspect.Parameter.empty else parameter.default
    return arguments


def problems(spec: dict, handlers: dict) -> list[str]:
    operations = declared(spec)
    found = [f"{op}: no handler" for op in operations if op not in handlers]
    found += [f"{name}: a handler of no operation" for name in handlers if name not in operations]
    for op, wanted in operations.items():
        if op not in handlers:
            continue
        has = taken(handlers[op])
        if isinstance(has, str):
            found.append(f"{op}: {has}")
            continue
        found += [f"{op}: lacks {name}" for name in wanted if name not in has]
        found += [f"{op}: takes {name}, which the spec does not pass" for name in has if name not in wanted]
        found += [
            f"{op}: {name} defaults to {has[name]!r}, the spec: {wanted[name]!r}"
            for name in wanted
            if name in has and has[name] != wanted[name]
        ]
    return found


@pytest.mark.parametrize("name", API_NAMES)
def test_every_handler_takes_exactly_its_operations_arguments(name):
    assert problems(load_spec(name), load_api(name).handlers) == []


def test_the_control_api_handlers_too():
    spec = load_spec("admin")
    handlers = {op: getattr(admin, op) for op in declared(spec) if hasattr(admin, op)}
    assert problems(spec, handlers) == []


def test_the_contract_catches_each_broken_variant():
    spec, handlers = load_spec("productive"), dict(load_api("productive").handlers)

    async def extra(id_: int, include=None, fields=None): ...
    async def missing(id_: int): ...
    async def renamed(widget_id: int, include=None): ...
    async def catch_all(id_: int, **_): ...
    async def wrong_default(id_: int, include="dashboard"): ...
    async def defaulted_path(id_: int = 1, include=None): ...

    expected = {
        extra: "takes fields",
        missing: "lacks include",
        renamed: "lacks id_",
        catch_all: "takes anything",
        wrong_default: "include defaults to 'dashboard'",
        defaulted_path: "id_ defaults to 1",
    }
    for broken, problem in expected.items():
        found = problems(spec, {**handlers, "widgets_get": broken})
        assert found and all(f.startswith("widgets_get: ") for f in found), (broken.__name__, found)
        assert any(problem in f for f in found), (broken.__name__, found)
    no_handler = {k: v for k, v in handlers.items() if k != "widgets_delete"}
    assert problems(spec, no_handler) == ["widgets_delete: no handler"]
    assert problems(spec, {**handlers, "widgets_archive": handlers["widgets_delete"]}) == [
        "widgets_archive: a handler of no operation"
    ]
    renamed_in_spec = copy.deepcopy(spec)  # the spec's parameter renamed, the handler not
    get = renamed_in_spec["paths"]["/api/v2/widgets/{id}"]["get"]
    get["parameters"] = [{"name": "includes", "in": "query", "schema": {"type": "string"}}]
    assert problems(renamed_in_spec, handlers) == [
        "widgets_get: lacks includes",
        "widgets_get: takes include, which the spec does not pass",
    ]


def test_handlers_are_found_in_the_vendor_modules_and_a_name_twice_is_refused(tmp_path, monkeypatch):
    found = handlers_in("server.vendors.resourceguru")
    assert found["bookings_create"].__module__ == "server.vendors.resourceguru.bookings"
    assert all(not name.startswith("_") for name in found)
    package = tmp_path / "twice"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module in ("one", "two"):
        (package / f"{module}.py").write_text("async def widgets_get(id_):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="widgets_get is defined in twice.one and twice.two"):
        handlers_in("twice")
    sys.modules.pop("twice", None)
