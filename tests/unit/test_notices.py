"""No money is taken without notice: every automatic deduction (each installment, each
hardship-plan payment, each early auto-repay attempt) is announced at the policy's offsets before
it, naming amount, time and method; no deduction comes before its first notice is the minimum
notice old (the gate, in both sweep paths); every failed attempt is told, once a day, and that
notice announces the retry; late fees accrue on the running total. Time is driven by the clock:
``world.advance`` stops at every event, and the sweep is also run as a worker would, seconds
after a due instant."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from helpers import add_card, hardship, insts, jump, notes, order, overdue_order, topup
from sqlmodel import select

from bnpl_app.db import reading
from bnpl_app.domain import rules
from bnpl_app.domain.clock import UTC, add_months, china_time
from bnpl_app.domain.money import bps_of, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.sweep import next_event_after, run_sweep
from bnpl_app.models import Installment, InstallmentStatus as IS, Notification, Outbox, PaymentMethod
from bnpl_app.services import applications, bills, payments
from bnpl_app.views import account as account_views

DAY = timedelta(days=1)
TRIAL = POLICY.trial_days_default
PRICE = 30_000
SECONDS_LATE = timedelta(seconds=POLICY.sweep_interval_seconds // 2)  # a worker sweeps a little after


def wallet_of(world, uid: int) -> PaymentMethod:
    with world.tx() as s:
        return s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid, PaymentMethod.kind == "wallet")).one()


def announcing(world, iid: int) -> list[Notification]:
    """The notices that announced an automatic deduction of installment ``iid``, oldest first."""
    with world.tx() as s:
        return list(s.exec(select(Notification).where(Notification.installment_id == iid,
                                                      Notification.kind.in_(rules.ANNOUNCING_KINDS))
                           .order_by(Notification.created_at, Notification.id)))


def params(n: Notification) -> dict:
    return json.loads(n.params_json)


def sweep_at(world, when: datetime) -> None:
    """The worker's sweep at ``when`` (a moment a little after something fell due)."""
    world.clock.set(when)
    run_sweep(engine=world.engine, clock=world.clock)


def every_capture_was_announced(world, uid: int) -> None:
    """What the audit proves, for one shopper: each automatic capture was announced, at least the
    minimum notice before it, with the amount taken or the late-fee rule that changed it."""
    with world.tx() as s:
        auto = list(s.exec(select(Installment).where(Installment.shopper_id == uid, Installment.auto_paid.is_(True))))
    assert auto
    for inst in auto:
        told = [n for n in announcing(world, inst.id) if n.created_at <= inst.paid_at - POLICY.min_notice]
        assert told, f"installment {inst.id} was taken without notice"
        assert inst.noticed_at == told[0].created_at
        assert any(params(n)["amount_fen"] == inst.paid_fen or params(n).get("late_rule") for n in told)


class ThreeInstallments:
    """A shopper with a 3-installment order whose trial has ended (installment 1 taken)."""

    def __init__(self, world, *, wallet_fen: int = 2 * PRICE, days_before: int = 0):
        self.w = world
        m = world.merchant()
        p = world.product(m, price_fen=PRICE, plans="full,3")
        self.uid = world.shopper(wallet_fen=wallet_fen)
        if days_before:
            with world.tx() as s:
                bills.set_autopay(session=s, uid=self.uid, days_before=days_before, clock=world.clock,
                                  method_order=[wallet_of(world, self.uid).id])
        self.oid = world.buy(self.uid, p, plan="3")
        self.trial_end = order(world, self.oid).trial_end_at
        world.advance(days=TRIAL)

    def inst(self, seq: int) -> Installment:
        return insts(self.w, self.oid)[seq - 1]


