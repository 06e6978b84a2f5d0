"""备用金 in a browser: alice applies for a line, draws on the quote the screen shows (rate, APR,
the whole schedule, total interest) to her card, a week passes, and repaying early shows the
interest saved before she confirms — and gives the line back. The amounts on screen are checked
against the services on the app's database; screenshots go to docs/screenshots/cash-*.png (and
test-artifacts/), at desktop and phone width."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from browser_support import go, login, toast
from helpers import uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading
from bnpl_app.domain.clock import FixedClock
from bnpl_app.domain.money import parse_yuan, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.clock import DbClock
from bnpl_app.models import CashDraw
from bnpl_app.services import cash

PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _doc(page: Page, shot, name: str) -> None:
    """The screenshot in test-artifacts/ and, for the README, in docs/screenshots/."""
    shot(page, name)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=DOCS / f"{name}.png", full_page=True)


def _dismiss(page: Page) -> None:
    if toast(page).count():
        toast(page).click()
        expect(toast(page)).to_have_count(0)


def test_apply_draw_to_a_card_and_repay_early_with_the_saving_shown(page: Page, db, shot):
    line = POLICY.cash_line_for(720)
    login(page, "alice")
    page.get_by_test_id("nav-cash").click()
    expect(page.get_by_test_id("cash-apply")).to_be_enabled()
    page.get_by_test_id("cash-apply").click()
    expect(page.get_by_test_id("cash-line")).to_have_text(yuan(line))
    expect(page.get_by_test_id("cash-available")).to_have_text(yuan(line))

    page.get_by_test_id("cash-draw-amount").fill("3000")
    page.get_by_test_id("cash-draw-term").select_option("6")
    page.get_by_test_id("cash-draw-quote").click()
    quote = page.get_by_test_id("cash-quote")
    expect(quote.get_by_test_id("cash-quote-rate")).to_have_text("0.04%")
    expect(quote.get_by_test_id("cash-quote-apr")).to_contain_text("14.6%")
    expect(quote.get_by_test_id("cash-quote-schedule").locator("tbody tr")).to_have_count(6)
    expect(quote.get_by_test_id("cash-quote-late-rule")).to_contain_text(f"{POLICY.grace_days} 天内为宽限期")
    shown_interest = parse_yuan(quote.get_by_test_id("cash-quote-interest").inner_text())
    _dismiss(page)
    _doc(page, shot, "cash-quote")

    page.get_by_test_id("cash-draw-confirm").click()
    expect(toast(page)).to_contain_text("借款成功")
    expect(page.get_by_test_id("cash-available")).to_have_text(yuan(line - 300_000))
    uid = uid_of(db, "alice")
    with reading(db) as s:
        d = s.execute(sa.select(CashDraw).where(CashDraw.user_id == uid)).scalars().one()
        assert (d.amount_fen, d.term_months, d.interest_fen) == (300_000, 6, shown_interest)  # the quote on screen
        draw_id = d.id
    row = page.locator(f'[data-testid="cash-draw-row"][data-id="{draw_id}"]')
    expect(row).to_be_visible()
    _dismiss(page)
    _doc(page, shot, "cash-page")

    page.get_by_test_id("clock-advance-7d").click()  # a week passes
    expect(toast(page)).to_contain_text("时间已前进", timeout=60_000)
    _dismiss(page)
    row.get_by_test_id("cash-repay-open").click()
    expect(row.get_by_test_id("cash-repay-amount")).to_have_value("300000")  # all of it
    row.get_by_test_id("cash-repay-quote").click()
    saving = row.get_by_test_id("cash-repay-saving")
    expect(saving).not_to_have_text("")
    with reading(db) as s:
        q = cash.early_quote(session=s, uid=uid, draw_id=draw_id, amount_fen=300_000,
                             clock=FixedClock(DbClock(db).now()))
    assert 0 < q.saving_fen < shown_interest and q.interest_fen > 0  # a week's interest, not six months'
    expect(saving).to_have_text(yuan(q.saving_fen))
    expect(row.get_by_test_id("cash-repay-total")).to_have_text(yuan(q.total_fen))
    _doc(page, shot, "cash-saving")

    row.get_by_test_id("cash-repay-confirm").click()
    expect(toast(page)).to_contain_text("提前还款成功")
    expect(page.get_by_test_id("cash-available")).to_have_text(yuan(line))  # the line is whole again
    expect(row.get_by_test_id("cash-draw-status")).to_have_text("已还清")

    page.set_viewport_size(PHONE)
    go(page, routes.CASH)
    expect(page.get_by_test_id("cash-line")).to_have_text(yuan(line))
    _dismiss(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at phone width"
    _doc(page, shot, "cash-page-phone")
