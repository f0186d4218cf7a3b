"""The control plane's state, clock and docs: `/_standin/state`, `--state FILE`, `/_standin/clock`,
`/_standin/docs`, `GET /`; in-process, and over HTTP against a separately started `standin serve`."""

from __future__ import annotations

import json
import pickle
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from server import persistence
from server.clock import Clock
from server.limits import RateLimiter

ROOT = Path(__file__).resolve().parent.parent
PRODUCTIVE = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
IBUILDAPP = {"Authorization": "Bearer standin-ibuildapp-demo-token"}
RG_GRANT = {
    "grant_type": "password",
    "username": "user@example.com",
    "password": "secret",
    "client_id": "the_client_id",
    "client_secret": "the_client_secret",
}
TOKEN_URL = "/resourceguru/oauth/token"
RG_CLIENTS = "/resourceguru/v1/example-corp/clients"
DAY = 86400


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _store_contents(app):
    """A deep copy of every API's tables and counters, comparable with ==."""
    stores = app.runtime.stores
    return {name: pickle.loads(pickle.dumps(store.contents())) for name, store in stores.items()}


def assert_round_trips(client, app) -> None:
    """Exported and loaded back, the store is exactly what it was: records, int ids, id order, counters."""
    before = _store_contents(app)
    document = client.get("/_standin/state").json()
    client.post(
        RG_CLIENTS,
        json={"name": "Made after the export"},
        headers=bearer("1.standin-resourceguru-demo-token"),
    )
    assert _store_contents(app) != before
    assert client.put("/_standin/state", json=document).status_code == 200
    after = _store_contents(app)
    assert after == before
    assert [list(t) for api in after.values() for tenant in api[0].values() for t in tenant.values()] == [
        list(t) for api in before.values() for tenant in api[0].values() for t in tenant.values()
    ]


def assert_refused(client, app, document, problem: str) -> None:
    """A bad document is answered 400 naming the problem, and changes nothing."""
    before = _store_contents(app)
    r = client.put("/_standin/state", json=document)
    assert r.status_code == 400, r.text
    assert problem in r.json()["error"]["detail"], r.text
    assert _store_contents(app) == before


def _bad_documents(good: dict):
    def changed(change):
        document = json.loads(json.dumps(good))
        change(document)
        return document

    widgets = lambda d: d["tenants"]["productive"]["1308"]["widgets"]  # noqa: E731
    yield changed(lambda d: widgets(d)[2].pop("width")), "tenants.productive.1308.widgets[2]: lacks width"
    yield (
        changed(lambda d: widgets(d)[2].update(width="wide")),
        "tenants.productive.1308.widgets[2].width: a string",
    )
    yield changed(lambda d: widgets(d)[3].update(id=widgets(d)[2]["id"])), "appears twice"
    yield changed(lambda d: widgets(d)[0].update(id=10**6)), "above the table's counter"
    yield (
        changed(lambda d: d["tenants"]["productive"]["1308"].update(widgets={"1": {}})),
        "tenants/productive/1308/widgets: {'1': {}} is not of type 'array'",
    )
    yield changed(lambda d: d.update(apis=["nope"])), "'nope' is not mounted"
    yield changed(lambda d: d.update(format="other/1")), "format"
    yield changed(lambda d: d["ids"]["productive"].update(widgets=-1)), "ids"
    yield changed(lambda d: d["ids"].pop("productive")), "ids: must be an object with one entry per API"


def test_state_round_trips_exactly_and_a_bad_document_changes_nothing(client, app):
    assert_round_trips(client, app)
    good = client.get("/_standin/state").json()
    for document, problem in _bad_documents(good):
        assert_refused(client, app, document, problem)
    one = client.get("/_standin/state?api=productive").json()
    assert set(one["tenants"]["productive"]) == {"1308", "1309", "_auth"} and one["apis"] == ["productive"]
    assert client.get("/_standin/state?api=nope").status_code == 404
    widgets = one["tenants"]["productive"]["1308"]
    widgets["widgets"] = widgets["widgets"][:1]
    client.post(RG_CLIENTS, json={"name": "Stays"}, headers=bearer("1.standin-resourceguru-demo-token"))
    assert client.put("/_standin/state", json=one).status_code == 200  # replaces productive's state only
    assert len(client.get("/productive/api/v2/widgets", headers=PRODUCTIVE).json()["data"]) == 1
    rg = client.get(RG_CLIENTS, headers=bearer("1.standin-resourceguru-demo-token")).json()
    assert "Stays" in [c["name"] for c in rg]


