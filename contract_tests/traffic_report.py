"""The per-operation report of validated traffic (`standin proxy`, `standin validate`).

Every operation of the spec gets a row, the ones no exchange reached included ("not exercised"),
plus a row for each method and path outside the spec. Findings are counted per operation and
place (array indexes folded), so a long proxy session stays readable. Written as a text table,
JUnit XML (one test case per operation: failed on errors, skipped when not exercised, warnings in
its output) and JSON (every exchange with its findings, then the per-operation summary).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from contract_tests.validation import Exchange, Finding, normalized

MAX_EXCHANGES = 10_000  # kept one by one in the JSON report; counted beyond that


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Row:
    operation: str
    documented: bool
    exchanges: int = 0
    statuses: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)  # (severity, kind, where, message) -> count

    def count(self, severity: str) -> int:
        return sum(n for key, n in self.findings.items() if key[0] == severity)

    def summary(self) -> dict:
        return {
            "operation": self.operation,
            "documented": self.documented,
            "exchanges": self.exchanges,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "findings": [
                {"severity": s, "kind": k, "where": w, "message": m, "count": n}
                for (s, k, w, m), n in sorted(self.findings.items())
            ],
        }


class Report:
    def __init__(self, api: str, operations: list[str]):
        self.api = api
        self.rows = {name: Row(name, True) for name in operations}
        self.exchanges: list[dict] = []
        self.total = 0

    def add(self, exchange: Exchange, operation: str, findings: list[Finding]) -> None:
        row = self.rows.setdefault(operation, Row(operation, False))
        row.exchanges += 1
        row.statuses[exchange.status] += 1
        for f in findings:
            row.findings[(f.severity, f.kind, normalized(f.where), f.message)] += 1
        self.total += 1
        if len(self.exchanges) < MAX_EXCHANGES:
            self.exchanges.append(
                {
                    "label": exchange.label,
                    "method": exchange.method.upper(),
                    "url": exchange.url,
                    "status": exchange.status,
                    "operation": operation,
                    "findings": [f.__dict__ for f in findings],
                }
            )

    def count(self, severity: str) -> int:
        return sum(row.count(severity) for row in self.rows.values())

    def exit_code(self) -> int:
        return 1 if self.count("error") else 0

    def headline(self) -> str:
        exercised = sum(1 for r in self.rows.values() if r.documented and r.exchanges)
        documented = sum(1 for r in self.rows.values() if r.documented)
        outside = sum(r.exchanges for r in self.rows.values() if not r.documented)
        return (
            f"{self.api}: {_n(self.total, 'exchange')}, {exercised} of {documented} operations exercised, "
            f"{_n(outside, 'exchange')} outside the spec; {_n(self.count('error'), 'error')}, "
            f"{_n(self.count('warning'), 'warning')}"
        )

    def text(self) -> str:
        rows = sorted(self.rows.values(), key=lambda r: (r.documented, r.exchanges == 0, r.operation))
        width = max((len(r.operation) for r in rows), default=10)
        lines = [f"{'operation':<{width}}  exchanges  errors  warnings  statuses / first finding"]
        for row in rows:
            if row.documented and not row.exchanges:
                lines.append(f"{row.operation:<{width}}  {0:>9}  {'-':>6}  {'-':>8}  not exercised")
                continue
            statuses = " ".join(f"{code}x{n}" for code, n in sorted(row.statuses.items()))
            lines.append(
                f"{row.operation:<{width}}  {row.exchanges:>9}  {row.count('error'):>6}  "
                f"{row.count('warning'):>8}  {statuses}"
            )
            ranked = sorted(row.findings.items(), key=lambda item: (item[0][0] != "error", -item[1]))
            for (severity, kind, where, message), n in ranked[:5]:
                lines.append(f"{'':<{width}}  {severity}: {kind} at {where} (x{n}): {message[:160]}")
            if len(ranked) > 5:
                lines.append(f"{'':<{width}}  ... {len(ranked) - 5} more in the JSON report")
        return "\n".join(lines + ["", self.headline()])

    def junit(self) -> str:
        suite = ET.Element(
            "testsuite",
            name=f"standin validation {self.api}",
            tests=str(len(self.rows)),
            failures=str(sum(1 for r in self.rows.values() if r.count("error"))),
            skipped=str(sum(1 for r in self.rows.values() if r.documented and not r.exchanges)),
        )
        for row in self.rows.values():
            case = ET.SubElement(suite, "testcase", name=row.operation, classname=self.api)
            lines = [f"{s}: {k} at {w} (x{n}): {m}" for (s, k, w, m), n in sorted(row.findings.items())]
            if row.count("error"):
                first = next(line for line in lines if line.startswith("error"))
                ET.SubElement(case, "failure", message=first[:300]).text = "\n".join(lines)
            elif row.documented and not row.exchanges:
                ET.SubElement(case, "skipped", message="not exercised: no exchange reached this operation")
            if row.count("warning") and not row.count("error"):
                ET.SubElement(case, "system-out").text = "\n".join(lines)
        return ET.tostring(suite, encoding="unicode")

    def data(self) -> dict:
        return {
            "api": self.api,
            "headline": self.headline(),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "exchanges": self.exchanges,
            "exchanges_total": self.total,
            "operations": [row.summary() for row in self.rows.values()],
        }

    def write(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "validation.txt").write_text(self.text() + "\n", encoding="utf-8")
        (out / "junit.xml").write_text(self.junit(), encoding="utf-8")
        (out / "validation.json").write_text(json.dumps(self.data(), indent=1), encoding="utf-8")
        return out
