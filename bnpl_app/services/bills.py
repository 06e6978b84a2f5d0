"""Bills: monthly statements, manual repayment, early repayment (fees of periods not yet started
are waived), auto-repay settings, and the dry run — exactly what the sweep would take, when, and
from which method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain import rules
from ..domain.clock import CST, Clock, FixedClock, china_month
from ..domain.errors import DomainError, InsufficientFunds, InvalidTransition, NotFound, ValidationError
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import Installment, InstallmentStatus as IS, Order, OrderKind, OrderStatus as OS, PaymentMethod
from . import credit, orders, payments
from .notify import send
from .paging import Key, Keyset, Page, fetch

INST = Installment.__table__
PMT = PaymentMethod.__table__


def own_installment(*, session: Session, uid: int, installment_id: object) -> Installment:
    if isinstance(installment_id, bool) or not isinstance(installment_id, int):
        raise NotFound("installment")
    inst = session.get(Installment, installment_id)
    if inst is None or inst.shopper_id != uid:
        raise NotFound("installment")
    return inst


def statement_month(dt: datetime) -> str:
    return china_month(dt)


BILLED = (IS.SCHEDULED, IS.OVERDUE, IS.PAID)  # on a statement: billed, not in trial, not replaced


def billed_installments(*, session: Session, uid: int) -> list[Installment]:
    """Every installment of the shopper's billed orders (not trial ones), by due date."""
    return list(session.exec(
        select(Installment).where(Installment.shopper_id == uid, Installment.status.in_(BILLED))
        .order_by(Installment.due_at, Installment.id)
    ))


# Newest due date first: the statements of the latest months on the first page.
BILLS = Keyset("bills", (Key(INST.c.due_at, datetime, desc=True), Key(INST.c.id, int, desc=True)))


def installments_page(*, session: Session, uid: int, cursor: str = "", size: int | None = None) -> Page:
    """One page of the shopper's billed installments of every kind (先用后付, 备用金, rent, charges),
    latest due first; items are rows of (``Installment``, ``product_name``, the order's ``kind``)."""
    q = (select(Installment, Order.product_name, Order.kind).join(Order, Order.id == Installment.order_id)
         .where(Installment.shopper_id == uid, Installment.status.in_(BILLED)))
    return fetch(session=session, stmt=q, keyset=BILLS, cursor=cursor, size=size)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of a statement month (``2026-11``, China time) and of the month after."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=CST)
    after = (start + timedelta(days=32)).replace(day=1)
    return start, after


_OWED = payments.owed(INST.c)  # the same rule as an installment's ``owed``, as SQL
_PAID = INST.c.status == IS.PAID


@dataclass(frozen=True)
class MonthSums:
    total_fen: int
    paid_fen: int
    owed_fen: int
    installments: int


def statement_sums(*, session: Session, uid: int, months: list[str]) -> dict[str, MonthSums]:
    """The figures of each statement month over all of that month's installments (however the
    list is paged): a paid one counts what was paid, an open one what is owed."""
    out = {}
    for month in months:
        start, after = month_bounds(month)
        total, paid, owed, n = session.execute(sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((_PAID, INST.c.paid_fen), else_=_OWED)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((_PAID, INST.c.paid_fen), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((_PAID, 0), else_=_OWED)), 0),
            sa.func.count(),
        ).where(INST.c.shopper_id == uid, INST.c.status.in_(BILLED), INST.c.due_at >= start,
                INST.c.due_at < after)).one()
        out[month] = MonthSums(int(total), int(paid), int(owed), int(n))
    return out


def open_totals(*, session: Session, uid: int) -> tuple[int, int]:
    """What the shopper owes now (fen), all of it and the overdue part."""
    open_, overdue = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(_OWED), 0),
        sa.func.coalesce(sa.func.sum(sa.case((INST.c.status == IS.OVERDUE, _OWED), else_=0)), 0),
    ).where(INST.c.shopper_id == uid, INST.c.status.in_(IS.OPEN))).one()
    return int(open_), int(overdue)