# ── installments 2..N ─────────────────────────────────────────────────────────────────────────
def test_installment_two_is_announced_three_days_and_one_day_before_with_amount_time_and_method(world):
    o = ThreeInstallments(world)
    second = o.inst(2)
    due = add_months(o.trial_end, 1)
    assert second.attempt_at == due and second.noticed_at is None and announcing(world, second.id) == []

    world.advance(seconds=int((due - 3 * DAY - world.clock.now()).total_seconds()))
    [three] = announcing(world, second.id)
    assert three.kind == "upcoming" and three.created_at == due - 3 * DAY
    p = params(three)
    owed = second.principal_fen + second.fee_fen
    assert (p["amount_fen"], p["at"], p["method"], p["days"]) == (owed, due.isoformat(), wallet_of(world, o.uid).label, 3)
    assert yuan(owed) in three.body and china_time(due) in three.body and "late_rule" not in p
    assert o.inst(2).status == IS.SCHEDULED and o.inst(2).noticed_at == due - 3 * DAY

    world.advance(days=2)
    one = announcing(world, second.id)[1]
    assert one.created_at == due - DAY and params(one)["days"] == 1 and params(one)["at"] == due.isoformat()
    assert o.inst(2).status == IS.SCHEDULED  # announced, not taken: the bills page still shows it open
    assert o.inst(2).notices_sent == rules.ALL_NOTICES and o.inst(2).noticed_at == due - 3 * DAY
    with world.tx() as s:  # and by SMS
        sms = s.exec(select(Outbox).where(Outbox.user_id == o.uid, Outbox.dedupe_key.startswith(f"sms:pre:{second.id}:"))).all()
    assert len(sms) == 2 and all(yuan(owed) in m.body for m in sms)

    world.advance(days=1)
    paid = o.inst(2)
    assert paid.status == IS.PAID and paid.paid_at == due and paid.auto_paid and paid.paid_fen == owed
    assert [n.kind for n in announcing(world, second.id)] == ["upcoming", "upcoming"]  # nothing announced twice
    every_capture_was_announced(world, o.uid)


def test_a_worker_sweeping_seconds_after_each_instant_announces_and_takes_installment_two_on_time(world):
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    sweep_at(world, due - 3 * DAY + SECONDS_LATE)
    sweep_at(world, due - DAY + SECONDS_LATE)
    told = announcing(world, o.inst(2).id)
    assert [n.created_at for n in told] == [due - 3 * DAY + SECONDS_LATE, due - DAY + SECONDS_LATE]
    assert {params(n)["at"] for n in told} == {due.isoformat()}  # told early enough: the time stands
    sweep_at(world, due + SECONDS_LATE)
    assert o.inst(2).status == IS.PAID and o.inst(2).paid_at == due + SECONDS_LATE
    every_capture_was_announced(world, o.uid)


def test_the_trial_end_reminders_announce_installment_one_with_amount_time_and_method(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    uid = world.shopper(wallet_fen=PRICE)
    card = add_card(world, uid, PRICE)
    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=0, clock=world.clock,
                          method_order=[card, wallet_of(world, uid).id])
    oid = world.buy(uid, p, plan="3")
    end = order(world, oid).trial_end_at
    world.advance(days=TRIAL - 1)
    first = insts(world, oid)[0]
    told = announcing(world, first.id)
    assert [(n.kind, params(n)["days"]) for n in told] == [("reminder", d) for d in POLICY.reminder_days_before]
    assert {(params(n)["amount_fen"], params(n)["at"]) for n in told} == {(first.principal_fen + first.fee_fen, end.isoformat())}
    with world.tx() as s:
        card_label = s.get(PaymentMethod, card).label
    assert {params(n)["method"] for n in told} == {card_label}  # the first auto-deduction method that covers it
    assert first.noticed_at == end - 3 * DAY and first.notices_sent == rules.ALL_NOTICES
    world.advance(days=1)
    assert insts(world, oid)[0].paid_at == end and insts(world, oid)[0].paid_method_id == card
    every_capture_was_announced(world, uid)


# ── early auto-repay attempts and hardship plans ──────────────────────────────────────────────
def test_an_early_auto_repay_attempt_is_announced_before_its_own_time(world):
    days = POLICY.autopay_days_before_max
    o = ThreeInstallments(world, days_before=days)
    second = o.inst(2)
    early = second.due_at - days * DAY
    assert second.attempt_at == early
    world.advance(seconds=int((early - world.clock.now()).total_seconds()))
    told = announcing(world, second.id)
    assert [n.created_at for n in told] == [early - 3 * DAY, early - DAY]
    assert {params(n)["at"] for n in told} == {early.isoformat()}
    assert o.inst(2).paid_at == early < o.inst(2).due_at and o.inst(2).auto_paid
    every_capture_was_announced(world, o.uid)


