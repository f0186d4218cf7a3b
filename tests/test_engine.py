"""Standin-only behaviour: determinism, reset, layering, concurrency, the CLI, the control API."""

from __future__ import annotations

import ast
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.app import API_NAMES, create_app
from server.store import Store

ROOT = Path(__file__).resolve().parents[1]
PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}


def _get_all(app, paths):
    with app.test_client() as c:
        return [c.get(p, headers=PRODUCTIVE).content for p in paths]


def test_same_seed_gives_byte_identical_responses():
    paths = ["/productive/api/v2/widgets?page[size]=200", "/productive/api/v2/entitlements?page[size]=200"]
    fresh = [_get_all(create_app(["productive"], seed=s), paths) for s in (7, 7, 8)]
    assert fresh[0] == fresh[1]
    assert fresh[0] != fresh[2]


def test_reset_restores_the_seeded_state(client):
    url = "/productive/api/v2/widgets/1"
    assert client.delete(url, headers=PRODUCTIVE).status_code == 204
    assert client.get(url, headers=PRODUCTIVE).status_code == 404
    r = client.post("/_standin/reset")
    assert r.status_code == 200 and r.json()["status"] == "reset"
    assert client.get(url, headers=PRODUCTIVE).status_code == 200


def test_reset_with_another_seed_reseeds(client):
    first = client.get("/productive/api/v2/entitlements?page[size]=200", headers=PRODUCTIVE).content
    assert client.post("/_standin/reset?seed=99").json()["seed"] == 99
    assert client.get("/productive/api/v2/entitlements?page[size]=200", headers=PRODUCTIVE).content != first
    client.post("/_standin/reset?seed=0")


def test_control_api_lists_every_mounted_api_with_credentials(client):
    apis = client.get("/_standin/apis").json()["apis"]
    assert [a["name"] for a in apis] == API_NAMES
    for api in apis:
        assert api["prefix"] == f"/{api['name']}" and api["demo"]
        spec = client.get(api["spec_url"])
        assert spec.status_code == 200 and spec.text.startswith("openapi: 3.0.3")
    assert client.get("/_standin/specs/nope").status_code == 404


def test_engine_never_imports_a_vendor():
    for path in (ROOT / "server").glob("*.py"):
        if path.name == "app.py":  # composition: the one place that knows every API
            continue
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if n.startswith(("server.vendors", "fixtures"))], path.name


def test_concurrent_writes_are_not_lost():
    app = create_app(["productive"], rate_limit=0)
    body = {
        "data": {
            "type": "widgets",
            "attributes": {"width": 1, "height": 1, "widget_type_id": 1},
            "relationships": {"dashboard": {"data": {"type": "dashboards", "id": "19"}}},
        }
    }
    headers = {**PRODUCTIVE, "Content-Type": "application/vnd.api+json"}

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            rs = await asyncio.gather(
                *[c.post("/productive/api/v2/widgets", json=body, headers=headers) for _ in range(60)]
            )
            listing = await c.get(
                "/productive/api/v2/widgets?filter[dashboard_id]=19&page[size]=200", headers=headers
            )
            return rs, listing

    responses, listing = asyncio.run(burst())
    ids = {r.json()["data"]["id"] for r in responses}
    assert {r.status_code for r in responses} == {201} and len(ids) == 60
    assert ids <= {w["id"] for w in listing.json()["data"]}