# The methods automatic deductions may use: bound (not removed) and left on for auto-deduction by
# the shopper; tried in the shopper's order (``priority``, then id). Manual payments may use any.
def method_named(methods: list[PaymentMethod], amount_fen: int) -> str:
    """The method a notice before a deduction names (``rules.named_method``), or "—" for none."""
    i = rules.named_method([m.balance_fen for m in methods], amount_fen)
    return methods[i].label if i is not None else "—"


def late_rule(*, inst: Installment, order: Order, at: datetime, overdue: bool, interest_ppm: int) -> rules.LateRule | None:
    """The order's late-fee rule (and, for a 备用金 draw, the daily rate its overdue interest runs at:
    ``interest_ppm``, 0 for any other kind) when what ``inst`` owes may rise before an attempt at
    ``at``. ``inst`` and ``order`` may be rows with their columns (both sweep paths)."""
    if not rules.late_fee_may_rise(overdue=overdue, plan_application_id=inst.plan_application_id,
                                   principal_fen=inst.principal_fen, late_fee_fen=inst.late_fee_fen, due_at=inst.due_at,
                                   at=at, bps_per_day=order.late_fee_bps_per_day, cap_bps=order.late_fee_cap_bps,
                                   grace_days=order.grace_days, interest_ppm=interest_ppm,
                                   overdue_interest_fen=inst.overdue_interest_fen):
        return None
    return rules.LateRule(order.late_fee_bps_per_day, order.late_fee_cap_bps, order.grace_days, interest_ppm)


def announce(*, session: Session, inst: Installment, order: Order, methods: list[PaymentMethod], now: datetime) -> bool:
    """The notice before an automatic deduction of ``inst`` whose time has come (``rules.notices_due``
    at ``POLICY.reminder_days_before`` before its attempt), naming amount, time and method
    (``methods``: the shopper's auto-deduction methods, in order). A first notice that comes late
    moves the attempt (``rules.announced_attempt``) and names that time. True if one went out."""
    due = rules.notices_due(attempt_at=inst.attempt_at, sent=inst.notices_sent, now=now)
    if inst.status not in IS.OPEN or inst.attempt_at is None or due is None:
        return False
    bits, days = due
    at = rules.announced_attempt(inst.attempt_at, inst.noticed_at, now)
    res = session.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status.in_(IS.OPEN),
                                                INST.c.notices_sent == inst.notices_sent,
                                                INST.c.attempt_at == inst.attempt_at)
                          .values(notices_sent=bits, attempt_at=at, noticed_at=inst.noticed_at or now))
    if res.rowcount != 1:
        return False
    inst.notices_sent, inst.attempt_at, inst.noticed_at = bits, at, inst.noticed_at or now
    amount = payments.owed(inst)
    overdue = inst.status == IS.OVERDUE
    ppm = payments.overdue_rates(session=session, order_ids=[order.id]).get(order.id, 0) if overdue else 0
    send(session=session, user_id=inst.shopper_id, at=now, notice=rules.upcoming_notice(
        installment_id=inst.id, days=days, product=order.product_name, seq=inst.seq, periods=inst.periods, at=at,
        amount_fen=amount, method=method_named(methods, amount),
        late=late_rule(inst=inst, order=order, at=at, overdue=overdue, interest_ppm=ppm)))
    return True


def reannounce(*, session: Session, inst: Installment, order: Order, was_fen: int, now: datetime) -> bool:
    """An open installment already announced whose amount changed from ``was_fen`` (an early
    repayment lowered its interest): tell the shopper the new amount before it is taken
    (``rules.amount_changed_notice``, same time, same method rule). True if a notice went out."""
    amount = payments.owed(inst)
    if inst.status not in IS.OPEN or inst.noticed_at is None or inst.attempt_at is None or amount == was_fen:
        return False
    methods = payments.auto_methods(session=session, uid=inst.shopper_id)
    send(session=session, user_id=inst.shopper_id, at=now, notice=rules.amount_changed_notice(
        installment_id=inst.id, product=order.product_name, seq=inst.seq, periods=inst.periods, at=inst.attempt_at,
        amount_fen=amount, method=method_named(methods, amount)))
    return True


