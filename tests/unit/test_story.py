"""The time-travel story of the seeds, for one shopper, with the audit after every step:
a ¥500 limit grows with on-time orders, an overdue order costs a late fee, score and limit and then
suspends 先用后付; paying off does not lift that, an approved restoration does."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bnpl_app.domain.errors import NotEligible
from bnpl_app.domain.money import bps_of
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import BNPL_ACTIVE, BNPL_SUSPENDED, Installment, InstallmentStatus as IS, Notification, Order
from bnpl_app.models import OrderStatus as OS
from bnpl_app.services import applications as apps, bills, credit, wallet
from bnpl_app.services.uploads import StoredFile

TRIAL = POLICY.trial_days_default
PRICE = 12_900
FAIR = POLICY.bands[1]


def test_a_shopper_grows_her_limit_falls_overdue_is_suspended_pays_off_and_is_restored(world):
    def acct():
        with world.tx() as s:
            return credit.account(session=s, uid=uid)

    def step(**kw):
        world.advance(**kw)
        world.audit_ok()

    m = world.merchant()
    product = world.product(m, price_fen=PRICE, trial_days=TRIAL)
    uid = world.shopper(score=FAIR.low + 30, wallet_fen=PRICE * POLICY.on_time_orders_for_step)
    ops = world.operator()
    a = acct()
    assert a.limit_fen == FAIR.start_limit_fen and a.bnpl_status == BNPL_ACTIVE
    world.audit_ok()

    # 1. Three orders kept and paid on time, one after another: the limit climbs one step.
    for n in range(1, POLICY.on_time_orders_for_step + 1):
        world.buy(uid, product)
        world.audit_ok()
        step(days=TRIAL)
        assert acct().score == FAIR.low + 30 + n * POLICY.on_time_score_bonus
    raised = acct().limit_fen
    assert raised == POLICY.next_step(FAIR.start_limit_fen, acct().score) > FAIR.start_limit_fen
    with world.tx() as s:
        assert s.exec(select(Notification).where(Notification.user_id == uid, Notification.kind == "reward_step")).one()

    # 2. The wallet is empty now: the next order goes overdue.
    score_before = acct().score
    late = world.buy(uid, product)
    step(days=TRIAL)
    with world.tx() as s:
        [inst] = s.exec(select(Installment).where(Installment.order_id == late)).all()
    assert inst.status == IS.OVERDUE
    step(days=POLICY.grace_days)
    a = acct()
    assert a.score == score_before - POLICY.overdue_score_penalty
    assert a.limit_fen == raised // POLICY.overdue_limit_divisor
    step(days=1)
    with world.tx() as s:
        assert s.get(Installment, inst.id).late_fee_fen == bps_of(PRICE, POLICY.late_fee_bps_per_day)

    # 3. Thirty days overdue: suspended, limit 0, no new orders.
    step(days=POLICY.suspend_after_days - POLICY.grace_days - 1)
    a = acct()
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0 and a.restorable_limit_fen == raised
    with pytest.raises(NotEligible) as refused:
        world.buy(uid, product)
    assert "status" in [f.rule for f in refused.value.reasons]

    # 4. Paid off in full: still suspended, the limit stays 0.
    with world.tx() as s:
        owed = bills.billed_installments(session=s, uid=uid)
        inst = next(i for i in owed if i.status == IS.OVERDUE)
        total = inst.principal_fen + inst.late_fee_fen
        wallet.topup(session=s, uid=uid, amount_fen=total, clock=world.clock)
        bills.repay(session=s, uid=uid, installment_id=inst.id, expected_fen=total, clock=world.clock)
    world.audit_ok()
    step(days=7)
    a = acct()
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0 and a.outstanding_fen == 0
    with world.tx() as s:
        assert s.get(Order, late).status == OS.PAID

    # 5. She applies for restoration with a repayment voucher; ops approves the previous limit.
    with world.tx() as s:
        app = apps.apply_restoration(session=s, uid=uid, statement="已还清", clock=world.clock,
                                     proofs=[StoredFile("f" * 32 + ".png", "image/png", 2048, "voucher.png")])
    world.audit_ok()
    with world.tx() as s:
        apps.approve_restoration(session=s, operator_id=ops, application_id=app.id, limit_fen=raised, clock=world.clock)
    world.audit_ok()
    a = acct()
    assert a.bnpl_status == BNPL_ACTIVE and a.limit_fen == raised and a.restorable_limit_fen is None

    # 6. And 先用后付 works again.
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=PRICE, clock=world.clock)
    again = world.buy(uid, product)
    step(days=TRIAL)
    with world.tx() as s:
        assert s.get(Order, again).status == OS.PAID
