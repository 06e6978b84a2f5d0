"""The pure decisions of ``domain.rules``, on plain values: what is owed and how a capture splits,
when a deduction is attempted and retried, what days overdue lead to, an order's status and
whether it was on time, what a paid-off order earns, which reminders are due, and what each
notice says. (The services and both paths of the sweep call these: tests/unit/test_sweep.py and
tests/property/test_sweep_paths.py check them in use.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bnpl_app.domain import rules
from bnpl_app.domain.clock import UTC, china_time
from bnpl_app.domain.money import bps_of, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.domain.status import BNPL_ACTIVE, BNPL_CLOSED, BNPL_SUSPENDED, InstallmentStatus as IS, OrderStatus as OS

NOW = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
FAIR = POLICY.bands[1]  # the ¥500 band
STEP = POLICY.on_time_orders_for_step


# ── money of one installment ─────────────────────────────────────────────────────────────────
def test_owed_is_principal_and_fees_less_what_was_waived():
    assert rules.owed(10_000, 600, 0, 0, 0, 0) == 10_600
    assert rules.owed(10_000, 600, 600, 250, 50, 0) == 10_200
    assert rules.owed(10_000, 600, 600, 250, 50, 120) == 10_320  # a 备用金 month's overdue interest


def test_a_capture_splits_into_the_merchants_share_the_service_fee_and_fee_income():
    share, fee, income = rules.capture_split(principal_fen=12_345, amount_fen=12_345 + 74 + 31, platform_fee_bps=200)
    assert fee == bps_of(12_345, 200) == 247  # rounded half up to the fen
    assert (share, income) == (12_345 - 247, 105)
    assert share + fee + income == 12_345 + 105


# ── when a deduction is attempted ────────────────────────────────────────────────────────────
def test_the_schedule_moves_only_by_the_days_a_rejected_return_paused_it_after_the_trial():
    end = NOW
    assert rules.schedule_shift(end, None) == timedelta(0)
    assert rules.schedule_shift(end, end - 2 * DAY) == timedelta(0)  # resumed before the end: nothing to move
    assert rules.schedule_shift(end, end + 3 * DAY) == 3 * DAY


@pytest.mark.parametrize("days", range(POLICY.autopay_days_before_max + 1))
def test_auto_repay_moves_later_attempts_earlier_but_never_the_first_nor_before_now(days):
    due = NOW + 30 * DAY
    assert rules.first_attempt_at(due_at=NOW, seq=1, autopay_days_before=days, now=NOW) == NOW
    assert rules.first_attempt_at(due_at=due, seq=1, autopay_days_before=days, now=NOW) == due
    assert rules.first_attempt_at(due_at=due, seq=2, autopay_days_before=days, now=NOW) == due - days * DAY
    assert rules.first_attempt_at(due_at=NOW + DAY, seq=2, autopay_days_before=days, now=NOW) == max(NOW, NOW + DAY - days * DAY)


def test_an_installment_is_attempted_when_it_is_open_and_its_time_has_come():
    assert rules.attempt_due(IS.SCHEDULED, NOW, NOW) and rules.attempt_due(IS.OVERDUE, NOW - DAY, NOW)
    assert not rules.attempt_due(IS.SCHEDULED, NOW + timedelta(seconds=1), NOW)
    assert not rules.attempt_due(IS.OVERDUE, None, NOW)
    assert not any(rules.attempt_due(s, NOW - DAY, NOW) for s in (IS.PENDING, IS.PAID, IS.CANCELLED, IS.REPLACED))
    assert rules.attempt_due(IS.SCHEDULED, "2026-11-15 02:00:00.000000", "2026-11-15 02:00:00.000001")  # as stored


def test_a_failed_attempt_on_or_after_the_due_date_is_overdue_and_retried_a_day_later():
    for due in (NOW, NOW - 5 * DAY):
        fa = rules.failed_attempt(due, NOW)
        assert fa.overdue and fa.retry_at == NOW + POLICY.retry_every


def test_a_failed_early_attempt_is_not_overdue_and_is_retried_at_the_latest_on_the_due_date():
    far = rules.failed_attempt(NOW + 3 * DAY, NOW)
    assert not far.overdue and far.retry_at == NOW + POLICY.retry_every
    near = rules.failed_attempt(NOW + timedelta(hours=5), NOW)
    assert not near.overdue and near.retry_at == NOW + timedelta(hours=5)


# ── overdue ──────────────────────────────────────────────────────────────────────────────────
def test_days_overdue_count_whole_days_from_the_due_instant():
    assert rules.days_overdue(NOW, NOW - DAY) == 0
    assert rules.days_overdue(NOW, NOW + DAY - timedelta(seconds=1)) == 0
    assert rules.days_overdue(NOW, NOW + 3 * DAY) == 3


def test_grace_ends_at_the_grace_days_and_the_penalty_halves_the_limit():
    assert not rules.grace_over(POLICY.grace_days - 1, POLICY.grace_days)
    assert rules.grace_over(POLICY.grace_days, POLICY.grace_days)
    assert rules.penalized_limit(100_001) == 100_001 // POLICY.overdue_limit_divisor


def test_late_fees_accrue_after_grace_on_the_running_total_rounded_once_and_capped():
    kw = dict(principal_fen=12_345, bps_per_day=POLICY.late_fee_bps_per_day, cap_bps=POLICY.late_fee_cap_bps,
              grace_days=POLICY.grace_days)
    cap = bps_of(12_345, POLICY.late_fee_cap_bps)
    assert rules.late_fee(days=POLICY.grace_days, **kw) == (0, 0)
    assert rules.late_fee(days=0, **kw) == (0, 0)
    # 12,345 fen × 0.05 % = 6.1725 fen a day: after 10 days round(61.725) = 62, not 10 × round(6.1725) = 60
    assert rules.late_fee(days=POLICY.grace_days + 10, **kw) == (62, 10)
    days_to_cap = next(d for d in range(1, 10_000) if bps_of(12_345, POLICY.late_fee_bps_per_day * d) >= cap)
    assert rules.late_fee(days=POLICY.grace_days + days_to_cap - 1, **kw)[0] < cap
    assert rules.late_fee(days=POLICY.grace_days + days_to_cap + 40, **kw) == (cap, days_to_cap + 40)


def test_a_small_principal_accrues_a_late_fee_too_and_stops_at_the_cap():
    """¥5 at 0.05 % a day is 0.25 fen a day: rounded per day it never accrued; on the running total
    it is 1 fen after 2 fee days (0.5 rounds up), 2 fen after 6, and never above 24 % (120 fen)."""
    kw = dict(principal_fen=500, bps_per_day=POLICY.late_fee_bps_per_day, cap_bps=POLICY.late_fee_cap_bps,
              grace_days=POLICY.grace_days)
    g = POLICY.grace_days
    assert bps_of(500, POLICY.late_fee_bps_per_day) == 0
    assert [rules.late_fee(days=g + d, **kw)[0] for d in (1, 2, 5, 6, 100)] == [0, 1, 1, 2, 25]
    assert rules.late_fee(days=g + 10_000, **kw) == (bps_of(500, POLICY.late_fee_cap_bps), 10_000) == (120, 10_000)


def test_an_amount_may_rise_before_an_attempt_only_when_overdue_and_a_late_fee_accrues_by_then():
    kw = dict(plan_application_id=None, principal_fen=12_345, late_fee_fen=0, due_at=NOW,
              bps_per_day=POLICY.late_fee_bps_per_day, cap_bps=POLICY.late_fee_cap_bps, grace_days=POLICY.grace_days)
    g = POLICY.grace_days
    assert not rules.late_fee_may_rise(overdue=True, at=NOW + g * DAY, **kw)  # still inside the grace period
    assert rules.late_fee_may_rise(overdue=True, at=NOW + (g + 1) * DAY, **kw)
    assert not rules.late_fee_may_rise(overdue=False, at=NOW + (g + 1) * DAY, **kw)  # not overdue: no late fee
    assert not rules.late_fee_may_rise(overdue=True, at=NOW + (g + 1) * DAY, **{**kw, "plan_application_id": 7})
    capped = bps_of(12_345, POLICY.late_fee_cap_bps)
    assert not rules.late_fee_may_rise(overdue=True, at=NOW + 2000 * DAY, **{**kw, "late_fee_fen": capped})


def test_suspension_and_bad_debt_come_at_their_days():
    assert not rules.suspension_due(POLICY.suspend_after_days - 1) and rules.suspension_due(POLICY.suspend_after_days)
    assert not rules.is_bad_debt(POLICY.bad_debt_after_days - 1) and rules.is_bad_debt(POLICY.bad_debt_after_days)


# ── an order after its installments changed ──────────────────────────────────────────────────
@pytest.mark.parametrize("status, was_overdue, penalized, plan, late", [
    (IS.PAID, False, False, None, False),
    (IS.PAID, True, False, None, True),  # went overdue, paid within grace: still late
    (IS.PAID, False, True, None, True),
    (IS.PAID, False, False, 7, True),  # a hardship plan's installment
    (IS.REPLACED, True, True, None, True),  # the overdue installment a plan replaced
    (IS.CANCELLED, True, True, 7, False),  # returned: never counts
    (IS.PAID, 0, 0, None, False),  # SQLite's booleans
])
def test_an_installment_was_late_if_it_went_overdue_or_belongs_to_a_hardship_plan(status, was_overdue, penalized,
                                                                                    plan, late):
    assert rules.installment_was_late(status=status, was_overdue=was_overdue, penalized=penalized,
                                      plan_application_id=plan) is late


@pytest.mark.parametrize("status, insts, want", [
    (OS.DUE, [IS.PAID, IS.PAID], OS.PAID),
    (OS.OVERDUE, [IS.PAID, IS.REPLACED, IS.PAID], OS.PAID),  # replaced ones are left out
    (OS.DUE, [IS.PAID, IS.SCHEDULED], OS.DUE),
    (OS.DUE, [IS.OVERDUE, IS.SCHEDULED], OS.OVERDUE),
    (OS.OVERDUE, [IS.PAID, IS.SCHEDULED], OS.DUE),  # the overdue one was paid
    (OS.DUE, [IS.CANCELLED], OS.DUE),  # nothing live is not "all paid"
    (OS.TRIAL, [IS.PAID], OS.TRIAL),  # not billed: keeps its own status
    (OS.RETURN_RECEIVED, [IS.PENDING], OS.RETURN_RECEIVED),
])
def test_a_billed_orders_status_follows_its_installments(status, insts, want):
    assert rules.order_status_after(status, iter(insts)) == want


# ── what a paid-off order earns ──────────────────────────────────────────────────────────────
def standing(on_time=True, score=FAIR.low + 30, streak=0, limit=FAIR.start_limit_fen, status=BNPL_ACTIVE,
             restorable=None) -> rules.Standing:
    return rules.standing_after_order(on_time=on_time, score=score, streak=streak, limit_fen=limit, bnpl_status=status,
                                      restorable_limit_fen=restorable)


def test_an_on_time_order_adds_the_bonus_to_score_and_streak():
    assert standing() == rules.Standing(FAIR.low + 30 + POLICY.on_time_score_bonus, 1, FAIR.start_limit_fen, False)


def test_the_score_never_rises_above_the_maximum():
    assert standing(score=POLICY.score_max - 1).score == POLICY.score_max
    assert standing(score=POLICY.score_max).score == POLICY.score_max


def test_a_streak_of_on_time_orders_lifts_the_limit_one_step_and_starts_again():
    st = standing(streak=STEP - 1)
    assert st.stepped and st.streak == 0
    assert st.limit_fen == POLICY.next_step(FAIR.start_limit_fen, st.score) > FAIR.start_limit_fen


def test_no_step_above_the_bands_ceiling():
    st = standing(streak=STEP - 1, limit=FAIR.ceiling_fen)
    assert not st.stepped and st.limit_fen == FAIR.ceiling_fen and st.streak == 0


@pytest.mark.parametrize("status, restorable", [(BNPL_SUSPENDED, None), (BNPL_CLOSED, None), (BNPL_ACTIVE, 100_000)])
def test_no_step_unless_active_and_never_cut(status, restorable):
    st = standing(streak=STEP - 1, status=status, restorable=restorable)
    assert not st.stepped and st.limit_fen == FAIR.start_limit_fen and st.streak == 0
    assert st.score == FAIR.low + 30 + POLICY.on_time_score_bonus


def test_a_late_order_breaks_the_streak_and_earns_nothing():
    assert standing(on_time=False, streak=STEP - 1) == rules.Standing(FAIR.low + 30, 0, FAIR.start_limit_fen, False)


# ── reminders ────────────────────────────────────────────────────────────────────────────────
def test_reminders_fall_due_at_their_days_before_the_trials_end_once_each():
    end, created = NOW + 7 * DAY, NOW
    first, last = max(POLICY.reminder_days_before), min(POLICY.reminder_days_before)
    i_first, i_last = POLICY.reminder_days_before.index(first), POLICY.reminder_days_before.index(last)
    due = lambda sent, at: rules.reminders_due(trial_end_at=end, created_at=created, sent=sent, now=at)  # noqa: E731
    assert due(0, end - first * DAY - timedelta(seconds=1)) is None
    assert due(0, end - first * DAY) == (1 << i_first, first)
    assert due(1 << i_first, end - first * DAY + timedelta(hours=1)) is None  # sent
    assert due(1 << i_first, end - last * DAY) == ((1 << i_first) | (1 << i_last), last)
    # after a jump both are due: both are marked sent, only the most urgent is told
    assert due(0, end - timedelta(hours=1)) == ((1 << i_first) | (1 << i_last), last)


def test_no_reminder_falls_before_the_order_existed():
    end = NOW + 2 * DAY
    assert rules.reminders_due(trial_end_at=end, created_at=NOW, sent=0, now=end - timedelta(hours=1)) == (
        1 << POLICY.reminder_days_before.index(1), 1)


# ── notices ──────────────────────────────────────────────────────────────────────────────────
def test_each_notice_has_its_dedupe_key_and_parameters():
    due = NOW - DAY
    assert rules.deducted_notice(installment_id=9, product="T恤", seq=1, periods=3, method="余额", amount_fen=3_433) == \
        rules.Notice("deducted", "cap:9", dict(product="T恤", seq=1, periods=3, method="余额", amount=yuan(3_433)), 9)
    retry = NOW + POLICY.retry_every
    failed = rules.failed_notice(installment_id=9, product="T恤", seq=2, periods=3, owed_fen=3_433, due_at=due,
                                 grace_days=POLICY.grace_days, now=NOW, retry_at=retry, method="余额")
    assert failed == rules.Notice("failed", f"fail:9:{rules.china_date(NOW)}", dict(
        product="T恤", seq=2, periods=3, amount=yuan(3_433), amount_fen=3_433, at=retry.isoformat(), method="余额",
        grace_end=china_time(due + POLICY.grace_days * DAY), next=china_time(retry), days=1), 9)
    assert rules.paid_notice(order_id=4, product="T恤") == rules.Notice("paid", "paid:4", dict(product="T恤"))
    assert rules.reminder_notice(order_id=4, installment_id=5, days=3, product="T恤", at=NOW, amount_fen=100,
                                 method="余额").dedupe_key == "rem:4:3"
    assert rules.penalty_notice(installment_id=9, limit_fen=25_000).params == dict(
        points=POLICY.overdue_score_penalty, limit=yuan(25_000))
    assert rules.late_fee_notice(installment_id=9, fee_days=2, days=5, product="T恤", seq=1, periods=1,
                                 total_fen=12).dedupe_key == "late:9:2"
    assert rules.suspended_notice(installment_id=9, days=30) == rules.Notice("suspended", "susp:9", dict(days=30))
    assert rules.bad_debt_notice(installment_id=9, days=90) == rules.Notice("bad_debt", "bad:9", dict(days=90))


def test_the_reward_notice_names_the_new_limit_only_when_it_stepped():
    plain, stepped = standing(), standing(streak=STEP - 1)
    assert rules.reward_notice(order_id=4, standing=plain) == rules.Notice(
        "reward", "reward:4", dict(points=POLICY.on_time_score_bonus, limit=yuan(0)))
    assert rules.reward_notice(order_id=4, standing=stepped) == rules.Notice(
        "reward_step", "reward:4", dict(points=POLICY.on_time_score_bonus, limit=yuan(stepped.limit_fen)))


def test_a_notice_reads_in_either_language_from_its_parameters():
    n = rules.deducted_notice(installment_id=9, product="T恤", seq=1, periods=3, method="余额", amount_fen=3_433)
    zh, en = rules.notice_text(n.kind, n.params, "zh"), rules.notice_text(n.kind, n.params, "en")
    assert zh[0] == "扣款成功" and "¥34.33" in zh[1] and "T恤" in zh[1]
    assert en[0] == "Payment taken" and "¥34.33" in en[1]
    params = json.loads(json.dumps(n.params))  # as stored, and read back by the inbox
    assert rules.notice_text(n.kind, params, "en") == en


def test_an_applications_kind_travels_as_kind_label():
    title, body = rules.notice_text("app_rejected", dict(kind_label="额度恢复", reason="x"), "zh")
    assert "额度恢复" in title + body


def test_the_first_method_in_order_that_covers_the_whole_amount_pays():
    assert rules.first_covering([500, 2_000, 5_000], 1_000) == 1
    assert rules.first_covering([1_000], 1_000) == 0  # exactly enough is enough
    assert rules.first_covering([999, 600, 600], 1_000) is None  # never split across methods
    assert rules.first_covering([], 1) is None
