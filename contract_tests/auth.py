"""Credentials for a contract run: Standin's demo values in-process; against a deployment, the
environment, with the vendor's own auth flow when given a login instead of a token.

Each API yields (headers, path parameters): Resource Guru's paths need the account slug and
iBuildApp's the app code, so schemathesis must not invent them.
"""

from __future__ import annotations

import os

import httpx


class AuthError(Exception):
    """The vendor refused the login, or the environment lacks what the API needs."""


def _need(env: dict, *names: str) -> list[str]:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise AuthError(f"set {', '.join(missing)}")
    return [env[n] for n in names]


def productive(base: str, env: dict) -> tuple[dict, dict]:
    token, organization = _need(env, "PRODUCTIVE_TOKEN", "PRODUCTIVE_ORGANIZATION_ID")
    return {"X-Auth-Token": token, "X-Organization-Id": organization}, {}


def ibuildapp(base: str, env: dict) -> tuple[dict, dict]:
    (app_code,) = _need(env, "IBUILDAPP_APP_CODE")
    token = env.get("IBUILDAPP_TOKEN")
    if not token:
        email, password = _need(env, "IBUILDAPP_EMAIL", "IBUILDAPP_PASSWORD")
        r = httpx.post(
            f"{base}/api/{app_code}/login", json={"email": email, "password": password}, timeout=30
        )
        token = r.json().get("token") if r.status_code == 200 else None
        if not token:
            raise AuthError(f"iBuildApp login refused: {r.status_code} {r.text[:200]}")
    return {"Authorization": f"Bearer {token}"}, {"APP_CODE": app_code, "app_path": app_code}


def resourceguru(base: str, env: dict) -> tuple[dict, dict]:
    (account,) = _need(env, "RESOURCEGURU_ACCOUNT")
    token = env.get("RESOURCEGURU_TOKEN")
    if not token:
        names = (
            "RESOURCEGURU_CLIENT_ID",
            "RESOURCEGURU_CLIENT_SECRET",
            "RESOURCEGURU_USERNAME",
            "RESOURCEGURU_PASSWORD",
        )
        client_id, secret, username, password = _need(env, *names)
        form = {
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": client_id,
            "client_secret": secret,
        }
        r = httpx.post(f"{base}/oauth/token", data=form, timeout=30)
        token = r.json().get("access_token") if r.status_code == 200 else None
        if not token:
            raise AuthError(f"Resource Guru token request refused: {r.status_code} {r.text[:200]}")
    return {"Authorization": f"Bearer {token}"}, {"account": account}


FLOWS = {"productive": productive, "ibuildapp": ibuildapp, "resourceguru": resourceguru}


def credentials(api: str, base: str, demo: dict | None = None, env: dict | None = None) -> tuple[dict, dict]:
    """Demo credentials when checking Standin in-process; otherwise the environment's."""
    if demo is not None:
        headers = {k: v for k, v in demo.get("headers", {}).items() if k.lower() != "content-type"}
        return headers, dict(demo.get("path_parameters", {}))
    flow = FLOWS.get(api)
    return flow(base, dict(os.environ if env is None else env)) if flow else ({}, {})
