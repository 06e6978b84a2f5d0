"""On-time rewards: +score per order paid on time, a limit step after a streak of on-time orders
(never above the score band's ceiling), a late order breaks the streak, and paying off never
gives back a limit that was cut or suspended."""

from __future__ import annotations

import sqlalchemy as sa
from helpers import acct, jump
from sqlmodel import select

from bnpl_app.domain.policy import POLICY
from bnpl_app.models import BNPL_SUSPENDED, Installment, InstallmentStatus as IS, Order
from bnpl_app.services import bills, orders, wallet

TRIAL = POLICY.trial_days_default
PRICE = 10_000
STREAK = POLICY.on_time_orders_for_step
FAIR = POLICY.bands[1]  # 550–599: the ¥500 band


def buy_and_keep(world, uid: int, product: int, n: int = 1) -> list[int]:
    """``n`` orders, kept and deducted on time at the end of their trial."""
    oids = [world.buy(uid, product) for _ in range(n)]
    world.advance(days=TRIAL)
    with world.tx() as s:
        assert all(s.get(Order, o).on_time is True for o in oids)
    return oids


def test_each_order_paid_on_time_adds_the_bonus_to_the_score(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=FAIR.low + 30, wallet_fen=10 * PRICE)
    buy_and_keep(world, uid, p)
    assert acct(world, uid).score == FAIR.low + 30 + POLICY.on_time_score_bonus
    buy_and_keep(world, uid, p)
    assert acct(world, uid).score == FAIR.low + 30 + 2 * POLICY.on_time_score_bonus
    world.audit_ok()


def test_paying_during_the_trial_counts_as_on_time(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=FAIR.low + 30, wallet_fen=PRICE)
    oid = world.buy(uid, p)
    with world.tx() as s:
        orders.pay_now(session=s, uid=uid, order_id=oid, clock=world.clock)
    a = acct(world, uid)
    assert a.score == FAIR.low + 30 + POLICY.on_time_score_bonus and a.on_time_streak == 1
    world.audit_ok()


def test_a_streak_of_on_time_orders_raises_the_limit_one_step(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=FAIR.low + 30, wallet_fen=10 * PRICE)
    start = acct(world, uid).limit_fen
    assert start == FAIR.start_limit_fen
    buy_and_keep(world, uid, p, STREAK - 1)
    assert acct(world, uid).limit_fen == start
    buy_and_keep(world, uid, p)
    a = acct(world, uid)
    assert a.limit_fen == POLICY.next_step(start, a.score) > start
    assert a.limit_fen == POLICY.limit_steps_fen[POLICY.limit_steps_fen.index(start) + 1]
    world.audit_ok()


def test_the_limit_never_rises_above_the_score_bands_ceiling(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=FAIR.low, wallet_fen=20 * PRICE)
    buy_and_keep(world, uid, p, STREAK)
    a = acct(world, uid)
    ceiling = POLICY.band_for(a.score).ceiling_fen
    assert a.limit_fen == ceiling == FAIR.ceiling_fen  # one step reached the ceiling
    buy_and_keep(world, uid, p, STREAK)
    a = acct(world, uid)
    assert POLICY.band_for(a.score) == FAIR  # still in the same band …
    assert a.limit_fen == ceiling  # … so no further step
    world.audit_ok()


def test_a_late_order_resets_the_streak(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=FAIR.low + 10, wallet_fen=PRICE * (STREAK - 1))
    start = acct(world, uid).limit_fen
    buy_and_keep(world, uid, p, STREAK - 1)
    assert acct(world, uid).on_time_streak == STREAK - 1

    late = world.buy(uid, p)  # the wallet is empty: deduction fails, paid a day later (within grace)
    world.advance(days=TRIAL + 1)
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=PRICE * (STREAK + 1), clock=world.clock)
        [i] = s.exec(select(Installment).where(Installment.order_id == late)).all()
        bills.repay(session=s, uid=uid, installment_id=i.id, clock=world.clock)
    with world.tx() as s:
        assert s.get(Order, late).on_time is False
    a = acct(world, uid)
    assert a.on_time_streak == 0 and a.limit_fen == start
    assert a.score == FAIR.low + 10 + (STREAK - 1) * POLICY.on_time_score_bonus  # no bonus for the late one

    buy_and_keep(world, uid, p)  # one on-time order after the late one is not a streak
    assert acct(world, uid).limit_fen == start
    buy_and_keep(world, uid, p, STREAK - 1)
    assert acct(world, uid).limit_fen > start
    world.audit_ok()


def test_paying_off_does_not_restore_a_cut_limit_and_later_streaks_do_not_raise_it(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=700)
    start = acct(world, uid).limit_fen
    oid = world.buy(uid, p)
    world.advance(days=TRIAL + POLICY.grace_days)
    assert acct(world, uid).limit_fen == start // POLICY.overdue_limit_divisor
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=20 * PRICE, clock=world.clock)
        [i] = s.exec(select(Installment).where(Installment.order_id == oid)).all()
        bills.repay(session=s, uid=uid, installment_id=i.id, clock=world.clock)
    a = acct(world, uid)
    assert a.outstanding_fen == 0 and a.limit_fen == start // POLICY.overdue_limit_divisor
    buy_and_keep(world, uid, p, STREAK)
    assert acct(world, uid).limit_fen == start // POLICY.overdue_limit_divisor  # restoration is an application
    world.audit_ok()


def test_paying_off_does_not_lift_a_suspension(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=700)
    oid = world.buy(uid, p)
    world.advance(days=TRIAL)
    jump(world, days=POLICY.suspend_after_days)
    assert acct(world, uid).bnpl_status == BNPL_SUSPENDED
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=2 * PRICE, clock=world.clock)
        [i] = s.exec(select(Installment).where(Installment.order_id == oid)).all()
        bills.repay(session=s, uid=uid, installment_id=i.id, clock=world.clock)
    jump(world, days=30)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0 and a.outstanding_fen == 0
    with world.tx() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Installment.__table__)
                         .where(Installment.__table__.c.status == IS.OVERDUE)).scalar_one() == 0
    world.audit_ok()
