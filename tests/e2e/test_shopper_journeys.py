"""The shopper's journeys in a browser, each from the seeded demo: opening 先用后付 and being
deducted at trial end, returns accepted and rejected, an overdue bill with its consequences,
restoration with a proof upload, a refusal that names every failing rule, early repayment,
phones, and somebody else's order. Merchant and operator decisions are made by calling the same
services the consoles call; the database is checked directly where the page cannot show it."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from browser_support import go, login, row, toast
from helpers import png, uid_of
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading, transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.domain.money import parse_yuan, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    Application,
    ApplicationProof,
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    ReturnRequest,
)
from bnpl_app.services import applications, bills, checkout, eligibility, orders, uploads
from bnpl_app.jobs.clock import DbClock

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# ── helpers ──────────────────────────────────────────────────────────────────────────────────
def now_clock(db) -> FixedClock:
    """The app's simulated now, held still for one service call."""
    return FixedClock(DbClock(db).now())


def scalar(db, stmt):
    with reading(db) as s:
        return s.execute(stmt).scalar_one()


def rows_of(db, stmt) -> list:
    """Rows as plain detached objects (a read session's rollback would expire them)."""
    with reading(db) as s:
        found = list(s.execute(stmt).scalars())
        s.expunge_all()
    return found


def product_of(db, name: str) -> Product:
    return rows_of(db, sa.select(Product).where(Product.name == name))[0]


def account(db, username: str) -> CreditAccount:
    return rows_of(db, sa.select(CreditAccount).where(CreditAccount.user_id == uid_of(db, username)))[0]


def order_of(db, username: str, product: str) -> Order:
    return rows_of(db, sa.select(Order).where(Order.shopper_id == uid_of(db, username), Order.product_name == product)
                   .order_by(Order.id.desc()))[0]


def installments(db, order_id: int) -> list[Installment]:
    return rows_of(db, sa.select(Installment).where(Installment.order_id == order_id).order_by(Installment.seq))


def fen(text: str) -> int:
    return parse_yuan(text.strip(), allow_zero=True)


def dismiss(page: Page) -> None:
    """Clear a toast still on screen, so the next one is really new."""
    if toast(page).count():
        try:
            toast(page).click(timeout=2_000)
        except PlaywrightTimeoutError:
            pass  # it cleared itself (toasts expire) between the count and the click
        expect(toast(page)).to_have_count(0)


def settle(page: Page) -> None:
    """Wait for one tick of the open page after it loaded: from then on it notices any change made
    behind its back (a merchant's or an operator's decision) and reloads itself."""
    shown = page.get_by_test_id("clock-now").inner_text()
    expect(page.get_by_test_id("clock-now")).not_to_have_text(shown)


def advance(page: Page, step: str) -> None:
    """Move the demo clock with its button; everything that fell due has run when the toast says so."""
    dismiss(page)
    page.get_by_test_id(f"clock-advance-{step}").click()
    expect(toast(page)).to_contain_text("时间已前进", timeout=60_000)


def buy(page: Page, product_id: int, plan: str) -> int:
    """From the product page to a placed ¥0 order; returns its id (the order page opens)."""
    go(page, routes.product(product_id))
    expect(page.get_by_test_id("eligibility-status")).to_have_attribute("data-eligible", "true")
    page.get_by_test_id(f"plan-option-{plan}").click()
    expect(page.get_by_test_id(f"plan-option-{plan}")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("buy-bnpl").click()
    expect(page).to_have_url(re.compile(re.escape(routes.CHECKOUT) + "$"))
    expect(page.get_by_test_id("checkout-due-now")).to_have_text(yuan(0))
    page.get_by_test_id("checkout-confirm").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def no_sideways_scroll(page: Page) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], f"{page.url} scrolls sideways: {sizes}"