def test_the_state_checks_fail_on_broken_variants(client, app, monkeypatch):
    """Each check above catches the fault it is written for."""
    with monkeypatch.context() as broken:  # ids kept as the strings JSON made of them
        broken.setattr(persistence, "_rows", lambda where, rows, shape, last: {str(r["id"]): r for r in rows})
        with pytest.raises(AssertionError):
            assert_round_trips(client, app)
    app.runtime.reset()
    good = client.get("/_standin/state").json()
    document, problem = next(_bad_documents(good))
    with monkeypatch.context() as broken:  # fields not checked: the record is taken half-made
        broken.setattr(persistence, "_check_shape", lambda at, record, shape: None)
        with pytest.raises(AssertionError):
            assert_refused(client, app, document, problem)


def test_reset_can_keep_the_sessions_obtained_by_logging_in(client, app):
    login = {"email": "test@test.com", "password": "12345678"}
    session = bearer(client.post("/ibuildapp/api/demo/login", json=login).json()["token"])
    token = bearer(client.post(TOKEN_URL, json=RG_GRANT).json()["access_token"])
    user = "/ibuildapp/api/demo/user"
    assert client.post("/_standin/reset?keep_sessions=true").status_code == 200
    assert client.post(user, json={"user_id": 1}, headers=session).status_code == 200
    assert client.get(RG_CLIENTS, headers=token).status_code == 200
    again = bearer(client.post("/ibuildapp/api/demo/login", json=login).json()["token"])
    assert again != session  # a token kept is never issued again
    assert client.post("/_standin/reset").status_code == 200
    assert client.post(user, json={"user_id": 1}, headers=session).status_code == 401
    assert client.get(RG_CLIENTS, headers=token).status_code == 401


