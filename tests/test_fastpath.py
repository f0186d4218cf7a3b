"""The fast paths answer byte for byte what stock connexion, Starlette and uvicorn answer.

Two apps in one process: one built with every fast path (server/fastpath.py), one as
`STANDIN_FASTPATH=0` builds it (connexion's own router, request objects, validators, operations).
The fast paths are process-wide swaps, so each request is sent to the fast app with them
installed, then to the stock app with them undone, and the two answers must be identical: status,
every header (in order) and the body. The corpus: every documented exchange, every example of
every spec operation, and a seeded schemathesis sample (positive and negative) of every API,
replayed in the same order on both apps, both seeded alike, both clocks frozen at one instant.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import time
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.examples import get_strategies_from_examples
from starlette.datastructures import Headers

from contract_tests.auth import credentials
from server import dispatch, errors, fastpath
from server.api import SPECS
from server.app import API_NAMES, create_app, load_api
from tests.seeds import exchanges

FROZEN_AT = 1_780_000_000.0  # both apps answer at this instant
EXAMPLES_PER_MODE = 2  # generated requests per operation and mode (generating is most of the time)

# Where stock connexion is wrong and Standin deliberately answers otherwise, by corpus label
# prefix, with the reason. (None so far: every fast path answers as stock does.)
DELIBERATE: dict[str, str] = {}


@dataclass(frozen=True)
class Sent:
    """One request exactly as both apps receive it."""

    label: str
    method: str
    url: str  # path and query string, the API's prefix included
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _sent(label: str, request: httpx.Request) -> Sent:
    return Sent(
        label, request.method, request.url.raw_path.decode(), tuple(request.headers.items()), request.content
    )


_BUILDER = httpx.Client(base_url="http://testserver")


def _schema(name: str):
    with open(SPECS / f"{name}.yaml", encoding="utf-8") as f:
        return schemathesis.openapi.from_dict(yaml.safe_load(f))


def _demo(name: str) -> tuple[dict, dict]:
    """The demo credentials (headers) and the pinned tenant (path parameters)."""
    return credentials(name, "", load_api(name).demo)


def _from_case(label: str, case, prefix: str, headers: dict) -> Sent | None:
    try:
        kwargs = case.as_transport_kwargs(base_url=f"http://testserver{prefix}", headers=headers)
        kwargs.pop("timeout", None)
        kwargs.pop("allow_redirects", None)
        if "json" in kwargs:
            kwargs["content"] = json.dumps(kwargs.pop("json")).encode()
        if isinstance(kwargs.get("data"), (str, bytes)):
            kwargs["content"] = kwargs.pop("data")
        return _sent(label, _BUILDER.build_request(**kwargs))
    except Exception:  # a generated value no HTTP request can carry: not part of the corpus
        return None


def _draw(strategy, count: int) -> list:
    drawn: list = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(case):
        drawn.append(case)

    collect()
    return drawn


def spec_corpus(name: str) -> list[Sent]:
    """Every operation's examples, then EXAMPLES_PER_MODE generated requests per mode."""
    headers, pinned = _demo(name)
    out: list[Sent] = []
    for result in _schema(name).get_all_operations():
        op = result.ok()
        label = f"{name} {op.method.upper()} {op.path}"
        for strategy in get_strategies_from_examples(op):
            out += [_from_case(f"{label} example", c, f"/{name}", headers) for c in _draw(strategy, 1)]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=pinned)
            out += [
                _from_case(f"{label} {mode.value}", c, f"/{name}", headers)
                for c in _draw(strategy, EXAMPLES_PER_MODE)
            ]
    return [s for s in out if s is not None]


SEEDS = {  # the documentation each API is built from (tests/data)
    "productive": ("000_9bcbfb234c7390af.txt", "002_96a0c1c7389aaa85.txt"),
    "ibuildapp": ("001_def7881bc1b63970.txt",),
    "resourceguru": ("003_04944ccd4c44e164.txt",),
}


def documented_corpus(name: str) -> list[Sent]:
    """The exchanges the vendor documentation shows, with the demo credentials and tenant; any
    other id in a path template is 1 (a seeded record)."""
    headers, pinned = _demo(name)
    out = []
    for seed in SEEDS.get(name, ()):
        for ex in exchanges(seed):
            path = re.sub(r"\{(\w+)\}", lambda m: str(pinned.get(m.group(1), 1)), ex.path)
            content = b"" if ex.body is None else json.dumps(ex.body).encode()
            sent_headers = {**ex.headers, **headers}
            if content and not any(k.lower() == "content-type" for k in sent_headers):
                sent_headers["Content-Type"] = "application/json"
            request = _BUILDER.build_request(
                ex.method, f"/{name}{path}", headers=sent_headers, content=content
            )
            out.append(_sent(f"{name} documented {seed}:{ex.line}", request))
    return out


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[Sent]]:
    return {name: documented_corpus(name) + spec_corpus(name) for name in API_NAMES}


class Tokens:
    """`secrets`' token functions, deterministic: both apps mint the same tokens for a request."""

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def seed(self, n: int) -> None:
        self.rng.seed(n)

    def token_bytes(self, nbytes: int | None = None) -> bytes:
        return self.rng.randbytes(nbytes or 32)

    def token_hex(self, nbytes: int | None = None) -> str:
        return self.token_bytes(nbytes).hex()

    def token_urlsafe(self, nbytes: int | None = None) -> str:
        return base64.urlsafe_b64encode(self.token_bytes(nbytes)).rstrip(b"=").decode()