# ── 1 ───────────────────────────────────────────────────────────────────────────────────────
def test_1_fiona_opens_bnpl_buys_for_zero_and_is_deducted_when_the_trial_ends(page: Page, db, shot):
    login(page, "fiona")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("bnpl-status")).to_have_text("未开通")
    terms = page.get_by_test_id("bnpl-terms")
    for number in (f"{POLICY.trial_days_min}–{POLICY.trial_days_max}", f"{POLICY.grace_days} 天", "0.6%", "0.05%", "24%",
                   f"{POLICY.suspend_after_days} 天"):
        expect(terms).to_contain_text(number)
    expect(page.get_by_test_id("bnpl-open")).to_be_disabled()  # the terms must be accepted first
    page.get_by_test_id("terms-accept").click()
    page.get_by_test_id("bnpl-open").click()
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已开通")
    limit = POLICY.start_limit(account(db, "fiona").score)
    expect(page.get_by_test_id("credit-limit")).to_have_text(yuan(limit))
    assert account(db, "fiona").terms_version == POLICY.terms_version

    tshirt = product_of(db, "纯棉T恤")
    oid = buy(page, tshirt.id, "full")
    expect(page.get_by_test_id("order-status")).to_have_text("试用中")
    expect(page.get_by_test_id("order-countdown")).to_have_text(re.compile(r"^\d+天 \d\d:\d\d:\d\d$"))
    expect(page.get_by_test_id("order-deduction-amount")).to_have_text(yuan(tshirt.price_fen))
    shot(page, "j1-fiona-order-in-trial")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-frozen")).to_have_text(yuan(tshirt.price_fen))
    expect(page.get_by_test_id("credit-available")).to_have_text(yuan(limit - tshirt.price_fen))

    advance(page, "7d")  # past the end of the trial
    go(page, routes.order(oid))
    expect(page.get_by_test_id("order-status")).to_have_text("已付清")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-frozen")).to_have_text(yuan(0))
    expect(page.get_by_test_id("credit-available")).to_have_text(page.get_by_test_id("credit-limit").inner_text())
    go(page, routes.INBOX)
    expect(page.locator('[data-testid="notice-row"][data-kind="reminder"]').first).to_be_visible()
    deducted = page.locator('[data-testid="notice-row"][data-kind="deducted"]')
    expect(deducted).to_have_count(1)
    expect(deducted).to_contain_text(yuan(tshirt.price_fen))
    shot(page, "j1-fiona-inbox-after-deduction")


