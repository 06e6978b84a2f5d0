"""Playwright fixtures shared by the browser tiers (tests/e2e, tests/scaleout): headless Debian
Chromium, a fresh context per test on the tier's ``app_server`` (relative URLs work), a
screenshot of the page when its test failed, uncaught page errors failing the test, and
``shot(page, name)`` for test-artifacts/<name>.png.

A tier's conftest imports the fixtures and the hook by name; it defines ``app_server`` (the
base URL) itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
