"""CORS for every origin, as Starlette's CORSMiddleware answers with `*` for origins, methods and
headers, written for this one policy.

Starlette's middleware parses the request headers and rebuilds the response headers on every
request, about 8% of a request's CPU (bench/results); here the response headers are appended as
bytes. tests/test_engine.py checks both give the same answers.
"""

from __future__ import annotations

METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"  # Starlette's "*"
ASKED = {
    b"origin",
    b"access-control-request-method",
    b"access-control-request-headers",
    b"access-control-request-private-network",
}
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"  # noqa: E501


class AnyOriginCORS:
    def __init__(self, app, expose_headers: list[str], max_age: int = 600) -> None:
        self.app = app
        self.with_origin = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-expose-headers", ", ".join(expose_headers).encode()),
        ]
        self.max_age = str(max_age).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        asked: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in ASKED:
                asked.setdefault(name, value)  # the first of repeated headers, as Starlette reads
        origin = asked.get(b"origin")
        method_asked = asked.get(b"access-control-request-method")
        if origin is not None and scope["method"] == "OPTIONS" and method_asked is not None:
            return await self._preflight(
                send,
                method_asked,
                asked.get(b"access-control-request-headers"),
                asked.get(b"access-control-request-private-network"),
            )
        extra = self.with_origin if origin is not None else []
        replaced = {b"vary", *(k for k, _ in extra)}

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                vary = [v for k, v in headers if k.lower() == b"vary"]
                headers = [(k, v) for k, v in headers if k.lower() not in replaced]
                headers += [*extra, (b"vary", b", ".join([*vary, b"Origin"]))]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send, method: bytes, headers: bytes | None, private_network) -> None:
        out = [
            (b"vary", PREFLIGHT_VARY.encode()),
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", METHODS.encode()),
            (b"access-control-max-age", self.max_age),
        ]
        if headers is not None:
            out.append((b"access-control-allow-headers", headers))
        failures = []
        if method.decode("latin-1") not in METHODS.split(", "):
            failures.append("method")
        if private_network is not None:
            failures.append("private-network")
        body = ("Disallowed CORS " + ", ".join(failures)).encode() if failures else b"OK"
        out += [(b"content-length", str(len(body)).encode()), (b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "http.response.start", "status": 400 if failures else 200, "headers": out})
        await send({"type": "http.response.body", "body": body})
