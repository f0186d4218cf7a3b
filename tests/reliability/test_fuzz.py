"""schemathesis-generated requests, positive and negative, to every operation of every API of a
`standin serve` process: no undocumented 5xx, and every error answer is the vendor's JSON body
(never uvicorn's or Starlette's text, never connexion's problem+json).

Bounded for `make test`: STANDIN_FUZZ_OPERATIONS operations per API (default 10, drawn with
STANDIN_FUZZ_SEED; "all" for every one) and STANDIN_FUZZ_EXAMPLES cases per operation and mode
(default 1); `make soak` runs every operation. The contract suite (contract_tests/) checks the
answers against the specs in depth."""

from __future__ import annotations

import json
import os
import random
import warnings

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode

from contract_tests import targets
from tests.live import serve

EXAMPLES = int(os.environ.get("STANDIN_FUZZ_EXAMPLES", "1"))
OPERATIONS = os.environ.get("STANDIN_FUZZ_OPERATIONS", "10")
SEED = os.environ.get("STANDIN_FUZZ_SEED", "18")
APIS = ["productive", "ibuildapp", "resourceguru"]
JSON_TYPES = ("application/json", "application/vnd.api+json")


@pytest.fixture(scope="module")
def base():
    with serve("--rate-limit", "0") as url:
        yield url


def _documented(operation, status: int) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return str(status) in responses or f"{str(status)[0]}XX" in responses


@pytest.mark.parametrize("api", APIS)
def test_generated_requests_get_no_server_error_and_vendor_error_bodies(base, api, monkeypatch):
    monkeypatch.setenv("STANDIN_TARGET", base)
    schema = targets.load(api)
    operations = [result.ok() for result in schema.get_all_operations()]
    if OPERATIONS != "all" and int(OPERATIONS) < len(operations):
        operations = random.Random(f"{SEED}-{api}").sample(operations, int(OPERATIONS))
    findings = []
    sent = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            for _ in range(EXAMPLES):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", hypothesis.errors.NonInteractiveExampleWarning)
                    try:
                        case = strategy.example()
                    except (hypothesis.errors.Unsatisfiable, schemathesis.errors.SchemathesisError):
                        continue  # nothing negative to generate for this operation
                response = case.call(timeout=30)
                sent += 1
                status, kind = response.status_code, (response.headers.get("content-type") or [""])[0]
                where = f"{operation.label} [{mode.value}] -> {status}"
                if status >= 500 and not _documented(operation, status):
                    findings.append(f"{where}: undocumented server error {response.text[:200]}")
                if status >= 400 and response.content:
                    if not kind.startswith(JSON_TYPES):
                        findings.append(f"{where}: error body of type {kind!r}: {response.text[:200]}")
                    else:
                        json.loads(response.content)
    assert sent > 0
    assert not findings, "\n".join(findings[:20])
