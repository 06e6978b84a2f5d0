"""Playwright fixtures shared by the browser tiers (tests/e2e, tests/scaleout): headless Debian
Chromium, a fresh context per test on the tier's ``app_server`` (relative URLs work), a
screenshot of the page when its test failed, uncaught page errors failing the test,
``shot(page, name)`` for test-artifacts/<name>.png, ``db`` (an engine on the app's database) — and the steps every journey takes: log in
as a demo account, go to a page once it is live, find the toast or a record's row.

A tier's conftest imports the fixtures and the hook by name; it defines ``app_server`` (the
base URL) and ``db_url`` itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bnpl_app import routes
from bnpl_app.db import make_engine
from bnpl_app.jobs.seed import DEMO_PASSWORD, SHOPS
from deploy import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT_MS = 15_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
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


@pytest.fixture
def db(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """The app's database, for arranging what other actors do through the services and for
    checks the page cannot show."""
    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ── the steps every journey takes ──────────────────────────────────────────────────────────────
def at(route: str) -> re.Pattern:
    """The URL of ``route`` (Reflex serves pages with or without a trailing slash)."""
    return re.compile(r"^https?://[^/]+" + re.escape(route.rstrip("/")) + r"/?$")


def go(page: Page, route: str) -> None:
    """Open ``route`` and wait until the page is live (the server has ticked its clock once)."""
    page.goto(route)
    expect(page.get_by_test_id("clock-now")).not_to_have_text("")


def login(page: Page, user: str, *, lang: str = "zh") -> None:
    """One-click log-in of a demo account, after the page is live; done when its home page shows
    who is logged in."""
    go(page, routes.LOGIN)
    switch = page.get_by_test_id("lang-switch")
    if (lang == "en") != (switch.inner_text().strip() == "中文"):  # the button names the other language
        switch.click()
        expect(switch).to_have_text("中文" if lang == "en" else "English")
    if user == "ops":  # the operator has no "log in as" button, even in the demo: its password
        page.get_by_test_id("login-username").fill(user)
        page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
        page.get_by_test_id("login-submit").click()
    else:
        page.get_by_test_id(f"demo-login-{user}").click()
    role = "operator" if user == "ops" else "merchant" if user in SHOPS else "shopper"
    expect(page).to_have_url(at(routes.HOME_OF_ROLE[role]))
    expect(page.get_by_test_id("whoami")).to_be_visible()


def toast(page: Page):
    return page.get_by_test_id("toast")


def row(page: Page, testid: str, record_id: int):
    """The row (or card) of one record in a list."""
    return page.locator(f'[data-testid="{testid}"][data-id="{record_id}"]')