def _pick_method(session: Session, uid: int, method_id: int | None, amount: int) -> PaymentMethod:
    if method_id is not None:
        m = payments.own_method(session=session, uid=uid, method_id=method_id)
        if m.balance_fen < amount:
            raise InsufficientFunds("bill.insufficient", method=m.label, balance=yuan(m.balance_fen), amount=yuan(amount))
        return m
    methods = payments.methods_in_order(session=session, uid=uid)
    i = rules.first_covering([m.balance_fen for m in methods], amount)
    if i is not None:
        return methods[i]
    first = methods[0] if methods else None
    raise InsufficientFunds("bill.insufficient", method=first.label if first else "—",
                            balance=yuan(first.balance_fen if first else 0), amount=yuan(amount))


def repay(*, session: Session, uid: int, installment_id: object, method_id: int | None = None,
          expected_fen: int | None = None, clock: Clock) -> payments.Capture:
    """Pay one installment now. ``expected_fen`` (what the screen showed) must match what is owed:
    paying more than owed, or a stale amount, is refused."""
    inst = own_installment(session=session, uid=uid, installment_id=installment_id)
    if inst.status not in IS.OPEN:
        raise InvalidTransition("bill.not_open", status=inst.status)
    amount = payments.owed(inst)
    if expected_fen is not None and expected_fen != amount:
        raise ValidationError("bill.amount_mismatch", field="amount", owed=yuan(amount))
    order = session.get(Order, inst.order_id)
    method = _pick_method(session, uid, method_id, amount)
    now = clock.now()
    cap = payments.capture(session=session, inst=inst, order=order, method=method, at=now)
    send(session=session, user_id=uid, at=now, sms=False, notice=rules.deducted_notice(
        installment_id=inst.id, product=order.product_name, seq=inst.seq, periods=inst.periods, method=method.label,
        amount_fen=cap.amount_fen))
    payments.refresh_order_status(session=session, order=order, at=now)
    return cap


@dataclass(frozen=True)
class EarlyQuote:
    order_id: int
    total_fen: int
    saving_fen: int
    installment_ids: tuple[int, ...]
    unstarted_ids: tuple[int, ...]


def early_quote(*, session: Session, uid: int, order_id: object, clock: Clock) -> EarlyQuote:
    now = clock.now()
    order = orders.own_order(session=session, uid=uid, order_id=order_id)
    if not rules.early_repay_on_bills(order.kind):
        raise InvalidTransition("engine.early.elsewhere" if order.kind == OrderKind.CASH else "engine.early.not_rent")
    if order.status not in OS.BILLED:
        raise InvalidTransition("bill.nothing_owed")
    insts = [i for i in orders.installments_of(session=session, order_id=order.id) if i.status in IS.OPEN]
    if not insts:
        raise InvalidTransition("bill.nothing_owed")
    dues = {i.seq: i.due_at for i in orders.installments_of(session=session, order_id=order.id) if i.status != IS.REPLACED}
    start_of_first = order.billed_at or order.trial_end_at
    unstarted = []
    for i in insts:
        start = dues.get(i.seq - 1, start_of_first) if i.seq > 1 else start_of_first
        if start > now and i.plan_application_id is None:
            unstarted.append(i)
    saving = sum(i.fee_fen - i.fee_waived_fen for i in unstarted)
    total = sum(payments.owed(i) for i in insts) - saving
    return EarlyQuote(order.id, total, saving, tuple(i.id for i in insts), tuple(i.id for i in unstarted))


