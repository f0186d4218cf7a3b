"""schemathesis over every iBuildApp operation, and stateful chains through the spec's links.

Positive cases run against the demo app: APP_CODE / app_path are pinned from the API's
`demo["path_parameters"]` by contract_tests.hooks (random codes are not apps: 401/404);
unknown app codes are covered by tests/test_ibuildapp.py.
"""

from __future__ import annotations

from hypothesis import settings

from contract_tests.targets import load, state_machine
from contract_tests.test_conformance import SETTINGS

ibuildapp = load("ibuildapp")


@ibuildapp.parametrize()
@settings(SETTINGS, max_examples=10)
def test_ibuildapp(case):
    case.call_and_validate()


class TestIBuildAppWorkflow(state_machine(ibuildapp).TestCase):
    """Create, read, update, delete chains through the spec's links (use-after-free, availability).

    Operations that refuse schema-valid requests for state reasons are listed in schemathesis.toml."""

    settings = settings(SETTINGS, max_examples=15, stateful_step_count=6)