def test_a_hardship_plan_payment_is_announced_before_it_is_taken(world):
    uid, oid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    app = hardship(world, uid, n=2)
    ops = world.operator()
    with world.tx() as s:
        applications.approve_hardship(session=s, operator_id=ops, application_id=app, installments=2,
                                      waive_fen=applications.hardship_late_fees(session=s, uid=uid), clock=world.clock)
    plan = [i for i in insts(world, oid) if i.plan_application_id == app]
    first = plan[0]
    topup(world, uid, sum(i.principal_fen + i.fee_fen + i.late_fee_fen for i in plan))
    world.advance(seconds=int((first.attempt_at - world.clock.now()).total_seconds()))
    told = announcing(world, first.id)
    assert [n.created_at for n in told] == [first.attempt_at - 3 * DAY, first.attempt_at - DAY]
    assert all(n.kind == "upcoming" and params(n)["amount_fen"] == rules.owed(
        first.principal_fen, first.fee_fen, first.fee_waived_fen, first.late_fee_fen, first.late_fee_waived_fen,
        first.overdue_interest_fen)
        and "late_rule" not in params(n) for n in told)  # late fees stop accruing on a plan
    assert [i for i in insts(world, oid) if i.id == first.id][0].status == IS.PAID
    every_capture_was_announced(world, uid)


# ── the gate ──────────────────────────────────────────────────────────────────────────────────
def test_a_deduction_reached_without_notice_is_announced_then_and_taken_a_day_later(world):
    """The sweep was down over installment 2's notices and its attempt: the first sweep after it
    does not take it, sends the notice, and takes it a full minimum notice later."""
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    back = due + timedelta(hours=5)
    sweep_at(world, back)  # one catch-up sweep
    i = o.inst(2)
    assert i.status == IS.SCHEDULED and i.noticed_at == back and i.attempt_at == back + POLICY.min_notice
    [told] = announcing(world, i.id)
    assert params(told)["at"] == (back + POLICY.min_notice).isoformat() and china_time(back + POLICY.min_notice) in told.body
    with reading(world.engine) as s:
        assert next_event_after(s, back) == back + POLICY.min_notice

    sweep_at(world, back + POLICY.min_notice - timedelta(seconds=1))
    assert o.inst(2).status == IS.SCHEDULED  # not a second early
    sweep_at(world, back + POLICY.min_notice + SECONDS_LATE)
    assert o.inst(2).status == IS.PAID and o.inst(2).paid_at == back + POLICY.min_notice + SECONDS_LATE
    assert not o.inst(2).was_overdue  # the delay was ours
    every_capture_was_announced(world, o.uid)


def test_no_path_of_the_sweep_deducts_an_installment_told_less_than_the_minimum_notice_ago(world, monkeypatch):
    from bnpl_app.jobs import sweep

    for batch_path in (True, False):
        monkeypatch.setattr(sweep, "_BATCH_PATH", batch_path)
        o = ThreeInstallments(world)
        due = o.inst(2).due_at
        world.advance(seconds=int((due - DAY - world.clock.now()).total_seconds()))
        with world.tx() as s:  # as if its only notice had gone out just now
            s.execute(Installment.__table__.update().where(Installment.__table__.c.id == o.inst(2).id)
                      .values(noticed_at=due - timedelta(hours=1)))
        sweep_at(world, due + SECONDS_LATE)
        assert o.inst(2).status == IS.SCHEDULED and o.inst(2).attempts == 0, batch_path
        sweep_at(world, due - timedelta(hours=1) + POLICY.min_notice)
        assert o.inst(2).status == IS.PAID, batch_path


