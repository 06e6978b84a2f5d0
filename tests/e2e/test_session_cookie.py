"""The session cookie in a real browser (Chromium): set by the log-in form's native POST, HttpOnly
(``document.cookie`` does not show it) and SameSite=Strict in the cookie jar; sign-up logs in the
same way; the account's security page lists the devices (this one marked), ends the others (the
other device is sent to log in at its next page), changes the password; log-out clears the
cookie. Screenshots of the security page at desktop and phone width go to docs/screenshots/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from browser_support import at, go, login, toast
from playwright.sync_api import Browser, Page, expect

from bnpl_app import routes
from bnpl_app.jobs.seed import DEMO_PASSWORD

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
COOKIE = "bnpl_session"


def _session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE), None)


def _doc_shot(page: Page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=DOCS / f"{name}.png", full_page=True)


def test_the_session_cookie_is_httponly_and_strict_and_page_scripts_cannot_read_it(page: Page):
    go(page, routes.LOGIN)
    page.get_by_test_id("login-username").fill("bob")
    page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(at(routes.INDEX))
    expect(page.get_by_test_id("whoami")).to_contain_text("Bob")
    cookie = _session_cookie(page)
    assert cookie is not None and cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/" and cookie["secure"] is False  # plain http on the loopback
    assert COOKIE not in page.evaluate("document.cookie")
    assert cookie["value"] not in page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(at(routes.LOGIN))
    expect(page.get_by_test_id("nav-login")).to_be_visible()
    assert _session_cookie(page) is None


def test_a_wrong_password_comes_back_to_the_form_saying_why(page: Page):
    go(page, routes.LOGIN)
    page.get_by_test_id("login-username").fill("bob")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(toast(page)).to_contain_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(re.escape(routes.LOGIN) + r"/?\?e=bad$"))
    assert _session_cookie(page) is None


def test_the_security_page_ends_the_other_device_and_changes_the_password(browser: Browser, app_server: str,
                                                                          page: Page):
    # Sign up (the form posts natively too), then a second device logs in to the same account.
    name, password = f"sec_{uuid.uuid4().hex[:8]}", "first-pass-1"
    go(page, routes.REGISTER)
    page.get_by_test_id("register-username").fill(name)
    page.get_by_test_id("register-display-name").fill("Sam")
    page.get_by_test_id("register-password").fill(password)
    page.get_by_test_id("register-submit").click()
    expect(page).to_have_url(at(routes.INDEX))
    assert _session_cookie(page)["httpOnly"] is True

    other = browser.new_context(base_url=app_server).new_page()
    try:
        go(other, routes.LOGIN)
        other.get_by_test_id("login-username").fill(name)
        other.get_by_test_id("login-password").fill(password)
        other.get_by_test_id("login-submit").click()
        expect(other.get_by_test_id("whoami")).to_be_visible()

        page.get_by_test_id("whoami").click()  # the name in the top bar opens the security page
        expect(page).to_have_url(at(routes.SECURITY))
        rows = page.get_by_test_id("session-row")
        expect(rows).to_have_count(2)
        expect(page.get_by_test_id("session-this-device")).to_have_count(1)
        expect(rows.first).to_have_attribute("data-current", "true")
        _doc_shot(page, "security-sessions")
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        _doc_shot(page, "security-sessions-phone")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_test_id("sessions-end-all").click()
        expect(toast(page)).to_contain_text("已退出其他 1 个设备")
        expect(rows).to_have_count(1)
        go(other, routes.WALLET)  # the other device's next page: nobody is logged in there
        expect(other).to_have_url(at(routes.LOGIN))
        expect(toast(other)).to_contain_text("请先登录")

        page.get_by_test_id("password-current").fill(password)
        page.get_by_test_id("password-new").fill("second-pass-2")
        page.get_by_test_id("password-save").click()
        expect(toast(page)).to_contain_text("密码已修改")
        expect(page.get_by_test_id("password-current")).to_have_value("")
    finally:
        other.context.close()
    page.get_by_test_id("logout").click()
    login_with = lambda pw: (page.get_by_test_id("login-username").fill(name),  # noqa: E731
                             page.get_by_test_id("login-password").fill(pw),
                             page.get_by_test_id("login-submit").click())
    login_with(password)
    expect(toast(page)).to_contain_text("用户名或密码错误")
    login_with("second-pass-2")
    expect(page).to_have_url(at(routes.INDEX))


def test_the_demo_log_in_as_ends_in_the_httponly_cookie(page: Page):
    login(page, "alice", lang="en")
    cookie = _session_cookie(page)
    assert cookie is not None and cookie["httpOnly"] is True and COOKIE not in page.evaluate("document.cookie")
