"""The decisions of the rules, as pure functions of plain values: the per-row services, the
sweep's set-based path, the views and the analytics all call these, so a rule is written once.
Nothing here reads or writes a database; time is always an argument.

What is decided here: how much an installment owes and how a capture splits; when a deduction is
attempted and, when it fails, whether the installment is overdue and when it is tried again;
what follows from days overdue (grace, late fees, suspension, bad debt); when an order is paid
off, whether it was on time, what status it is in, and what an on-time order earns; which
reminders are due; and every notice the rules send: its kind, dedupe key and parameters, and its
words in either language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from .clock import china_time
from .messages import render
from .money import bps_of, yuan
from .policy import POLICY
from .status import BNPL_ACTIVE, BnplStatus as BS, InstallmentStatus as IS, MethodKind, OrderStatus as OS

DAY = timedelta(days=1)
_yuan = lru_cache(maxsize=8192)(yuan)  # the same few amounts recur thousands of times in a sweep


# ── money of one installment ─────────────────────────────────────────────────────────────────
def owed(principal_fen, fee_fen, fee_waived_fen, late_fee_fen, late_fee_waived_fen):
    """What an installment owes: principal and fee, late fees, less what was waived. Plain
    arithmetic, so it also builds the same rule as SQL from columns (``bills``)."""
    return principal_fen + fee_fen - fee_waived_fen + late_fee_fen - late_fee_waived_fen


def capture_split(*, principal_fen: int, amount_fen: int, platform_fee_bps: int) -> tuple[int, int, int]:
    """How a captured amount is shared: (merchant's share of the principal, the platform's
    service fee on the principal, fee income = everything above the principal)."""
    service_fee = bps_of(principal_fen, platform_fee_bps)
    return principal_fen - service_fee, service_fee, amount_fen - principal_fen


def first_covering(balances: Iterable[int], amount_fen: int) -> int | None:
    """Which payment method pays an amount: the first, in the shopper's order, whose balance
    covers all of it (its index), or None — an amount is never split across methods."""
    return next((i for i, balance in enumerate(balances) if balance >= amount_fen), None)


# ── payment methods ──────────────────────────────────────────────────────────────────────────
def method_change_refused(*, unbinding: bool, kind: str, balance_fen: int, auto: bool, other_auto: int,
                          owes_or_holds: bool) -> str | None:
    """Why the shopper may not unbind a payment method (``unbinding``) or switch its
    auto-deduction off — a message key — or None when they may. The wallet is not unbound while it
    holds money; the last method automatic deduction may use (``auto``, with ``other_auto`` others
    left) stays while anything is owed or held (open installments, orders in trial or returning)."""
    if unbinding and kind == MethodKind.WALLET and balance_fen > 0:
        return "method.wallet_balance"
    if auto and other_auto == 0 and owes_or_holds:
        return "method.last_auto_remove" if unbinding else "method.last_auto_off"
    return None


# ── deductions: when, and after a failure ────────────────────────────────────────────────────
def schedule_shift(trial_end_at: datetime, resumed_at: datetime | None) -> timedelta:
    """A rejected return paused the trial: if it resumed after the trial's end, the schedule moves
    to the resumption time, so the paused days never count as late."""
    return max(timedelta(0), (resumed_at or trial_end_at) - trial_end_at)


def first_attempt_at(*, due_at: datetime, seq: int, autopay_days_before: int, now: datetime) -> datetime:
    """When a billed installment is first attempted: the shopper's "N days before the due date"
    for all but the first (which is the trial's end), never before ``now``."""
    attempt = due_at - timedelta(days=autopay_days_before) if seq > 1 else due_at
    return max(attempt, now)


def attempt_due(status: str, attempt_at, now) -> bool:
    """An installment is attempted when it is open and its attempt time has come (``attempt_at``
    and ``now`` compare as they are: datetimes, or a driver's stored form of both)."""
    return status in IS.OPEN and attempt_at is not None and attempt_at <= now


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    overdue: bool  # the due date has come: the installment is overdue and the shopper is told
    retry_at: datetime


def failed_attempt(due_at: datetime, now: datetime) -> FailedAttempt:
    """After a deduction nothing covered: overdue iff ``due_at <= now``; tried again tomorrow, an
    early auto-repay attempt (due date still ahead) at the latest on the due date."""
    if due_at <= now:
        return FailedAttempt(True, now + POLICY.retry_every)
    return FailedAttempt(False, min(now + POLICY.retry_every, due_at))


# ── overdue ──────────────────────────────────────────────────────────────────────────────────
def days_overdue(due_at: datetime, now: datetime) -> int:
    """Whole days since the due instant (0 before it and during its first day)."""
    return max(0, (now - due_at) // DAY)


def grace_over(days: int, grace_days: int) -> bool:
    """The grace period has ended unpaid: score penalty and limit cut (once per installment)."""
    return days >= grace_days


def penalized_limit(limit_fen: int) -> int:
    """The limit after the grace period ended unpaid."""
    return limit_fen // POLICY.overdue_limit_divisor


def late_fee(*, principal_fen: int, bps_per_day: int, cap_bps: int, days: int, grace_days: int) -> tuple[int, int]:
    """(late fees accrued in total, fee days) after ``days`` overdue: the per-day fee on the
    principal, rounded to the fen, for every day after the grace period, capped at ``cap_bps`` of
    the principal."""
    fee_days = max(0, days - grace_days)
    return min(bps_of(principal_fen, cap_bps), bps_of(principal_fen, bps_per_day) * fee_days), fee_days


def suspension_due(days: int) -> bool:
    """先用后付 is suspended (limit 0) at this many days overdue."""
    return days >= POLICY.suspend_after_days


def is_bad_debt(days: int) -> bool:
    """At this many days overdue the debt is a bad debt (呆账)."""
    return days >= POLICY.bad_debt_after_days


# ── an order after its installments changed ──────────────────────────────────────────────────
def installment_was_late(status: str, was_overdue: bool, penalized: bool, plan_application_id: int | None) -> bool:
    """It went overdue (a deduction failed on or after its due date — the sweep runs some seconds
    after the due instant, so paid_at vs due_at cannot decide this), or it belongs to a hardship
    plan; a cancelled one never counts. Positional, so a row of ``payments.LATE_COLUMNS`` goes in as
    it is."""
    return status != IS.CANCELLED and bool(was_overdue or penalized or plan_application_id is not None)


_GONE = (IS.REPLACED, IS.CANCELLED)


def order_status_after(status: str, installment_statuses: Iterable[str]) -> str:
    """A billed order's status from its installments (replaced and cancelled ones left out): PAID
    when every one is paid, OVERDUE when any is overdue, else DUE. Any other order keeps its own."""
    if status not in OS.BILLED:
        return status
    live = [s for s in installment_statuses if s not in _GONE]
    if live and live.count(IS.PAID) == len(live):
        return OS.PAID
    return OS.OVERDUE if IS.OVERDUE in live else OS.DUE


@dataclass(frozen=True, slots=True)
class Standing:
    """What a paid-off order does to the shopper's credit account."""

    score: int
    streak: int
    limit_fen: int
    stepped: bool  # the limit rose one step


def standing_after_order(*, on_time: bool, score: int, streak: int, limit_fen: int, bnpl_status: str,
                         restorable_limit_fen: int | None) -> Standing:
    """A late order breaks the streak. An on-time one adds the bonus to the score (within
    350–950) and to the streak; every ``on_time_orders_for_step``-th in a row lifts the limit one
    step (never above the score band's ceiling) — unless 先用后付 is not active or the limit was
    cut (then only an operator's restoration gives it back)."""
    if not on_time:
        return Standing(score, 0, limit_fen, False)
    score = POLICY.clamp_score(score + POLICY.on_time_score_bonus)
    streak += 1
    limit = limit_fen
    if streak >= POLICY.on_time_orders_for_step:
        streak = 0
        if bnpl_status == BNPL_ACTIVE and restorable_limit_fen is None:
            limit = max(limit_fen, POLICY.next_step(limit_fen, score))
    return Standing(score, streak, limit, limit > limit_fen)


def reward_taken_back(*, score: int, streak: int, limit_fen: int, points: int,
                      step: tuple[int, int] | None) -> Standing:
    """A returned (refunded) order earns no on-time reward: the ``points`` it added come off the
    score (within 350–950), it no longer counts in the streak, and the limit step it brought
    (``step`` = (limit before, limit after)) is undone — if the limit is still the stepped one
    (a later cut or restoration has since decided the limit, and stays)."""
    limit = step[0] if step is not None and limit_fen == step[1] else limit_fen
    return Standing(POLICY.clamp_score(score - points), max(0, streak - 1), limit, False)


# ── returns ──────────────────────────────────────────────────────────────────────────────────
def may_return(*, status: str, trial_end_at: datetime, now: datetime, returned_before: bool) -> bool:
    """Returning within the trial is a right, paid or not: an order in its trial, or paid early
    during it (pay now), may be sent back while its trial runs — once (a rejected return is final)."""
    return not returned_before and trial_end_at > now and status in (OS.TRIAL, OS.PAID)


def bnpl_status_after(current: str, wanted: str) -> str:
    """Consent belongs to the shopper. A suspension (the sweep) of a shopper who had closed
    先用后付 leaves it closed — its consequence, the limit cut to 0, applies all the same; turning it
    back on (active) is a restoration's only for a suspended shopper: a closed or never-opened one
    turns it on only themselves, with the terms (``consent.open_bnpl``)."""
    if wanted == BS.SUSPENDED and current == BS.CLOSED:
        return current
    if wanted == BS.ACTIVE and current != BS.SUSPENDED:
        return current
    return wanted


# ── reminders ────────────────────────────────────────────────────────────────────────────────
def reminders_due(*, trial_end_at: datetime, created_at: datetime, sent: int, now: datetime) -> tuple[int, int] | None:
    """The trial-end reminders (``POLICY.reminder_days_before``, bit i of ``sent`` for the i-th)
    that have come and were not sent: (``sent`` with them added, the days of the most urgent —
    after a jump only that one is worth sending), or None. A reminder that would fall before the
    order existed never comes."""
    days = POLICY.reminder_days_before
    due = [i for i, d in enumerate(days)
           if created_at <= trial_end_at - timedelta(days=d) <= now and not sent & (1 << i)]
    if not due:
        return None
    for i in due:
        sent |= 1 << i
    return sent, min(days[i] for i in due)


# ── notices ──────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True, slots=True)
class Notice:
    """One notice: its kind (the ``n.<kind>.title/body`` messages), the key that makes it go out
    once, and its parameters (stored as they are, to render in the reader's language)."""

    kind: str
    dedupe_key: str | None
    params: dict


def notice_text(kind: str, params: dict, lang: str = "zh") -> tuple[str, str]:
    """A notice's title and body in ``lang``. (``kind`` names the notice, so an application's
    kind travels as ``kind_label``; the messages call it {kind}.)"""
    fmt = {"kind": params["kind_label"], **params} if "kind_label" in params else params
    return render(f"n.{kind}.title", lang, **fmt), render(f"n.{kind}.body", lang, **fmt)


def deducted_notice(*, installment_id: int, product: str, seq: int, periods: int, method: str,
                    amount_fen: int) -> Notice:
    return Notice("deducted", f"cap:{installment_id}", dict(product=product, seq=seq, periods=periods, method=method,
                                                            amount=_yuan(amount_fen)))


def failed_notice(*, installment_id: int, product: str, seq: int, periods: int, owed_fen: int, due_at: datetime,
                  grace_days: int) -> Notice:
    """A deduction of an installment that is due failed; it names when the grace period ends."""
    return Notice("failed", f"fail:{installment_id}", dict(
        product=product, seq=seq, periods=periods, amount=_yuan(owed_fen),
        grace_end=china_time(due_at + timedelta(days=grace_days))))


def paid_notice(*, order_id: int, product: str) -> Notice:
    return Notice("paid", f"paid:{order_id}", dict(product=product))


def refund_notice(*, order_id: int, product: str, amount_fen: int, methods: str) -> Notice:
    """A returned order's captured money went back: how much, and to which methods (their labels;
    as ``method``, the parameter the inbox names a wallet by in the reader's language)."""
    return Notice("refund", f"refund:{order_id}", dict(product=product, amount=_yuan(amount_fen), method=methods))


def reward_notice(*, order_id: int, standing: Standing) -> Notice:
    """An on-time order's reward: the bonus, and the new limit when it stepped up."""
    return Notice("reward_step" if standing.stepped else "reward", f"reward:{order_id}",
                  dict(points=POLICY.on_time_score_bonus, limit=_yuan(standing.limit_fen if standing.stepped else 0)))


def reminder_notice(*, order_id: int, days: int, product: str, trial_end_at: datetime, amount_fen: int) -> Notice:
    return Notice("reminder", f"rem:{order_id}:{days}", dict(product=product, days=days, due=china_time(trial_end_at),
                                                             amount=_yuan(amount_fen)))


def penalty_notice(*, installment_id: int, limit_fen: int) -> Notice:
    return Notice("penalty", f"pen:{installment_id}", dict(points=POLICY.overdue_score_penalty, limit=yuan(limit_fen)))


def late_fee_notice(*, installment_id: int, fee_days: int, days: int, product: str, seq: int, periods: int,
                    total_fen: int) -> Notice:
    return Notice("late_fee", f"late:{installment_id}:{fee_days}", dict(product=product, seq=seq, periods=periods,
                                                                        days=days, total=yuan(total_fen)))


def suspended_notice(*, installment_id: int, days: int) -> Notice:
    return Notice("suspended", f"susp:{installment_id}", dict(days=days))


def bad_debt_notice(*, installment_id: int, days: int) -> Notice:
    return Notice("bad_debt", f"bad:{installment_id}", dict(days=days))