# ── 2 ───────────────────────────────────────────────────────────────────────────────────────
def _return_from_page(page: Page, oid: int) -> None:
    go(page, routes.order(oid))
    page.get_by_test_id("order-return").click()
    page.get_by_test_id("return-tracking-input").fill("SF1234567890")
    page.get_by_test_id("return-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("退货寄回中")


def _receive(db, oid: int) -> ReturnRequest:
    with transaction(db) as s:
        ret = s.execute(sa.select(ReturnRequest).where(ReturnRequest.order_id == oid)).scalar_one()
        return orders.mark_received(session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=now_clock(db))


def test_2_alice_returns_an_order_and_the_frozen_amount_is_released(page: Page, db, shot):
    order = order_of(db, "alice", "轻薄羽绒服")
    assert order.status == OS.TRIAL
    frozen_before = account(db, "alice").frozen_fen
    login(page, "alice")
    _return_from_page(page, order.id)
    settle(page)

    ret = _receive(db, order.id)
    with transaction(db) as s:
        orders.accept_return(session=s, merchant_id=ret.merchant_id, return_id=ret.id, clock=now_clock(db))

    # The open page follows on its own (the one-second tick sees the change).
    expect(page.get_by_test_id("order-status")).to_have_text("已退货")
    steps = page.get_by_test_id("hold-step")
    assert steps.evaluate_all("els => els.map(e => e.dataset.step)") == [
        "frozen", "return_shipped", "received", "inspected", "released"]
    expect(page.locator('[data-testid="hold-step"][data-step="released"]')).to_contain_text(yuan(order.price_fen))
    shot(page, "j2-alice-return-accepted")
    assert account(db, "alice").frozen_fen == frozen_before - order.price_fen
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-frozen")).to_have_text(yuan(frozen_before - order.price_fen))


# ── 3 ───────────────────────────────────────────────────────────────────────────────────────
def test_3_a_damaged_return_is_rejected_with_a_photo_and_the_price_is_deducted_without_late_fee(page: Page, db, shot):
    order = order_of(db, "alice", "轻薄羽绒服")
    login(page, "alice")
    _return_from_page(page, order.id)
    advance(page, "7d")  # the trial's end passes while the parcel travels: nothing is deducted
    assert {i.status for i in installments(db, order.id)} == {IS.PENDING}

    ret = _receive(db, order.id)
    photos = uploads.store_many([("box.png", png())], allowed=uploads.IMAGE_TYPES)
    reason = "外包装浸水，商品受潮"
    with transaction(db) as s:
        orders.reject_return(session=s, merchant_id=ret.merchant_id, return_id=ret.id, reason=reason,
                             photos=[(p.stored_name, p.content_type, p.size) for p in photos], clock=now_clock(db))
    go(page, routes.order(order.id))
    expect(page.get_by_test_id("inspection-reason")).to_contain_text(reason)
    photo = page.get_by_test_id("inspection-photo")
    expect(photo).to_have_count(1)
    expect(photo).to_have_attribute("src", re.compile(re.escape(photos[0].stored_name)))
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0  # the photo really loads
    shot(page, "j3-alice-return-rejected")

    advance(page, "7d")  # the next sweep announces what the ended trial owes; it is taken a day later
    first, *rest = installments(db, order.id)
    assert first.status == IS.PAID and first.paid_fen == first.principal_fen + first.fee_fen
    assert all(i.late_fee_fen == 0 and not i.penalized for i in (first, *rest))
    go(page, routes.order(order.id))
    expect(page.get_by_test_id("order-status")).to_have_text("待还款")
    go(page, routes.BILLS)
    paid = row(page, "installment-row", first.id)
    expect(paid.get_by_test_id("installment-status")).to_have_text("已付清")
    expect(paid.get_by_test_id("late-fee")).to_have_text(yuan(0))
    shot(page, "j3-alice-bills-no-late-fee")


# ── 4 ───────────────────────────────────────────────────────────────────────────────────────
def test_4_bob_cannot_cover_a_deduction_goes_overdue_is_charged_and_repays(page: Page, db, shot):
    bob = uid_of(db, "bob")
    # Bob spends most of his wallet on two orders he pays for during their trials.
    for name in ("休闲运动鞋", "直筒牛仔裤"):
        with transaction(db) as s:
            o = checkout.checkout(session=s, uid=bob, product_id=product_of(db, name).id, plan="full",
                                  idempotency_key=uuid.uuid4().hex, clock=now_clock(db))
        with transaction(db) as s:
            orders.pay_now(session=s, uid=bob, order_id=o.id, clock=now_clock(db))
    with reading(db) as s:
        balance = s.execute(sa.select(PaymentMethod.balance_fen).where(PaymentMethod.user_id == bob)).scalar_one()
    tshirt = product_of(db, "纯棉T恤")
    assert balance < tshirt.price_fen
    before = account(db, "bob")

    login(page, "bob")
    oid = buy(page, tshirt.id, "full")
    advance(page, "7d")  # the trial ends and the wallet cannot cover it
    go(page, routes.BILLS)
    inst = installments(db, oid)[0]
    line = row(page, "installment-row", inst.id)
    expect(line.get_by_test_id("installment-status")).to_have_text("已逾期")
    expect(line.get_by_test_id("late-fee")).to_have_text(yuan(0))  # still within the grace period
    expect(page.get_by_test_id("dry-run-not-covered").first).to_be_visible()

    advance(page, "7d")  # grace is over: penalty, then a late fee per day
    after = account(db, "bob")
    assert after.score == before.score - POLICY.overdue_score_penalty
    assert after.limit_fen == before.limit_fen // POLICY.overdue_limit_divisor
    assert after.bnpl_status == "active"  # < 30 days overdue: not suspended
    go(page, routes.BILLS)
    inst = installments(db, oid)[0]
    assert inst.late_fee_fen > 0
    expect(line.get_by_test_id("late-fee")).to_have_text(yuan(inst.late_fee_fen))
    shot(page, "j4-bob-overdue-bills")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-score")).to_have_text(str(after.score))
    expect(page.get_by_test_id("credit-limit")).to_have_text(yuan(after.limit_fen))
    shot(page, "j4-bob-credit-cut")

    go(page, routes.WALLET)
    page.get_by_test_id("wallet-topup-input").fill("100")
    page.get_by_test_id("wallet-topup-submit").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text(yuan(balance + 10_000))
    go(page, routes.BILLS)
    owed = installments(db, oid)[0]
    expect(line.get_by_test_id("repay-button")).to_contain_text(yuan(owed.principal_fen + owed.late_fee_fen))
    line.get_by_test_id("repay-button").click()
    expect(toast(page)).to_contain_text("还款成功")
    expect(line.get_by_test_id("installment-status")).to_have_text("已付清")
    shot(page, "j4-bob-repaid")
    final = account(db, "bob")
    assert final.outstanding_fen == 0
    assert final.limit_fen == after.limit_fen  # paying off does not restore a cut limit by itself
    assert final.restorable_limit_fen == before.limit_fen
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已开通")
    expect(page.get_by_test_id("restore-apply")).to_be_visible()
    go(page, routes.INBOX)
    for kind in ("failed", "penalty", "late_fee"):
        expect(page.locator(f'[data-testid="notice-row"][data-kind="{kind}"]').first).to_be_visible()


# ── 5 ───────────────────────────────────────────────────────────────────────────────────────
def test_5_dave_applies_for_restoration_with_a_proof_and_gets_his_limit_back(page: Page, db, shot):
    dave = account(db, "dave")
    assert dave.bnpl_status == "suspended" and dave.restorable_limit_fen
    login(page, "dave")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已暂停")
    page.get_by_test_id("restore-apply").click()
    page.get_by_test_id("application-statement").fill("已于上月还清全部欠款，附还款凭证。")
    page.get_by_test_id("application-proof-upload").set_input_files(
        [{"name": "还款凭证.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(page.get_by_test_id("proof-selected")).to_have_count(1)
    shot(page, "j5-dave-restoration-form")
    page.get_by_test_id("application-submit").click()
    expect(toast(page)).to_contain_text("申请已提交")
    app_row = page.get_by_test_id("application-row")
    expect(app_row).to_have_count(1)
    expect(app_row.get_by_test_id("application-status")).to_have_text("审核中")

    [app] = rows_of(db, sa.select(Application).where(Application.shopper_id == dave.user_id))
    [proof] = rows_of(db, sa.select(ApplicationProof).where(ApplicationProof.application_id == app.id))
    assert app.kind == "restoration" and app.status == "PENDING"
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", proof.stored_name)  # a generated name, never the client's
    assert proof.content_type == "application/pdf"
    assert uploads.path_of(proof.stored_name).read_bytes() == PDF

    settle(page)
    with transaction(db) as s:
        applications.approve_restoration(session=s, operator_id=uid_of(db, "ops"), application_id=app.id,
                                         limit_fen=dave.restorable_limit_fen, clock=now_clock(db))
    expect(app_row.get_by_test_id("application-status")).to_have_text("已通过")  # the open page follows
    expect(page.get_by_test_id("credit-limit")).to_have_text(yuan(dave.restorable_limit_fen))
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已开通")
    shot(page, "j5-dave-restored")
    go(page, routes.INBOX)
    approved = page.locator('[data-testid="notice-row"][data-kind="app_approved"]')
    expect(approved).to_have_count(1)
    expect(approved).to_contain_text(yuan(dave.restorable_limit_fen))
    expect(approved).to_have_attribute("data-unread", "true")
    approved.get_by_test_id("notice-mark-read").click()
    expect(approved).to_have_attribute("data-unread", "false")
    shot(page, "j5-dave-inbox")


# ── 6 ───────────────────────────────────────────────────────────────────────────────────────
def test_6_erin_sees_every_rule_she_fails_and_no_bnpl_button_works(page: Page, db, shot):
    erin = uid_of(db, "erin")
    login(page, "erin")
    for name in ("纯棉T恤", "智能手表"):
        product = product_of(db, name)
        with reading(db) as s:
            expected = eligibility.check(session=s, uid=erin, product=product).rules
        assert "platform_score" in expected
        go(page, routes.product(product.id))
        expect(page.get_by_test_id("eligibility-status")).to_have_attribute("data-eligible", "false")
        reasons = page.get_by_test_id("eligibility-reason")
        expect(reasons).to_have_count(len(expected))
        assert reasons.evaluate_all("els => els.map(e => e.dataset.rule)") == expected
        expect(reasons.first).to_contain_text(str(POLICY.platform_min_score))
        expect(page.get_by_test_id("buy-bnpl")).to_be_disabled()
        expect(page.get_by_test_id("add-to-cart")).to_be_disabled()
    shot(page, "j6-erin-not-eligible")
    go(page, routes.CREDIT)
    page.get_by_test_id("terms-accept").click()
    page.get_by_test_id("bnpl-open").click()
    expect(toast(page)).to_contain_text(str(POLICY.platform_min_score))
    expect(page.get_by_test_id("bnpl-status")).to_have_text("未开通")
    shot(page, "j6-erin-cannot-open")
    with reading(db) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Order).where(Order.shopper_id == erin)).scalar_one() == 0


# ── 7 ───────────────────────────────────────────────────────────────────────────────────────
def test_7_alice_repays_three_installments_early_and_saves_exactly_the_fees_shown(page: Page, db, shot):
    jeans = product_of(db, "直筒牛仔裤")
    assert not jeans.interest_free and "3" in jeans.allowed_plans
    login(page, "alice")
    oid = buy(page, jeans.id, "3")
    advance(page, "7d")  # the trial ends: the order is billed and its first installment taken
    assert [i.status for i in installments(db, oid)] == [IS.PAID, IS.SCHEDULED, IS.SCHEDULED]

    go(page, routes.BILLS)
    offer = row(page, "early-repay-row", oid)
    saving_text = offer.get_by_test_id("early-repay-saving").inner_text()
    with reading(db) as s:
        quote = bills.early_quote(session=s, uid=uid_of(db, "alice"), order_id=oid, clock=DbClock(db))
    assert fen(saving_text) == quote.saving_fen > 0
    expect(offer.get_by_test_id("early-repay")).to_contain_text(yuan(quote.total_fen))
    shot(page, "j7-alice-early-repay-offer")
    offer.get_by_test_id("early-repay").click()
    expect(toast(page)).to_contain_text("已提前还清")
    insts = installments(db, oid)
    assert all(i.status == IS.PAID for i in insts)
    assert sum(i.fee_waived_fen for i in insts) == fen(saving_text)
    expect(offer).to_have_count(0)
    go(page, routes.order(oid))
    expect(page.get_by_test_id("order-status")).to_have_text("已付清")
    shot(page, "j7-alice-order-paid")


# ── 8 ───────────────────────────────────────────────────────────────────────────────────────
def test_8_shopping_pages_fit_a_phone_without_sideways_scrolling(page: Page, db, shot):
    page.set_viewport_size(PHONE)
    login(page, "alice")
    watch = product_of(db, "智能手表")
    order = order_of(db, "alice", "轻薄羽绒服")
    go(page, routes.INDEX)
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "j8-phone-catalog")
    go(page, routes.product(watch.id))
    page.get_by_test_id("plan-option-12").click()
    expect(page.get_by_test_id("schedule-preview")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "j8-phone-product")
    page.get_by_test_id("buy-bnpl").click()
    expect(page.get_by_test_id("checkout-confirm")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "j8-phone-confirm")
    go(page, routes.order(order.id))
    expect(page.get_by_test_id("order-countdown")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, "j8-phone-order")


# ── 9 ───────────────────────────────────────────────────────────────────────────────────────
def test_9_alice_cannot_open_bobs_order_by_its_address(page: Page, db, shot):
    with transaction(db) as s:
        bobs = checkout.checkout(session=s, uid=uid_of(db, "bob"), product_id=product_of(db, "纯棉T恤").id, plan="full",
                                 idempotency_key=uuid.uuid4().hex, clock=now_clock(db)).id
    login(page, "alice")
    go(page, routes.order(bobs))
    expect(page.get_by_text("找不到该页面或记录")).to_be_visible()
    expect(page.get_by_test_id("order-detail")).to_have_count(0)
    expect(page.get_by_text("纯棉T恤")).to_have_count(0)
    shot(page, "j9-alice-not-found")
    go(page, routes.ORDERS)
    expect(page.get_by_test_id("order-row").first).to_be_visible()
    expect(row(page, "order-row", bobs)).to_have_count(0)


# ── 10 ──────────────────────────────────────────────────────────────────────────────────────
def test_10_carol_long_overdue_asks_for_a_hardship_plan_with_proof(page: Page, db, shot):
    login(page, "carol")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("hardship-apply")).to_have_count(0)  # 10 days overdue: not yet
    for _ in range(3):
        advance(page, "7d")
    assert account(db, "carol").bnpl_status == "suspended"
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("bnpl-status")).to_have_text("已暂停")
    page.get_by_test_id("hardship-apply").click()
    expect(page.get_by_test_id("application-form")).to_have_attribute("data-kind", "hardship")
    page.get_by_test_id("hardship-reason").select_option("unemployment")
    page.get_by_test_id("hardship-installments").fill("6")
    page.get_by_test_id("application-statement").fill("十月失业，目前在找工作，希望分 6 期还清。")
    page.get_by_test_id("application-proof-upload").set_input_files(
        [{"name": "失业证明.png", "mimeType": "image/png", "buffer": png()}])
    expect(page.get_by_test_id("proof-selected")).to_have_text("失业证明.png")
    shot(page, "j10-carol-hardship-form")
    page.get_by_test_id("application-submit").click()
    expect(toast(page)).to_contain_text("申请已提交")
    expect(page.get_by_test_id("application-form")).to_have_count(0)
    app_row = page.get_by_test_id("application-row")
    expect(app_row.get_by_test_id("application-status")).to_have_text("审核中")
    expect(app_row).to_contain_text("失业 · 6 期")
    [app] = rows_of(db, sa.select(Application).where(Application.shopper_id == uid_of(db, "carol")))
    assert (app.kind, app.reason_category, app.proposed_installments, app.request_fee_waiver) == (
        "hardship", "unemployment", 6, True)
    shot(page, "j10-carol-hardship-pending")

    with transaction(db) as s:
        applications.reject(session=s, operator_id=uid_of(db, "ops"), application_id=app.id, reason="请补充失业证明原件",
                            clock=now_clock(db))
    go(page, routes.CREDIT)
    expect(app_row.get_by_test_id("application-status")).to_have_text("未通过")
    expect(app_row.get_by_test_id("application-decision")).to_contain_text("请补充失业证明原件")


# ── every account screen, both languages, desktop and phone ─────────────────────────────────
SCREENS = [("bills", routes.BILLS, "statement-month"), ("credit", routes.CREDIT, "credit-score"),
           ("wallet", routes.WALLET, "wallet-balance"), ("inbox", routes.INBOX, "notice-row"),
           ("help", routes.HELP, "help-section")]


@pytest.mark.parametrize("user, lang", [("alice", "zh"), ("carol", "en")])
def test_account_screens_render_in_both_languages_on_desktop_and_phone(page: Page, shot, user, lang):
    login(page, user)
    if lang == "en":
        page.get_by_test_id("lang-switch").click()
        expect(page.get_by_test_id("lang-switch")).to_have_text("中文")
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        for name, route, testid in SCREENS:
            go(page, route)
            expect(page.get_by_test_id(testid).first).to_be_visible()
            no_sideways_scroll(page)
            shot(page, f"screen-{user}-{lang}-{size_name}-{name}")
