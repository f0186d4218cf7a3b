"""What a schemathesis run did to each operation, kept by an event handler inside the
schemathesis process (`standin contract` loads it through SCHEMATHESIS_HOOKS) and written as
JSON to the file STANDIN_OUTCOME names when the run ends.

schemathesis's own summary counts test cases, not answers: an operation that only ever got
401/403/404/429 "passes" there. Here every answer is tallied per operation with its status and
the checks run on it, so the runner can tell exercised operations from ones that never got a
documented success, and count the links the stateful phase really followed.
"""

from __future__ import annotations

import json
import os
import shlex
from collections import Counter, defaultdict

from schemathesis.cli import handler
from schemathesis.cli.commands.run.handlers.base import EventHandler
from schemathesis.engine import Status, events

from contract_tests import selection, traffic

# Checks without which an answer says nothing about the documents (the status and the body).
ESSENTIAL_CHECKS = {"status_code_conformance", "response_schema_conformance"}
EXCERPT = 400


def curl(request, placeholders: dict[str, str]) -> str:
    """A curl for a recorded request; credentials become the placeholders the runner named."""
    parts = ["curl", "-X", request.method, request.uri]
    for name, values in request.headers.items():
        lowered = name.lower()
        if lowered.startswith("x-schemathesis") or lowered in ("user-agent", "accept-encoding", "connection"):
            continue
        if lowered == "content-length" or lowered == "accept":
            continue
        value = placeholders.get(lowered, values[0] if isinstance(values, list) else values)
        parts += ["-H", f"{name}: {value}"]
    text = " ".join(shlex.quote(p) if "$" not in p else f'"{p}"' for p in parts)
    if request.body:
        text += " -d " + shlex.quote(request.body.decode("utf-8", "replace")[:2000])
    return text


class Tally:
    """Answers per operation: status counts, documented successes with every check run, failures."""

    def __init__(self, api: str, placeholders: dict[str, str]) -> None:
        self.operations = {op.label: op for op in selection.operations(selection.load(api))}
        self.placeholders = placeholders
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.exercised: Counter = Counter()
        self.failures: dict[str, dict[str, dict]] = defaultdict(dict)
        self.links: set[str] = set()
        self.errors: list[dict] = []

    def scenario(self, recorder) -> None:
        for case_id, node in recorder.cases.items():
            interaction = recorder.interactions.get(case_id)
            if node.transition is not None and node.is_transition_applied and interaction is not None:
                self.links.add(node.transition.id)
            if interaction is None or interaction.response is None:
                continue
            label = node.value.operation.label
            status = interaction.response.status_code
            self.statuses[label][str(status)] += 1
            checks = recorder.checks.get(case_id, [])
            operation = self.operations.get(label)
            if operation and operation.is_success(status) and ESSENTIAL_CHECKS <= {c.name for c in checks}:
                self.exercised[label] += 1
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    self.failure(label, check, interaction)

    def failure(self, label: str, check, interaction) -> None:
        failure = check.failure_info.failure
        key = f"{check.name}: {failure.title}"
        if key in self.failures[label]:
            self.failures[label][key]["count"] += 1
            return
        response = interaction.response
        body = response.content.decode("utf-8", "replace") if response is not None else ""
        self.failures[label][key] = {
            "check": check.name,
            "title": failure.title,
            "message": (failure.message or "")[:EXCERPT],
            "request": f"{interaction.request.method} {interaction.request.uri}",
            "status": response.status_code if response is not None else None,
            "response": body[:EXCERPT],
            "curl": curl(interaction.request, self.placeholders),
            "count": 1,
        }

    def as_dict(self) -> dict:
        return {
            "statuses": {k: dict(v) for k, v in self.statuses.items()},
            "exercised": dict(self.exercised),
            "failures": {k: list(v.values()) for k, v in self.failures.items()},
            "links": sorted(self.links),
            "errors": self.errors,
            "traffic": traffic.STATS,
        }


@handler()
class OutcomeHandler(EventHandler):
    """Registered for every `st run` that loads contract_tests.hooks; inert without STANDIN_OUTCOME."""

    def __init__(self, *args, **params) -> None:
        self.path = os.environ.get("STANDIN_OUTCOME")
        api = os.environ.get("STANDIN_API")
        placeholders = json.loads(os.environ.get("STANDIN_PLACEHOLDERS", "{}"))
        self.tally = Tally(api, placeholders) if self.path and api else None

    def handle_event(self, ctx, event) -> None:
        if self.tally is None:
            return
        if isinstance(event, events.ScenarioFinished):
            self.tally.scenario(event.recorder)
        elif isinstance(event, events.NonFatalError):
            self.tally.errors.append({"label": event.label, "message": str(event.info.title)[:EXCERPT]})
        elif isinstance(event, events.FatalError):
            self.tally.errors.append({"label": "schemathesis", "message": str(event.exception)[:EXCERPT]})
        elif isinstance(event, events.EngineFinished):
            with open(self.path, "w", encoding="utf-8") as f:
                json.dump(self.tally.as_dict(), f, indent=1)
