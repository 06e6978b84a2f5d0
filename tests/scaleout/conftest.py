"""Scale-out tier: the app deployed as it is scaled out, driven by a browser and by a small load.

One deployment per test session (``deploy.scaleout``): PostgreSQL, the Reflex state in Redis,
``WORKERS`` backend worker processes (granian), the in-app sweep off and the sweep in its own
``python -m bnpl_app worker`` process, the production frontend on one free port.

Turned on by two variables, both needed:
  BNPL_TEST_DATABASE_URL   a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
                           the tier uses its own database ``<that name>_scaleout`` beside the
                           named one, dropped and re-created at the start, dropped at the end
  BNPL_TEST_REDIS_URL      a Redis database the tier may FLUSH (e.g. redis://127.0.0.1:6379/13):
                           flushed at the start and at the end
When either is unset the tier is not collected. When both are set and a server cannot be
reached, the session FAILS (never skips). BNPL_E2E_START_TIMEOUT (seconds, default 900) bounds
the build + start, as in the e2e tier.

At the end, with every process stopped: ``python -m bnpl_app audit`` must pass on the
deployment's database, and the app's and the sweep worker's logs (test-artifacts/scaleout-*.log)
must hold no ERROR line and no traceback.

Run it on its own pytest session (``bash scripts/test.sh tests/scaleout``): it builds .web/ for
its own port, so it cannot share a session with the e2e tier's server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

# The browser, page, shot and db fixtures (and the hook that lets `page` see a failed test).
from browser_support import browser, db, page, pytest_runtest_makereport, shot  # noqa: F401
from deploy import DEFAULT_START_TIMEOUT, Deployment, LaunchError, drop_pg_database, redis_client, scaleout

PG_ENV = "BNPL_TEST_DATABASE_URL"
REDIS_ENV = "BNPL_TEST_REDIS_URL"
WORKERS = 2
SWEEP_INTERVAL_S = 2.0  # the worker's pause between runs (30 s by default): the tests wait on it
# The first test also pays for the production frontend build (npm install + vite on a fresh clone).
TIER_TIMEOUT_S = 1200
_HERE = Path(__file__).parent

ENABLED = bool(os.environ.get(PG_ENV)) and bool(os.environ.get(REDIS_ENV))
if not ENABLED:
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header(config) -> str:
    if ENABLED:
        return f"scale-out tier: on ({PG_ENV}, {REDIS_ENV})"
    return f"scale-out tier: off (set {PG_ENV} and {REDIS_ENV} to run tests/scaleout)"


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if _HERE in Path(item.path).parents]
    for item in mine:
        item.add_marker(pytest.mark.timeout(TIER_TIMEOUT_S))
    e2e = _HERE.parent / "e2e"
    if mine and any(e2e in Path(item.path).parents for item in items):
        raise pytest.UsageError(
            "tests/scaleout and tests/e2e each build and serve .web/ for their own port: "
            "run them in separate pytest sessions (scripts/test.sh does)"
        )


def scratch_db_url() -> str:
    url = make_url(os.environ[PG_ENV])
    return url.set(database=f"{url.database}_scaleout").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    db_url, redis_url = scratch_db_url(), os.environ[REDIS_ENV]
    timeout = float(os.environ.get("BNPL_E2E_START_TIMEOUT", str(DEFAULT_START_TIMEOUT)))
    failed = None
    try:
        with scaleout(db_url, redis_url, workers=WORKERS, sweep_interval=SWEEP_INTERVAL_S,
                      start_timeout=timeout, lock_wait_s=timeout) as running:
            print(f"\nscale-out app serving at {running.base_url} after {running.started_in_s:.0f}s")
            yield running
    except LaunchError as error:
        failed = f"{error}\n({PG_ENV}={os.environ[PG_ENV]!r}, {REDIS_ENV}={redis_url!r})"
    if failed:
        pytest.fail(failed, pytrace=False)

    # Everything is stopped: the ledger must balance and no process may have logged a failure.
    problems = []
    try:
        running.cli("audit")
    except LaunchError as error:
        problems.append(f"the ledger audit failed:\n{error}")
    for path, failures in running.failures().items():
        problems.append(f"{path} logged {len(failures)} error(s):\n" + "\n".join(failures[:10]))
    drop_pg_database(db_url)
    cache = redis_client(redis_url)
    cache.flushdb()
    cache.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def app_server(deployment: Deployment) -> str:
    """The base URL, for the shared `page` fixture."""
    return deployment.base_url


@pytest.fixture(scope="session")
def db_url(deployment: Deployment) -> str:
    """The deployment's database, for the reused e2e journeys' `db` fixture."""
    return deployment.db_url


@pytest.fixture
def wait_for(deployment: Deployment) -> Callable[..., object]:
    """``wait_for(check, what, timeout_s)``: the first truthy value of ``check()``; fails after
    the timeout, or at once if a process of the deployment exits. Between two checks it waits on
    the sweep worker's exit."""

    def _wait(check: Callable[[], object], what: str, timeout_s: float = 60.0) -> object:
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value:
                return value
            for name, proc in (("app", deployment.app), ("sweep worker", deployment.sweeper)):
                if proc.poll() is not None:
                    pytest.fail(f"the {name} exited with {proc.returncode} while waiting for {what}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}", pytrace=False)
            try:
                deployment.sweeper.wait(timeout=0.25)
            except Exception:  # noqa: BLE001 - TimeoutExpired: it lives, check again
                pass

    return _wait