def test_moving_auto_repay_earlier_announces_the_new_time_and_waits_the_minimum_notice(world):
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    world.advance(seconds=int((due - 2 * DAY - world.clock.now()).total_seconds()))  # told at T-3d for `due`
    now = world.clock.now()
    with world.tx() as s:
        bills.set_autopay(session=s, uid=o.uid, days_before=POLICY.autopay_days_before_max, clock=world.clock,
                          method_order=[wallet_of(world, o.uid).id])
    i = o.inst(2)
    assert i.attempt_at == now + POLICY.min_notice and i.noticed_at == due - 3 * DAY  # first told then; …
    latest = announcing(world, i.id)[-1]  # … told again at once, of a time a day away
    assert latest.created_at == now and params(latest)["at"] == (now + POLICY.min_notice).isoformat()
    with world.tx() as s:
        [planned] = [p for p in bills.dry_run(session=s, uid=o.uid, clock=world.clock) if p.installment_id == i.id]
    assert planned.at == now + POLICY.min_notice  # the dry run agrees with the gate
    world.advance(days=2)
    assert o.inst(2).paid_at == now + POLICY.min_notice
    every_capture_was_announced(world, o.uid)


def test_the_dry_run_never_promises_a_deduction_before_its_notice_is_old_enough(world):
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    jump_to = due - timedelta(hours=2)
    world.clock.set(jump_to)  # the sweep has not run since: nothing told yet
    iid = o.inst(2).id
    with world.tx() as s:
        [planned] = [p for p in bills.dry_run(session=s, uid=o.uid, clock=world.clock) if p.installment_id == iid]
    assert planned.at == jump_to + POLICY.min_notice
    world.advance(days=2)
    assert o.inst(2).paid_at == planned.at


# ── failures ──────────────────────────────────────────────────────────────────────────────────
def test_every_failed_attempt_is_told_once_a_day_and_announces_the_retry(world):
    uid, oid, *_ = overdue_order(world, price=12_345)
    inst = insts(world, oid)[0]
    due = inst.due_at
    for k in range(1, 6):
        sweep_at(world, due + k * DAY + SECONDS_LATE)  # the daily retry, a little late
        sweep_at(world, due + k * DAY + 2 * SECONDS_LATE)  # a second sweep the same day: nothing new
    failed = notes(world, uid, "failed")
    assert len(failed) == 6 and len({rules.china_date(n.created_at) for n in failed}) == 6
    i = insts(world, oid)[0]
    assert i.attempts == 6 and i.status == IS.OVERDUE
    for n in failed:
        p = params(n)
        assert n.installment_id == i.id and p["method"] == wallet_of(world, uid).label
        assert datetime.fromisoformat(p["at"]) == n.created_at + POLICY.retry_every
    # Inside the grace period: repay before its end; after it: how late, and the rule that raises the amount.
    inside, late = params(failed[0]), params(failed[-1])
    assert "late_rule" not in inside and inside["amount_fen"] == 12_345
    assert late.get("variant") == "late" and late["late_rule"] is True and late["late_bps"] == POLICY.late_fee_bps_per_day
    zh_title, en = rules.notice_text("failed", late, "en")
    assert "late-fee rule" in en and "0.05%" in en and "24%" in en and f"{POLICY.grace_days}-day grace" in en
    assert "滞纳金规则" in failed[-1].body
    with world.tx() as s:
        assert len(s.exec(select(Outbox).where(Outbox.user_id == uid, Outbox.body.contains("扣款失败"))).all()) == 6

    topup(world, uid, 20_000)
    world.advance(days=1)
    paid = insts(world, oid)[0]
    assert paid.status == IS.PAID and paid.auto_paid and paid.paid_fen > 12_345  # late fees came on top, as told
    every_capture_was_announced(world, uid)


