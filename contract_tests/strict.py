"""Undeclared keys: where an answer carries a key its schema does not declare.

JSON Schema (and so every validator) lets an object carry keys its `properties` do not name, so
a server can send fields the vendor never sends and still pass schema validation; a frontend
built against it then reads fields that the real vendor does not have. This walk names them.

An object is held to its declared keys only where the schema declares `properties` and gives no
schema for the other keys (an `additionalProperties` schema or `true` says that other keys are
expected: maps keyed by id, custom fields). Free-form objects (no `properties`) are not checked.
"""

from __future__ import annotations

import json
import os

_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def _resolve(schema, root: dict, seen: int = 0):
    """Follow `$ref`s (local JSON pointers) to the schema they name."""
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = node, seen + 1
    return schema if isinstance(schema, dict) else {}


def _fits(value, schema: dict) -> bool:
    """Whether the value's JSON type is one the schema allows (no `type`: any)."""
    kind = schema.get("type")
    if kind is None or (value is None and schema.get("nullable")):
        return True
    expected = _JSON_TYPES.get(kind)
    if expected is None:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, expected)


def _members(schema: dict, root: dict) -> list[dict]:
    """The schema and every `allOf` member, resolved and flattened: together they declare keys."""
    out, stack = [], [schema]
    while stack:
        current = _resolve(stack.pop(), root)
        out.append(current)
        stack.extend(current.get("allOf", []))
    return out


def _together(schemas: list):
    return schemas[0] if len(schemas) == 1 else {"allOf": schemas}


def undeclared_keys(value, schema, root: dict, where: str = "$") -> list[str]:
    """JSON paths (`$.data[0].attributes.color`) of keys the schema does not declare. Under
    allOf a key is declared when any member declares it, and its value is walked with every
    member's schema for it together."""
    if value is None:
        return []
    members = _members(schema, root)
    for index, member in enumerate(members):
        alternatives = member.get("oneOf") or member.get("anyOf")
        if alternatives:
            # The rest of the schema, flattened already: without allOf (its members are in the
            # list) and without this alternative list (the one being chosen from).
            rest = [{k: v for k, v in m.items() if k != "allOf"} for m in members]
            rest[index] = {k: v for k, v in rest[index].items() if k not in ("oneOf", "anyOf")}
            return _best_alternative(value, alternatives, rest, root, where)
    if isinstance(value, list):
        items = [m["items"] for m in members if "items" in m]
        found = []
        for n, item in enumerate(value if items else []):
            found += undeclared_keys(item, _together(items), root, f"{where}[{n}]")
        return found
    if not isinstance(value, dict):
        return []
    properties: dict[str, list] = {}
    for member in members:
        for key, sub in (member.get("properties") or {}).items():
            properties.setdefault(key, []).append(sub)
    extras = [m["additionalProperties"] for m in members if "additionalProperties" in m]
    extra_schemas = [e for e in extras if isinstance(e, dict)]
    open_ended = any(e is True for e in extras) or bool(extra_schemas)
    found = []
    for key, item in value.items():
        path = f"{where}.{key}"
        if key in properties:
            found += undeclared_keys(item, _together(properties[key]), root, path)
        elif extra_schemas:
            found += undeclared_keys(item, _together(extra_schemas), root, path)
        elif properties and not open_ended:
            found.append(path)
    return found


def _best_alternative(value, alternatives: list, rest: list[dict], root: dict, where: str) -> list[str]:
    """oneOf / anyOf: the alternative the value fits best (fewest undeclared keys) is the one it
    is read as, together with the rest of the enclosing schema."""
    best = None
    for alternative in alternatives:
        resolved = _resolve(alternative, root)
        if not _fits(value, resolved):
            continue
        found = undeclared_keys(value, {"allOf": [*rest, resolved]}, root, where)
        if best is None or len(found) < len(best):
            best = found
        if not found:
            break
    return best or []


def response_schema(root: dict, template: str, method: str, status: int, content_type: str) -> dict | None:
    """The schema the spec gives for this answer (JSON media types only), or None."""
    responses = root["paths"][template][method.lower()].get("responses", {})
    code = str(status)
    response = responses.get(code) or responses.get(f"{code[0]}XX") or responses.get("default")
    response = _resolve(response, root)
    mimetype = content_type.split(";")[0].strip().lower()
    if not response or "json" not in mimetype:
        return None
    media = (response.get("content") or {}).get(mimetype)
    return media.get("schema") if media else None


def mode() -> str:
    """STANDIN_UNDECLARED_KEYS: "fail" for Standin's own runs (the default in-process), else "warn"."""
    chosen = os.environ.get("STANDIN_UNDECLARED_KEYS")
    if chosen:
        return chosen
    return "fail" if os.environ.get("STANDIN_CONTRACT_TARGET") == "in-process" else "warn"


def undeclared_in_answer(root: dict, template: str, method: str, status: int, content_type: str, body: bytes):
    """The undeclared keys of one answer, by JSON path; [] when its schema or body says nothing."""
    schema = response_schema(root, template, method, status, content_type)
    if schema is None or not body:
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return []
    return undeclared_keys(value, schema, root)
