"""`standin validate --api NAME FILE.har`: recorded traffic (HAR 1.2) checked against a spec.

A HAR from a browser's devtools holds every request the page made (scripts, fonts, other APIs):
`--base-url` keeps only the entries under the API's root and strips it, so that what remains is
the vendor's own path. Without it every entry counts, its path read as the API's own.
Exit codes: 0 no violations (warnings allowed), 1 violations, 2 usage error (unreadable file).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from contract_tests.traffic_report import Report
from contract_tests.validation import Exchange, is_preflight, validator


class HarError(ValueError):
    pass


def _body(content: dict | None) -> bytes:
    if not content:
        return b""
    text = content.get("text")
    if text is None and content.get("params"):  # a form the browser recorded field by field
        from urllib.parse import urlencode

        return urlencode([(p["name"], p.get("value", "")) for p in content["params"]]).encode()
    if text is None:
        return b""
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError as e:  # binascii.Error
            raise HarError(f"a body marked base64 is not: {e}") from e
    return text.encode("utf-8")


def _headers(items: list[dict]) -> list[tuple[str, str]]:
    # HTTP/2 pseudo-headers (":authority") are not headers of the request proper.
    return [(h["name"], h["value"]) for h in items if not h["name"].startswith(":")]


def read_har(path: str | Path, base_url: str | None = None) -> tuple[list[Exchange], int]:
    """The exchanges of a HAR file under base_url (all when None), and how many were left out."""
    prefix = base_url.rstrip("/") if base_url else None
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["log"]["entries"]
        return _exchanges(entries, prefix)
    except (OSError, HarError, AttributeError, KeyError, TypeError, ValueError) as e:
        raise HarError(f"{path}: not a HAR 1.2 file ({e})") from e


def _exchanges(entries: list, prefix: str | None) -> tuple[list[Exchange], int]:
    found, skipped = [], 0
    for number, entry in enumerate(entries, 1):
        request, response = entry.get("request", {}), entry.get("response", {})
        url, status = request.get("url", ""), int(response.get("status") or 0)
        if status == 0 or (prefix and not url.startswith(prefix + "/") and url != prefix):
            skipped += 1  # no answer (blocked, cancelled) or another host's traffic
            continue
        found.append(
            Exchange(
                method=request.get("method", "GET"),
                url=url[len(prefix) :] or "/" if prefix else url,
                status=status,
                request_headers=_headers(request.get("headers", [])),
                request_body=_body(request.get("postData")),
                response_headers=_headers(response.get("headers", [])),
                response_body=_body(response.get("content")),
                label=entry.get("comment") or f"entry {number}",
            )
        )
    return found, skipped


def validate_har(api: str, path: str, base_url: str | None = None, report_dir: str | None = None) -> int:
    try:
        exchanges, skipped = read_har(path, base_url)
    except HarError as e:
        print(f"standin validate: {e}", file=sys.stderr)
        return 2
    checker = validator(api)
    report = Report(api, checker.operations)
    preflights = [e for e in exchanges if is_preflight(e)]
    for exchange in exchanges:
        if not is_preflight(exchange):
            operation, findings = checker.check(exchange)
            report.add(exchange, operation, findings)
    print(report.text())
    if skipped or preflights:
        print(
            f"({skipped + len(preflights)} entries left out: CORS preflights, no answer, or outside {base_url})"
        )
    out = report.write(report_dir or f"reports/{api}/validate")
    print(f"Report: {out / 'validation.txt'}, {out / 'junit.xml'}, {out / 'validation.json'}")
    return report.exit_code()
