"""schemathesis over every operation of every spec: responses must match the documents."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from contract_tests import hooks  # noqa: F401  (registers the schemathesis hooks)
from contract_tests.targets import load, state_machine

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


productive = load("productive")
admin = load("admin")


@productive.parametrize()
@SETTINGS
def test_productive(case):
    case.call_and_validate()


@admin.parametrize()
@SETTINGS
def test_admin(case):
    case.call_and_validate()


ProductiveWorkflow = state_machine(productive)


class TestProductiveWorkflow(ProductiveWorkflow.TestCase):
    """Create, read, update, delete chains through the spec's links (use-after-free, availability)."""

    settings = settings(SETTINGS, max_examples=15, stateful_step_count=6)