class Pair:
    """The fast app and the stock app, each behind an open test client, answering at one instant
    with the same tokens."""

    def __init__(self) -> None:
        self.tokens = Tokens()
        self.apps = {True: create_app(rate_limit=0, fast=True), False: create_app(rate_limit=0, fast=False)}
        self.clients = {fast: app.test_client() for fast, app in self.apps.items()}
        for client in self.clients.values():
            client.__enter__()
        fastpath.install(True)

    def reset(self) -> None:
        for app in self.apps.values():
            app.runtime.reset()
            clock = getattr(app.runtime, "clock", None)
            if clock is not None:
                clock.set(FROZEN_AT)
                clock.freeze(True)
            app.runtime.started = FROZEN_AT

    def answer(self, fast: bool, sent: Sent, n: int) -> tuple:
        self.tokens.seed(n)
        fastpath.install(fast)
        try:
            r = self.clients[fast].request(
                sent.method, sent.url, headers=list(sent.headers), content=sent.body
            )
        finally:
            fastpath.install(True)
        headers = [(k, v) for k, v in r.headers.raw if k.lower() != b"date"]
        return r.status_code, headers, r.content

    def close(self) -> None:
        for client in self.clients.values():
            client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def pair():
    with pytest.MonkeyPatch.context() as mp:
        p = Pair()
        for name in ("token_bytes", "token_hex", "token_urlsafe"):
            mp.setattr(secrets, name, getattr(p.tokens, name))
        mp.setattr(time, "time", lambda: FROZEN_AT)  # what does not read the engine's clock
        yield p
        p.close()


def _first_difference(fast: tuple, stock: tuple) -> str:
    if fast[:2] != stock[:2]:
        return f"  fast:  {fast[:2]} {fast[2][:200]!r}\n  stock: {stock[:2]} {stock[2][:200]!r}"
    at = next(i for i, (a, b) in enumerate(zip(fast[2] + b"\0", stock[2] + b"\1")) if a != b)
    return f"  body from byte {at}:\n  fast:  {fast[2][at - 40 : at + 80]!r}\n  stock: {stock[2][at - 40 : at + 80]!r}"


def differences(pair: Pair, requests: list[Sent], limit: int = 8) -> list[str]:
    pair.reset()
    found = []
    for n, sent in enumerate(requests):
        if any(sent.label.startswith(prefix) for prefix in DELIBERATE):
            continue
        fast, stock = pair.answer(True, sent, n), pair.answer(False, sent, n)
        if fast != stock:
            found.append(f"{sent.label}: {sent.method} {sent.url}\n{_first_difference(fast, stock)}")
            if len(found) >= limit:
                break
    return found


@pytest.mark.parametrize("name", API_NAMES)
def test_fast_paths_answer_as_stock_connexion(pair, corpus, name):
    requests = corpus[name]
    assert len(requests) >= 20 * EXAMPLES_PER_MODE, "the sample is too small to prove anything"
    found = differences(pair, requests)
    assert not found, "\n".join(found)


def test_control_api_answers_as_stock_connexion(pair):
    requests = [
        _sent("admin", _BUILDER.build_request(m, u))
        for m, u in [
            ("GET", "/_standin/health"),
            ("GET", "/_standin/apis"),
            ("GET", "/_standin/specs/productive"),
            ("GET", "/_standin/specs/nope"),
            ("POST", "/_standin/reset?seed=x"),
            ("DELETE", "/_standin/health"),
            ("GET", "/nowhere"),
        ]
    ]
    assert not differences(pair, requests)


@pytest.mark.parametrize(
    "broken",
    ["quick pass lets everything through", "direct request object loses the headers"],
)
def test_a_wrong_fast_path_is_caught(pair, corpus, monkeypatch, broken):
    """The differential test can fail: each fast path flipped to a wrong behaviour is caught."""
    if broken == "quick pass lets everything through":
        monkeypatch.setattr(errors.FastParamValidator, "_schema_check", lambda self, *a: [])
        monkeypatch.setattr(errors.FastBodyValidator, "_validate", lambda self, body: body)
    else:
        monkeypatch.setattr(dispatch.DirectRequest, "headers", property(lambda self: Headers()))
    assert differences(pair, corpus["productive"], limit=1)


def test_install_verifies_versions_and_can_be_undone(monkeypatch):
    import connexion.middleware.routing

    fastpath.install(False)
    try:
        assert connexion.middleware.routing.Router is not dispatch.IndexedRouter
    finally:
        fastpath.install(True)
    assert connexion.middleware.routing.Router is dispatch.IndexedRouter
    monkeypatch.setattr(fastpath, "version", lambda name: "0.0.1")
    fastpath.check_versions.cache_clear()
    try:
        with pytest.raises(fastpath.UntestedVersion, match="STANDIN_FASTPATH=0"):
            fastpath.install(True)
        assert fastpath.install(False) is fastpath.STOCK  # the stock mode runs whatever is installed
    finally:
        monkeypatch.undo()
        fastpath.check_versions.cache_clear()
        fastpath.install(True)
