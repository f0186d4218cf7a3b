"""Credentials for a contract run: Standin's demo values in-process; against a deployment, the
`--header`s given, else the environment, with the vendor's own auth flow when given a login
instead of a token.

Each API yields (headers, path parameters): Resource Guru's paths need the account slug and
iBuildApp's the app code, so schemathesis must not invent them. Resource Guru's account is
read from the token's own account list when not given.
"""

from __future__ import annotations

import os

import httpx


class AuthError(Exception):
    """The vendor refused the login, or neither headers nor the environment give what the API needs."""


# The environment variable each credential header's value is named by in reports' curl lines.
PLACEHOLDERS = {
    "productive": {"x-auth-token": "$PRODUCTIVE_TOKEN", "x-organization-id": "$PRODUCTIVE_ORGANIZATION_ID"},
    "ibuildapp": {"authorization": "Bearer $IBUILDAPP_TOKEN"},
    "resourceguru": {"authorization": "Bearer $RESOURCEGURU_TOKEN"},
}

# Demo values under the environment's names, so the login flows below serve in-process runs too.
DEMO_ENV = {
    "ibuildapp": {
        "IBUILDAPP_APP_CODE": "app_code",
        "IBUILDAPP_EMAIL": "email",
        "IBUILDAPP_PASSWORD": "password",
    },
    "resourceguru": {
        "RESOURCEGURU_ACCOUNT": "account",
        "RESOURCEGURU_CLIENT_ID": "client_id",
        "RESOURCEGURU_CLIENT_SECRET": "client_secret",
        "RESOURCEGURU_USERNAME": "username",
        "RESOURCEGURU_PASSWORD": "password",
    },
}


def _need(env: dict, *names: str) -> list[str]:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise AuthError(f"give --header, or set {', '.join(missing)}")
    return [env[n] for n in names]


def login(api: str, base: str, env: dict) -> dict:
    """Run the vendor's login with what the environment gives; the headers it yields."""
    if api == "ibuildapp":
        app_code, email, password = _need(env, "IBUILDAPP_APP_CODE", "IBUILDAPP_EMAIL", "IBUILDAPP_PASSWORD")
        r = httpx.post(
            f"{base}/api/{app_code}/login", json={"email": email, "password": password}, timeout=30
        )
        token = r.json().get("token") if r.status_code == 200 else None
        if not token:
            raise AuthError(f"iBuildApp login refused: {r.status_code} {r.text[:200]}")
        return {"Authorization": f"Bearer {token}"}
    if api == "resourceguru":
        names = (
            "RESOURCEGURU_CLIENT_ID",
            "RESOURCEGURU_CLIENT_SECRET",
            "RESOURCEGURU_USERNAME",
            "RESOURCEGURU_PASSWORD",
        )
        client_id, secret, username, password = _need(env, *names)
        form = {"grant_type": "password", "username": username, "password": password}
        form |= {"client_id": client_id, "client_secret": secret}
        r = httpx.post(f"{base}/oauth/token", data=form, timeout=30)
        token = r.json().get("access_token") if r.status_code == 200 else None
        if not token:
            raise AuthError(f"Resource Guru token request refused: {r.status_code} {r.text[:200]}")
        return {"Authorization": f"Bearer {token}"}
    raise AuthError(f"{api} has no login flow")


def can_login(api: str, env: dict) -> bool:
    """Whether `login` has what it needs (a re-login mid-run is possible)."""
    return api in DEMO_ENV and all(env.get(n) for n in DEMO_ENV[api] if n != "RESOURCEGURU_ACCOUNT")


def _env_headers(api: str, base: str, env: dict) -> dict:
    if api == "productive":
        token, organization = _need(env, "PRODUCTIVE_TOKEN", "PRODUCTIVE_ORGANIZATION_ID")
        return {"X-Auth-Token": token, "X-Organization-Id": organization}
    token = env.get(f"{api.upper()}_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else login(api, base, env)


def _path_parameters(api: str, base: str, env: dict, headers: dict) -> dict:
    if api == "ibuildapp":
        (app_code,) = _need(env, "IBUILDAPP_APP_CODE")
        return {"APP_CODE": app_code, "app_path": app_code}
    if api == "resourceguru":
        account = env.get("RESOURCEGURU_ACCOUNT")
        if not account:
            r = httpx.get(f"{base}/v1/accounts", headers=headers, timeout=30)
            accounts = r.json() if r.status_code == 200 else None
            if not accounts or not isinstance(accounts, list):
                raise AuthError(
                    f"set RESOURCEGURU_ACCOUNT (GET /v1/accounts: {r.status_code} {r.text[:200]})"
                )
            account = accounts[0]["subdomain"]
        return {"account": account}
    return {}


def demo_env(api: str, demo: dict) -> dict:
    return {name: str(demo[key]) for name, key in DEMO_ENV.get(api, {}).items() if key in demo}


def parse_headers(given: list[str]) -> dict:
    headers = {}
    for line in given:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise AuthError(f"--header {line!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def credentials(
    api: str, base: str, demo: dict | None = None, env: dict | None = None, given: list[str] | None = None
) -> tuple[dict, dict]:
    """Demo credentials when checking Standin in-process; otherwise `--header`s, else the environment's."""
    if demo is not None:
        headers = {k: v for k, v in demo.get("headers", {}).items() if k.lower() != "content-type"}
        return headers, dict(demo.get("path_parameters", {}))
    env = dict(os.environ if env is None else env)
    headers = parse_headers(given) if given else _env_headers(api, base, env)
    return headers, _path_parameters(api, base, env, headers)
