"""A page on another origin cannot reset, re-seed or change Standin's state (issue 18, item 5).

Before: `POST /_standin/reset` needed nothing and answered CORS `*`, so a simple cross-site POST
from any page the developer visited wiped every tenant. Each request below carries the headers a
browser sends for such a page (server/cors.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from server.vendors.resourceguru import API
from tests.live import free_port, serve

H = API.demo["headers"]
EVIL = "http://evil.example"
# What Chromium sends for fetch(url, {method: "POST", mode: "no-cors"}) or a form from another site.
CROSS_SITE = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
ATTEMPTS = [
    ("POST", "/_standin/reset", {**CROSS_SITE, "Content-Type": "text/plain"}, b""),
    ("POST", "/_standin/reset?seed=7", {"Origin": EVIL}, b""),
    ("POST", "/_standin/reset", {"Sec-Fetch-Site": "same-site"}, b""),
    ("POST", "/_standin/reset", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1"),  # old form
    ("POST", "/_standin/reset", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
    ("PUT", "/_standin/state", {**CROSS_SITE, "Content-Type": "application/json"}, b"{}"),
    ("PUT", "/_standin/clock", {"Origin": "null", "Content-Type": "application/json"}, b'{"advance": 9e5}'),
    ("DELETE", "/_standin/rules", {"Origin": EVIL}, b""),
]


@pytest.fixture(scope="module")
def base():
    with serve("--api", "resourceguru", "--rate-limit", "0") as url:
        yield url


def test_requests_with_a_browsers_cross_site_headers_change_nothing(base):
    with httpx.Client(base_url=base, timeout=10) as http:
        survivor = http.post("/v1/example-corp/clients", json={"name": "Survivor"}, headers=H)
        assert survivor.status_code == 201
        clock = http.get("/_standin/clock").json()
        for method, path, headers, body in ATTEMPTS:
            r = http.request(method, path, headers=headers, content=body)
            assert r.status_code in (403, 415), (method, path, headers, r.status_code, r.text)
            assert r.json()["error"]["status"] == r.status_code  # the control API's own error body
            assert "access-control-allow-origin" not in r.headers
        assert http.get(f"/v1/example-corp/clients/{survivor.json()['id']}", headers=H).status_code == 200
        assert http.get("/_standin/health").json()["seed"] == 0
        assert abs(http.get("/_standin/clock").json()["offset_seconds"] - clock["offset_seconds"]) < 60


def test_a_preflight_for_a_control_api_change_is_refused(base):
    asked = {
        "Origin": EVIL,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
    }
    r = httpx.options(f"{base}/_standin/state", headers=asked)
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    # reads stay shareable: a docs page or a dashboard elsewhere may show the journal or health
    read = httpx.options(f"{base}/_standin/health", headers={**asked, "Access-Control-Request-Method": "GET"})
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == "*"
    assert httpx.get(f"{base}/_standin/health", headers={"Origin": EVIL}).headers[
        "access-control-allow-origin"
    ]


def test_the_same_origin_and_tools_without_a_browser_still_reset(base):
    host = base.removeprefix("http://")
    same_origin = {"Origin": base, "Sec-Fetch-Site": "same-origin", "Host": host}
    r = httpx.post(f"{base}/_standin/reset", headers=same_origin)  # the docs page's "Try it out"
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert httpx.post(f"{base}/_standin/reset").status_code == 200  # curl -X POST
    r = httpx.put(f"{base}/_standin/clock", json={"frozen": False})
    assert r.status_code == 200, r.text


def test_an_admin_token_guards_changes_and_disclosing_reads():
    with serve("--api", "resourceguru", "--admin-token", "s3cret") as url, httpx.Client(base_url=url) as http:
        assert http.post("/_standin/reset").status_code == 401
        assert http.post("/_standin/reset", headers={"X-Standin-Admin-Token": "guess"}).status_code == 401
        assert http.get("/_standin/state").status_code == 401
        assert http.get("/_standin/requests").status_code == 401
        assert http.get("/_standin/health").status_code == 200  # health checks and docs stay open
        token = {"X-Standin-Admin-Token": "s3cret"}
        assert http.post("/_standin/reset", headers=token).status_code == 200
        assert http.get("/_standin/state", headers=token).status_code == 200


def test_listening_beyond_loopback_makes_up_a_token_and_prints_it():
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--host", "0.0.0.0", "--port", str(port)]  # noqa: S104
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        token = None
        for line in proc.stdout:
            if "X-Standin-Admin-Token:" in line:
                token = line.rsplit(":", 1)[1].strip()
                break
        assert token and len(token) >= 20
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/_standin/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.post(f"{base}/_standin/reset").status_code == 401
        assert (
            httpx.post(f"{base}/_standin/reset", headers={"X-Standin-Admin-Token": token}).status_code == 200
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
