"""schemathesis over every iBuildApp operation, and stateful chains through the spec's links.

Positive cases run against the demo app: APP_CODE / app_path are pinned from the API's
`demo["path_parameters"]` by contract_tests.hooks (random codes are not apps: 401/404);
unknown app codes are covered by tests/test_ibuildapp.py.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contract_tests.targets import load
from contract_tests.test_conformance import SETTINGS
from server.app import API_NAMES

ibuildapp = load("ibuildapp") if "ibuildapp" in API_NAMES else None


# Operations that refuse some schema-valid requests because of state, with the vendor's 400
# ("a state conflict", the spec's BadRequest): positive_data_acceptance cannot hold for them.
STATE_400 = {
    "/api/{APP_CODE}/register": "the e-mail may already be registered (the spec's own example is the demo user's)",
    "/api/{APP_CODE}/user/create": "the e-mail may already be taken",
    "/api/{APP_CODE}/user/update": "the new e-mail may already be taken",
    "/api/{APP_CODE}/ts/start": "the caller may already be tracking time (Found started TimeEntry.)",
    "/api/{APP_CODE}/ts/create": "end before start, or a second running entry of the user",
    "/api/{app_path}/ts/update": "end before start",
    "/api/{app_path}/ts/break_start": "a break may already be running",
    "/api/{app_path}/invoice/create": "the tasks may belong to another client's projects",
    "/api/{APP_CODE}/user/history": "filters may use an operand the vendor does not know",
    "/api/{APP_CODE}/integration/qbo/authorize": "no client_id configured yet",
    "/api/{APP_CODE}/integration/xero/authorize": "no client_id configured yet",
    "/api/{APP_CODE}/integration/adp/authorize": "no client_id configured yet",
}


def excluded(case) -> list:
    """Checks that cannot hold for one operation, each for the reason given in STATE_400."""
    return [positive_data_acceptance] if case.operation.path in STATE_400 else []


@pytest.mark.skipif(ibuildapp is None, reason="ibuildapp not built")
@ibuildapp.parametrize()
@settings(SETTINGS, max_examples=10)
def test_ibuildapp(case):
    case.call_and_validate(excluded_checks=excluded(case))


if ibuildapp is not None:

    class IBuildAppWorkflow(ibuildapp.as_state_machine()):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            __tracebackhide__ = True
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=excluded(case),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    class TestIBuildAppWorkflow(IBuildAppWorkflow.TestCase):
        """Create, read, update, delete chains through the spec's links (use-after-free, availability)."""

        settings = settings(SETTINGS, max_examples=15, stateful_step_count=6)
