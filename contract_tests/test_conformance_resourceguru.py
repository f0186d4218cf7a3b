"""schemathesis over every Resource Guru operation, and stateful chains through the spec's links.

Positive cases run against account example-corp (pinned by contract_tests.hooks).
"""

from __future__ import annotations

from hypothesis import settings

from contract_tests.targets import load, state_machine
from contract_tests.test_conformance import SETTINGS

resourceguru = load("resourceguru")


@resourceguru.parametrize()
@settings(SETTINGS, max_examples=10)
def test_resourceguru(case):
    case.call_and_validate()


class TestResourceGuruWorkflow(state_machine(resourceguru).TestCase):
    """Create, read, update, delete chains through the spec's links (use-after-free, availability).

    Checks a vendor's own contract rules out for some operations are listed in schemathesis.toml."""

    settings = settings(SETTINGS, max_examples=10, stateful_step_count=6)
