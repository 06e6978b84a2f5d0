"""信用分租机 in a browser.

(1) A shopper with a good score rents a phone with the deposit waived: the device's page shows the
credit review and the contract, accepting holds the deposit on her 先用后付 credit (the credit page
says so); the shop delivers it with the serial; a month of rent is announced in the inbox and then
deducted; she sends it back, the shop signs it intact, and the hold is released.
(2) rex, whose rent has been overdue since the demo began, lets it become a bad debt, applies for a
negotiated plan with proof; the operator approves it with the fees waived, and late fees stop.

Screenshots: docs/screenshots/rental-*.png (and test-artifacts/)."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from browser_support import go, login, row, shot_page, toast
from helpers import png, uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading, transaction
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.clock import DbClock, advance
from bnpl_app.models import (
    Application,
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    Rental,
    RentalListing,
    RentalStatus as RS,
    User,
)
from bnpl_app.services import auth, consent, wallet

PASSWORD = "rental-journey-1"
CA = CreditAccount.__table__
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/, copied to docs/screenshots/ for the README."""
    path = shot_page(page, name)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / f"{name}.png")


def new_renter(db, *, score: int = 720, wallet_fen: int = 0) -> tuple[str, int]:
    clock = DbClock(db)
    name = "rt" + uuid.uuid4().hex[:10]
    with transaction(db) as s:
        u = auth.register(session=s, username=name, password=PASSWORD, display_name="Rental 测试", clock=clock)
        s.execute(sa.update(User.__table__).where(User.__table__.c.id == u.id)
                  .values(real_name_verified=True, phone="13900000001"))
        s.execute(sa.update(CA).where(CA.c.user_id == u.id).values(score=score))
        consent.open_bnpl(session=s, uid=u.id, accept_terms=True, terms_version=POLICY.terms_version, clock=clock)
        if wallet_fen:
            wallet.topup(session=s, uid=u.id, amount_fen=wallet_fen, clock=clock)
        return name, u.id


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    go(page, routes.LOGIN)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()


def move_clock(db, *, days: float) -> None:
    """The demo clock ``days`` on, every sweep in between run (what its advance buttons do)."""
    advance(engine=db, clock=DbClock(db), delta=timedelta(days=days))


def the_rental(db, uid: int) -> Rental:
    with reading(db) as s:
        r = s.execute(sa.select(Rental).where(Rental.shopper_id == uid).order_by(Rental.id.desc())).scalars().first()
        s.expunge_all()
    return r


def test_rent_a_phone_deposit_waived_pay_a_month_return_it_intact(page: Page, db, browser, app_server):
    with reading(db) as s:
        phone = s.execute(sa.select(RentalListing).where(RentalListing.name == "iPhone 16 128G")).scalar_one()
        phone_id, deposit, rent = phone.id, phone.deposit_fen, phone.monthly_rent_fen
    name, uid = new_renter(db, wallet_fen=3 * rent)

    # the device's page: the credit review of the deposit, then the contract
    log_in(page, name)
    page.get_by_test_id("nav-rent").click()
    card = row(page, "rental-listing-card", phone_id)
    expect(card).to_contain_text(yuan(rent))
    shot(page, "rental-1-devices")
    card.click()
    decision = page.get_by_test_id("rental-deposit-decision")
    expect(decision).to_have_attribute("data-band", "full")
    expect(decision).to_contain_text("免押金")
    expect(page.get_by_test_id("rental-held")).to_have_text(yuan(deposit))
    expect(page.get_by_test_id("rental-to-pay")).to_have_text(yuan(0))
    page.get_by_test_id("rental-apply").click()
    expect(page.get_by_test_id("rental-contract-line")).to_have_count(7)
    expect(page.get_by_test_id("rental-contract")).to_contain_text("提前归还")
    shot(page, "rental-2-contract")
    page.set_viewport_size(PHONE)
    shot(page, "rental-2-contract-phone")
    page.get_by_test_id("rental-contract-accept").click()
    expect(toast(page)).to_contain_text("合同已确认")
    r = the_rental(db, uid)
    mine = row(page, "rental-row", r.id)
    expect(mine).to_have_attribute("data-status", RS.AWAITING_DELIVERY)
    assert (r.waived_fen, r.paid_deposit_fen, r.freeze_state) == (deposit, 0, "held")

    # the hold is on the credit page
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-rental-held")).to_have_text(yuan(deposit))
    shot(page, "rental-3-credit-hold")

    # the shop delivers it with the serial
    shop = browser.new_page(base_url=app_server)
    login(shop, "shop_digital")
    shop.get_by_test_id("nav-merchant-rentals").click()
    desk = row(shop, "merchant-rental-row", r.id)
    desk.get_by_test_id("rental-serial-input").fill("SN-IP16-000123")
    desk.get_by_test_id("rental-deliver").click()
    expect(desk).to_have_attribute("data-status", RS.RENTING)
    shot(shop, "rental-4-merchant-delivered")

    # month 1: announced, then deducted a day later
    page.set_viewport_size({"width": 1280, "height": 900})
    go(page, routes.RENTALS)
    expect(mine).to_have_attribute("data-status", RS.RENTING)
    page.get_by_test_id("clock-advance-1h").click()
    go(page, routes.INBOX)
    expect(page.locator('[data-testid="inbox-item"][data-kind="upcoming"]').first).to_contain_text(yuan(rent))
    page.get_by_test_id("clock-advance-1d").click()
    expect(page.locator('[data-testid="inbox-item"][data-kind="deducted"]').first).to_contain_text(yuan(rent))
    shot(page, "rental-5-rent-announced-and-deducted")
    go(page, routes.RENTALS)
    expect(mine.get_by_test_id("rental-rent-paid")).to_have_text("1")
    shot(page, "rental-6-my-rental")

    # she sends it back; the shop receives it and signs it intact: the hold is released
    mine.get_by_test_id("rental-return").click()
    mine.get_by_test_id("rental-tracking-input").fill("SF2026120201")
    mine.get_by_test_id("rental-return-submit").click()
    expect(mine).to_have_attribute("data-status", RS.RETURN_IN_TRANSIT)
    go(shop, routes.MERCHANT_RENTALS)
    desk.get_by_test_id("rental-receive").click()
    expect(desk).to_have_attribute("data-status", RS.RETURN_RECEIVED)
    shot(shop, "rental-7-merchant-inspection")
    desk.get_by_test_id("rental-inspect-accept").click()
    expect(desk).to_have_attribute("data-status", RS.RETURNED)
    expect(shop.get_by_test_id("rental-settlement-rent")).not_to_have_text(yuan(0))
    shot(shop, "rental-8-merchant-settlement")
    shop.context.close()

    go(page, routes.RENTALS)
    expect(mine).to_have_attribute("data-status", RS.RETURNED)
    expect(mine.locator('[data-testid="rental-hold-step"][data-step="released"]')).to_contain_text(yuan(deposit))
    shot(page, "rental-9-returned-hold-released")
    go(page, routes.CREDIT)
    expect(page.get_by_test_id("credit-rental-held")).to_have_count(0)
    with reading(db) as s:
        r = s.get(Rental, r.id)
        state = (r.freeze_state, r.outcome)
        statuses = list(s.execute(sa.select(Installment.status).where(Installment.order_id == r.order_id)
                                  .order_by(Installment.seq)).scalars())
    assert state == ("released", "intact")
    assert statuses[0] == IS.PAID and set(statuses[1:]) == {IS.CANCELLED}


