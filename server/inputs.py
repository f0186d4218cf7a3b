"""What a JSON request body may hold beyond its schema, so that nothing stored can poison an answer.

Python's `json` accepts input that Standin could store but never send back: a lone UTF-16
surrogate (`"\\ud800"`) makes every later answer holding the record fail to encode, `NaN`,
`Infinity` and `1e999` would come back as `null`, and nesting deeper than the encoder's limit
fails the same way. Refused here, before validation and before any handler runs:

- a lone surrogate anywhere (keys too): the vendor's validation error, naming the field;
- a non-finite number, or nesting deeper than MAX_DEPTH: the vendor's malformed-body error;
- a body larger than MAX_BODY (MAX_CONTROL_BODY for the control API, whose state documents are
  whole stores): 413 in the vendor's format (a vendor that answers every bad body 400 says 400).

The checks cost two byte scans of the raw body in the common case: a surrogate can only come from
a `\\uD800`-`\\uDFFF` escape (strict UTF-8 decoding refuses encoded ones), and a body cannot nest
deeper than it has brackets; the parsed value is walked only when a scan finds a candidate.
"""

from __future__ import annotations

import json
import math
import re

from server.api import ApiError, Violation

MAX_DEPTH = 64  # levels of arrays/objects; the vendors' documented bodies use fewer than 8
MAX_BODY = 1 << 20  # bytes of a vendor API request body
MAX_CONTROL_BODY = 256 << 20  # bytes of a control API body (PUT /_standin/state loads a store)
QUOTED = 40  # characters of a bad value an error message may quote
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{quote(text)} is out of range")
    return value


def loads(raw: bytes, encoding: str = "utf-8"):
    """json.loads without NaN/Infinity and out-of-range numbers, and with the checks above;
    ValueError (or ApiError for a lone surrogate) for what it refuses."""
    try:
        body = json.loads(raw.decode(encoding), parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    check(raw, body)
    return body


def check(raw: bytes, body) -> None:
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _deeper_than(body, MAX_DEPTH):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if b"\\u" in raw and _SURROGATE_ESCAPE.search(raw):
        path = _lone_surrogate(body)
        if path is not None:
            violation = Violation(
                "body", path, "unicode", "must be valid Unicode (it holds a lone surrogate)"
            )
            raise ApiError("invalid", "The request body is invalid", violations=[violation])


def limit_for(path: str) -> int:
    return MAX_CONTROL_BODY if path.startswith("/_standin") else MAX_BODY


def too_large(limit: int) -> ApiError:
    return ApiError("payload_too_large", f"The request body is larger than {limit} bytes", status=413)


def quote(value, length: int = QUOTED) -> str:
    """A short prefix of a value for an error message (a 10 MB value is not sent back)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= length else text[:length] + "..."


def shorten(message: str, instance) -> str:
    """jsonschema's message with the offending value quoted by its prefix only."""
    if len(message) <= 4 * QUOTED:
        return message
    whole = repr(instance)
    if whole in message:
        return message.replace(whole, quote(whole), 1)
    return quote(message, 4 * QUOTED)


def _deeper_than(body, limit: int) -> bool:
    level = [body]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


def _lone_surrogate(body) -> tuple | None:
    """The path of the first string (or key) holding a lone surrogate, or None."""
    stack: list[tuple[tuple, object]] = [((), body)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return path
        elif isinstance(node, dict):
            for key, value in node.items():
                if not _encodable(key):
                    return (*path, quote(key.encode("utf-8", "replace").decode()))
                stack.append(((*path, key), value))
        elif isinstance(node, list):
            stack.extend(((*path, i), value) for i, value in enumerate(node))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
