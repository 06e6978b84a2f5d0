"""The security tier (issue #11): the PRODUCTION build attacked over its real socket.io endpoint
from a second process, as an attacker would — ``bench/reflex_client.py`` speaks Reflex's event
protocol; each demo user logs in through the HTTP log-in endpoint with its password and so holds a
real session cookie, exactly as the app issues it, presented in its socket's handshake.

One app per session (``reflex run --env prod`` on a free port, a migrated, demo-seeded SQLite
database), built and served under the ``.web`` build lock like the browser tier. The tests share
the demo: each attack checks its answer and that no database row changed (``helpers.snapshot``);
the last test runs the ledger audit, and the server log must hold no error at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from deploy import ROOT, serve_demo
from attack import SERVER_LOG, Attacker, Unchanged

from bench.reflex_client import BuildInfo

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(item.path).parents:
            # The first test pays for the production frontend build.
            item.add_marker(pytest.mark.timeout(1200))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('security-db') / 'bnpl-security.db'}"


@pytest.fixture(scope="session")
def app_server(db_url: str) -> Iterator[str]:
    """Base URL of the production app, migrated, demo-seeded and serving on one port."""
    with serve_demo(db_url, SERVER_LOG) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def engine(app_server: str, db_url: str) -> Iterator[sa.Engine]:
    """The app's own database, read by the tests (snapshots, ids to aim at, the audit)."""
    eng = sa.create_engine(db_url, connect_args={"timeout": 30})
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the session: the logged-in sockets live across tests."""
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="session")
def build(app_server: str) -> BuildInfo:
    return BuildInfo.from_web_dir(ROOT / ".web")


@pytest.fixture(scope="session")
def attacker(app_server: str, build: BuildInfo, loop: asyncio.AbstractEventLoop) -> Iterator[Attacker]:
    a = Attacker(app_server, build, loop)
    yield a
    a.run(a.close())


@pytest.fixture
def unchanged(engine: sa.Engine) -> Callable[[str], Unchanged]:
    return lambda what="": Unchanged(engine, what)