def early_repay(*, session: Session, uid: int, order_id: object, method_id: int | None = None,
                expected_fen: int | None = None, clock: Clock) -> EarlyQuote:
    now = clock.now()
    q = early_quote(session=session, uid=uid, order_id=order_id, clock=clock)
    if expected_fen is not None and expected_fen != q.total_fen:
        raise ValidationError("bill.amount_mismatch", field="amount", owed=yuan(q.total_fen))
    method = _pick_method(session, uid, method_id, q.total_fen)
    order = session.get(Order, q.order_id)
    for iid in q.installment_ids:
        inst = session.get(Installment, iid)
        payments.capture(session=session, inst=inst, order=order, method=method, at=now, waive_fee=iid in q.unstarted_ids)
    payments.refresh_order_status(session=session, order=order, at=now)
    return q


def set_autopay(*, session: Session, uid: int, days_before: object, method_order: object, clock: Clock) -> None:
    if isinstance(days_before, bool) or not isinstance(days_before, int) or not 0 <= days_before <= POLICY.autopay_days_before_max:
        raise ValidationError("autopay.days_range", field="days_before", max=POLICY.autopay_days_before_max)
    mine = [m.id for m in payments.methods_in_order(session=session, uid=uid)]
    if not isinstance(method_order, (list, tuple)) \
            or any(isinstance(x, bool) or not isinstance(x, int) for x in method_order) \
            or sorted(method_order) != sorted(mine):
        raise ValidationError("autopay.order", field="method_order")
    for prio, mid in enumerate(method_order):
        session.execute(sa.update(PMT).where(PMT.c.id == mid, PMT.c.user_id == uid).values(priority=prio))
    session.execute(sa.update(credit.CA).where(credit.CA.c.user_id == uid).values(autopay_days_before=days_before))
    # Future attempts of later installments move with the setting (the first one is the trial's end).
    # A moved attempt is announced again (its notices start over, at once when their time has
    # come: ``announce``); one moved earlier than the time it was announced for comes no sooner
    # than the minimum notice after now (``rules.moved_attempt``).
    now = clock.now()
    moved = []
    for inst in session.exec(select(Installment).where(Installment.shopper_id == uid, Installment.status == IS.SCHEDULED,
                                                       Installment.seq > 1, Installment.attempts == 0)):
        base = rules.first_attempt_at(due_at=inst.due_at, seq=inst.seq, autopay_days_before=days_before, now=now)
        new = rules.moved_attempt(base, inst.attempt_at, inst.noticed_at, now)
        if new == inst.attempt_at:
            continue
        session.execute(sa.update(INST).where(INST.c.id == inst.id).values(attempt_at=new, notices_sent=0))
        moved.append(inst.id)
    methods = payments.auto_methods(session=session, uid=uid)
    for iid in moved:
        inst = session.get(Installment, iid)
        session.refresh(inst)
        announce(session=session, inst=inst, order=session.get(Order, inst.order_id), methods=methods, now=now)


def set_autopay_first(*, session: Session, uid: int, days_before: object, first_method_id: object,
                      clock: Clock) -> None:
    """``set_autopay`` as the bills screen asks for it: this method first, the others keep their order."""
    mine = [m.id for m in payments.methods_in_order(session=session, uid=uid)]
    if first_method_id not in mine or isinstance(first_method_id, bool):
        raise ValidationError("autopay.order", field="method_order")
    set_autopay(session=session, uid=uid, days_before=days_before, clock=clock,
                method_order=[first_method_id] + [m for m in mine if m != first_method_id])


@dataclass(frozen=True)
class PlannedDeduction:
    installment_id: int
    order_id: int
    product: str
    seq: int
    periods: int
    at: datetime
    amount_fen: int
    method_label: str | None  # None: no method would cover it today
    overdue: bool
    method_kind: str | None = None  # wallet | card: how a screen names the method
    kind: str = "bnpl"  # the order's kind (``OrderKind``): what the bill is for


