import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--target", default=None, help="base URL of a running server (default: in-process)")


def pytest_configure(config):
    target = config.getoption("--target")
    if target:
        os.environ["STANDIN_TARGET"] = target


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts from the seeded state (in-process only)."""
    from contract_tests.targets import APPS

    for app in APPS.values():
        app.runtime.reset()
    yield
    # Rules the control API's test created would steer every later request to the vendor APIs.
    for app in APPS.values():
        app.runtime.steering.remove(None)
    target = os.environ.get("STANDIN_TARGET")
    if target:
        import httpx

        try:
            httpx.delete(f"{target.rstrip('/')}/_standin/rules", timeout=10)
        except httpx.HTTPError:
            pass
