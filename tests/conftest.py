"""Suite-wide pytest set-up. Kept light: unit tests must not pay for the browser tier."""

from pathlib import Path

import pytest

_E2E_DIR = Path(__file__).parent / "e2e"

# The first e2e test also pays for the production frontend build (npm install + vite
# on a fresh clone), which can outlast the suite's default per-test timeout.
E2E_TIMEOUT_SECONDS = 1200


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_SECONDS))
