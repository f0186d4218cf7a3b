"""The request journal: the last N exchanges with the vendor APIs, for CI to check what a client sent.

A ring (`collections.deque(maxlen=N)`), so memory does not grow with traffic; bodies are kept up
to `BODY_CAP` bytes each, by reference to the bytes the server already holds (no copies unless a
body is cut). Credentials in headers are masked as they are stored. The control API under
/_standin is not journaled: reading the journal does not change it. What an exchange matched
(API, operation) is worked out when the journal is read, so recording costs one small list.
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


_MASKS: dict[bytes, bytes] = {}  # a client sends the same credential again and again


def _masked_value(value: bytes) -> bytes:
    masked = _MASKS.get(value)
    if masked is None:
        if len(_MASKS) >= 1024:
            _MASKS.clear()
        masked = _MASKS[value] = mask(value)
    return masked


def stored_headers(headers: list) -> dict | list:
    """The request's headers as the journal keeps them, credentials masked: a dict (built in C,
    the cheap case), or the list with its repeated names when a name comes twice."""
    kept = dict(headers)
    if len(kept) == len(headers):
        for name in kept.keys() & SECRET_HEADERS:
            kept[name] = _masked_value(kept[name])
        return kept
    return [(k, _masked_value(v)) if k in SECRET_HEADERS else (k, v) for k, v in headers]


# An exchange is a list written in place as the answer goes out: a list literal costs about a
# tenth of an object with as many attributes, and this runs on every request (callgrind: the
# journal's share of a request halved).
(SEQ, TIME, STARTED, METHOD, PATH, QUERY, VERSION, HEADERS, BODY, BODY_SIZE, STATUS, RESPONSE_HEADERS,
 RESPONSE_BODY, RESPONSE_SIZE, DURATION, APPLIED) = range(16)  # fmt: skip


def note(exchange: list | None, what: str) -> None:
    """What steering did to an exchange (a rule, a preference, latency); None: not journaled."""
    if exchange is not None:
        if exchange[APPLIED] is None:
            exchange[APPLIED] = []
        exchange[APPLIED].append(what)


BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def _read_ahead(exchange: list, receive):
    """Reads the whole request body into the exchange and returns a receive that replays it."""
    messages, more = [], True
    while more:
        message = await receive()
        messages.append(message)
        more = message["type"] == "http.request" and message.get("more_body", False)
        data = message.get("body")
        if data:
            exchange[BODY], exchange[BODY_SIZE] = _keep(exchange[BODY], exchange[BODY_SIZE], data)
    messages.reverse()

    async def replay():
        return messages.pop() if messages else await receive()

    replay.__wrapped__ = receive  # steering's faults reach the server's connection through it
    return replay


def _keep(chunks: tuple, size: int, data: bytes) -> tuple[tuple, int]:
    """A body chunk kept (a reference, or a cut copy past the cap); the chunks and the new size."""
    if size < BODY_CAP:
        chunks = (*chunks, data if size + len(data) <= BODY_CAP else data[: BODY_CAP - size])
    return chunks, size + len(data)


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.size = max(0, size)
        self.entries: deque[list] = deque(maxlen=self.size or 1)
        self.seq = 0

    def clear(self) -> None:
        self.entries.clear()


class JournalMiddleware:
    """Outermost of Standin's layers, so it records what the client sent and got (CORS included)."""

    def __init__(self, app, runtime) -> None:
        self.app, self.journal = app, runtime.journal

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        journal = self.journal
        if (
            scope["type"] != "http"
            or not journal.size
            or (path[:9] == ADMIN and (len(path) == 9 or path[9] == "/"))
        ):
            return await self.app(scope, receive, send)
        journal.seq += 1
        exchange = scope[EXCHANGE] = [
            journal.seq,
            _now(),
            _perf(),
            scope["method"],
            path,
            scope["query_string"],
            scope.get("http_version", "1.1"),
            stored_headers(scope["headers"]),
            (),  # request body chunks, by reference (see _keep)
            0,
            None,  # status
            (),  # response headers
            (),
            0,
            None,  # duration
            None,  # applied
        ]
        journal.entries.append(exchange)
        if scope["method"] in BODY_METHODS:  # read now: a request refused early never reads it
            receive = await _read_ahead(exchange, receive)

        def send_logged(message):
            """A plain function returning the server's awaitable: no coroutine of its own per message."""
            if message["type"] == "http.response.start":
                exchange[STATUS] = message["status"]
                exchange[RESPONSE_HEADERS] = message.get("headers", ())
            else:
                data = message.get("body")
                if data:
                    exchange[RESPONSE_BODY], exchange[RESPONSE_SIZE] = _keep(
                        exchange[RESPONSE_BODY], exchange[RESPONSE_SIZE], data
                    )
                if not message.get("more_body"):
                    exchange[DURATION] = _perf() - exchange[STARTED]
            return send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if exchange[DURATION] is None:  # no complete answer: a dropped connection, an error
                exchange[DURATION] = _perf() - exchange[STARTED]


_now, _perf = time.time, time.perf_counter


# -- reading it: the control API ---------------------------------------------------------------


def _text(chunks: tuple, size: int) -> dict:
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
    for name, value in raw.items() if isinstance(raw, dict) else raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _stamp(seconds: float) -> str:
    return (
        dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _view(rt, exchange: list) -> dict:
    method, path = exchange[METHOD], exchange[PATH]
    api = rt.owner(path)
    operation = rt.steering.operations.find(method, path) if api else None
    query = exchange[QUERY].decode("latin-1")
    return {
        "id": exchange[SEQ],
        "time": _stamp(exchange[TIME]),
        "api": api.name if api else None,
        "operation_id": operation.operation_id if operation else None,
        "path_template": operation.template if operation else None,
        "request": {
            "method": method,
            "path": path,
            "query": query,
            "line": f"{method} {path}{'?' + query if query else ''} HTTP/{exchange[VERSION]}",
            "headers": _headers(exchange[HEADERS]),
            **_text(exchange[BODY], exchange[BODY_SIZE]),
        },
        "response": {
            "status": exchange[STATUS],
            "headers": _headers(exchange[RESPONSE_HEADERS]),
            **_text(exchange[RESPONSE_BODY], exchange[RESPONSE_SIZE]),
        },
        "duration_ms": round((exchange[DURATION] or 0.0) * 1000, 3),
        "applied": list(exchange[APPLIED] or ()),
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
        if after is not None and exchange[TIME] < after:
            continue
        if method is not None and exchange[METHOD] != method.upper():
            continue
        if status is not None and exchange[STATUS] != status:
            continue
        if path is not None and not fnmatch.fnmatchcase(exchange[PATH], path):
            continue
        if api is not None or operation_id is not None:
            owner = rt.owner(exchange[PATH])
            if api is not None and (owner is None or owner.name != api):
                continue
            if operation_id is not None:
                found = rt.steering.operations.find(exchange[METHOD], exchange[PATH]) if owner else None
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
