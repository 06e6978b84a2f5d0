"""Live pages by push, in a browser: an idle tab sends the server nothing while its clock ticks; a
change made by another process reaches the open tab of the user it concerns (and only that tab);
a moved demo clock reaches every open tab. Frames are read off the page's websocket."""

from __future__ import annotations

import re

from helpers import uid_of
from playwright.sync_api import Browser, Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.domain.clock import SystemClock
from bnpl_app.services import wallet

EVENT_FRAME = re.compile(r"^42")  # a Socket.IO event (engine.io pings are "2" / "3")


class Frames:
    """Every Socket.IO event frame a page sent and received."""

    def __init__(self, page: Page) -> None:
        self.sent: list[str] = []
        self.received: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda payload: self._add(self.sent, payload))
        ws.on("framereceived", lambda payload: self._add(self.received, payload))

    @staticmethod
    def _add(into: list[str], payload) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        if EVENT_FRAME.match(text):
            into.append(text)

    def refreshes(self) -> int:
        return sum(".refresh" in f for f in self.received)


def _tab(browser: Browser, app_server: str, user: str) -> tuple[Page, Frames]:
    context = browser.new_context(base_url=app_server)
    page = context.new_page()
    frames = Frames(page)
    page.goto(routes.LOGIN)
    expect(page.get_by_test_id("clock-now")).not_to_have_text("")
    page.get_by_test_id(f"demo-login-{user}").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()
    return page, frames


def test_an_idle_tab_sends_nothing_while_its_clock_ticks(browser: Browser, app_server: str, shot):
    page, frames = _tab(browser, app_server, "alice")
    page.goto(routes.ORDERS)
    expect(page.get_by_test_id("clock-now")).not_to_have_text("")
    page.wait_for_load_state("networkidle")
    sent_before = len(frames.sent)
    clock = page.get_by_test_id("clock-now")
    for _ in range(3):  # three ticks of the clock on screen, each a new second
        shown = clock.inner_text()
        expect(clock).not_to_have_text(shown, timeout=3_000)
    assert frames.sent[sent_before:] == [], "an idle tab sent events to the server"
    shot(page, "live-idle-tab")
    page.context.close()


def test_a_change_by_another_process_reaches_only_the_tab_it_concerns(browser: Browser, app_server: str, db, shot):
    alice, alice_frames = _tab(browser, app_server, "alice")
    bob, bob_frames = _tab(browser, app_server, "bob")
    for page in (alice, bob):
        page.goto(routes.WALLET)
        expect(page.get_by_test_id("wallet-balance")).not_to_have_text("")
    shown = alice.get_by_test_id("wallet-balance").inner_text()
    bob_before = bob_frames.refreshes()

    with transaction(db) as s:  # another process: a top-up lands for alice
        wallet.topup(session=s, uid=uid_of(db, "alice"), amount_fen=12_300, clock=SystemClock())

    expect(alice.get_by_test_id("wallet-balance")).not_to_have_text(shown)
    assert alice_frames.refreshes() >= 1
    shot(alice, "live-topup-pushed")
    # bob's tab was not told: nothing of his changed (the listener has already handled the change,
    # since alice's tab has shown it)
    assert bob_frames.refreshes() == bob_before
    for page in (alice, bob):
        page.context.close()


def test_a_moved_demo_clock_reaches_every_open_tab(browser: Browser, app_server: str):
    alice, alice_frames = _tab(browser, app_server, "alice")
    bob, bob_frames = _tab(browser, app_server, "bob")
    bob.goto(routes.ORDERS)
    expect(bob.get_by_test_id("clock-now")).not_to_have_text("")
    day_of = lambda page: page.get_by_test_id("clock-now").inner_text()[:10]  # noqa: E731
    before = day_of(bob)
    alice.get_by_test_id("clock-advance-7d").click()
    expect(bob.get_by_test_id("clock-now")).not_to_have_text(re.compile("^" + re.escape(before)), timeout=20_000)
    assert bob_frames.refreshes() >= 1
    for page in (alice, bob):
        page.context.close()
