"""The request journal: the last N exchanges with the vendor APIs, for CI to check what a client sent.

A ring (`collections.deque(maxlen=N)`), so memory does not grow with traffic; bodies are kept up
to `BODY_CAP` bytes each, by reference to the bytes the server already holds (no copies unless a
body is cut). Credentials in headers are masked as they are stored. The control API under
/_standin is not journaled: reading the journal does not change it. What an exchange matched
(API, operation) is worked out when the journal is read, so recording costs one small object.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import re
import time
from collections import deque

from server.api import ApiError, respond, runtime

EXCHANGE = "standin.exchange"  # scope key: the exchange being recorded (steering notes what it applied)
BODY_CAP = 64 * 1024
ADMIN = "/_standin"
SECRET_HEADERS = {
    b"authorization",
    b"proxy-authorization",
    b"x-auth-token",
    b"cookie",
    b"set-cookie",
    b"x-api-key",
}


def mask(value: bytes) -> bytes:
    """A credential as stored: its scheme and last four characters when long enough to keep them."""
    scheme, _, secret = value.rpartition(b" ")
    shown = secret[-4:] if len(secret) >= 16 else b""
    return (scheme + b" " if scheme else b"") + b"****" + shown


def _masked(headers) -> list:
    return [(k, mask(v)) if k in SECRET_HEADERS else (k, v) for k, v in headers]


class Exchange:
    __slots__ = (
        "seq",
        "time",
        "started",
        "method",
        "path",
        "query",
        "http_version",
        "headers",
        "body",
        "body_size",
        "status",
        "response_headers",
        "response_body",
        "response_size",
        "duration",
        "applied",
    )

    def __init__(self, seq: int, scope: dict) -> None:
        self.seq = seq
        self.time = time.time()
        self.started = time.perf_counter()
        self.method = scope["method"]
        self.path = scope["path"]
        self.query = scope["query_string"]
        self.http_version = scope.get("http_version", "1.1")
        headers = scope["headers"]
        for name, _ in headers:
            if name in SECRET_HEADERS:
                headers = _masked(headers)
                break
        self.headers = headers
        self.body: list[bytes] = []
        self.body_size = 0
        self.status: int | None = None
        self.response_headers = ()
        self.response_body: list[bytes] = []
        self.response_size = 0
        self.duration: float | None = None
        self.applied: list[str] | None = None

    def note(self, what: str) -> None:
        """What steering did to this exchange (a rule, a preference, latency)."""
        if self.applied is None:
            self.applied = []
        self.applied.append(what)


BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def _read_ahead(exchange: Exchange, receive):
    """Reads the whole request body into the exchange and returns a receive that replays it."""
    messages, more = [], True
    while more:
        message = await receive()
        messages.append(message)
        more = message["type"] == "http.request" and message.get("more_body", False)
        data = message.get("body")
        if data:
            exchange.body_size = _keep(exchange.body, exchange.body_size, data)
    messages.reverse()

    async def replay():
        return messages.pop() if messages else await receive()

    replay.__wrapped__ = receive  # steering's faults reach the server's connection through it
    return replay


def _keep(chunks: list, size: int, data: bytes) -> int:
    """Keeps a body chunk (a reference, or a cut copy past the cap); returns the new total size."""
    if size < BODY_CAP:
        chunks.append(data if size + len(data) <= BODY_CAP else data[: BODY_CAP - size])
    return size + len(data)


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.size = max(0, size)
        self.entries: deque[Exchange] = deque(maxlen=self.size or 1)
        self.seq = 0

    def start(self, scope: dict) -> Exchange:
        self.seq += 1
        exchange = Exchange(self.seq, scope)
        self.entries.append(exchange)
        return exchange

    def clear(self) -> None:
        self.entries.clear()


class JournalMiddleware:
    """Outermost of Standin's layers, so it records what the client sent and got (CORS included)."""

    def __init__(self, app, runtime) -> None:
        self.app, self.journal = app, runtime.journal

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not self.journal.size
            or (path[:9] == ADMIN and (len(path) == 9 or path[9] == "/"))
        ):
            return await self.app(scope, receive, send)
        exchange = scope[EXCHANGE] = self.journal.start(scope)
        if scope["method"] in BODY_METHODS:  # read now: a request refused early never reads it
            receive = await _read_ahead(exchange, receive)

        async def send_logged(message):
            kind = message["type"]
            if kind == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = message.get("headers", ())
            elif kind == "http.response.body":
                data = message.get("body")
                if data:
                    exchange.response_size = _keep(exchange.response_body, exchange.response_size, data)
                if not message.get("more_body"):
                    exchange.duration = time.perf_counter() - exchange.started
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if exchange.duration is None:  # no complete answer: a dropped connection, an error
                exchange.duration = time.perf_counter() - exchange.started


