"""CORS for every origin, as Starlette's CORSMiddleware answers with `*` for origins, methods and
headers, written for this one policy.

Starlette's middleware parses the request headers and rebuilds the response headers on every
request, a visible share of a request's CPU in the profiles; here the response headers are appended as
bytes. tests/test_engine.py checks both give the same answers.

The control API is the exception: a page on another origin must not reset or change Standin's
state. A request to /_standin that may change state (any method but GET and HEAD) gets no CORS
headers, its preflight is refused, and it is refused outright (403, the control API's error
body) when a browser says it comes from elsewhere: an `Origin` naming another host than `Host`,
or `Sec-Fetch-Site: cross-site|same-site`. A POST with a form or text body, what a cross-site
form or simple POST sends, is refused too (415: the control API takes JSON bodies). A POST
without a body and without an `Origin` (curl, a test) still works.

With an admin token (`standin serve --admin-token`, made up automatically when Standin listens
on a non-loopback address), those calls, and the reads that disclose state (`/_standin/state`,
`/_standin/requests`), also need `X-Standin-Admin-Token: <token>` (401 otherwise).
"""

from __future__ import annotations

import hmac

METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"  # Starlette's "*"
ASKED = {
    b"origin",
    b"access-control-request-method",
    b"access-control-request-headers",
    b"access-control-request-private-network",
}
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"  # noqa: E501


ADMIN_PREFIX = "/_standin"
SAFE_METHODS = ("GET", "HEAD")
DISCLOSING = ("/_standin/state", "/_standin/requests")  # reads guarded by the admin token
TOKEN_HEADER = b"x-standin-admin-token"
SIMPLE_BODIES = (b"application/x-www-form-urlencoded", b"multipart/form-data", b"text/plain")


def cross_site(scope) -> tuple[int, str] | None:
    """Why (status, reason) a state-changing control API request may be a browser's from
    another origin, or None."""
    host = origin = fetch_site = content_type = None
    for name, value in scope["headers"]:
        if name == b"host" and host is None:
            host = value
        elif name == b"origin" and origin is None:
            origin = value
        elif name == b"sec-fetch-site" and fetch_site is None:
            fetch_site = value
        elif name == b"content-type" and content_type is None:
            content_type = value
    if fetch_site in (b"cross-site", b"same-site"):
        return 403, "a request from another site"
    if origin is not None and origin.partition(b"://")[2].rstrip(b"/").lower() != (host or b"").lower():
        return 403, "a request from another origin"
    media = (content_type or b"").split(b";")[0].strip().lower()
    if scope["method"] == "POST" and media in SIMPLE_BODIES:
        return 415, "a form or text body (it takes JSON)"
    return None


async def refuse(send, status: int, reason: str) -> None:
    from server.admin import render  # the control API's error body
    from server.api import ApiError

    kind = {401: "unauthorized", 403: "forbidden"}.get(status, "unsupported_media_type")
    reply = render(ApiError(kind, f"The control API refuses {reason}", status=status))
    body = reply.encode()
    headers = [(b"content-type", reply.content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AnyOriginCORS:
    def __init__(
        self, app, expose_headers: list[str], max_age: int = 600, admin_token: str | None = None
    ) -> None:
        self.app = app
        self.admin_token = admin_token.encode() if admin_token else None
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
        if scope["path"].startswith(ADMIN_PREFIX):
            if self.admin_token is not None and not self._authorized(scope):
                return await refuse(send, 401, "calls without its token (X-Standin-Admin-Token)")
            if scope["method"] == "OPTIONS" and method_asked is not None:
                if method_asked.decode("latin-1") not in SAFE_METHODS:
                    return await refuse(send, 403, "preflights of state-changing calls")
            elif scope["method"] not in SAFE_METHODS:
                refusal = cross_site(scope)
                if refusal is not None:
                    return await refuse(send, *refusal)
                return await self.app(scope, receive, send)  # no CORS headers: not for other origins
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

    def _authorized(self, scope) -> bool:
        """Whether a control API call may go on: a read that discloses nothing, or the token."""
        if scope["method"] in (*SAFE_METHODS, "OPTIONS") and not scope["path"].startswith(DISCLOSING):
            return True
        for name, value in scope["headers"]:
            if name == TOKEN_HEADER:
                return hmac.compare_digest(value, self.admin_token)
        return False

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
