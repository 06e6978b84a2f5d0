"""The decisions of the rules, as pure functions of plain values: the per-row services, the
sweep's set-based path, the views and the analytics all call these, so a rule is written once.
Nothing here reads or writes a database; time is always an argument.

What is decided here: how much an installment owes and how a capture splits; when a deduction is
attempted and, when it fails, whether the installment is overdue and when it is tried again;
what follows from days overdue (grace, late fees, suspension, bad debt); when an order is paid
off, whether it was on time, what status it is in, and what an on-time order earns; which
reminders are due; the notices before every automatic deduction (which are due, when an attempt
may come after them — the gate — and which method they name); and every notice the rules send:
its kind, dedupe key and parameters, and its words in either language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from . import loans
from .clock import CST, UTC, china_time
from .messages import render
from .money import bps_of, yuan
from .policy import POLICY
from .status import BNPL_ACTIVE, BnplStatus as BS, InstallmentStatus as IS, MethodKind, OrderKind, OrderStatus as OS

DAY = timedelta(days=1)
_yuan = lru_cache(maxsize=8192)(yuan)  # the same few amounts recur thousands of times in a sweep


# ── money of one installment ─────────────────────────────────────────────────────────────────
def owed(principal_fen, fee_fen, fee_waived_fen, late_fee_fen, late_fee_waived_fen, overdue_interest_fen):
    """What an installment owes: principal and fee, late fees, less what was waived, and the
    interest an overdue 备用金 installment accrued past its due date (``overdue_interest``). Plain
    arithmetic, so it also builds the same rule as SQL from columns (``bills``)."""
    return principal_fen + fee_fen - fee_waived_fen + late_fee_fen - late_fee_waived_fen + overdue_interest_fen


def capture_split(*, principal_fen: int, amount_fen: int, platform_fee_bps: int) -> tuple[int, int, int]:
    """How a captured amount is shared: (merchant's share of the principal, the platform's
    service fee on the principal, fee income = everything above the principal)."""
    service_fee = bps_of(principal_fen, platform_fee_bps)
    return principal_fen - service_fee, service_fee, amount_fen - principal_fen


# Which credit line a kind's principal is owed on, and so which line a capture of it repays:
# the 先用后付 limit, the 备用金 line, or none (rent is not credit principal).
LINE_LIMIT, LINE_CASH = "limit", "cash"
_LINE_OF_KIND = {OrderKind.BNPL: LINE_LIMIT, OrderKind.CHARGE: LINE_LIMIT, OrderKind.CASH: LINE_CASH,
                 OrderKind.RENT: None, OrderKind.BUY: None}


def line_repaid(kind: str) -> str | None:
    """The line a captured principal of an order of ``kind`` goes back to (``LINE_LIMIT``,
    ``LINE_CASH``) or None."""
    return _LINE_OF_KIND[OrderKind(kind)]


def pays_merchant(kind: str) -> bool:
    """A capture's principal share goes to the order's merchant (less the platform's service fee),
    except a 备用金 draw's, which goes back to the platform's cash book."""
    return OrderKind(kind) != OrderKind.CASH


def refundable(kind: str) -> bool:
    """A capture may be given back (a return within the trial refunds what was paid): not a
    备用金 repayment, whose refund would leave the loan owed again."""
    return OrderKind(kind) != OrderKind.CASH


def early_repay_on_bills(kind: str) -> bool:
    """The bills page repays a whole order early (fees of periods not yet started waived) for
    先用后付 and charges; a 备用金 draw is repaid early on its own page (interest by the day) and rent is
    not repaid early (it ends by a buy-out or a return)."""
    return OrderKind(kind) in (OrderKind.BNPL, OrderKind.CHARGE)


def earns_standing(kind: str) -> bool:
    """A contract paid off through the engine (先用后付, a 备用金 draw, rent, a charge) counts for the
    shopper's on-time record like any order; an ordinary purchase, paid at once, never does."""
    return OrderKind(kind) != OrderKind.BUY


def rate_within_cap(daily_rate_ppm: int) -> bool:
    """A 备用金 daily rate whose APR (× 365) is not above ``POLICY.cash_apr_cap_bps`` (1 bp = 100 ppm)."""
    return 0 < daily_rate_ppm and daily_rate_ppm * 365 <= POLICY.cash_apr_cap_bps * 100


def interest_cap_fen(principal_fen: int, days: int) -> int:
    """The most interest ``principal_fen`` may bear over ``days`` at the APR cap (rounded up to the
    fen: a schedule rounded to the fen never breaks the cap by rounding alone)."""
    return -(-principal_fen * POLICY.cash_apr_cap_bps * max(0, days) // (10_000 * 365))


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


def named_method(balances: Iterable[int], amount_fen: int) -> int | None:
    """Which method a notice before a deduction names: the one that would pay it now (the first
    covering it), else the first the deduction would try; None when there is none."""
    balances = list(balances)
    i = first_covering(balances, amount_fen)
    return i if i is not None else (0 if balances else None)


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
    """(late fees accrued in total, fee days) after ``days`` overdue: the daily rate on the
    principal for every day after the grace period, as a running total rounded to the fen once
    (round(principal × rate × fee days), so a small principal accrues too), capped at ``cap_bps``
    of the principal."""
    fee_days = max(0, days - grace_days)
    return min(bps_of(principal_fen, cap_bps), bps_of(principal_fen, bps_per_day * fee_days)), fee_days


def overdue_interest(principal_fen: int, daily_rate_ppm: int, days: int) -> int:
    """Interest keeps running on an overdue 备用金 installment's unpaid principal: at its draw's
    daily rate for every day past the due date (from the due date, not after grace), as a running
    total rounded to the fen once (round(principal × rate × days)). Its APR is the draw's, within
    the cap. It stops, like late fees, when a hardship plan replaces the schedule (a plan's
    installments carry what was accrued, and accrue nothing): the sweep calls this only for an
    overdue installment of a draw not on a plan; ``daily_rate_ppm`` 0 (any other kind) accrues nothing."""
    return loans.interest(principal_fen, daily_rate_ppm, days)


def late_fee_may_rise(*, overdue: bool, plan_application_id: int | None, principal_fen: int, late_fee_fen: int,
                      due_at: datetime, at: datetime, bps_per_day: int, cap_bps: int, grace_days: int,
                      interest_ppm: int = 0, overdue_interest_fen: int = 0) -> bool:
    """Whether what an installment owes may grow before an attempt at ``at``: it is overdue (late
    fees and overdue interest accrue only then, never on a hardship plan's) and by ``at`` the late
    fee of the order's terms, or the overdue interest at ``interest_ppm`` (a 备用金 draw's rate; 0
    for every other kind), is above what it has accrued so far."""
    if not overdue or plan_application_id is not None:
        return False
    days = days_overdue(due_at, at)
    total, _days = late_fee(principal_fen=principal_fen, bps_per_day=bps_per_day, cap_bps=cap_bps, days=days,
                            grace_days=grace_days)
    return total > late_fee_fen or overdue_interest(principal_fen, interest_ppm, days) > overdue_interest_fen


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
    once, its parameters (stored as they are, to render in the reader's language) and, for a
    notice about one installment's deduction, that installment."""

    kind: str
    dedupe_key: str | None
    params: dict
    installment_id: int | None = None


# Sentences added to a notice's body when its parameters carry what they name: (words, parameter).
_TAILS = {"reminder": (("n.tail.method", "method"),), "failed": (("n.tail.next", "next"),),
          "early_failed": (("n.tail.next", "next"),)}


def notice_text(kind: str, params: dict, lang: str = "zh") -> tuple[str, str]:
    """A notice's title and body in ``lang``. (``kind`` names the notice, so an application's
    kind travels as ``kind_label``; the messages call it {kind}.) A ``variant`` picks another body
    (``n.<kind>.body.<variant>``); a deduction's method or next attempt and the late-fee rule
    (``late_rule``: the amount may still rise) are sentences of their own after it."""
    fmt = {"kind": params["kind_label"], **params} if "kind_label" in params else params
    if params.get("late_rule"):
        fmt = {**fmt, "rate": _pct(int(params.get("late_bps", 0))), "cap": _pct(int(params.get("late_cap_bps", 0)))}
    body_key = f"n.{kind}.body"
    if params.get("variant"):
        body_key += "." + params["variant"]
    body = render(body_key, lang, **fmt)
    for words, needs in _TAILS.get(kind, ()):
        if needs in params:
            body += render(words, lang, **fmt)
    if params.get("late_rule"):
        body += render("n.tail.late_rule", lang, **fmt)
    if params.get("interest_ppm"):
        body += render("interest.n.tail", lang, interest_rate=loans.rate_percent(int(params["interest_ppm"])))
    return render(f"n.{kind}.title", lang, **fmt), body


# ── notices before every automatic deduction ─────────────────────────────────────────────────
# The kinds of notice that announce an automatic deduction (naming its amount, time and method):
# the trial-end reminders (installment 1), the notices before every other attempt, and the notice
# of a failed attempt, which announces the retry.
ANNOUNCING_KINDS = ("reminder", "upcoming", "failed", "early_failed")
FAILURE_KINDS = ("failed", "early_failed")  # one per failed attempt (attempts are a day apart)
ALL_NOTICES = (1 << len(POLICY.reminder_days_before)) - 1  # every offset's bit: nothing more to announce


def noticed_by(now: datetime) -> datetime:
    """An automatic deduction at ``now`` needs its first notice to have gone out by this time."""
    return now - POLICY.min_notice


def deduction_due(status: str, attempt_at, noticed_at, now, noticed_by_) -> bool:
    """``attempt_due``, and the shopper was told at least ``POLICY.min_notice`` before: the first
    notice about it went out at or before ``noticed_by_`` (``noticed_by(now)``; all four compare as
    they are, datetimes or a driver's stored form)."""
    return attempt_due(status, attempt_at, now) and noticed_at is not None and noticed_at <= noticed_by_


def announced_attempt(attempt_at: datetime, noticed_at: datetime | None, now: datetime) -> datetime:
    """When an attempt may come, told now (``noticed_at`` None) or at ``noticed_at``: never before
    that first notice is ``POLICY.min_notice`` old, never in the past."""
    return max(attempt_at, (noticed_at or now) + POLICY.min_notice, now)


def moved_attempt(new: datetime, announced: datetime, noticed_at: datetime | None, now: datetime) -> datetime:
    """An attempt announced for ``announced`` moves to ``new`` (an auto-repay setting, a schedule
    that shifted): its notices start over, and the new time comes no sooner than the minimum
    notice after now (when its notices are due at once, the one sent now names it). One never told
    of keeps ``new``: its first notice moves it (``announced_attempt``)."""
    if noticed_at is None or new == announced:
        return new
    return max(new, now + POLICY.min_notice)


def notices_due(*, attempt_at: datetime, sent: int, now: datetime) -> tuple[int, int] | None:
    """The notices before an attempt (``POLICY.reminder_days_before``, bit i of ``sent`` for the
    i-th) whose time has come and that were not sent: (``sent`` with them added, the days of the
    most urgent — when several came at once only that one is sent), or None. A notice the sweep
    reached late is still sent (the attempt then waits: ``announced_attempt``)."""
    days = POLICY.reminder_days_before
    due = [i for i, d in enumerate(days) if attempt_at - timedelta(days=d) <= now and not sent & (1 << i)]
    if not due:
        return None
    for i in due:
        sent |= 1 << i
    return sent, min(days[i] for i in due)


def china_date(dt: datetime) -> str:
    """The day an instant falls on, China time (a failure is told once per installment per day)."""
    return dt.astimezone(CST).strftime("%Y-%m-%d")


def _pct(bps: int) -> str:
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


@dataclass(frozen=True, slots=True)
class LateRule:
    """The late-fee terms of an order, as a notice names them when an amount may still rise, and
    for a 备用金 draw the daily rate its overdue interest keeps running at (0: none)."""

    bps_per_day: int
    cap_bps: int
    grace_days: int
    interest_ppm: int = 0


def _deduction(*, product: str, seq: int, periods: int, amount_fen: int, at: datetime, method: str,
               late: LateRule | None) -> dict:
    """What every announcing notice carries: the amount (display and ``amount_fen``), the time
    (display and ``at``, ISO), the method, and when the amount may rise, the rule."""
    params = dict(product=product, seq=seq, periods=periods, amount=_yuan(amount_fen), amount_fen=amount_fen,
                  at=at.astimezone(UTC).isoformat(), method=method)
    if late is not None:
        params.update(late_rule=True, late_bps=late.bps_per_day, late_cap_bps=late.cap_bps, grace_days=late.grace_days)
        if late.interest_ppm:
            params["interest_ppm"] = late.interest_ppm
    return params


def upcoming_notice(*, installment_id: int, days: int, product: str, seq: int, periods: int, at: datetime,
                    amount_fen: int, method: str, late: LateRule | None = None) -> Notice:
    """Before an automatic deduction (an installment, a hardship-plan payment, an early auto-repay
    attempt): amount, time, method. Keyed by the attempt time too: a moved attempt is told again."""
    return Notice("upcoming", f"pre:{installment_id}:{days}:{int(at.timestamp())}",
                  dict(_deduction(product=product, seq=seq, periods=periods, amount_fen=amount_fen, at=at, method=method,
                                  late=late), when=china_time(at), days=days), installment_id)


def amount_changed_notice(*, installment_id: int, product: str, seq: int, periods: int, at: datetime,
                          amount_fen: int, method: str) -> Notice:
    """An announced deduction whose amount changed before it was taken (e.g. lower after an early
    repayment): told again with the new amount, the same time and method. It announces (kind
    ``upcoming``), so the last notice before a capture names what is taken."""
    return Notice("upcoming", f"chg:{installment_id}:{amount_fen}:{int(at.timestamp())}",
                  dict(_deduction(product=product, seq=seq, periods=periods, amount_fen=amount_fen, at=at, method=method,
                                  late=None), when=china_time(at), variant="changed"), installment_id)


def deducted_notice(*, installment_id: int, product: str, seq: int, periods: int, method: str,
                    amount_fen: int) -> Notice:
    return Notice("deducted", f"cap:{installment_id}", dict(product=product, seq=seq, periods=periods, method=method,
                                                            amount=_yuan(amount_fen)), installment_id)


def failed_notice(*, installment_id: int, product: str, seq: int, periods: int, owed_fen: int, due_at: datetime,
                  grace_days: int, now: datetime, retry_at: datetime, method: str, late: LateRule | None = None) -> Notice:
    """A deduction of an installment that is due failed (told once a day): why, when the grace
    period ends (or how long it is overdue, once it has), and the retry — time, amount, method and,
    when the amount may rise before it, the late-fee rule."""
    days = days_overdue(due_at, now)
    params = _deduction(product=product, seq=seq, periods=periods, amount_fen=owed_fen, at=retry_at, method=method,
                        late=late)
    params.update(grace_end=china_time(due_at + timedelta(days=grace_days)), next=china_time(retry_at), days=days)
    if grace_over(days, grace_days):
        params["variant"] = "late"
    return Notice("failed", f"fail:{installment_id}:{china_date(now)}", params, installment_id)


def early_failed_notice(*, installment_id: int, product: str, seq: int, periods: int, amount_fen: int,
                        due_at: datetime, now: datetime, retry_at: datetime, method: str) -> Notice:
    """An early auto-repay attempt (the due date still ahead) failed: not overdue; the retry named."""
    params = _deduction(product=product, seq=seq, periods=periods, amount_fen=amount_fen, at=retry_at, method=method,
                        late=None)
    params.update(due=china_time(due_at), next=china_time(retry_at))
    return Notice("early_failed", f"efail:{installment_id}:{china_date(now)}", params, installment_id)


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


def reminder_notice(*, order_id: int, installment_id: int | None, days: int, product: str, at: datetime,
                    amount_fen: int, method: str, seq: int = 1, periods: int = 1) -> Notice:
    """Before the trial ends: the first deduction (installment 1) — amount, time, method."""
    params = _deduction(product=product, seq=seq, periods=periods, amount_fen=amount_fen, at=at, method=method, late=None)
    return Notice("reminder", f"rem:{order_id}:{days}", dict(params, days=days, due=china_time(at)), installment_id)


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
