"""Steering answers for testing a client's error states: `Prefer` on one request, rules that last
(server/rules.py), and `standin serve --latency` on every answer of the vendor APIs.

`Prefer` (RFC 7240, as Prism reads it: `Prefer: code=500, delay=200`):
- `code=NNN` with an error status (400 and up): the vendor's own error body for that status,
  answered without running the handler, so nothing changes. With any other documented status the
  request is handled as usual, a write on a throw-away copy of the store (what the handler would
  answer, with nothing kept; webhooks such a write publishes are still sent). `Preference-Applied`
  says so when the answer has the status asked for.
- `example=NAME`: that named example of the operation's responses (of `code`'s, if given).
- `delay=MS`: the answer is sent no sooner than MS after the request arrived.
A status or example the operation does not document is the vendor's 400, naming what it does.
Unknown preferences are ignored, as RFC 7240 asks. Steered errors are not metered by the rate
limiter (they never reach it); the control API under /_standin is never steered.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import struct
import time

from server import journal
from server.api import ApiError, Kind, Reply, encode_json
from server.journal import EXCHANGE
from server.operations import OperationIndex
from server.rules import Delay, RequestView, Rule
from server.store import Store

PREFER = b"prefer"
KIND_OF = {kind.status: kind for kind in reversed(Kind)}  # the first kind of each status wins


class Steering:
    """Rules, the latency every answer gets, and the operation index they read (built on first use)."""

    def __init__(self, runtime, latency: Delay | None = None) -> None:
        self.runtime = runtime
        self.latency = latency
        self.rules: list[Rule] = []
        self.next_id = 0
        self._operations: OperationIndex | None = None

    @property
    def operations(self) -> OperationIndex:
        if self._operations is None:
            from server.app import load_spec

            rt = self.runtime
            self._operations = OperationIndex({a.name: load_spec(a.name) for a in rt.apis}, rt.prefixes)
        return self._operations

    def add(self, rule: Rule) -> None:
        self.rules = [*self.rules, rule]  # a new list: a request iterating the old one is unaffected

    def remove(self, rule_id: int | None) -> bool:
        kept = [r for r in self.rules if rule_id is not None and r.id != rule_id]
        removed = len(kept) != len(self.rules)
        self.rules = kept
        return removed


def parse_prefer(values: list[bytes]) -> dict[str, str]:
    """`code`, `example` and `delay` from every Prefer header (first of each wins)."""
    found: dict[str, str] = {}
    for value in values:
        for item in value.decode("latin-1").split(","):
            token = item.split(";")[0].strip()
            name, _, arg = token.partition("=")
            name = name.strip().lower()
            if name in ("code", "example", "delay") and name not in found:
                found[name] = arg.strip().strip('"')
    return found


def forced_error(api, operation, status: int, retry_after: int | None, limit: int | None) -> Reply:
    """The vendor's own error answer for a status: its renderer, else the spec's example."""
    error = ApiError(KIND_OF.get(status, "server_error" if status >= 500 else "bad_request"), status=status)
    if status == 429:
        error.headers["Retry-After"] = str(retry_after or (api.rate.window if api.rate else 60))
        if api.rate is not None:
            error.headers["X-RateLimit-Limit"] = str(limit or api.rate.limit)
            error.headers["X-RateLimit-Remaining"] = "0"
    error.operation = operation.operation_id if operation else None
    reply = api.render(error)
    example = _first_example(operation, status) if operation else None
    # A validation failure has no fields to name here: the spec's example of it is the vendor's body.
    if example is not None and (reply.status != status or error.kind == "invalid"):
        reply = Reply(status, example[1], reply.headers, example[0])
    reply.status = status
    return reply


def _first_example(operation, status: int):
    for media, content in (operation.responses.get(str(status), {}).get("content") or {}).items():
        if "example" in content:
            return media, content["example"]
        for example in (content.get("examples") or {}).values():
            if isinstance(example, dict) and "value" in example:
                return media, example["value"]
    return None


async def send_reply(send, reply: Reply, extra: dict | None = None) -> None:
    content_type = reply.content_type
    if isinstance(reply.body, (dict, list)) or (reply.body is not None and "json" in content_type):
        body = reply.body if isinstance(reply.body, bytes) else encode_json(reply.body)
    else:
        body = reply.encode()
    headers = {
        "content-type": content_type,
        "content-length": str(len(body)),
        **reply.headers,
        **(extra or {}),
    }
    raw = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def cut_connection(receive, fault: str) -> bool:
    """Closes the client's connection without an answer: "empty" closes it (curl: Empty reply from
    server), "drop" resets it. Reaches uvicorn's connection through the receive callable; False
    when there is none (an in-process test client)."""
    while hasattr(receive, "__wrapped__"):
        receive = receive.__wrapped__
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    if fault == "drop":
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    cycle.disconnected = True  # uvicorn then sends nothing more for this request
    return True


class SteeringMiddleware:
    """Inside CORS (steered answers carry it), outside the rate limiter and connexion."""

    def __init__(self, app, runtime) -> None:
        self.app, self.runtime, self.steering = app, runtime, runtime.steering

    async def __call__(self, scope, receive, send):
        """Passes a request straight on unless a rule, latency or a Prefer header may steer it:
        with none, two attribute reads and a scan of the header names."""
        if scope["type"] == "http":
            steering = self.steering
            if steering.rules or steering.latency is not None:
                return await self._consider(scope, receive, send)
            for name, _ in scope["headers"]:
                if name == PREFER:
                    return await self._consider(scope, receive, send)
        await self.app(scope, receive, send)

    async def _consider(self, scope, receive, send) -> None:
        api = self.runtime.owner(scope["path"])
        if api is None:  # the control API, or a path no API owns
            return await self.app(scope, receive, send)
        prefer = [value for name, value in scope["headers"] if name == PREFER]
        await self._steer(scope, receive, send, api, parse_prefer(prefer) if prefer else {})

    async def _steer(self, scope, receive, send, api, prefer: dict) -> None:
        arrived = time.perf_counter()
        rt, steering = self.runtime, self.steering
        exchange = scope.get(EXCHANGE)

        def note(what: str) -> None:
            journal.note(exchange, what)

        request = RequestView(scope, api, rt.prefixes[api.name], steering.operations)
        rule, receive = await _first_rule(steering.rules, request, receive)
        delay = 0.0
        if steering.latency is not None:
            delay += steering.latency.seconds()
            note(f"latency {steering.latency.describe()}")
        if rule is not None:
            note(f"rule {rule.id}")
            if rule.delay is not None:
                delay += rule.delay.seconds()
        try:
            plan = _prefer_plan(prefer, request.operation(), api, scope["path"])
        except ApiError as error:
            operation = request.operation()
            error.operation = operation.operation_id if operation else None
            return await send_reply(send, api.render(error))
        if prefer:
            note("prefer " + ", ".join(f"{k}={v}" for k, v in prefer.items()))
        delay += plan.get("delay", 0.0)
        send = _delayed(send, arrived + delay) if delay else send
        if rule is not None and rule.chunks:
            send = _chunked(send, *rule.chunks)
        if rule is not None and rule.fault:
            await asyncio.sleep(max(0.0, arrived + delay - time.perf_counter()))
            if cut_connection(receive, rule.fault):
                return
            raise ConnectionAbortedError(f"rule {rule.id}: {rule.fault}")  # no connection to cut
        applied = {"Preference-Applied": plan["applied"]} if "applied" in plan else None
        if "reply" in plan:
            return await send_reply(send, plan["reply"], applied)
        if rule is not None and rule.status:
            limit = rt.rate_limit or None
            reply = forced_error(api, request.operation(), rule.status, rule.retry_after, limit)
            return await send_reply(send, reply)
        if "run_on_copy" in plan:
            scope["standin"] = throwaway(rt)  # the engine middleware keeps this runtime
        if "expect" in plan:
            send = _apply_if(send, plan["expect"], plan["applied"])
        await self.app(scope, receive, send)


async def _first_rule(rules, request: RequestView, receive):
    """The first active matching rule that takes this request; the body is read (and replayed
    to the app) only if a rule asks about it."""
    body = None
    for rule in rules:
        if not rule.active or not rule.matches(request):
            continue
        if rule.body_contains is not None:
            if body is None:
                body, receive = await _read_body(receive)
            if not rule.body_matches(body):
                continue
        if rule.takes():
            return rule, receive
    return None, receive


async def _read_body(receive):
    messages, more = [], True
    while more:
        message = await receive()
        messages.append(message)
        more = message.get("type") == "http.request" and message.get("more_body", False)
    pending = list(messages)

    async def replay():
        return pending.pop(0) if pending else await receive()

    replay.__wrapped__ = receive
    return b"".join(m.get("body", b"") for m in messages), replay


def _prefer_plan(prefer: dict, operation, api, path: str) -> dict:
    """What a Prefer header asks for, checked against what the operation documents."""
    plan: dict = {}
    if not prefer or operation is None:  # an unknown path or method: connexion's 404 / 405 stands
        return plan
    where = f"{operation.method} {operation.template}"
    if "delay" in prefer:
        if not prefer["delay"].isdigit() or int(prefer["delay"]) > 60_000:
            raise ApiError("bad_request", f"Prefer: delay={prefer['delay']} is not 0-60000 milliseconds")
        plan["delay"] = int(prefer["delay"]) / 1000
    code = None
    if "code" in prefer:
        if not prefer["code"].isdigit() or not operation.documents(int(prefer["code"])):
            documented = ", ".join(operation.statuses)
            raise ApiError(
                "bad_request",
                f"Prefer: code={prefer['code']} is not documented for {where}; documented: {documented}",
            )
        code = int(prefer["code"])
    if "example" in prefer:
        examples = operation.examples(code)
        if prefer["example"] not in examples:
            names = ", ".join(sorted(examples)) or "none"
            raise ApiError(
                "bad_request",
                f"Prefer: example={prefer['example']} is not an example of {where}; examples: {names}",
            )
        status, media, value = examples[prefer["example"]]
        plan["reply"] = Reply(status, value, {}, media)
        plan["applied"] = f"example={prefer['example']}"
    elif code is not None and code >= 400:
        plan["reply"] = forced_error(api, operation, code, None, None)
        plan["applied"] = f"code={code}"
    elif code is not None:
        plan["expect"], plan["applied"] = code, f"code={code}"
        if not operation.cacheable:
            plan["run_on_copy"] = True
    return plan


def throwaway(runtime):
    """The runtime with a copy of its stores: a steered write runs on them and is forgotten."""
    copied = copy.copy(runtime)
    copied.stores = {}
    for name, store in runtime.stores.items():
        copied.stores[name] = Store(name)
        copied.stores[name].restore(store.snapshot())
    return copied


def _delayed(send, until: float):
    async def send_later(message):
        if message["type"] == "http.response.start":
            wait = until - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
        await send(message)

    return send_later


def _chunked(send, pieces: int, interval: float):
    async def send_slowly(message):
        if message["type"] != "http.response.body" or message.get("more_body"):
            return await send(message)
        body = message.get("body", b"")
        size = max(1, -(-len(body) // pieces))
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for i, part in enumerate(parts):
            if i:
                await asyncio.sleep(interval)
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})

    return send_slowly


def _apply_if(send, status: int, applied: str):
    """Adds Preference-Applied when the handler answered the status that was asked for."""

    async def send_marked(message):
        if message["type"] == "http.response.start" and message["status"] == status:
            message = {
                **message,
                "headers": [*message.get("headers", ()), (b"preference-applied", applied.encode())],
            }
        await send(message)

    return send_marked