def dry_run(*, session: Session, uid: int, clock: Clock) -> list[PlannedDeduction]:
    """What the sweep will take, when and from where, if balances stay as they are now: from the
    auto-deduction methods, never before the first notice about it is ``POLICY.min_notice`` old (a
    deduction not announced yet is announced by the next sweep at the latest:
    ``rules.announced_attempt``)."""
    methods = payments.auto_methods(session=session, uid=uid)
    balance = {m.id: m.balance_fen for m in methods}
    days_before = credit.account(session=session, uid=uid).autopay_days_before
    rows: list[tuple[datetime, datetime, Installment, Order]] = []
    now = clock.now()
    order_cache: dict[int, Order] = {}
    for inst in session.exec(select(Installment).where(Installment.shopper_id == uid,
                                                       Installment.status.in_((IS.PENDING, IS.SCHEDULED, IS.OVERDUE)))):
        order = order_cache.setdefault(inst.order_id, session.get(Order, inst.order_id))
        due = inst.due_at
        if inst.status == IS.PENDING:
            if order.status not in OS.IN_TRIAL:
                continue  # a return is under way: deduction paused
            shift = rules.schedule_shift(order.trial_end_at, order.resumed_at)
            due = inst.due_at + shift
            when = rules.first_attempt_at(due_at=due, seq=inst.seq, autopay_days_before=days_before, now=now)
            # A schedule that moved (the trial resumed after its end) is announced afresh at billing.
            when = rules.announced_attempt(when, None if shift else inst.noticed_at, now)
        else:
            when = rules.announced_attempt(inst.attempt_at or inst.due_at, inst.noticed_at, now)
        rows.append((when, due, inst, order))
    out = []
    # Within one sweep the deductions run by due date, then id: the same order here, so the
    # balances (and so the methods) come out as the sweep will find them.
    for when, _due, inst, order in sorted(rows, key=lambda r: (r[0], r[1], r[2].id)):
        amount = payments.owed(inst)
        i = rules.first_covering([balance[m.id] for m in methods], amount)
        paying = methods[i] if i is not None else None
        if paying is not None:
            balance[paying.id] -= amount
        out.append(PlannedDeduction(inst.id, order.id, order.product_name, inst.seq, inst.periods, when, amount,
                                    paying.label if paying else None, inst.status == IS.OVERDUE,
                                    paying.kind if paying else None, order.kind))
    return out


# ── what the bills screen reads ─────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class EarlyOffer:
    order_id: int
    product: str
    quote: EarlyQuote
    kind: str = "bnpl"


def early_offers(*, session: Session, uid: int, clock: Clock) -> list[EarlyOffer]:
    """Repaying a whole order early, for each billed order with two or more installments open
    (one left is a plain repayment, offered on its row)."""
    out = []
    for o in session.exec(select(Order).where(Order.shopper_id == uid, Order.status.in_(OS.BILLED)).order_by(Order.id)):
        if not rules.early_repay_on_bills(o.kind):
            continue
        try:
            q = early_quote(session=session, uid=uid, order_id=o.id, clock=clock)
        except DomainError:
            continue
        if len(q.installment_ids) >= 2:
            out.append(EarlyOffer(o.id, o.product_name, q, o.kind))
    return out


@dataclass(frozen=True)
class Overview:
    page: Page  # one page of (Installment, product name, kind), latest due first
    months: dict[str, MonthSums]  # the figures of each month on the page, over the whole month
    open_fen: int
    overdue_fen: int
    early: list[EarlyOffer]
    planned: list[PlannedDeduction]
    methods: list[PaymentMethod]  # in the order deductions try them
    days_before: int


def overview(*, session: Session, uid: int, clock: Clock, cursor: str = "") -> Overview:
    """The bills screen: one page of the statements' installments, the totals over every bill,
    the early repayments on offer, the dry run and the auto-repay settings."""
    now = clock.now()
    page = installments_page(session=session, uid=uid, cursor=cursor)
    months = sorted({statement_month(row[0].due_at) for row in page.items})
    open_fen, overdue_fen = open_totals(session=session, uid=uid)
    return Overview(page, statement_sums(session=session, uid=uid, months=months), open_fen, overdue_fen,
                    early_offers(session=session, uid=uid, clock=clock), dry_run(session=session, uid=uid, clock=FixedClock(now)),
                    payments.methods_in_order(session=session, uid=uid), credit.account(session=session, uid=uid).autopay_days_before)
