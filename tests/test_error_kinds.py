"""Error kinds are one enum (server.api.Kind), renderers are told the operation instead of reading
the URL, and iBuildApp's `x-standin-errors` table is what its errors say (issue 17 item 4)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from server.api import ApiError, Kind
from server.app import Runtime, create_app, load_spec
from server.vendors.ibuildapp import errors as ibuildapp_errors

ROOT = Path(__file__).resolve().parent.parent
RG = {"Authorization": "Bearer 1.standin-resourceguru-demo-token"}
PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}


def unknown_kinds(source: str) -> list[str]:
    """Literal kinds given to ApiError that are not a Kind."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and first.value not in set(Kind):
                found.append(first.value)
    return found


def test_every_kind_raised_is_a_kind_and_no_other_is_accepted():
    sources = sorted((ROOT / "server").rglob("*.py"))
    assert {
        str(p.relative_to(ROOT)): unknown_kinds(p.read_text())
        for p in sources
        if unknown_kinds(p.read_text())
    } == {}
    assert unknown_kinds('raise ApiError("not_fuond", "Record not found")') == [
        "not_fuond"
    ]  # the check bites
    with pytest.raises(ValueError):
        ApiError("not_fuond")
    assert ApiError("not_found").kind is Kind.NOT_FOUND and ApiError(Kind.INVALID).status_code == 422


def _disagreements(rows: dict) -> list[str]:
    """Where the spec's example error bodies and the table (as rendered) part."""
    spec = load_spec("ibuildapp")
    responses = spec["components"]["responses"]
    found = []
    for kind, component in [
        ("unauthorized", "Unauthorized"),
        ("forbidden", "Forbidden"),
        ("method_not_allowed", "MethodNotAllowed"),
        ("rate_limited", "TooManyRequests"),
        ("server_error", "InternalError"),
    ]:
        example = responses[component]["content"]["application/json"]["example"]
        sent = ibuildapp_errors.render(ApiError(kind)).body
        if sent != example or rows[kind]["message"] != example["message"]:
            found.append(f"{kind}: sends {sent}, the spec shows {example}")
    for row in rows.values():
        if row["kind"] not in set(Kind):
            found.append(f"{row['kind']}: not a kind of error (server.api.Kind)")
    return found


def test_the_ibuildapp_error_table_is_what_is_sent(monkeypatch):
    rows = ibuildapp_errors.table()
    assert _disagreements(rows) == []
    assert ibuildapp_errors.render(ApiError("not_found", "User not found.")).body["error_code"] == 5
    broken = {**rows, "forbidden": {**rows["forbidden"], "message": "Forbidden."}}
    monkeypatch.setattr(ibuildapp_errors, "table", lambda: broken)
    assert _disagreements(broken) == [
        "forbidden: sends {'status': 'ERROR', 'message': 'Forbidden.', 'error_code': 403}, the spec shows "
        "{'status': 'ERROR', 'message': 'Access denied.', 'error_code': 403}"
    ]


def _oauth_and_create_errors(client) -> tuple:
    token = client.post("/resourceguru/oauth/token", data={"grant_type": "password"})
    wrong_method = client.put("/resourceguru/oauth/token")
    widget = {"data": {"type": "widgets", "attributes": {}}}
    headers = {**PRODUCTIVE, "Content-Type": "application/vnd.api+json"}
    created = client.post("/productive/api/v2/widgets", json=widget, headers=headers)
    return token, wrong_method, created


def test_renderers_are_told_the_operation(monkeypatch):
    app = create_app(["productive", "resourceguru"])
    assert app.runtime.operation_id("POST", "/resourceguru/oauth/token") == "oauth_token"
    assert app.runtime.operation_id("PUT", "/resourceguru/oauth/token") == "oauth_token"  # its path's
    assert app.runtime.operation_id("GET", "/resourceguru/nowhere") is None
    with app.test_client() as client:
        token, wrong_method, created = _oauth_and_create_errors(client)
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"  # RFC 6749's format
        assert (
            wrong_method.status_code == 405
            and "errors" not in wrong_method.json()
            and "error" in wrong_method.json()
        )
        blank = {e["source"]["pointer"] for e in created.json()["errors"] if e["detail"] == "can't be blank"}
        assert created.status_code == 422 and "data/attributes/dashboard" in blank  # required on create
        monkeypatch.setattr(Runtime, "operation_id", lambda self, method, path: None)  # the broken variant
        token, wrong_method, created = _oauth_and_create_errors(client)
        assert "errors" in token.json() and "errors" in wrong_method.json()  # Resource Guru's /v1 format
        assert not [e for e in created.json()["errors"] if e["detail"] == "can't be blank"]
