"""Every spec is valid OpenAPI 3.0.3, and every example in it matches its own schema."""

from __future__ import annotations

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from server.api import SPECS

SPEC_FILES = sorted(SPECS.glob("*.yaml"))


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _resolve(node, spec, depth=0):
    """Inline local $refs (bounded, for the rare recursive schema)."""
    if depth > 40:
        return {}
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/"):
            target = spec
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return _resolve(target, spec, depth + 1)
        return {k: _resolve(v, spec, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, spec, depth) for v in node]
    return node


def _media_examples(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            bodies = [("request", op.get("requestBody", {}))]
            bodies += [(status, response) for status, response in op["responses"].items()]
            for where, holder in bodies:
                holder = _resolve(holder, spec)
                for media, content in (holder.get("content") or {}).items():
                    named = {"example": content["example"]} if "example" in content else {}
                    named |= {k: v.get("value") for k, v in (content.get("examples") or {}).items()}
                    for name, value in named.items():
                        yield (
                            f"{method.upper()} {path} {where} {media} {name}",
                            content.get("schema", {}),
                            value,
                        )


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_spec_is_valid_openapi_303(path):
    spec = _load(path)
    assert spec["openapi"] == "3.0.3"
    validate(spec)


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_every_example_matches_its_schema(path):
    spec = _load(path)
    failures = []
    for name, schema, value in _media_examples(spec):
        if isinstance(value, str) and schema.get("type") != "string":
            continue  # e.g. CSV bodies documented as text
        errors = list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(value))
        failures += [f"{name}: {e.message}" for e in errors[:1]]
    assert failures == []
