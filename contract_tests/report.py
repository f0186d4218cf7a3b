"""The verdict of a contract run per operation, as a table, a JUnit file and an HTML page.

An operation conforms only when it was exercised: at least one answer the spec documents as
success, with every check run on it, and no check failed on any answer. One that only ever got
401/403/404/429, or for which no request was sent, is "not exercised", with what it did get.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# schemathesis's check names, in words.
CHECKS = {
    "not_a_server_error": "server error (5xx) or unreadable answer",
    "status_code_conformance": "status code the spec does not document",
    "content_type_conformance": "content type the spec does not document",
    "response_headers_conformance": "documented response header missing or malformed",
    "response_schema_conformance": "response body does not match the spec's schema",
    "negative_data_rejection": "invalid request accepted",
    "positive_data_acceptance": "valid request refused",
    "missing_required_header": "request without a required header accepted",
    "unsupported_method": "undocumented method not refused with 405",
    "allow_header_conformance": "405 without a correct Allow header",
    "use_after_free": "deleted resource still answers",
    "ensure_resource_availability": "created resource not found afterwards",
    "ignored_auth": "request without valid credentials accepted",
    "object_level_authorization": "another user's resource accessible",
    "max_response_time": "answer too slow",
}


def in_words(check: str) -> str:
    return CHECKS.get(check, check.replace("_", " "))


@dataclass
class Row:
    label: str
    result: str  # "ok", "FAIL", "not exercised"
    reason: str = ""
    exercised: bool = False
    failures: list[dict] = field(default_factory=list)


@dataclass
class Verdict:
    rows: list[Row]
    links_declared: list[str]
    links_covered: list[str]
    errors: list[dict]
    traffic: dict
    reproduce: str  # the line naming the placeholders and target the curls use

    @property
    def exercised(self) -> int:
        return sum(r.exercised for r in self.rows)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(r.result == "FAIL" for r in self.rows)

    @property
    def unexercised(self) -> list[Row]:
        return [r for r in self.rows if r.result == "not exercised"]

    def link_line(self) -> str:
        if not self.links_declared:
            return "links: none between the selected operations (no stateful phase)"
        n, m = len(self.links_covered), len(self.links_declared)
        return f"links: {n} of {m} followed by the stateful phase ({100 * n // m}%)"


def _reason(statuses: dict) -> str:
    if not statuses:
        return "no request was sent (none generated, or every one filtered)"
    seen = ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items()))
    return f"no documented success answer; got {seen}"


def verdict(labels: list[str], links: list[str], outcome: dict, reproduce: str) -> Verdict:
    rows = []
    for label in labels:
        failures = outcome["failures"].get(label, [])
        successes = outcome["exercised"].get(label, 0)
        reason = (
            f"{successes} documented success answer(s)"
            if successes
            else _reason(outcome["statuses"].get(label, {}))
        )
        if failures:
            reason = f"{len(failures)} check(s) failed; {reason}"
        result = "FAIL" if failures else "ok" if successes else "not exercised"
        rows.append(Row(label, result, reason, bool(successes), failures))
    covered = sorted(set(outcome["links"]) & set(links))
    return Verdict(rows, links, covered, outcome["errors"], outcome["traffic"], reproduce)


def describe(failure: dict) -> str:
    return "\n".join(
        [
            f"{in_words(failure['check'])} ({failure['check']}): {failure['title']}",
            f"  request:  {failure['request']}",
            f"  response: {failure['status']} {failure['response'][:200]!r}",
            *(f"  {line}" for line in failure["message"].splitlines()[:6]),
            f"  {failure['curl']}",
        ]
    )


def print_table(v: Verdict, out) -> None:
    width = max([len("operation")] + [len(r.label) for r in v.rows])
    print(f"\n{'operation':<{width}}  {'result':<13}  detail", file=out)
    for row in v.rows:
        print(f"{row.label:<{width}}  {row.result:<13}  {row.reason}", file=out)
    for row in v.rows:
        for failure in row.failures:
            print(f"\n{row.label}: {describe(failure)}", file=out)
    if any(r.failures for r in v.rows):
        print(f"\n{v.reproduce}", file=out)
    for error in v.errors:
        print(f"\nerror: {error['label']}: {error['message']}", file=out)
    print(f"\n{v.exercised} of {len(v.rows)} operations exercised; {v.link_line()}", file=out)
    t = v.traffic
    print(f"requests: {t.get('requests', 0)}; 429s waited out: {t.get('rate_limited', 0)}", file=out)
    if t.get("gave_up_waiting"):
        print("the server kept answering 429 after every retry: the run stopped waiting for it", file=out)
    if t.get("relogin"):
        r = t["relogin"]
        state = (
            "logged in again" if r["ok"] else f"could not log in again ({r.get('error', 'no login flow')})"
        )
        print(f"credentials refused (401) after {r['after']}: {state}", file=out)


def write_junit(v: Verdict, api: str, path: Path) -> None:
    suite = ET.Element("testsuite", name=f"standin contract {api}", tests=str(len(v.rows) + 1))
    for row in v.rows:
        case = ET.SubElement(suite, "testcase", classname=api, name=row.label)
        if row.result == "FAIL":
            first = row.failures[0]
            message = f"{in_words(first['check'])}: {first['title']}"
            failure = ET.SubElement(case, "failure", message=message)
            failure.text = "\n\n".join([row.reason, *(describe(f) for f in row.failures), v.reproduce])
        elif row.result == "not exercised":
            ET.SubElement(case, "skipped", message=f"not exercised: {row.reason}")
    links = ET.SubElement(suite, "testcase", classname=api, name="Stateful links")
    links.set("time", "0")
    ET.SubElement(links, "system-out").text = v.link_line()
    for error in v.errors:
        case = ET.SubElement(suite, "testcase", classname=api, name=f"error: {error['label']}")
        ET.SubElement(case, "error", message=error["message"])
    suite.set("failures", str(sum(r.result == "FAIL" for r in v.rows)))
    suite.set("skipped", str(len(v.unexercised)))
    suite.set("errors", str(len(v.errors)))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_html(v: Verdict, api: str, path: Path, details: str = "") -> None:
    e = html.escape
    rows = "".join(
        f"<tr class='{e(r.result.replace(' ', '-'))}'><td>{e(r.label)}</td><td>{e(r.result)}</td><td>{e(r.reason)}"
        + "".join(f"<pre>{e(describe(f))}</pre>" for f in r.failures)
        + "</td></tr>"
        for r in v.rows
    )
    errors = "".join(f"<p class='FAIL'>error: {e(x['label'])}: {e(x['message'])}</p>" for x in v.errors)
    page = f"""<!doctype html><meta charset="utf-8"><title>standin contract {e(api)}</title>
<style>body{{font-family:sans-serif}} td{{vertical-align:top;padding:2px 8px}} .FAIL{{color:#b00}}
.not-exercised{{color:#a60}} pre{{white-space:pre-wrap;font-size:12px}}</style>
<h1>standin contract {e(api)}: {v.exercised} of {len(v.rows)} operations exercised</h1>
<p>{e(v.link_line())}</p>{errors}<p>{e(v.reproduce)}</p>{details}
<table><tr><th>operation</th><th>result</th><th>detail</th></tr>{rows}</table>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
