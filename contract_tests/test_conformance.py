"""schemathesis over every operation of every spec: responses must match the documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from contract_tests.targets import load
from server.app import API_NAMES

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _vanishes(value) -> bool:
    """Empty containers serialize to nothing in a query string: the request is not negative any more."""
    if isinstance(value, dict):
        return all(_vanishes(v) for v in value.values())
    if isinstance(value, list):
        return all(_vanishes(v) for v in value)
    return False


@schemathesis.hook
def filter_query(ctx, query):
    return not any(_vanishes(v) for v in (query or {}).values() if isinstance(v, (dict, list)))


productive = load("productive") if "productive" in API_NAMES else None
admin = load("admin")


@pytest.mark.skipif(productive is None, reason="productive not built")
@productive.parametrize()
@SETTINGS
def test_productive(case):
    case.call_and_validate()


@admin.parametrize()
@SETTINGS
def test_admin(case):
    case.call_and_validate()


if productive is not None:
    ProductiveWorkflow = productive.as_state_machine()

    class TestProductiveWorkflow(ProductiveWorkflow.TestCase):
        """Create, read, update, delete chains through the spec's links (use-after-free, availability)."""

        settings = settings(SETTINGS, max_examples=15, stateful_step_count=6)
