"""`standin contract` catches real deviations, names the operation, and passes a correct server."""

from __future__ import annotations

import json

import pytest

from contract_tests.runner import run, summarize
from server.app import create_app


class Mutate:
    """A deliberately broken variant: rewrites some responses of a correct Standin."""

    def __init__(self, app, method: str, path_end: str, change):
        self.app, self.runtime = app, app.runtime
        self.method, self.path_end, self.change = method, path_end, change

    async def __call__(self, scope, receive, send):
        hit = (
            scope["type"] == "http"
            and scope["method"] == self.method
            and scope["path"].endswith(self.path_end)
        )
        if not hit:
            return await self.app(scope, receive, send)
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    status, body = self.change(start["status"], b"".join(chunks), scope)
                    headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def _drop_width(status, body, scope):
    doc = json.loads(body)
    for item in doc.get("data", []):
        item["attributes"].pop("width", None)
    return status, json.dumps(doc).encode()


def _wrong_type(status, body, scope):
    doc = json.loads(body)
    if isinstance(doc.get("data"), dict):
        doc["data"]["attributes"]["allocated"] = "twenty"
    return status, json.dumps(doc).encode()


def _created_is_200(status, body, scope):
    return (200 if status == 201 else status), body


def _plain_error(status, body, scope):
    return status, (json.dumps({"message": "not found"}).encode() if status == 404 else body)


def _crash_on_sort(status, body, scope):
    return (500 if b"sort=" in scope.get("query_string", b"") else status), body


def _keep_deleted(app):
    app.runtime.store.delete = lambda *a, **k: None
    return app


VARIANTS = {
    "field missing": (lambda app: Mutate(app, "GET", "/api/v2/widgets", _drop_width), "GET /api/v2/widgets"),
    "wrong type": (
        lambda app: Mutate(app, "POST", "/api/v2/entitlements", _wrong_type),
        "POST /api/v2/entitlements",
    ),
    "wrong status": (
        lambda app: Mutate(app, "POST", "/api/v2/widgets", _created_is_200),
        "POST /api/v2/widgets",
    ),
    "error body format": (lambda app: Mutate(app, "GET", "", _plain_error), "GET /api/v2/widgets/{id}"),
    "deleted still readable": (_keep_deleted, "Stateful tests"),
    "5xx on some input": (
        lambda app: Mutate(app, "GET", "/api/v2/widgets", _crash_on_sort),
        "GET /api/v2/widgets",
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_broken_variant_is_reported(variant, tmp_path):
    build, operation = VARIANTS[variant]
    app = build(create_app(["productive"], rate_limit=0))
    examples = 25 if variant == "deleted still readable" else 8  # the stateful phase needs room
    code = run("productive", app=app, max_examples=examples, report=str(tmp_path))
    failed = {row[0] for row in summarize(tmp_path / "junit.xml") if row[1] != "ok"}
    assert code == 1
    assert operation in failed, failed
    failing = [row for row in summarize(tmp_path / "junit.xml") if row[0] == operation]
    assert failing[0][2].startswith("ST") and (
        failing[0][3].startswith("curl ") or operation == "Stateful tests"
    )


def test_a_correct_server_conforms(tmp_path):
    code = run("productive", max_examples=8, report=str(tmp_path))
    rows = summarize(tmp_path / "junit.xml")
    assert code == 0 and rows and {r[1] for r in rows} == {"ok"}


def test_unreachable_server_is_exit_2(tmp_path):
    assert run("productive", base_url="http://127.0.0.1:9", report=str(tmp_path)) == 2
