import pytest
from helpers import World, memory_engine


@pytest.fixture
def world() -> World:
    w = World(memory_engine())
    yield w
    w.engine.dispose()


@pytest.fixture
def tab(world, monkeypatch):
    """A state tree as a connected tab has it, on the test database and clock (``tab(uid)``)."""
    from state_support import make_tab

    return make_tab(world, monkeypatch)
