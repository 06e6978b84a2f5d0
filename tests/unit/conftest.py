import pytest
from helpers import World, memory_engine


@pytest.fixture
def world() -> World:
    w = World(memory_engine())
    yield w
    w.engine.dispose()
