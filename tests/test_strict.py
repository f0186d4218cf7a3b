"""Undeclared keys (contract_tests/strict.py) and the schemathesis check built on it (hooks.py).

Standin's own contract runs (pytest, and `standin contract` in-process) fail on a key the schema
does not declare; runs against other servers do not (STANDIN_UNDECLARED_KEYS). Proven on a
broken variant: Standin's Productive with one extra attribute in its widget list.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
import yaml
from schemathesis.core.failures import FailureGroup

from contract_tests import hooks  # noqa: F401  (registers the check)
from contract_tests.runner import run
from contract_tests.strict import undeclared_keys
from server.api import SPECS
from server.app import create_app

ROOT = {
    "components": {
        "schemas": {
            "Named": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Cat": {
                "type": "object",
                "properties": {"kind": {"enum": ["cat"]}, "purrs": {"type": "boolean"}},
            },
            "Dog": {
                "type": "object",
                "properties": {"kind": {"enum": ["dog"]}, "barks": {"type": "boolean"}},
            },
        }
    }
}


def test_the_walk_follows_refs_allof_and_the_best_fitting_alternative():
    schema = {
        "type": "object",
        "properties": {
            "owner": {"allOf": [{"$ref": "#/components/schemas/Named"}, {"properties": {"age": {}}}]},
            "pets": {
                "type": "array",
                "items": {
                    "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]
                },
            },
            "by_id": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Named"}},
            "free": {"type": "object"},
            "open": {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
        },
    }
    value = {
        "owner": {"name": "x", "age": 3, "shoe": 42},
        "pets": [{"kind": "cat", "purrs": True}, {"kind": "dog", "barks": True, "wags": True}],
        "by_id": {"7": {"name": "y", "colour": "red"}},
        "free": {"anything": 1},
        "open": {"a": 1, "b": 2},
        "extra": None,
    }
    assert undeclared_keys(value, schema, ROOT) == [
        "$.owner.shoe",
        "$.pets[1].wags",
        "$.by_id.7.colour",
        "$.extra",
    ]


def _variant(root: bool = True):
    """Standin's Productive whose widget list carries one attribute the spec does not declare."""
    app = create_app(["productive"], root=root, rate_limit=0)
    path = "/api/v2/widgets" if root else "/productive/api/v2/widgets"

    async def variant(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != path or scope["method"] != "GET":
            return await app(scope, receive, send)
        start = {}

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            doc = json.loads(message["body"])
            if start["status"] == 200:
                doc["data"][0]["attributes"]["colour"] = "red"
            body = json.dumps(doc).encode()
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    variant.runtime = app.runtime  # where the contract runner reads the demo credentials
    return variant


def _widget_list(app):
    with open(SPECS / "productive.yaml", encoding="utf-8") as f:
        schema = schemathesis.openapi.from_dict(yaml.safe_load(f))
    schema.app = app
    return schema["/api/v2/widgets"]["GET"].Case()


@pytest.mark.parametrize("mode", ["fail", "warn"])
def test_the_check_fails_an_extra_key_in_standins_own_runs_only(mode, monkeypatch):
    monkeypatch.setenv("STANDIN_UNDECLARED_KEYS", mode)
    headers = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
    case = _widget_list(_variant())
    if mode == "warn":
        case.call_and_validate(headers=headers)  # vendors add fields: not a failure against another server
        return
    with pytest.raises(FailureGroup) as failure:
        case.call_and_validate(headers=headers)
    messages = [str(e) for e in failure.value.exceptions]
    assert messages == [
        "Custom check failed: `undeclared_keys`\n\nKeys the schema does not declare: $.data[0].attributes.colour"
    ]
    # The same request to Standin as it is passes.
    _widget_list(create_app(["productive"], root=True, rate_limit=0)).call_and_validate(headers=headers)


def test_standin_contract_in_process_fails_the_extra_key(tmp_path):
    code = run(
        "productive",
        app=_variant(root=False),
        max_examples=3,
        report_dir=str(tmp_path),
        seed=1,
        phases="examples,fuzzing",
    )
    assert code == 1
    rows = {r["label"]: r for r in json.loads((tmp_path / "verdict.json").read_text())}
    failures = rows["GET /api/v2/widgets"]["failures"]
    assert [f["check"] for f in failures] == ["undeclared_keys"]
    assert failures[0]["message"].startswith("Keys the schema does not declare: $.data[0].attributes.colour")