# -- reading it: the control API ---------------------------------------------------------------


def _text(chunks: list[bytes], size: int) -> dict:
    data = b"".join(chunks)
    try:
        out = {"body": data.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        out = {"body": base64.b64encode(data).decode(), "body_encoding": "base64"}
    out["body_size"] = size
    out["body_truncated"] = size > len(data)
    return out


def _headers(raw) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _stamp(seconds: float) -> str:
    return (
        dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _view(rt, exchange: Exchange) -> dict:
    api = rt.owner(exchange.path)
    operation = rt.steering.operations.find(exchange.method, exchange.path) if api else None
    query = exchange.query.decode("latin-1")
    return {
        "id": exchange.seq,
        "time": _stamp(exchange.time),
        "api": api.name if api else None,
        "operation_id": operation.operation_id if operation else None,
        "path_template": operation.template if operation else None,
        "request": {
            "method": exchange.method,
            "path": exchange.path,
            "query": query,
            "line": f"{exchange.method} {exchange.path}{'?' + query if query else ''} HTTP/{exchange.http_version}",
            "headers": _headers(exchange.headers),
            **_text(exchange.body, exchange.body_size),
        },
        "response": {
            "status": exchange.status,
            "headers": _headers(exchange.response_headers),
            **_text(exchange.response_body, exchange.response_size),
        },
        "duration_ms": round((exchange.duration or 0.0) * 1000, 3),
        "applied": list(exchange.applied or ()),
    }


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))?"
)


def _since(value: str | None) -> float | None:
    """An RFC 3339 date-time as seconds (a leap second counts as :59; no offset means UTC)."""
    if value is None:
        return None
    match = _RFC3339.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        fraction = int((match.group(7) or "0")[:6].ljust(6, "0"))
        offset = dt.timedelta(hours=int(match.group(10) or 0), minutes=int(match.group(11) or 0))
        zone = dt.timezone(-offset if match.group(9) == "-" else offset)
        moment = dt.datetime(year, month, day, hour, minute, min(second, 59), fraction, zone)
    except (ValueError, OverflowError):
        raise ApiError("bad_request", f"since: {value!r} is not an RFC 3339 date-time") from None
    return moment.timestamp()


def _matching(rt, api, method, path, operation_id, status, since):
    """Exchanges passing the filters, newest first."""
    after = _since(since)
    for exchange in reversed(rt.journal.entries):
        if after is not None and exchange.time < after:
            continue
        if method is not None and exchange.method != method.upper():
            continue
        if status is not None and exchange.status != status:
            continue
        if path is not None and not fnmatch.fnmatchcase(exchange.path, path):
            continue
        if api is not None or operation_id is not None:
            owner = rt.owner(exchange.path)
            if api is not None and (owner is None or owner.name != api):
                continue
            if operation_id is not None:
                found = rt.steering.operations.find(exchange.method, exchange.path) if owner else None
                if found is None or found.operation_id != operation_id:
                    continue
        yield exchange


async def requests_list(
    api=None, method=None, path=None, operation_id=None, status=None, since=None, limit=100
):
    rt = runtime()
    found = []
    for exchange in _matching(rt, api, method, path, operation_id, status, since):
        if len(found) >= limit:
            break
        found.append(_view(rt, exchange))
    return respond(200, {"requests": found, "capacity": rt.journal.size})


async def requests_count(api=None, method=None, path=None, operation_id=None, status=None, since=None):
    rt = runtime()
    return respond(
        200, {"count": sum(1 for _ in _matching(rt, api, method, path, operation_id, status, since))}
    )


async def requests_clear():
    runtime().journal.clear()
    return respond(204)