def test_overdue_rent_becomes_a_bad_debt_and_a_negotiated_plan_stops_the_fees(page: Page, db, browser, app_server):
    rex = uid_of(db, "rex")
    move_clock(db, days=POLICY.bad_debt_after_days - POLICY.hardship_min_overdue_days + 1)
    with reading(db) as s:
        assert s.execute(sa.select(CA.c.bad_debt).where(CA.c.user_id == rex)).scalar_one()

    login(page, "rex")
    go(page, routes.RENTALS)
    expect(page.get_by_test_id("rental-row").first).to_contain_text("iPad")
    shot(page, "rental-10-overdue-rent")
    go(page, routes.CREDIT)
    page.get_by_test_id("hardship-apply").click()
    expect(page.get_by_test_id("application-form")).to_have_attribute("data-kind", "hardship")
    page.get_by_test_id("hardship-reason").select_option("medical")
    page.get_by_test_id("hardship-installments").fill("6")
    page.get_by_test_id("application-statement").fill("住院两个月，收入中断，希望分 6 期还清租金。")
    page.get_by_test_id("application-proof-upload").set_input_files(
        [{"name": "诊断证明.png", "mimeType": "image/png", "buffer": png()}])
    expect(page.get_by_test_id("proof-selected")).to_have_text("诊断证明.png")
    page.get_by_test_id("application-submit").click()
    expect(toast(page)).to_contain_text("申请已提交")
    shot(page, "rental-11-hardship-applied")
    with reading(db) as s:
        app_id = s.execute(sa.select(Application.id).where(Application.shopper_id == rex)).scalar_one()

    ops = browser.new_page(base_url=app_server)
    login(ops, "ops")
    go(ops, routes.ops_application(app_id))
    expect(ops.get_by_test_id("hardship-waive-fees")).to_have_value("all")
    ops.get_by_test_id("hardship-installments-input").fill("6")
    ops.get_by_test_id("application-approve").click()
    expect(toast(ops)).to_contain_text("已通过")
    shot(ops, "rental-12-ops-approved-plan")
    ops.context.close()

    def fees() -> dict[int, tuple[int | None, int]]:
        with reading(db) as s:
            return {i.id: (i.plan_application_id, i.late_fee_fen)
                    for i in s.execute(sa.select(Installment).where(Installment.shopper_id == rex)).scalars()}

    before = fees()
    plan = [fee for app, fee in before.values() if app == app_id]
    assert len(plan) == 6 and not any(plan)
    move_clock(db, days=10)  # fees stop: nothing accrues on the plan or on what it replaced
    assert fees() == before
    go(page, routes.BILLS)
    shot(page, "rental-13-plan-in-bills")
