"""Browser tier: one production-built app per test session, driven by Playwright.

The app runs as `reflex run --env prod` on one free port (frontend and backend share
it), against its own database: a fresh SQLite file in a temp dir, or BNPL_E2E_DB_URL.
The server's output goes to test-artifacts/e2e-server.log; a Python traceback or an
ERROR line in it fails the session at teardown, so a backend bug cannot hide behind a
page that still looks right.

Environment:
  BNPL_E2E_DB_URL          use this database instead of a fresh SQLite file (it is
                           migrated and seeded like the fresh one)
  BNPL_E2E_START_TIMEOUT   seconds to wait for the build + start (default 900)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

# The browser, page, shot and db fixtures (and the hook that lets `page` see a failed test):
# shared with the scale-out tier.
from browser_support import browser, db, page, pytest_runtest_makereport, shot, shot_page  # noqa: F401
from deploy import ARTIFACTS, serve_demo

SERVER_LOG = ARTIFACTS / "e2e-server.log"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database the e2e app uses, for tests that assert against it directly."""
    configured = os.environ.get("BNPL_E2E_DB_URL")
    if configured:
        return configured
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'bnpl-e2e.db'}"


@pytest.fixture(scope="session")
def app_server(db_url: str) -> Iterator[str]:
    """Base URL of the app, migrated, demo-seeded and serving on one port."""
    # A configured database may already hold the demo; a fresh file never does.
    with serve_demo(db_url, SERVER_LOG, seed_args=("--if-empty",) if os.environ.get("BNPL_E2E_DB_URL") else (),
                    after_seed=_snapshot_demo) as base_url:
        yield base_url


def _sqlite_path(db_url: str) -> Path | None:
    return Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None


def _snapshot_demo(db_url: str) -> None:
    """Keep a copy of the freshly seeded demo, so each test can start from it."""
    path = _sqlite_path(db_url)
    if path is None:
        return
    with sqlite3.connect(path) as src, sqlite3.connect(path.with_suffix(".pristine")) as dst:
        src.backup(dst)


@pytest.fixture(autouse=True)
def fresh_demo(app_server: str, db_url: str) -> None:
    """Every journey starts from the seeded demo (accounts, orders, demo clock), whatever the
    tests before it did: the pristine copy is written back into the live SQLite database
    through SQLite's backup API, which is safe while the app holds connections to it.
    With BNPL_E2E_DB_URL pointing at another database, tests share its state instead."""
    path = _sqlite_path(db_url)
    if path is None or os.environ.get("BNPL_E2E_DB_URL"):
        return
    with sqlite3.connect(path.with_suffix(".pristine")) as src, sqlite3.connect(path, timeout=30) as dst:
        src.backup(dst)
