"""uvicorn's HTTP protocol with Standin's bounds, and (a fast path) each response in one write.

Bounds, in both modes (`GuardedHttpToolsProtocol`): a request must arrive whole within
REQUEST_TIMEOUT seconds of its first byte (or of the connection, for one that sends nothing),
else the connection is closed: a client that stops mid-request holds nothing and, mid-body, gets
nothing done (server.errors.whole_body). A request head (request line and headers) is limited to
MAX_HEAD bytes, and a head too large or unparsable is answered in the owning vendor's error
format (uvicorn answered plain text, and took headers of any size). Idle keep-alive connections
close after uvicorn's keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import os
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.api import ApiError

REQUEST_TIMEOUT = float(os.environ.get("STANDIN_REQUEST_TIMEOUT", "30"))  # seconds
MAX_HEAD = 65536  # bytes of request line and headers, as llhttp allows a request line


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (`uvicorn.run(http=...)`) with the bounds above."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._head, self._head_bytes, self._first, self._refused = True, 0, b"", False
        self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._deadline is None:
            self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)
        if self._head:
            self._first = self._first or data[:2048]
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head and self._head_bytes > MAX_HEAD and not (self._refused or self.transport.is_closing()):
            self._refuse(431, "The request line and headers are too large")

    def on_headers_complete(self) -> None:
        self._head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head, self._head_bytes, self._first = True, 0, b""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # an unfinished request: the app sees a disconnect

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, in the vendor's format."""
        if self._head_bytes > MAX_HEAD:
            self._refuse(431, "The request line and headers are too large")
        else:
            self._refuse(400, "The request is not valid HTTP")

    def _refuse(self, status: int, detail: str) -> None:
        runtime = self._runtime()
        url = self.url or (self._first.split(b" ", 2)[1:2] or [b"/"])[0]
        path = url.split(b"?", 1)[0].decode("latin-1")
        if runtime is None:
            return super().send_400_response(detail)
        reply = runtime.render_error("", path, ApiError("bad_http", detail, status=status))  # no method
        body = reply.encode()
        headers = {**reply.headers, "content-type": reply.content_type, "content-length": len(body)}
        head = f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "connection: close\r\n\r\n"
        self.transport.write(head.encode("latin-1") + body)
        self._linger()

    def _linger(self) -> None:
        """Close after the answer without resetting the connection: a client still sending (a
        200 KB header) would otherwise get a reset instead of the answer. What it sends until
        then is ignored; the connection closes within a second."""
        self._refused = True
        flush = getattr(self.transport, "flush", None)
        if flush is not None:
            flush()  # the coalescing transport holds writes until the loop's next step
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(1.0, self.transport.close)
        else:
            self.transport.close()

    def _runtime(self):
        """The Standin Runtime of the app served (under uvicorn's wrapping middleware)."""
        app = self.app
        for _ in range(8):
            if app is None or hasattr(app, "runtime"):
                break
            app = getattr(app, "app", None)
        return getattr(app, "runtime", None)


class _CoalescingTransport:
    """Holds writes until the response is complete (or the event loop's next step) and sends them
    as one: uvicorn writes a response's head and body separately, and on a TCP_NODELAY socket that
    was two send calls and two segments per response."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop, self._pending = transport, loop, []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)  # a streamed or interrupted response still goes out
        self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():  # a lost connection drops what it held
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(GuardedHttpToolsProtocol):
    """uvicorn's httptools protocol (`uvicorn.run(http=...)`) whose transport sends each response
    in one write: one send call and one TCP segment per response instead of two."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(_CoalescingTransport(transport, self.loop))

    def on_response_complete(self) -> None:
        self.transport.flush()
        super().on_response_complete()
