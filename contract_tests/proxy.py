"""`standin proxy --api NAME --upstream URL`: a validating proxy in front of a real deployment.

The client talks to the proxy as it would to the vendor (same paths under the API's root); each
request goes upstream unchanged (method, path, query, body, headers but the hop-by-hop ones and
Host) and the upstream's answer comes back unchanged, byte for byte, with one header added when
the exchange breaks the spec: `sl-violations`, a JSON list in the shape Prism's proxy uses
(`location`, `severity`, `code`, `message`), so tools written for Prism read it as they are.
On exit (SIGINT / SIGTERM) the per-operation report of everything seen is written.
"""

from __future__ import annotations

import json
import signal
import sys
import zlib

import httpx

from contract_tests.traffic_report import Report
from contract_tests.validation import Exchange, Finding, is_preflight, validator

# RFC 9110 7.6.1 connection-specific fields, plus Host (the upstream's own) and Content-Length
# (recomputed by both hops: the body itself is passed on as it is).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
VIOLATIONS_HEADER = "sl-violations"
MAX_HEADER = 6000  # bytes of violations in the header; the report has them all


def _decoded(body: bytes, encoding: str) -> bytes | None:
    """The body as the spec describes it (uncompressed); None for an encoding not read here."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, 47 if encoding != "deflate" else 15)
        except zlib.error:
            return zlib.decompress(body, -15) if encoding == "deflate" else None
    return None


def violations_header(findings: list[Finding]) -> bytes:
    """Prism's header value: as many findings as fit, errors first; ASCII JSON."""
    entries = [f.prism() for f in sorted(findings, key=lambda f: f.severity != "error")]
    while entries:
        value = json.dumps(entries, separators=(",", ":")).encode("ascii")
        if len(value) <= MAX_HEADER:
            return value
        entries = entries[:-1]
    return b"[]"


class ValidatingProxy:
    """The ASGI app: forward, validate, answer, record."""

    def __init__(self, api: str, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.checker = validator(api)
        self.report = Report(api, self.checker.operations)
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(timeout=60, follow_redirects=False)
                for name in list(self.client.headers):  # httpx's defaults (User-Agent...): not the client's
                    del self.client.headers[name]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send):
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        try:
            request = self.client.build_request(
                scope["method"], self.upstream + target, headers=headers, content=body
            )
            answer = await self.client.send(request, stream=True)
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
            await answer.aclose()
        except httpx.HTTPError as e:
            text = f"standin proxy: upstream {self.upstream} failed: {e}".encode()
            await self._answer(send, 502, [(b"content-type", b"text/plain")], text)
            return
        reply = [(k, v) for k, v in answer.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]
        decoded = _decoded(raw, answer.headers.get("content-encoding", ""))
        exchange = Exchange(
            scope["method"],
            target,
            answer.status_code,
            headers,
            body,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in reply],
            decoded if decoded is not None else b"",
        )
        findings = []
        if not is_preflight(exchange):
            operation, findings = self.checker.check(exchange)
            self.report.add(exchange, operation, findings)
        if findings:
            reply.append((VIOLATIONS_HEADER.encode(), violations_header(findings)))
        await self._answer(send, answer.status_code, reply, raw)

    @staticmethod
    async def _answer(send, status: int, headers: list, body: bytes):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Stopped(Exception):
    """SIGTERM, after uvicorn's graceful shutdown."""


def _stopped(signum, frame):
    raise Stopped


def run_proxy(api: str, upstream: str, host: str, port: int, report_dir: str | None) -> int:
    """Serve until SIGINT / SIGTERM (uvicorn's own handling), then write and print the report."""
    import uvicorn

    proxy = ValidatingProxy(api, upstream)
    print(f"standin proxy: http://{host}:{port} -> {proxy.upstream} (validating against specs/{api}.yaml)")
    sys.stdout.flush()
    # uvicorn shuts down on SIGINT / SIGTERM, then raises the signal again for the handler it
    # found: ours ends the run here instead of the process, so the report still gets written.
    signal.signal(signal.SIGTERM, _stopped)
    try:
        # The upstream's Date and Server headers are passed on: uvicorn adds none of its own.
        uvicorn.run(
            proxy,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
        )
    except (KeyboardInterrupt, Stopped):
        pass
    out = proxy.report.write(report_dir or f"reports/{api}/proxy")
    print(proxy.report.text())
    print(f"Report: {out / 'validation.txt'}, {out / 'junit.xml'}, {out / 'validation.json'}")
    sys.stdout.flush()
    return proxy.report.exit_code()
