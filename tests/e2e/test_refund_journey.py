"""Returns within the trial are a right, paid or not; consent belongs to the shopper — in a browser.

(1) A shopper pays now during the trial, sends the parcel back; the merchant signs it intact on the
returns desk; the refund shows in the shopper's wallet (money movements, balance back) and in the
merchant's settlement (``settlement-refunds``). (2) A suspended shopper turns 先用后付 off on the
credit page and is told to apply for restoration before turning it back on.

Each journey has shoppers of its own (registered through the services, logged in through the
form), so the demo accounts other journeys use are left as they were."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from browser_support import go, login, row, toast
from helpers import merchant_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading, transaction
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.clock import DbClock
from bnpl_app.models import (
    BNPL_CLOSED,
    BNPL_SUSPENDED,
    CreditAccount,
    InstallmentStatus as IS,
    Order,
    OrderStatus as OS,
    Product,
    User,
)
from bnpl_app.services import auth, checkout, console, consent, credit, orders, wallet

PASSWORD = "refund-journey-1"
CA = CreditAccount.__table__


def new_shopper(db, *, wallet_fen: int = 0) -> tuple[str, int]:
    """A verified shopper (score 700) with 先用后付 opened on the current terms."""
    clock = DbClock(db)
    name = "rf" + uuid.uuid4().hex[:10]
    with transaction(db) as s:
        u = auth.register(session=s, username=name, password=PASSWORD, display_name="Refund 测试", clock=clock)
        s.execute(sa.update(User.__table__).where(User.__table__.c.id == u.id)
                  .values(real_name_verified=True, phone="13900000000"))
        s.execute(sa.update(CA).where(CA.c.user_id == u.id).values(score=700))
        consent.open_bnpl(session=s, uid=u.id, accept_terms=True, terms_version=POLICY.terms_version, clock=clock)
        if wallet_fen:
            wallet.topup(session=s, uid=u.id, amount_fen=wallet_fen, clock=clock)
        return name, u.id


def log_in(page: Page, username: str) -> None:
    go(page, routes.LOGIN)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()


def test_refund_pay_now_then_return_signed_intact_shows_in_wallet_and_settlement(page: Page, db, shot, browser, app_server):
    shop = merchant_of(db, "shop_fashion")
    with reading(db) as s:
        tee = s.execute(sa.select(Product).where(Product.name == "纯棉T恤")).scalar_one()
        price, product_id = tee.price_fen, tee.id
        refunds_before = console.settlement_totals(session=s, merchant_id=shop).refunds_fen
    name, uid = new_shopper(db, wallet_fen=2 * price)
    with transaction(db) as s:
        oid = checkout.checkout(session=s, uid=uid, product_id=product_id, plan="full", idempotency_key=uuid.uuid4().hex,
                                clock=DbClock(db)).id

    # the shopper pays now, then sends it back within the trial
    log_in(page, name)
    go(page, routes.order(oid))
    page.get_by_test_id("order-pay-now").click()
    expect(page.get_by_test_id("order-status").first).to_have_text("已付清")
    expect(page.get_by_test_id("order-return")).to_be_visible()  # paid early: the return right stays
    shot(page, "refund-1-paid-now-return-still-offered")
    page.get_by_test_id("order-return").click()
    page.get_by_test_id("return-tracking-input").fill("SF2026111101")
    page.get_by_test_id("return-submit").click()
    expect(page.get_by_test_id("hold-step").filter(has_text="退货已寄出")).to_be_visible()
    with reading(db) as s:
        assert s.get(Order, oid).status == OS.PAID
        rid = s.execute(sa.select(orders.RET.c.id).where(orders.RET.c.order_id == oid)).scalar_one()

    # the merchant receives it and signs it intact
    merchant = browser.new_page(base_url=app_server)
    login(merchant, "shop_fashion")
    go(merchant, routes.MERCHANT_RETURNS)
    r = row(merchant, "return-row", rid)
    r.get_by_test_id("return-receive").click()
    expect(r).to_have_attribute("data-status", "RECEIVED")
    r.get_by_test_id("inspect-accept").click()
    expect(toast(merchant)).to_contain_text(f"已退款 {yuan(price)}")
    expect(r).to_have_attribute("data-status", "ACCEPTED")
    shot(merchant, "refund-2-merchant-signed-intact")

    # the merchant's settlement shows the refund, and still equals the journal
    go(merchant, routes.MERCHANT_SETTLEMENT)
    expect(merchant.get_by_test_id("settlement-refunds")).to_have_text(yuan(refunds_before + price))
    expect(merchant.get_by_test_id("settlement-ledger-ok")).to_be_visible()
    shot(merchant, "refund-3-settlement-refunds")
    merchant.context.close()

    # the shopper sees the money come back: wallet balance, the movement, the timeline, the inbox
    go(page, routes.WALLET)
    expect(page.get_by_test_id("wallet-balance")).to_have_text(yuan(2 * price))
    movement = page.locator('[data-testid="money-movement"][data-kind="refund"]').first
    expect(movement).to_contain_text("+" + yuan(price))
    expect(movement).to_contain_text("退款")
    shot(page, "refund-4-wallet-shows-refund")
    go(page, routes.order(oid))
    expect(page.get_by_test_id("order-status").first).to_have_text("已退货")
    expect(page.get_by_test_id("hold-step").filter(has_text="已退款")).to_contain_text(yuan(price))
    shot(page, "refund-5-order-timeline")
    go(page, routes.INBOX)
    expect(page.locator('[data-kind="refund"]').first).to_contain_text(yuan(price))
    shot(page, "refund-6-inbox")
    with reading(db) as s:
        statuses = s.execute(sa.select(orders.INST.c.status).where(orders.INST.c.order_id == oid)).scalars().all()
    assert statuses == [IS.REFUNDED]


def test_refund_journey_a_suspended_shopper_closes_bnpl_on_the_credit_page(page: Page, db, shot):
    name, uid = new_shopper(db)
    clock = DbClock(db)
    with transaction(db) as s:  # what the sweep does at 30 days overdue (the demo clock stays where it is)
        at = clock.now()
        limit = credit.account(session=s, uid=uid).limit_fen
        s.execute(sa.update(CA).where(CA.c.user_id == uid).values(restorable_limit_fen=limit))
        credit.set_limit(session=s, uid=uid, new_limit=0, reason=credit.reason_of("cr.suspended", days=30), at=at)
        credit.set_status(session=s, uid=uid, status=BNPL_SUSPENDED, reason=credit.reason_of("cr.suspended", days=30), at=at)

    log_in(page, name)
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已暂停")
    shot(page, "consent-1-suspended-can-close")
    page.get_by_test_id("bnpl-close").click()
    expect(toast(page)).to_contain_text("先用后付已关闭")
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已关闭")
    expect(page.get_by_test_id("bnpl-restore-first")).to_be_visible()  # not the terms: a restoration first
    expect(page.get_by_test_id("bnpl-open")).to_have_count(0)
    shot(page, "consent-2-closed-apply-for-restoration")
    with reading(db) as s:
        a = credit.account(session=s, uid=uid)
        assert (a.bnpl_status, a.limit_fen, a.restorable_limit_fen) == (BNPL_CLOSED, 0, limit)