def test_a_failed_early_auto_repay_attempt_is_told_with_its_retry_once_a_day(world):
    days = POLICY.autopay_days_before_max
    o = ThreeInstallments(world, wallet_fen=0, days_before=days)
    first = o.inst(1)
    assert first.status == IS.OVERDUE  # nothing in the wallet at the trial's end either
    topup(world, o.uid, first.principal_fen + first.fee_fen)
    world.advance(days=1)
    assert o.inst(1).status == IS.PAID
    second = o.inst(2)
    early = second.attempt_at
    assert early == second.due_at - days * DAY
    world.advance(seconds=int((early - world.clock.now()).total_seconds()))  # told at T-3d, T-1d; fails at T
    sweep_at(world, early + SECONDS_LATE)  # a second sweep the same day: nothing new
    for k in range(1, days):
        sweep_at(world, early + k * DAY + SECONDS_LATE)
        sweep_at(world, early + k * DAY + 2 * SECONDS_LATE)
    told = [n for n in announcing(world, second.id) if n.kind == "early_failed"]
    assert len(told) == days
    for n in told:
        p = params(n)
        assert p["amount_fen"] == second.principal_fen + second.fee_fen and "late_rule" not in p
        assert datetime.fromisoformat(p["at"]) == min(n.created_at + POLICY.retry_every, second.due_at)
        assert china_time(second.due_at) in n.body  # not overdue; when it is due
    assert [n for n in notes(world, o.uid, "failed") if n.installment_id == second.id] == []  # not overdue
    assert o.inst(2).status == IS.SCHEDULED


# ── methods the shopper left out ─────────────────────────────────────────────────────────────
@pytest.mark.parametrize("how", ["unbound", "autopay off"])
def test_the_sweep_never_takes_from_a_method_unbound_or_left_out_of_auto_deduction(world, how):
    o = ThreeInstallments(world, wallet_fen=0)
    card = add_card(world, o.uid, 10 * PRICE)
    with world.tx() as s:
        bills.set_autopay(session=s, uid=o.uid, days_before=0, clock=world.clock,
                          method_order=[card, wallet_of(world, o.uid).id])
        m = s.get(PaymentMethod, card)
        if how == "unbound":
            m.removed_at = world.clock.now()  # as the wallet service unbinds it
        else:
            m.autopay = False
        s.add(m)
    world.advance(days=1)
    first = o.inst(1)
    assert first.status == IS.OVERDUE and first.attempts >= 2  # the card would have covered it
    assert params(notes(world, o.uid, "failed")[-1])["method"] == wallet_of(world, o.uid).label
    with world.tx() as s:
        assert s.get(PaymentMethod, card).balance_fen == 10 * PRICE
        assert card not in {m.id for m in payments.auto_methods(session=s, uid=o.uid)}
        assert all(p.method_label != s.get(PaymentMethod, card).label for p in bills.dry_run(session=s, uid=o.uid,
                                                                                               clock=world.clock))


def test_a_manual_payment_is_not_an_automatic_deduction(world):
    o = ThreeInstallments(world)
    with world.tx() as s:
        bills.repay(session=s, uid=o.uid, installment_id=o.inst(2).id, clock=world.clock)
    assert o.inst(1).auto_paid and not o.inst(2).auto_paid and o.inst(2).status == IS.PAID


# ── late fees on the running total ───────────────────────────────────────────────────────────
def test_a_five_yuan_principal_accrues_late_fees_on_the_running_total_up_to_the_cap(world):
    price = 500
    assert bps_of(price, POLICY.late_fee_bps_per_day) == 0  # rounded per day it never accrued
    uid, oid, *_ = overdue_order(world, price=price)
    world.advance(days=POLICY.grace_days + 1)
    assert insts(world, oid)[0].late_fee_fen == 0  # 0.25 fen
    world.advance(days=1)
    assert insts(world, oid)[0].late_fee_fen == 1  # 0.5 fen, rounded half up
    jump(world, days=2_000)
    i = insts(world, oid)[0]
    assert i.late_fee_fen == bps_of(price, POLICY.late_fee_cap_bps) == 120
    assert len(notes(world, uid, "late_fee")) >= 2
    world.audit_ok()


def test_the_schedule_previews_the_late_fee_the_sweep_charges(world):
    from bnpl_app.services import schedule

    sched = schedule.build(price_fen=500, plan="full", trial_end=world.clock.now(), interest_free=False)
    for days in (0, POLICY.grace_days, POLICY.grace_days + 2, POLICY.grace_days + 6, 10_000):
        assert sched.late_fee_after(sched.first, days) == rules.late_fee(
            principal_fen=500, bps_per_day=POLICY.late_fee_bps_per_day, cap_bps=POLICY.late_fee_cap_bps, days=days,
            grace_days=POLICY.grace_days)[0]
    assert sched.late_fee_after(sched.first, POLICY.grace_days + 2) == 1


