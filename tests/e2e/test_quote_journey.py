"""The order is the quote, in a browser: the product page and the confirm screen show the whole
quote; a merchant's price edit reaches the open confirm screen live, which says what changed; and
confirming orders at the price on screen or is refused with the new terms shown — never another
price. The merchant's edit is made through the service the console calls; the stored order is
read from the database."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from browser_support import go, login, toast
from helpers import merchant_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading, transaction
from bnpl_app.domain.clock import CST, FixedClock
from bnpl_app.domain.money import parse_yuan, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.clock import DbClock
from bnpl_app.models import Order, Product
from bnpl_app.services import checkout, merchant

PHONE = {"width": 390, "height": 844}
PRODUCT = "机械键盘"  # shop_digital, full / 3 / 6, a 15-day trial
ORDER_PAGE = re.compile(r"/orders/(\d+)/?$")


def _product(db) -> Product:
    with reading(db) as s:
        p = s.execute(sa.select(Product).where(Product.name == PRODUCT)).scalars().one()
        s.expunge_all()  # a plain detached row (the read session's rollback would expire it)
    return p


def _reprice(db, price_fen: int) -> None:
    """The merchant edits the price (another process, as the merchant console would)."""
    with transaction(db) as s:
        p = s.execute(sa.select(Product).where(Product.name == PRODUCT)).scalars().one()
        merchant.edit_product(session=s, merchant_id=merchant_of(db, "shop_digital"), product_id=p.id,
                              price_fen=price_fen, clock=FixedClock(DbClock(db).now()))


def _order(db, oid: int) -> Order:
    with reading(db) as s:
        o = s.get(Order, oid)
        s.expunge_all()
    return o


@pytest.fixture
def keyboard(db):
    """The product at its seeded price, and back to it afterwards (the demo is shared by the session)."""
    p = _product(db)
    yield p
    _reprice(db, p.price_fen)


def _to_confirm(page: Page, pid: int, plan: str) -> None:
    go(page, routes.product(pid))
    expect(page.get_by_test_id("eligibility-status")).to_have_attribute("data-eligible", "true")
    page.get_by_test_id(f"plan-option-{plan}").click()
    expect(page.get_by_test_id(f"plan-option-{plan}")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("buy-bnpl").click()
    expect(page).to_have_url(re.compile(re.escape(routes.CHECKOUT) + "/?$"))
    expect(page.get_by_test_id("checkout-due-now")).to_have_text(yuan(0))


def _settle(page: Page) -> None:
    """One tick of the open page after it loaded: from then on it hears of changes behind its back."""
    shown = page.get_by_test_id("clock-now").inner_text()
    expect(page.get_by_test_id("clock-now")).not_to_have_text(shown)


def _shown_at(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)


def test_a_price_edited_under_the_confirm_screen_is_shown_live_and_the_order_is_at_the_shown_price(
        page: Page, db, keyboard, shot):
    login(page, "alice")
    go(page, routes.product(keyboard.id))
    page.get_by_test_id("plan-option-3").click()
    first = checkout.Terms.of(keyboard, "3").periods[0]
    expect(page.get_by_test_id("schedule-preview")).to_contain_text(yuan(first.principal_fen))
    expect(page.get_by_test_id("quote-deduct-time")).to_contain_text("确认后 15 天")
    expect(page.get_by_test_id("quote-deduct-at")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    expect(page.get_by_test_id("quote-late-rule")).to_contain_text(f"逾期 {POLICY.grace_days} 天内为宽限期")
    expect(page.get_by_test_id("quote-method")).to_have_text("余额")
    shot(page, "quote-product-page")

    _to_confirm(page, keyboard.id, "3")
    line = page.get_by_test_id("cart-line")
    expect(line.get_by_test_id("quote-price")).to_have_text(yuan(keyboard.price_fen))
    expect(line.get_by_test_id("checkout-schedule").locator("tbody tr")).to_have_count(3)
    expect(line.get_by_test_id("terms-changed")).to_have_count(0)
    shot(page, "quote-confirm-before-edit")
    _settle(page)

    new_price = keyboard.price_fen + 5_000
    _reprice(db, new_price)
    expect(line.get_by_test_id("quote-price")).to_have_text(yuan(new_price))  # live, no reload by the shopper
    expect(line.get_by_test_id("terms-changed")).to_contain_text(
        f"价格由 {yuan(keyboard.price_fen)} 变为 {yuan(new_price)}")
    new_first = checkout.Terms.of(_product(db), "3").periods[0]
    expect(line.get_by_test_id("checkout-deduction-amount")).to_have_text(yuan(new_first.principal_fen + new_first.fee_fen))
    shot(page, "quote-confirm-price-changed-live")

    on_screen = parse_yuan(line.get_by_test_id("quote-price").inner_text())
    deduct_at = _shown_at(line.get_by_test_id("quote-deduct-at").inner_text())
    page.get_by_test_id("checkout-confirm").click()
    expect(page).to_have_url(ORDER_PAGE)
    order = _order(db, int(ORDER_PAGE.search(page.url).group(1)))
    assert order.price_fen == on_screen == new_price
    assert checkout.Terms.from_json(order.quote_json) == checkout.Terms.of(_product(db), "3")
    # the deduction time on screen is the one stored: confirm time + the trial, to the second
    assert order.trial_end_at - order.created_at == timedelta(days=15)
    assert abs((order.trial_end_at - deduct_at).total_seconds()) <= 5
    shot(page, "quote-ordered-at-shown-price")


def test_a_price_edited_at_the_moment_of_confirming_is_refused_with_the_new_terms_or_charged_as_shown(
        page: Page, db, keyboard, shot):
    login(page, "alice")
    _to_confirm(page, keyboard.id, "full")
    line = page.get_by_test_id("cart-line")
    expect(line.get_by_test_id("quote-price")).to_have_text(yuan(keyboard.price_fen))

    new_price = keyboard.price_fen + 10_000
    _reprice(db, new_price)
    page.get_by_test_id("checkout-confirm").click()  # at once: the edit may not have reached the screen
    refused = toast(page).filter(has_text="条款刚刚有变")
    expect(refused.or_(page.locator("[data-testid=order-detail]"))).to_be_visible()
    if not ORDER_PAGE.search(page.url):
        # refused, told what changed, and shown the new terms; nothing was ordered
        expect(refused).to_contain_text(f"价格由 {yuan(keyboard.price_fen)} 变为 {yuan(new_price)}")
        expect(line.get_by_test_id("quote-price")).to_have_text(yuan(new_price))
        expect(line.get_by_test_id("terms-changed")).to_be_visible()
        shot(page, "quote-confirm-refused-new-terms")
        page.get_by_test_id("checkout-confirm").click()
        expect(page).to_have_url(ORDER_PAGE)
    order = _order(db, int(ORDER_PAGE.search(page.url).group(1)))
    assert order.price_fen == new_price  # what was on screen when the order was made; never the old price


def test_the_quote_screens_fit_a_phone(page: Page, db, keyboard, shot):
    page.set_viewport_size(PHONE)
    login(page, "alice", lang="en")
    go(page, routes.product(keyboard.id))
    page.get_by_test_id("plan-option-6").click()
    expect(page.get_by_test_id("quote-deduct-time")).to_contain_text("15 days after you confirm")
    expect(page.get_by_test_id("quote-late-rule")).to_contain_text(f"Grace period {POLICY.grace_days} days")
    _assert_no_sideways_scroll(page)
    shot(page, "quote-phone-product")
    _settle(page)

    new_price = keyboard.price_fen + 500  # the merchant edits the price while the shopper reads the page
    _reprice(db, new_price)
    expect(page.get_by_test_id("product-price")).to_have_text(yuan(new_price))
    expect(page.get_by_test_id("terms-changed")).to_contain_text(
        f"the price changed from {yuan(keyboard.price_fen)} to {yuan(new_price)}")
    shot(page, "quote-phone-product-price-changed")
    page.get_by_test_id("buy-bnpl").click()
    expect(page.get_by_test_id("checkout-confirm")).to_be_visible()
    expect(page.get_by_test_id("quote-price")).to_have_text(yuan(new_price))
    expect(page.get_by_test_id("terms-changed")).to_have_count(0)  # bought on what the page showed
    expect(page.get_by_test_id("checkout-schedule").locator("tbody tr")).to_have_count(6)
    _assert_no_sideways_scroll(page)
    shot(page, "quote-phone-confirm")


def _assert_no_sideways_scroll(page: Page) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], f"{page.url} scrolls sideways: {sizes}"