def test_store_snapshot_is_isolated():
    store = Store()
    store.insert("t", "rows", {"name": "a"})
    snap = store.snapshot()
    store.table("t", "rows")[1]["name"] = "b"
    store.restore(snap)
    assert store.get("t", "rows", 1)["name"] == "a"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_standin_serve_answers_over_http():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/productive/api/v2/widgets", headers=PRODUCTIVE)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["meta"]["total_count"] >= 3
        r = httpx.options(
            f"http://127.0.0.1:{port}/productive/api/v2/widgets",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
        assert r.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "X-Auth-Token" in out and f"http://127.0.0.1:{port}/productive" in out


def test_store_tables_iterate_in_id_order():
    store = Store()
    for record_id in (5, 2, 9):
        store.insert("t", "rows", {"id": record_id})
    store.insert("t", "rows", {})
    assert list(store.table("t", "rows")) == [2, 5, 9, 10]


def test_indexed_router_picks_the_route_starlette_would():
    """Same first match (or 405 partial, or none) as Starlette's linear scan, for every case."""
    from starlette.routing import Mount, Route, Router

    from server.dispatch import IndexedRouter

    async def endpoint(scope, receive, send):
        pass

    templates = [
        ("/v1/{account}/bookings", ["GET"]),
        ("/v1/{account}/bookings/{id:int}", ["GET"]),
        ("/v1/{account}/bookings/{id}", ["DELETE"]),
        ("/v1/{account}/timesheets/submit", ["POST"]),
        ("/v1/{account}/timesheets/{id}", ["GET"]),
        ("/v1/me", ["GET"]),
        ("/v1/{account}", ["GET"]),
        ("/files/{name}.json", ["GET"]),
        ("/raw/{rest:path}", ["GET"]),
    ]

    def routes():
        made = [Route(path, endpoint, methods=methods) for path, methods in templates]
        return [*made, Mount("/mounted", app=endpoint)]

    plain, indexed = Router(routes()), IndexedRouter(routes())

    def picked(router, method, path):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        tried = router._candidates(path) if isinstance(router, IndexedRouter) else router.routes
        matches = [(route.matches(scope)[0].name, router.routes.index(route)) for route in tried]
        full = [i for name, i in matches if name == "FULL"]
        partial = [i for name, i in matches if name == "PARTIAL"]
        return ("FULL", full[0]) if full else ("PARTIAL", partial[0]) if partial else None

    paths = [
        "/v1/acme/bookings",
        "/v1/acme/bookings/12",
        "/v1/acme/bookings/x",
        "/v1/acme/timesheets/submit",
        "/v1/acme/timesheets/7",
        "/v1/me",
        "/v1/acme",
        "/v1//bookings",
        "/files/a.json",
        "/raw/a/b/c",
        "/mounted/x/y",
        "/nowhere",
        "/v1/acme/bookings/12/extra",
    ]
    for path in paths:
        for method in ("GET", "POST", "DELETE"):
            assert picked(indexed, method, path) == picked(plain, method, path), (method, path)


def test_store_index_follows_every_write():
    store = Store()
    for i, owner in ((1, 7), (2, 7), (3, 8)):
        store.insert("t", "entries", {"id": i, "user_id": owner})
    assert [r["id"] for r in store.index("t", "entries", "user_id")[7]] == [1, 2]
    with store.lock:  # an in-place change, as handlers make them
        store.get("t", "entries", 2)["user_id"] = 8
        assert [r["id"] for r in store.index("t", "entries", "user_id")[8]] == [2, 3]
    store.delete("t", "entries", 3)
    assert [r["id"] for r in store.index("t", "entries", "user_id")[8]] == [2]
    store.restore(store.snapshot())
    assert [r["id"] for r in store.index("t", "entries", "user_id")[7]] == [1]


def test_first_with_answers_as_a_scan_through_writes_and_in_place_changes():
    """Store.first_with's lookups are kept up to date by the store's writes, and dropped for a
    table read under the lock (a handler may change a record in place there)."""
    store = Store()

    def brute(tenant, value):
        return next((r for r in store.table(tenant, "tokens").values() if r.get("token") == value), None)

    def agree(tenant):
        for value in ("k0", "k1", "k2", "moved", None, "nope", "late"):
            assert store.first_with(tenant, "tokens", "token", value) is brute(tenant, value), value

    for size in (5, 40):
        tenant = f"t{size}"
        for i in range(1, size + 1):
            store.insert(tenant, "tokens", {"token": f"k{i % 3}", "user": i} if i % 4 else {"user": i})
        agree(tenant)  # the lookup exists from here on
        with store.lock:  # an in-place change, as handlers make them
            next(iter(store.table(tenant, "tokens").values()))["token"] = "moved"
        agree(tenant)
        assert store.first_with(tenant, "tokens", "token", "moved")["user"] == 1
        assert store.first_with(tenant, "tokens", "token", None)["user"] == 4  # has no token
        ids = list(store.table(tenant, "tokens"))
        store.update(tenant, "tokens", ids[1], {"token": "late"})
        store.delete(tenant, "tokens", ids[2])
        store.insert(tenant, "tokens", {"id": 0, "token": "k1", "user": 0})  # a lower id: comes first
        store.insert("elsewhere", "clients", {"name": "unrelated"})
        agree(tenant)
        assert store.first_with(tenant, "tokens", "token", "k1")["user"] == 0
        assert store.first_with(tenant, "tokens", "token", ["unhashable"]) is None


def test_first_with_is_not_rebuilt_by_unrelated_writes():
    """A write to another table leaves a table's lookup in place (issue 18: every write anywhere
    rebuilt the token index, so writes slowed down as sessions piled up)."""
    store = Store()
    for i in range(100):
        store.insert("_auth", "tokens", {"token": f"t{i}"})
    assert store.first_with("_auth", "tokens", "token", "t5")["id"] == 6
    kept = store._lookups[("_auth", "tokens", "token")]
    store.insert("app", "clients", {"name": "x"})
    with store.lock:
        store.get("app", "clients", 1)["name"] = "y"
    store.insert("_auth", "tokens", {"token": "new"})
    assert store.first_with("_auth", "tokens", "token", "new")["id"] == 101
    assert store._lookups[("_auth", "tokens", "token")] is kept


def test_kept_read_answers_follow_writes_and_callers(client, app):
    """GET answers are kept per request and store state (server.dispatch): never stale, never
    another caller's."""
    url = "/productive/api/v2/widgets/1"
    first = client.get(url, headers=PRODUCTIVE)
    assert client.get(url, headers=PRODUCTIVE).content == first.content
    body = {"data": {"type": "widgets", "id": "1", "attributes": {"width": 5}}}
    patched = client.patch(url, json=body, headers={**PRODUCTIVE, "Content-Type": "application/vnd.api+json"})
    assert patched.status_code == 200
    assert client.get(url, headers=PRODUCTIVE).json()["data"]["attributes"]["width"] == 5
    # a change made without the store's lock is seen once the non-GET request making it has ended
    store = app.runtime.stores["productive"]
    store.get("1308", "widgets", 1)["width"] = 6
    epoch = store.epoch
    assert client.delete("/productive/api/v2/widgets/999999", headers=PRODUCTIVE).status_code == 404
    assert store.epoch == epoch + 1
    assert client.get(url, headers=PRODUCTIVE).json()["data"]["attributes"]["width"] == 6
    other = {"X-Auth-Token": "standin-productive-other-token", "X-Organization-Id": "1308"}
    assert client.get(url, headers=other).status_code == 403


def test_spec_cache_matches_the_yaml_and_survives_a_bad_file(tmp_path, monkeypatch):
    import yaml

    from server import app as composition

    monkeypatch.setattr(composition, "SPEC_CACHE", tmp_path)
    parsed = yaml.safe_load((composition.SPECS / "admin.yaml").read_text(encoding="utf-8"))
    assert composition.load_spec("admin") == parsed  # parsed, then written
    (kept,) = tmp_path.glob("admin-*.pickle")
    assert composition.load_spec("admin") == parsed  # read back
    kept.write_bytes(b"not a pickle")
    assert composition.load_spec("admin") == parsed


def test_cors_answers_as_starlettes_middleware_would():
    """server/cors.py replaces Starlette's CORSMiddleware for the allow-everything policy."""
    from starlette.middleware.cors import CORSMiddleware

    from server.app import EXPOSED
    from server.cors import AnyOriginCORS

    async def endpoint(scope, receive, send):
        headers = [(b"content-type", b"application/json")]
        if scope["path"] == "/varied":
            headers.append((b"vary", b"Accept"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    starlette = CORSMiddleware(
        endpoint,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED,
        max_age=600,
    )
    ours = AnyOriginCORS(endpoint, expose_headers=EXPOSED, max_age=600)

    def answer(app, method, path, headers):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {"type": "http", "method": method, "path": path, "headers": raw, "query_string": b""}
        asyncio.run(app(scope, receive, send))
        start = sent[0]
        body = b"".join(m.get("body", b"") for m in sent[1:])
        return start["status"], sorted(start["headers"]), body

    origin = {"Origin": "http://localhost:3000"}
    ask = "Access-Control-Request-"
    cases = [
        ("GET", "/", {}),
        ("GET", "/varied", {}),
        ("GET", "/", origin),
        ("GET", "/varied", origin),
        ("POST", "/", {**origin, "Content-Type": "application/json"}),
        ("OPTIONS", "/", origin),  # no Access-Control-Request-Method: not a preflight
        ("OPTIONS", "/", {**origin, ask + "Method": "PATCH"}),
        ("OPTIONS", "/", {**origin, ask + "Method": "PATCH", ask + "Headers": "X-Auth-Token, Content-Type"}),
        ("OPTIONS", "/", {**origin, ask + "Method": "BREW"}),
        ("OPTIONS", "/", {**origin, ask + "Method": "GET", ask + "Private-Network": "true"}),
        ("OPTIONS", "/", {ask + "Method": "GET"}),  # no Origin
    ]
    for case in cases:
        assert answer(ours, *case) == answer(starlette, *case), case


def test_quick_check_never_passes_what_jsonschema_refuses():
    """server/errors.py lets jsonschema-rs pass valid input early; it must never be the laxer one."""
    from connexion.json_schema import Draft4RequestValidator

    from server.errors import FORMATS, quick_check

    cases = [
        ({"type": "integer", "minimum": 1}, [1, 0, 1.0, True, "1", 2**70]),
        ({"type": "string", "format": "date"}, ["2026-01-05", "20260105", "2026-02-30", "2026-1-5"]),
        ({"type": "string", "format": "date-time"}, ["2026-01-05T10:00:00Z", "2026-01-05T10:00:00", "x"]),
        ({"type": "string", "format": "email"}, ["a@b.example", "ab"]),
        ({"type": "string", "pattern": "^\\d+$"}, ["12", "1a", "12\n"]),
        ({"type": "string", "nullable": True, "enum": ["a"]}, ["a", "b", None]),
        ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [[1, 2], [1, 1], [1, True]]),
        (
            {"type": "object", "required": ["a"], "additionalProperties": False, "properties": {"a": {}}},
            [{"a": 1}, {}, {"a": 1, "b": 2}],
        ),
    ]
    for schema, values in cases:
        quick, full = quick_check(schema), Draft4RequestValidator(schema, format_checker=FORMATS)
        assert quick is not None, schema
        for value in values:
            if quick(value):
                assert full.is_valid(value), (schema, value)


def test_request_bodies_are_read_alike_however_they_arrive(app):
    """server/errors.BodyValidator reads announced bodies itself: a body split over several ASGI
    messages, a malformed one and an unannounced one answer as connexion's own reading would."""

    def post(chunks: list[bytes], announce: bool = True):
        app.runtime.reset()
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        sent = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        headers = [(k.lower().encode(), v.encode()) for k, v in PRODUCTIVE.items()]
        headers.append((b"content-type", b"application/vnd.api+json"))
        if announce:
            headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
        path = "/productive/api/v2/widgets"
        scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "root_path": ""}
        scope.update(headers=headers, query_string=b"", scheme="http", server=("t", 80), http_version="1.1")
        asyncio.run(app(scope, receive, send))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    body = (
        b'{"data":{"type":"widgets","attributes":{"width":2,"height":3,"widget_type_id":1},'
        b'"relationships":{"dashboard":{"data":{"type":"dashboards","id":"19"}}}}}'
    )
    whole = post([body])
    assert whole[0] == 201 and b'"height":3' in whole[1], whole
    assert post([body[:10], body[10:50], body[50:]]) == whole
    assert post([body[:-1]])[0] == 400 == post([body[:30], body[30:-1]])[0]
    assert post([body], announce=False)[0] == 400  # connexion: no Content-Length, no body


def _routing_middleware(app):
    """The app's KeptRoutingMiddleware, from the stack connexion builds on the first request."""
    from server.dispatch import KeptRoutingMiddleware

    with app.test_client() as c:
        c.get("/_standin/health")
    return next(m for m in app.middleware.middleware_stack if isinstance(m, KeptRoutingMiddleware))


def test_kept_routing_passes_on_what_connexions_routing_does(monkeypatch):
    """Every spec path (and misses: unknown paths, wrong methods, trailing slashes) reaches the
    next layer with the same scope, or gets the same answer, as through connexion's own routing."""
    for apis, root in ((None, False), (["resourceguru"], True)):
        app = create_app(apis, root=root, rate_limit=0)
        routing = _routing_middleware(app)
        with monkeypatch.context() as patched:
            _assert_routes_alike(routing, {**app.runtime.prefixes, "admin": "/_standin"}, patched)
        assert any(routing._kept.values()), "no decision kept"
        assert all(op is not None for _, op, _ in filter(None, routing._kept.values()))


def _assert_routes_alike(routing, prefixes: dict, patched) -> None:
    from connexion.middleware.routing import RoutingMiddleware

    from server.app import load_spec

    paths = ["/", "/nowhere", "/_standin/apis/", "/productive/api/v2/widgets/"]
    for name, prefix in prefixes.items():
        for template in load_spec(name)["paths"]:
            path = prefix + template.replace("{id}", "12").replace("{", "x").replace("}", "")
            paths += [path, path + "/", path + "/extra"]
    passed = {}

    async def downstream(self, scope, receive, send):
        passed["scope"] = scope

    async def send(message):
        passed.setdefault("sent", []).append(message)

    def route(method, path, through):
        passed.clear()
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        scope.update(query_string=b"", scheme="http", server=("t", 80), http_version="1.1")
        asyncio.run(through(routing, scope, None, send))
        return passed.get("scope"), passed.get("sent")

    patched.setattr(type(routing.app), "__call__", downstream)  # connexion's security layer
    kept = type(routing).__call__
    for path in paths:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            connexions = route(method, path, RoutingMiddleware.__call__)
            assert route(method, path, kept) == connexions, (method, path)
            assert route(method, path, kept) == connexions, (method, path)  # from the kept decision


def test_a_response_goes_out_in_one_write():
    """server/serving.py: head and body in one send; a response left open, or a closing
    connection, still sends what was written."""
    from server.serving import _CoalescingTransport

    class Transport:
        def __init__(self):
            self.writes, self.closed = [], False

        def write(self, data):
            self.writes.append(data)

        def close(self):
            self.closed = True

        def get_extra_info(self, name):
            return name

        def is_closing(self):
            return self.closed

    async def run():
        loop = asyncio.get_running_loop()
        raw = Transport()
        transport = _CoalescingTransport(raw, loop)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert raw.writes == []
        transport.flush()  # what the protocol does when the response is complete
        assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.write(b"chunk")  # a streamed response: the loop's next step sends it
        await asyncio.sleep(0)
        assert raw.writes[-1] == b"chunk"
        transport.write(b"last")
        transport.close()
        assert raw.writes[-1] == b"last" and raw.closed
        transport.write(b"after close")
        await asyncio.sleep(0)
        assert raw.writes[-1] == b"last"
        assert transport.get_extra_info("peername") == "peername"

    asyncio.run(run())


def test_fresh_answers_mode_keeps_nothing():
    """`standin serve --fresh-answers` (the bench's scaled lists): every read runs its handler."""
    app = create_app(["productive"], keep_answers=False)
    url = "/productive/api/v2/widgets/1"
    with app.test_client() as c:
        assert c.get(url, headers=PRODUCTIVE).json()["data"]["attributes"]["width"] != 7
        app.runtime.stores["productive"].get("1308", "widgets", 1)["width"] = 7  # unseen by a kept answer
        assert c.get(url, headers=PRODUCTIVE).json()["data"]["attributes"]["width"] == 7


def test_direct_request_reads_as_connexions_request_does():
    """server.dispatch.DirectRequest stands in for connexion's request in security and validation."""
    from connexion.lifecycle import ConnexionRequest
    from starlette.requests import Request

    from server.dispatch import DirectRequest

    scope = {"type": "http", "method": "POST", "path": "/x", "root_path": "", "query_string": b"a=1"}
    scope.update(headers=[(b"x-auth-token", b"t"), (b"content-type", b"application/json; charset=utf-8")])
    scope.update(scheme="http", server=("h", 80), path_params={"id": "3"})
    made = [
        (DirectRequest(dict(scope)), ConnexionRequest(dict(scope))),
        (DirectRequest.from_starlette_request(Request(dict(scope))), ConnexionRequest(dict(scope))),
    ]
    for direct, connexions in made:
        for name in ("scope", "headers", "method", "url", "content_type", "mimetype", "context"):
            assert getattr(direct, name) == getattr(connexions, name), name
        assert direct.headers.get("X-Auth-Token") == "t"
        assert "scope" in type(direct).__dict__ and "headers" in type(direct).__dict__  # no __getattr__


def test_json_encoding_takes_any_key_and_any_int():
    from server.api import encode_json

    assert encode_json({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()
    assert encode_json({1: "x", "n": 2**70}) == b'{"1":"x","n":1180591620717411303424}'