# ── the inbox ────────────────────────────────────────────────────────────────────────────────
def test_the_inbox_shows_a_deduction_notice_in_the_readers_language(world):
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    world.advance(seconds=int((due - 3 * DAY - world.clock.now()).total_seconds()))
    with world.tx() as s:
        page = account_views.my_notices(s, uid=o.uid, lang="en")
    [item] = [n for n in page.items if n.kind == "upcoming"]
    assert item.link_to == "bills" and yuan(o.inst(2).principal_fen + o.inst(2).fee_fen) in item.body
    assert china_time(due) in item.body and "from wallet" in item.body and "will be taken" in item.body


def test_next_event_after_names_each_notice_before_a_deduction(world):
    o = ThreeInstallments(world)
    due = o.inst(2).due_at
    with reading(world.engine) as s:
        assert next_event_after(s, world.clock.now()) == due - 3 * DAY
        assert next_event_after(s, due - 3 * DAY) == due - DAY


# ── the rules themselves ─────────────────────────────────────────────────────────────────────
NOW = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)


def test_the_notices_due_before_an_attempt_are_its_offsets_that_came_and_only_the_most_urgent_is_sent():
    at = NOW + 5 * DAY
    assert rules.notices_due(attempt_at=at, sent=0, now=at - 4 * DAY) is None
    assert rules.notices_due(attempt_at=at, sent=0, now=at - 3 * DAY) == (0b01, 3)
    assert rules.notices_due(attempt_at=at, sent=0b01, now=at - 2 * DAY) is None
    assert rules.notices_due(attempt_at=at, sent=0b01, now=at - DAY) == (0b11, 1)
    assert rules.notices_due(attempt_at=at, sent=0, now=at + DAY) == (rules.ALL_NOTICES, 1)  # reached late: one notice
    assert rules.notices_due(attempt_at=at, sent=rules.ALL_NOTICES, now=at + DAY) is None


def test_an_attempt_never_comes_before_its_first_notice_is_the_minimum_notice_old():
    gate = POLICY.min_notice
    assert rules.announced_attempt(NOW + 3 * DAY, None, NOW) == NOW + 3 * DAY  # told in time
    assert rules.announced_attempt(NOW - DAY, None, NOW) == NOW + gate  # reached late: told now, taken a day later
    assert rules.announced_attempt(NOW, NOW - DAY / 2, NOW) == NOW - DAY / 2 + gate
    assert rules.deduction_due(IS.SCHEDULED, NOW, NOW - gate, NOW, rules.noticed_by(NOW))
    assert not rules.deduction_due(IS.SCHEDULED, NOW, NOW - gate + timedelta(seconds=1), NOW, rules.noticed_by(NOW))
    assert not rules.deduction_due(IS.SCHEDULED, NOW, None, NOW, rules.noticed_by(NOW))
    assert not rules.deduction_due(IS.PAID, NOW, NOW - 3 * DAY, NOW, rules.noticed_by(NOW))
    # A moved attempt that was told of comes no sooner than the minimum notice after now.
    assert rules.moved_attempt(NOW, NOW + 3 * DAY, NOW - DAY, NOW) == NOW + gate
    assert rules.moved_attempt(NOW + 9 * DAY, NOW + 3 * DAY, NOW - DAY, NOW) == NOW + 9 * DAY
    assert rules.moved_attempt(NOW, NOW + 3 * DAY, None, NOW) == NOW  # never told: its first notice moves it


def test_a_notice_names_the_method_that_would_pay_now_else_the_first():
    assert rules.named_method([100, 5_000], 1_000) == 1
    assert rules.named_method([100, 500], 1_000) == 0
    assert rules.named_method([], 1_000) is None
    assert rules.ANNOUNCING_KINDS == ("reminder", "upcoming", "failed", "early_failed")
