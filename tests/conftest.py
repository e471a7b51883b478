import pytest

from kernel import Actor
from tests.example import plugin as notes_plugin

pytest_plugins = ["kernel.testing"]


@pytest.fixture
def site(make_site):
    """A site with the example ``notes`` plugin enabled."""
    return make_site(notes_plugin)


@pytest.fixture
def admin():
    return Actor(user_id=None, label="tester", role="admin", channel="api")