# -- the clock ------------------------------------------------------------------------------------
def test_advancing_eight_days_expires_a_resource_guru_token_and_its_refresh_still_works(client):
    grant = client.post(TOKEN_URL, json=RG_GRANT).json()
    assert client.get(RG_CLIENTS, headers=bearer(grant["access_token"])).status_code == 200
    assert client.put("/_standin/clock", json={"advance": 6 * DAY}).status_code == 200
    assert client.get(RG_CLIENTS, headers=bearer(grant["access_token"])).status_code == 200
    assert client.put("/_standin/clock", json={"advance": 2 * DAY}).status_code == 200
    assert client.get(RG_CLIENTS, headers=bearer(grant["access_token"])).status_code == 401
    refresh = {k: RG_GRANT[k] for k in ("client_id", "client_secret")}
    r = client.post(
        TOKEN_URL, json={**refresh, "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    )
    assert r.status_code == 200, r.text
    assert client.get(RG_CLIENTS, headers=bearer(r.json()["access_token"])).status_code == 200


def test_a_running_timer_and_created_stamps_follow_the_clock_and_reset_restores_it(client, app):
    assert client.put("/_standin/clock", json={"now": "2030-06-01T08:00:00Z", "frozen": True}).json() == {
        "now": "2030-06-01T08:00:00.000Z",
        "frozen": True,
        "offset_seconds": pytest.approx(app.runtime.clock.time() - time.time(), abs=5),
    }
    assert (
        client.post("/ibuildapp/api/demo/ts/start", json={"task_id": 1}, headers=IBUILDAPP).status_code == 200
    )
    entries = app.runtime.stores["ibuildapp"].table("ibuildapp:demo", "time_entries")
    entry = list(entries.values())[-1]  # the newest

    def duration():
        r = client.post("/ibuildapp/api/demo/ts/get", json={"time_entry_id": entry["id"]}, headers=IBUILDAPP)
        return r.json()["data"]["time_entry"]["duration"]

    assert entry["start_time"] == 1906531200 and duration() == 0
    client.put("/_standin/clock", json={"advance": 3600})
    assert duration() == 3600
    made = client.post(
        RG_CLIENTS, json={"name": "Stamped"}, headers=bearer("1.standin-resourceguru-demo-token")
    )
    assert made.json()["created_at"].startswith("2030-06-01T09:00:00")
    assert client.post("/_standin/reset").status_code == 200
    now = client.get("/_standin/clock").json()
    assert now["frozen"] is False and abs(now["offset_seconds"]) < 5


def test_bad_clock_changes_are_refused_and_change_nothing(client):
    before = client.get("/_standin/clock").json()
    for change in (
        {"now": "soon"},
        {"advance": "1h"},
        {},
        {"now": "9999-12-31T23:59:59Z", "advance": 60},
        {"x": 1},
    ):
        r = client.put("/_standin/clock", json=change)
        assert r.status_code == 400, (change, r.text)
    after = client.get("/_standin/clock").json()
    assert after["frozen"] == before["frozen"] and abs(after["offset_seconds"]) < 5


def test_rate_limit_windows_follow_the_clock():
    clock = Clock()
    clock.freeze(True)
    limiter = RateLimiter(clock.time)
    assert [limiter.hit(("a", "k"), 2, 60).exhausted for _ in range(3)] == [False, False, True]
    clock.advance(59)
    assert limiter.hit(("a", "k"), 2, 60).exhausted
    clock.advance(1)
    assert not limiter.hit(("a", "k"), 2, 60).exhausted
    clock.advance(-3600)  # set back: a new window, not a budget locked for an hour
    assert limiter.hit(("a", "k"), 2, 60).retry_after <= 60


# -- docs and the index --------------------------------------------------------------------------
def test_docs_pages_and_the_served_spec_point_at_this_standin(client):
    listing = client.get("/_standin/docs")
    assert listing.status_code == 200 and 'href="/_standin/docs/productive"' in listing.text
    page = client.get("/_standin/docs/productive").text
    assert '"authToken": "standin-productive-demo-token"' in page and '"organizationId": "1308"' in page
    assert "/_standin/docs/assets/swagger-ui-bundle.js" in page and "https://" not in page
    assert client.get("/_standin/docs/nope").status_code == 404
    asset = client.get("/_standin/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("application/javascript")
    assert client.get("/_standin/docs/assets/index.j2").status_code == 404
    spec = client.get("/_standin/specs/resourceguru").text
    assert "servers:\n  - url: /resourceguru\n" in spec and "tokenUrl: /resourceguru/oauth/token" in spec
    assert "api.resourceguruapp.com/oauth" not in spec
    index = client.get("/").json()
    assert index["docs"] == "/_standin/docs" and index["apis"] == "/_standin/apis"
    assert "/_standin/docs/ibuildapp" in client.get("/", headers={"Accept": "text/html"}).text


# -- over HTTP: a separately started `standin serve` ----------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def standin(*args: str):
    """`standin serve` in a subprocess on a free port; yields (base URL, process)."""
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/_standin/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_state_file_survives_a_sigterm_restart_and_a_corrupt_file_is_refused(tmp_path):
    path = tmp_path / "state.json"
    with standin("--state", str(path)) as (base, process):
        session = httpx.post(
            f"{base}/ibuildapp/api/demo/login", json={"email": "test@test.com", "password": "12345678"}
        )
        session = bearer(session.json()["token"])
        grant = httpx.post(f"{base}{TOKEN_URL}", json=RG_GRANT).json()
        rg = bearer(grant["access_token"])
        made = httpx.post(f"{base}{RG_CLIENTS}", json={"name": "Kept across restarts"}, headers=rg).json()
        comment = {"task_id": 1, "content": "kept too"}
        assert (
            httpx.post(
                f"{base}/ibuildapp/api/demo/task/add_comment", json=comment, headers=session
            ).status_code
            == 200
        )
        deadline = time.monotonic() + 10  # saved within seconds of the writes, before any shutdown
        while b"kept too" not in (path.read_bytes() if path.exists() else b""):  # the last write
            assert time.monotonic() < deadline, "not saved within 10 s of a write"
            time.sleep(0.2)
        saved = json.loads(path.read_bytes())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    after_exit = json.loads(path.read_bytes())
    assert after_exit["tenants"] == saved["tenants"]
    with standin("--state", str(path)) as (base, _):
        assert (
            httpx.get(f"{base}{RG_CLIENTS}/{made['id']}", headers=rg).json()["name"] == "Kept across restarts"
        )
        comments = httpx.post(
            f"{base}/ibuildapp/api/demo/task/comments", json={"task_id": 1}, headers=session
        )
        assert comments.status_code == 200 and "kept too" in comments.text
        assert httpx.get(f"{base}/_standin/state").json()["tenants"] == saved["tenants"]
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # truncated: refused at start, exit 2, never overwritten
    command = [sys.executable, "-m", "server", "serve", "--port", str(free_port()), "--state", str(path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and f"{path}: not a whole JSON document" in run.stderr, run.stderr
    assert path.read_bytes() == good[: len(good) // 2]


def test_a_state_file_that_does_not_check_out_loads_nothing(tmp_path, app):
    path = tmp_path / "state.json"
    before = _store_contents(app)
    document = orjson.loads(persistence.export(app.runtime))
    document["tenants"]["productive"]["1308"]["widgets"][0]["width"] = "wide"
    path.write_bytes(orjson.dumps(document))
    with pytest.raises(persistence.StateError, match="widgets.0..width: a string"):
        persistence.StateFile(app.runtime, path).load()
    assert _store_contents(app) == before
