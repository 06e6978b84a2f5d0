"""A notice before every deduction, in a browser: alice's 3-installment order (the demo's 轻薄羽绒服,
in trial) passes its trial and installment 1 is taken; the demo clock then moves (through the
same services its buttons call) to three days before installment 2. Her inbox shows the notice
that announces it — amount and time — while her bills still show it open; after the deduction the
inbox shows the deduction notice too."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from browser_support import go, login, row
from helpers import uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import reading
from bnpl_app.domain.clock import china_time
from bnpl_app.domain.money import yuan
from bnpl_app.jobs.clock import DbClock, advance
from bnpl_app.models import Installment, InstallmentStatus as IS, Notification, Order

PRODUCT = "轻薄羽绒服"


def the_order(db) -> Order:
    with reading(db) as s:
        o = s.execute(sa.select(Order).where(Order.shopper_id == uid_of(db, "alice"), Order.product_name == PRODUCT)
                      .order_by(Order.id.desc())).scalars().first()
        s.expunge_all()
    return o


def installment(db, order_id: int, seq: int) -> Installment:
    with reading(db) as s:
        i = s.execute(sa.select(Installment).where(Installment.order_id == order_id, Installment.seq == seq,
                                                   Installment.plan_application_id.is_(None))).scalar_one()
        s.expunge_all()
    return i


def move_to(db, when) -> None:
    """The demo clock to ``when``, every sweep in between run (what its advance buttons do)."""
    clock = DbClock(db)
    advance(engine=db, clock=clock, delta=max(timedelta(0), when - clock.now()))


def test_installment_two_is_announced_in_the_inbox_before_it_is_deducted(page: Page, db, shot):
    o = the_order(db)
    assert o.plan == "3" and o.status == "TRIAL"
    move_to(db, o.trial_end_at + timedelta(minutes=1))  # the trial ends: installment 1 is taken
    assert installment(db, o.id, 1).status == IS.PAID
    second = installment(db, o.id, 2)
    amount = yuan(second.principal_fen + second.fee_fen)
    when = china_time(second.attempt_at)
    move_to(db, second.attempt_at - timedelta(days=3) + timedelta(seconds=5))

    login(page, "alice")
    go(page, routes.INBOX)
    told = page.locator('[data-testid="inbox-item"][data-kind="upcoming"]')
    expect(told).to_have_count(1)
    expect(told).to_contain_text(amount)
    expect(told).to_contain_text(when)
    with reading(db) as s:
        nid = s.execute(sa.select(Notification.id).where(Notification.installment_id == second.id,
                                                         Notification.kind == "upcoming")).scalar_one()
    expect(told).to_have_attribute("data-id", str(nid))
    deducted = page.locator('[data-testid="inbox-item"][data-kind="deducted"]')
    expect(deducted.first).to_be_visible()  # installment 1's (and her earlier order's)
    taken_before = deducted.count()
    shot(page, "notice-1-inbox-announces-installment-2")

    go(page, routes.BILLS)
    bill = row(page, "installment-row", second.id)
    expect(bill.get_by_test_id("installment-status")).to_have_text(re.compile("待扣款"))  # still open
    shot(page, "notice-2-bills-installment-2-still-open")
    assert installment(db, o.id, 2).status == IS.SCHEDULED

    move_to(db, second.attempt_at + timedelta(seconds=5))
    assert installment(db, o.id, 2).status == IS.PAID and installment(db, o.id, 2).auto_paid
    go(page, routes.INBOX)
    expect(page.locator('[data-testid="inbox-item"][data-kind="upcoming"]')).to_have_count(2)  # T-3d and T-1d
    expect(deducted).to_have_count(taken_before + 1)
    expect(deducted.first).to_contain_text(amount)  # newest first: installment 2's
    shot(page, "notice-3-inbox-after-the-deduction")
