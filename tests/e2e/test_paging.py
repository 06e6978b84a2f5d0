"""Long lists a page at a time, in a browser: the catalog with 45 more products and a shop with
25 more orders are walked with next / previous, searched, and (orders) reloaded live while on
page 2 — the page stays, the figures follow. Products and orders are added through the real
services on the app's own database; screenshots at phone and desktop width in test-artifacts/."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from browser_support import go, login
from helpers import merchant_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Order, Product, User
from bnpl_app.services import checkout, merchant as merchant_svc
from bnpl_app.jobs.clock import DbClock

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MORE_PRODUCTS = 45
MORE_ORDERS = 25
IMAGES = ("tshirt", "jeans", "jacket", "sneakers", "earbuds")  # the demo's own pictures


def _add_products(db, n: int, *, bnpl: bool = False, price_fen: int = 1_990) -> list[int]:
    shop = merchant_of(db, "shop_fashion")
    with transaction(db) as s:
        return [merchant_svc.create_product(session=s, merchant_id=shop, name=f"测试商品 {k:02d}", category="测试",
                                            description="paging", price_fen=price_fen, stock=50, bnpl_enabled=bnpl,
                                            image=f"/products/{IMAGES[k % len(IMAGES)]}.svg", clock=DbClock(db)).id
                for k in range(n)]


def ids(page: Page, testid: str) -> list[str]:
    rows = page.get_by_test_id(testid)
    return [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]


def indicator(page: Page, n: int, m: int, k: int) -> None:
    expect(page.get_by_test_id("page-indicator")).to_have_text(f"第 {n} / {m} 页 · 共 {k} 条")


def test_catalog_walks_next_and_previous_and_a_search_starts_at_page_one(page: Page, db, shot):
    added = _add_products(db, MORE_PRODUCTS)
    with transaction(db) as s:
        total = s.execute(sa.select(sa.func.count()).select_from(Product)).scalar_one()
    pages = -(-total // POLICY.page_size)
    assert pages >= 3

    page.set_viewport_size(PHONE)
    go(page, routes.INDEX)
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(POLICY.page_size)
    indicator(page, 1, pages, total)
    expect(page.get_by_test_id("page-prev")).to_be_disabled()
    seen = [ids(page, "product-card")]
    shot(page, "paging-catalog-page1-phone")
    page.get_by_test_id("page-next").scroll_into_view_if_needed()
    shot(page, "paging-catalog-pager-phone")  # the pager itself, where a thumb reaches it

    for n in range(2, pages + 1):
        page.get_by_test_id("page-next").click()
        indicator(page, n, pages, total)
        expect(cards.first).not_to_have_attribute("data-id", seen[-1][0])
        seen.append(ids(page, "product-card"))
    expect(page.get_by_test_id("page-next")).to_be_disabled()
    assert len(seen[-1]) == total - (pages - 1) * POLICY.page_size
    flat = [x for p in seen for x in p]
    assert len(flat) == len(set(flat)) == total  # every product once
    assert {str(i) for i in added} <= set(flat)

    page.set_viewport_size(DESKTOP)
    page.get_by_test_id("page-prev").click()
    indicator(page, pages - 1, pages, total)
    assert ids(page, "product-card") == seen[-2]  # previous shows exactly the page before
    shot(page, "paging-catalog-previous-desktop")

    page.get_by_test_id("lang-switch").click()  # the indicator in the reader's language
    expect(page.get_by_test_id("page-indicator")).to_have_text(f"Page {pages - 1} of {pages} · {total} in all")
    expect(page.get_by_test_id("page-next")).to_have_text("Next")
    page.get_by_test_id("lang-switch").click()
    indicator(page, pages - 1, pages, total)

    page.get_by_test_id("catalog-search").fill("测试商品 07")
    expect(cards).to_have_count(1)
    expect(page.get_by_test_id("page-indicator")).to_have_count(0)  # one page: no pager
    expect(cards.first).to_contain_text("测试商品 07")
    page.get_by_test_id("catalog-search").fill("测试商品")
    indicator(page, 1, -(-MORE_PRODUCTS // POLICY.page_size), MORE_PRODUCTS)
    shot(page, "paging-catalog-search-desktop")


def test_merchant_orders_page_search_and_a_live_reload_keeps_page_two(page: Page, db, shot):
    pid = _add_products(db, 1, bnpl=True, price_fen=100)[0]
    with transaction(db) as s:
        alice = s.execute(sa.select(User.id).where(User.username == "alice")).scalar_one()

    def order() -> int:
        with transaction(db) as s:
            return checkout.checkout(session=s, uid=alice, product_id=pid, plan="full", idempotency_key=uuid.uuid4().hex,
                                     clock=DbClock(db)).id

    oids = [order() for _ in range(MORE_ORDERS)]
    shop = merchant_of(db, "shop_fashion")
    with transaction(db) as s:
        total = s.execute(sa.select(sa.func.count()).select_from(Order).where(Order.merchant_id == shop)).scalar_one()
    pages = -(-total // POLICY.page_size)

    login(page, "shop_fashion")
    page.set_viewport_size(DESKTOP)
    go(page, routes.MERCHANT_ORDERS)
    rows = page.get_by_test_id("merchant-order-row")
    expect(rows).to_have_count(POLICY.page_size)
    assert ids(page, "merchant-order-row")[:3] == [str(o) for o in sorted(oids, reverse=True)[:3]]  # newest first
    indicator(page, 1, pages, total)
    first = ids(page, "merchant-order-row")
    page.get_by_test_id("page-next").click()
    indicator(page, 2, pages, total)
    second = ids(page, "merchant-order-row")
    assert not set(first) & set(second)
    shot(page, "paging-merchant-orders-page2-desktop")

    # Someone orders while the merchant is on page 2: the live reload keeps page 2, the count follows.
    newest = order()
    indicator(page, 2, -(-(total + 1) // POLICY.page_size), total + 1)
    assert ids(page, "merchant-order-row") == second
    page.get_by_test_id("page-prev").click()
    indicator(page, 1, -(-(total + 1) // POLICY.page_size), total + 1)
    expect(rows.first).to_have_attribute("data-id", str(newest))

    page.set_viewport_size(PHONE)
    search = page.get_by_test_id("list-search")
    search.fill(f"#{oids[3]}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(oids[3]))
    expect(page.get_by_test_id("page-indicator")).to_have_count(0)
    shot(page, "paging-merchant-orders-search-phone")
    search.fill("Alice")
    expect(page.get_by_test_id("page-indicator")).to_contain_text(re.compile(r"第 1 / \d+ 页"))
    page.get_by_test_id("page-next").scroll_into_view_if_needed()
    shot(page, "paging-merchant-orders-pager-phone")
