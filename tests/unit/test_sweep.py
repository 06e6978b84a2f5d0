"""The sweep, driven through simulated time: deduction order, failures and daily retries, grace,
penalties, late fees and their cap, suspension, bad debt, reminders, idempotency, installment
plans, auto-repay timing and the dry run that promises what the sweep will take."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers import acct, add_card, insts, jump, notes, order, overdue_order, snapshot, topup
from sqlmodel import select

from bnpl_app.domain.clock import add_months
from bnpl_app.domain.errors import NotEligible
from bnpl_app.domain.money import bps_of, split_even, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    BNPL_ACTIVE,
    BNPL_SUSPENDED,
    Installment,
    InstallmentStatus as IS,
    OrderStatus as OS,
    Outbox,
    PaymentMethod,
)
from bnpl_app.services import bills, credit
from bnpl_app.jobs.sweep import run_sweep

DAY = timedelta(days=1)
PRICE = 12_345  # 0.05 % of it is 6.1725 fen: the daily late fee has to be rounded
TRIAL = POLICY.trial_days_default


def inst1(world, oid: int) -> Installment:
    return insts(world, oid)[0]


def methods(world, uid: int) -> dict[str, PaymentMethod]:
    with world.tx() as s:
        return {m.kind: m for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid))}


# ── which method pays ────────────────────────────────────────────────────────────────────────
def test_deduction_uses_the_first_method_in_the_shoppers_priority_order(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(wallet_fen=2 * PRICE)
    card = add_card(world, uid, 2 * PRICE)
    wid = methods(world, uid)["wallet"].id

    first = world.buy(uid, p)
    world.advance(days=TRIAL)
    assert inst1(world, first).paid_method_id == wid

    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=0, method_order=[card, wid], clock=world.clock)
    second = world.buy(uid, p)
    world.advance(days=TRIAL)
    assert inst1(world, second).paid_method_id == card
    ms = methods(world, uid)
    assert ms["wallet"].balance_fen == PRICE and ms["card"].balance_fen == PRICE
    world.audit_ok()


def test_deduction_falls_through_to_the_next_method_when_the_first_cannot_cover_it(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(wallet_fen=PRICE - 1)
    card = add_card(world, uid, PRICE)
    oid = world.buy(uid, p)
    world.advance(days=TRIAL)
    i = inst1(world, oid)
    assert i.status == IS.PAID and i.paid_method_id == card and i.paid_fen == PRICE
    ms = methods(world, uid)
    assert ms["wallet"].balance_fen == PRICE - 1 and ms["card"].balance_fen == 0
    world.audit_ok()


# ── failure, retry ───────────────────────────────────────────────────────────────────────────
def test_insufficient_funds_on_every_method_makes_the_installment_overdue_and_tells_the_shopper_why(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(wallet_fen=PRICE - 1)
    add_card(world, uid, PRICE - 1)
    oid = world.buy(uid, p)
    world.advance(days=TRIAL)

    i = inst1(world, oid)
    assert i.status == IS.OVERDUE and i.last_failure == "insufficient_funds" and i.attempts == 1
    assert order(world, oid).status == OS.OVERDUE
    ms = methods(world, uid)
    assert ms["wallet"].balance_fen == PRICE - 1 and ms["card"].balance_fen == PRICE - 1
    [failed] = notes(world, uid, "failed")
    assert "余额不足" in failed.body  # the reason: no method had enough
    params = json.loads(failed.params_json)
    assert params["amount"] == yuan(PRICE) and params["grace_end"]
    with world.tx() as s:
        assert s.exec(select(Outbox).where(Outbox.user_id == uid, Outbox.body.contains("扣款失败"))).first()
    world.audit_ok()


def test_overdue_installment_is_retried_daily_and_paid_at_the_first_retry_after_a_top_up(world):
    uid, oid, *_ = overdue_order(world)
    due = inst1(world, oid).due_at
    world.advance(days=1)
    i = inst1(world, oid)
    assert i.status == IS.OVERDUE and i.attempts == 2 and i.attempt_at == due + 2 * POLICY.retry_every

    world.advance(hours=2)
    topup(world, uid, PRICE)
    world.advance(days=1)
    i = inst1(world, oid)
    assert i.status == IS.PAID and i.paid_at == due + 2 * POLICY.retry_every and i.paid_fen == PRICE
    assert order(world, oid).status == OS.PAID
    # Every failed attempt is told, and its notice announces the retry that follows.
    failed = notes(world, uid, "failed")
    assert [n.created_at for n in failed] == [due, due + POLICY.retry_every]
    assert [json.loads(n.params_json)["at"] for n in failed] == [(due + k * POLICY.retry_every).isoformat()
                                                                 for k in (1, 2)]
    world.audit_ok()


def test_paid_within_grace_costs_no_late_fee_and_no_score_or_limit_penalty(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=700)
    before = acct(world, uid)
    oid = world.buy(uid, p)
    world.advance(days=TRIAL + POLICY.grace_days - 1)
    topup(world, uid, PRICE)
    with world.tx() as s:
        bills.repay(session=s, uid=uid, installment_id=inst1(world, oid).id, clock=world.clock)
    world.advance(days=POLICY.grace_days + 5)

    i = inst1(world, oid)
    assert i.status == IS.PAID and i.late_fee_fen == 0 and not i.penalized and i.paid_fen == PRICE
    after = acct(world, uid)
    assert after.score == before.score and after.limit_fen == before.limit_fen
    assert after.restorable_limit_fen is None
    assert notes(world, uid, "penalty") == [] and notes(world, uid, "late_fee") == []
    world.audit_ok()


# ── after grace ──────────────────────────────────────────────────────────────────────────────
def test_grace_end_unpaid_cuts_score_and_halves_limit_once_per_installment(world):
    uid, oid, *_ = overdue_order(world)
    start = acct(world, uid)
    world.advance(days=POLICY.grace_days - 1)
    assert acct(world, uid).score == start.score and acct(world, uid).limit_fen == start.limit_fen

    world.advance(days=1)
    cut = acct(world, uid)
    assert cut.score == start.score - POLICY.overdue_score_penalty
    assert cut.limit_fen == start.limit_fen // POLICY.overdue_limit_divisor
    assert cut.restorable_limit_fen == start.limit_fen
    assert inst1(world, oid).penalized

    jump(world, days=POLICY.suspend_after_days - POLICY.grace_days - 1)  # still short of suspension
    later = acct(world, uid)
    assert (later.score, later.limit_fen) == (cut.score, cut.limit_fen)
    assert len(notes(world, uid, "penalty")) == 1
    world.audit_ok()


def test_late_fee_accrues_daily_after_grace_on_the_running_total_rounded_to_the_fen_once(world):
    uid, oid, *_ = overdue_order(world)
    world.advance(days=POLICY.grace_days)
    assert inst1(world, oid).late_fee_fen == 0  # grace just ended: fees start tomorrow

    per_day = bps_of(PRICE, POLICY.late_fee_bps_per_day)
    assert per_day * 10_000 != PRICE * POLICY.late_fee_bps_per_day  # this price really needs rounding
    for k in (1, 2, 10):
        world.advance(days=k - inst1(world, oid).late_fee_days)
        i = inst1(world, oid)
        # round(principal × rate × k): 6.1725 fen a day is ¥0.62 after 10 days, not 10 × ¥0.06
        assert i.late_fee_days == k and i.late_fee_fen == bps_of(PRICE, POLICY.late_fee_bps_per_day * k)
    assert inst1(world, oid).late_fee_fen == 62 != per_day * 10
    assert len(notes(world, uid, "late_fee")) == 10
    world.audit_ok()


def test_late_fees_stop_at_the_cap_of_the_principal_after_a_long_overdue(world):
    uid, oid, *_ = overdue_order(world)
    cap = bps_of(PRICE, POLICY.late_fee_cap_bps)
    days_to_cap = next(d for d in range(1, 10_000) if bps_of(PRICE, POLICY.late_fee_bps_per_day * d) >= cap)
    world.advance(days=POLICY.grace_days + 2)
    jump(world, days=days_to_cap - 3)  # a sweep that was down for months catches up
    assert inst1(world, oid).late_fee_fen == bps_of(PRICE, POLICY.late_fee_bps_per_day * (days_to_cap - 1)) < cap

    world.advance(days=1)
    assert inst1(world, oid).late_fee_fen == cap
    jump(world, days=30)
    i = inst1(world, oid)
    assert i.late_fee_fen == cap and i.status == IS.OVERDUE

    topup(world, uid, PRICE + cap)
    world.advance(days=1)
    i = inst1(world, oid)
    assert i.status == IS.PAID and i.paid_fen == PRICE + cap
    assert methods(world, uid)["wallet"].balance_fen == 0
    world.audit_ok()


def test_thirty_days_overdue_suspends_bnpl_with_limit_zero_and_refuses_new_orders(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(score=700)
    start_limit = acct(world, uid).limit_fen
    oid = world.buy(uid, p)
    world.advance(days=TRIAL + 1)
    jump(world, days=POLICY.suspend_after_days - 3)
    world.advance(days=1)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_ACTIVE and a.limit_fen > 0

    world.advance(days=1)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0
    assert credit.available(a) == 0 and a.outstanding_fen == PRICE
    assert a.restorable_limit_fen == start_limit  # what ops may restore up to: the limit before any cut
    assert len(notes(world, uid, "suspended")) == 1
    assert order(world, oid).status == OS.OVERDUE

    cheap = world.product(m, price_fen=1)
    before = snapshot(world.engine)
    with pytest.raises(NotEligible) as e:
        world.buy(uid, cheap)
    assert "status" in [f.rule for f in e.value.reasons]
    assert snapshot(world.engine) == before
    world.audit_ok()


def test_ninety_days_overdue_marks_a_bad_debt(world):
    uid, oid, *_ = overdue_order(world)
    jump(world, days=POLICY.bad_debt_after_days - 2)
    world.advance(days=1)
    assert not acct(world, uid).bad_debt
    world.advance(days=1)
    assert acct(world, uid).bad_debt and inst1(world, oid).bad_debt_applied
    assert len(notes(world, uid, "bad_debt")) == 1
    world.audit_ok()


# ── reminders ────────────────────────────────────────────────────────────────────────────────
def test_trial_reminders_go_out_three_days_and_one_day_before_the_end_once_each(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, trial_days=TRIAL)
    uid = world.shopper(wallet_fen=PRICE)
    oid = world.buy(uid, p)
    trial_end = order(world, oid).trial_end_at
    for _ in range(TRIAL):  # a day at a time, with a second sweep after every step
        world.advance(days=1)
        run_sweep(engine=world.engine, clock=world.clock)
    rem = notes(world, uid, "reminder")
    assert [json.loads(n.params_json)["days"] for n in rem] == list(POLICY.reminder_days_before)
    assert [n.created_at for n in rem] == [trial_end - timedelta(days=d) for d in POLICY.reminder_days_before]
    with world.tx() as s:
        sms = s.exec(select(Outbox).where(Outbox.user_id == uid, Outbox.body.contains("试用期即将结束"))).all()
    assert len(sms) == len(POLICY.reminder_days_before)
    world.audit_ok()


def test_short_trials_get_no_reminder_that_would_fall_before_the_order_existed(world):
    m = world.merchant()
    one = world.product(m, price_fen=PRICE, trial_days=1)
    two = world.product(m, price_fen=PRICE, trial_days=2)
    uid_one = world.shopper(wallet_fen=PRICE)
    uid_two = world.shopper(wallet_fen=PRICE)
    bought_at = world.clock.now()
    o1 = world.buy(uid_one, one)
    o2 = world.buy(uid_two, two)
    world.advance(days=3)
    # A one-day trial's only reminder is due as the order is made (the sweep sends it at once), so
    # its deduction at the trial's end has its full day of notice; a two-day trial gets the 1-day one.
    [r1] = notes(world, uid_one, "reminder")
    assert json.loads(r1.params_json)["days"] == 1 and r1.created_at == bought_at
    assert [json.loads(n.params_json)["days"] for n in notes(world, uid_two, "reminder")] == [1]
    assert inst1(world, o1).paid_at == order(world, o1).trial_end_at
    assert inst1(world, o2).paid_at == order(world, o2).trial_end_at
    world.audit_ok()


# ── idempotency ──────────────────────────────────────────────────────────────────────────────
def test_a_second_sweep_at_the_same_time_changes_nothing(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    payer = world.shopper(wallet_fen=10 * PRICE)
    late = world.shopper()
    world.buy(payer, p)
    world.buy(late, p)
    world.advance(days=TRIAL + POLICY.grace_days + 2)
    world.buy(payer, p, plan="3")  # one in trial, due for reminders
    world.clock.advance(timedelta(days=TRIAL - 1))  # jump without sweeping: lots falls due at once

    first = run_sweep(engine=world.engine, clock=world.clock)
    assert first.summary()
    before = snapshot(world.engine)
    again = run_sweep(engine=world.engine, clock=world.clock)
    assert again.summary() == ""
    assert snapshot(world.engine) == before
    world.audit_ok()


# ── installment plans ────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("plan", [str(n) for n in POLICY.installment_periods])
def test_installment_plan_is_deducted_monthly_with_principal_plus_fee(world, plan):
    n = POLICY.periods_of(plan)
    price = 100_001
    m = world.merchant()
    p = world.product(m, price_fen=price, plans=f"full,{plan}")
    uid = world.shopper(score=720, wallet_fen=2 * price)
    oid = world.buy(uid, p, plan=plan)
    trial_end = order(world, oid).trial_end_at
    fee = bps_of(price, POLICY.installment_fee_bps)
    principals = split_even(price, n)

    world.advance(days=TRIAL)
    paid = [i for i in insts(world, oid) if i.status == IS.PAID]
    assert [i.seq for i in paid] == [1]
    for k in range(1, n):
        world.advance(days=(add_months(trial_end, k) - world.clock.now()).days + 1)
        assert [i.seq for i in insts(world, oid) if i.status == IS.PAID] == list(range(1, k + 2))

    rows = insts(world, oid)
    assert [i.paid_fen for i in rows] == [pr + fee for pr in principals]
    assert [i.paid_at for i in rows] == [add_months(trial_end, k) for k in range(n)]
    assert sum(i.principal_fen for i in rows) == price
    assert order(world, oid).status == OS.PAID
    assert methods(world, uid)["wallet"].balance_fen == 2 * price - price - n * fee
    world.audit_ok()


def test_interest_free_installments_carry_no_fee(world):
    m = world.merchant()
    p = world.product(m, price_fen=30_000, plans="full,3", interest_free=True)
    uid = world.shopper(wallet_fen=30_000)
    oid = world.buy(uid, p, plan="3")
    world.advance(days=TRIAL + 70)
    assert [i.paid_fen for i in insts(world, oid)] == split_even(30_000, 3)
    world.audit_ok()


# ── auto-repay: N days before ────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("set_when", ["before_checkout", "after_billing"])
def test_autopay_days_before_moves_later_installments_earlier_but_never_the_first(world, set_when):
    days = POLICY.autopay_days_before_max
    m = world.merchant()
    p = world.product(m, price_fen=30_000, plans="full,3")
    uid = world.shopper(wallet_fen=40_000)
    wid = methods(world, uid)["wallet"].id

    def set_it():
        with world.tx() as s:
            bills.set_autopay(session=s, uid=uid, days_before=days, method_order=[wid], clock=world.clock)

    if set_when == "before_checkout":
        set_it()
    oid = world.buy(uid, p, plan="3")
    trial_end = order(world, oid).trial_end_at
    world.advance(days=TRIAL)
    if set_when == "after_billing":
        set_it()
    world.advance(days=70)
    rows = insts(world, oid)
    assert all(i.status == IS.PAID for i in rows)
    assert rows[0].paid_at == trial_end
    assert [i.paid_at for i in rows[1:]] == [add_months(trial_end, k) - timedelta(days=days) for k in (1, 2)]
    world.audit_ok()


def test_a_failed_early_autopay_attempt_is_retried_and_not_overdue_before_the_due_date(world):
    days = POLICY.autopay_days_before_max
    m = world.merchant()
    p = world.product(m, price_fen=30_000, plans="full,3")
    uid = world.shopper()
    wid = methods(world, uid)["wallet"].id
    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=days, method_order=[wid], clock=world.clock)
    oid = world.buy(uid, p, plan="3")
    first = insts(world, oid)[0]
    topup(world, uid, first.principal_fen + first.fee_fen)  # enough for the first installment only
    world.advance(days=TRIAL)
    second = insts(world, oid)[1]
    early = second.due_at - timedelta(days=days)
    assert second.attempt_at == early

    world.advance(seconds=int((early - world.clock.now()).total_seconds()) + 1)
    world.advance(days=1)
    second = insts(world, oid)[1]
    assert second.status == IS.SCHEDULED and second.attempts == 2
    assert notes(world, uid, "failed") == [] and order(world, oid).status == OS.DUE

    topup(world, uid, second.principal_fen + second.fee_fen)
    world.advance(days=1)
    second = insts(world, oid)[1]
    assert second.status == IS.PAID and second.paid_at == early + 2 * POLICY.retry_every < second.due_at
    assert acct(world, uid).on_time_streak == 0 and order(world, oid).status == OS.DUE
    world.audit_ok()


# ── the dry run ──────────────────────────────────────────────────────────────────────────────
def test_dry_run_lists_exactly_what_the_sweep_then_takes(world):
    m = world.merchant()
    full = world.product(m, price_fen=30_000, trial_days=TRIAL)
    split = world.product(m, price_fen=90_001, trial_days=5, plans="full,3")
    uid = world.shopper(score=720, wallet_fen=50_000)
    card = add_card(world, uid, 100_000)
    wid = methods(world, uid)["wallet"].id
    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=2, method_order=[wid, card], clock=world.clock)
    world.buy(uid, full)
    world.buy(uid, split, plan="3")
    world.advance(hours=5)

    with world.tx() as s:
        plan = bills.dry_run(session=s, uid=uid, clock=world.clock)
        labels = {m.id: m.label for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid))}
    assert len(plan) == 4
    assert {p.method_label for p in plan} == set(labels.values())  # both methods are needed
    world.advance(days=100)

    for p in plan:
        with world.tx() as s:
            i = s.get(Installment, p.installment_id)
        assert i.status == IS.PAID, p
        assert (i.paid_at, i.paid_fen, labels[i.paid_method_id]) == (p.at, p.amount_fen, p.method_label)
    world.audit_ok()


def test_dry_run_names_no_method_for_a_deduction_nothing_can_cover_and_the_sweep_fails_it(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper(wallet_fen=PRICE - 1)
    oid = world.buy(uid, p)
    with world.tx() as s:
        [planned] = bills.dry_run(session=s, uid=uid, clock=world.clock)
    assert planned.method_label is None and planned.amount_fen == PRICE
    assert planned.at == order(world, oid).trial_end_at
    world.advance(days=TRIAL)
    assert inst1(world, oid).status == IS.OVERDUE
    world.audit_ok()


def test_dry_run_orders_same_time_deductions_as_the_sweep_does(world):
    """Two deductions fall due in the same sweep and the wallet covers only one of them: the dry
    run must assign the wallet to the same one the sweep charges."""
    days = 2
    m = world.merchant()
    split = world.product(m, price_fen=30_000, trial_days=TRIAL, plans="full,3")
    uid = world.shopper(score=720, wallet_fen=30_000)
    card = add_card(world, uid, 30_000)
    wid = methods(world, uid)["wallet"].id
    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=days, method_order=[wid, card], clock=world.clock)
    a = world.buy(uid, split, plan="3")
    world.advance(days=TRIAL)  # A's first installment comes from the wallet
    second_attempt = insts(world, a)[1].attempt_at
    # B's trial ends exactly when A's second installment is attempted.
    later = world.product(m, price_fen=15_000, trial_days=1)
    world.advance(seconds=int((second_attempt - timedelta(days=1) - world.clock.now()).total_seconds()))
    b = world.buy(uid, later)
    assert order(world, b).trial_end_at == second_attempt
    with world.tx() as s:
        plan = [p for p in bills.dry_run(session=s, uid=uid, clock=world.clock) if p.at == second_attempt]
        labels = {m.id: m.label for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid))}
    assert len(plan) == 2 and len({p.method_label for p in plan}) == 2
    world.advance(days=1)
    for p in plan:
        with world.tx() as s:
            i = s.get(Installment, p.installment_id)
        assert (i.paid_at, i.paid_fen, labels[i.paid_method_id]) == (p.at, p.amount_fen, p.method_label)
    world.audit_ok()


def test_failed_deductions_retries_and_early_attempts_take_the_batch_path(world, monkeypatch):
    """The sweep's batch path handles a deduction nothing covers (first failure, daily retry, failed
    early auto-repay — each told, once that day) as the per-row path does, without it."""
    from bnpl_app.jobs.sweep import phases

    def per_row(*_a, **_k):
        raise AssertionError("a plain failure fell back to the per-row path")

    monkeypatch.setattr(phases, "deduct_rows", per_row)
    uid, oid, *_ = overdue_order(world)
    world.advance(days=1)  # the retry fails again: told again, as yesterday's failure was
    i = inst1(world, oid)
    assert i.status == IS.OVERDUE and i.attempts == 2 and i.was_overdue and i.last_failure == "insufficient_funds"
    assert order(world, oid).status == OS.OVERDUE
    failed = notes(world, uid, "failed")
    assert [json.loads(n.params_json)["amount_fen"] for n in failed] == [PRICE, PRICE]
    with world.tx() as s:
        sms = s.exec(select(Outbox).where(Outbox.user_id == uid, Outbox.dedupe_key.startswith(f"sms:fail:{i.id}:"))).all()
    assert len(sms) == 2

    days = POLICY.autopay_days_before_max
    m = world.merchant()
    p = world.product(m, price_fen=30_000, plans="full,3")
    early_uid = world.shopper()
    with world.tx() as s:
        bills.set_autopay(session=s, uid=early_uid, days_before=days, method_order=[methods(world, early_uid)["wallet"].id],
                          clock=world.clock)
    oid2 = world.buy(early_uid, p, plan="3")
    first = insts(world, oid2)[0]
    topup(world, early_uid, first.principal_fen + first.fee_fen)
    world.advance(days=TRIAL)
    early = insts(world, oid2)[1].attempt_at
    world.advance(seconds=int((early - world.clock.now()).total_seconds()) + 1)
    second = insts(world, oid2)[1]
    assert second.status == IS.SCHEDULED and second.attempts == 1 and not second.was_overdue
    assert second.attempt_at == min(early + POLICY.retry_every, second.due_at) and early < second.due_at
    assert notes(world, early_uid, "failed") == []  # not overdue; but told, with the retry
    [told] = notes(world, early_uid, "early_failed")
    assert told.installment_id == second.id and json.loads(told.params_json)["at"] == second.attempt_at.isoformat()
    world.audit_ok()
