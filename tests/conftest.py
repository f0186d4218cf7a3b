import pytest

from server.app import create_app


@pytest.fixture(scope="session")
def app():
    return create_app(rate_limit=0)


@pytest.fixture
def client(app):
    app.runtime.reset()
    with app.test_client() as c:
        yield c
