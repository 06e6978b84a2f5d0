"""The sweep's phases, one row at a time through the services: trials end, reminders, return
deadlines, deductions (the per-row path: the reference the set-based path in ``deduct`` must
equal, and where it sends whatever is unusual), overdue consequences — and when the next of them
falls due. What each decides is ``domain.rules``'; every state change is a guarded update, so a
row another sweep already moved is skipped.

Each phase takes ``batches(query, id_col, owner_col=None)``: ``batches.walk`` bound to the run's
engine and knobs, yielding (session, claimed ids)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from ...domain import rules
from ...domain.clock import FixedClock, aware
from ...domain.policy import POLICY
from ...models import (BNPL_SUSPENDED, CreditAccount, Installment, InstallmentStatus as IS, Order, OrderEvent,
                       OrderStatus as OS, PaymentMethod, ReturnRequest)
from ...services import bills, credit, orders, payments
from ...services.notify import send

ORD, INST, CA = payments.ORD, payments.INST, credit.CA
RET = ReturnRequest.__table__
DAY = timedelta(days=1)


@dataclass
class SweepReport:
    billed: int = 0
    reminders: int = 0
    notices: int = 0
    auto_received: int = 0
    auto_accepted: int = 0
    captured: int = 0
    captured_fen: int = 0
    failed: int = 0
    penalized: int = 0
    late_fees: int = 0
    overdue_interest: int = 0
    suspended: int = 0
    bad_debts: int = 0

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v)


# ── trials end ────────────────────────────────────────────────────────────────────────────────
def bill_trials(batches, now: datetime, rep: SweepReport) -> None:
    q = sa.select(ORD.c.id).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at <= now)
    for s, ids in batches(q, ORD.c.id):
        for oid in ids:
            if bill_order(s, order_id=oid, now=now):
                rep.billed += 1


def bill_order(s: Session, *, order_id: int, now: datetime) -> bool:
    order = s.get(Order, order_id)
    res = s.execute(sa.update(ORD).where(ORD.c.id == order_id, ORD.c.status.in_(OS.IN_TRIAL))
                    .values(status=OS.DUE, billed_at=now))
    if res.rowcount != 1:
        return False
    order.status = OS.DUE
    credit.bill(session=s, uid=order.shopper_id, amount=order.price_fen, order_id=order.id, at=now)
    shift = rules.schedule_shift(order.trial_end_at, order.resumed_at)
    days_before = s.execute(sa.select(CA.c.autopay_days_before).where(CA.c.user_id == order.shopper_id)).scalar_one()
    for inst in orders.installments_of(session=s, order_id=order.id):
        if inst.status != IS.PENDING:
            continue
        due = inst.due_at + shift
        attempt = rules.first_attempt_at(due_at=due, seq=inst.seq, autopay_days_before=days_before, now=now)
        values = {}
        if inst.noticed_at is not None:
            if shift:  # the reminders named the old time: the moved schedule is announced afresh (phase ``notices``)
                attempt = rules.moved_attempt(attempt, inst.due_at, inst.noticed_at, now)
                values = dict(notices_sent=0)
            else:  # installment 1 as its reminder named it
                attempt = rules.announced_attempt(attempt, inst.noticed_at, now)
        s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status == IS.PENDING)
                  .values(status=IS.SCHEDULED, due_at=due, attempt_at=attempt, **values))
    s.add(OrderEvent(order_id=order.id, at=now, step="captured", amount_fen=order.price_fen, note="trial ended"))
    return True


# ── reminders T-3d, T-1d ─────────────────────────────────────────────────────────────────────
def reminders(batches, now: datetime, rep: SweepReport) -> None:
    """Before a trial ends: the notice of its first deduction (installment 1), which it records
    as that installment's (``noticed_at``, ``notices_sent``): amount, time, method."""
    q = sa.select(ORD.c.id).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > now,
                                  ORD.c.trial_end_at <= now + timedelta(days=max(POLICY.reminder_days_before)))
    for s, ids in batches(q, ORD.c.id):
        for oid in ids:
            order = s.get(Order, oid)
            due = rules.reminders_due(trial_end_at=order.trial_end_at, created_at=order.created_at,
                                      sent=order.reminders_sent, now=now)
            if due is None:
                continue
            bits, nearest = due
            res = s.execute(sa.update(ORD).where(ORD.c.id == oid, ORD.c.reminders_sent == order.reminders_sent)
                            .values(reminders_sent=bits))
            if res.rowcount != 1:
                continue
            first = s.exec(select(Installment).where(Installment.order_id == oid, Installment.seq == 1,
                                                     Installment.status == IS.PENDING)).first()
            at, amount, iid = order.trial_end_at, order.price_fen, None
            if first is not None:
                iid, amount = first.id, payments.owed(first)
                at = rules.announced_attempt(at, first.noticed_at, now)
                told = sum(1 << i for i, d in enumerate(POLICY.reminder_days_before) if d >= nearest)
                s.execute(sa.update(INST).where(INST.c.id == first.id)
                          .values(noticed_at=first.noticed_at or now, notices_sent=first.notices_sent | told))
            notice = rules.reminder_notice(order_id=oid, installment_id=iid, days=nearest, product=order.product_name,
                                           at=at, amount_fen=amount, periods=first.periods if first else 1,
                                           method=bills.method_named(payments.auto_methods(session=s, uid=order.shopper_id),
                                                                     amount))
            if send(session=s, user_id=order.shopper_id, notice=notice, at=now):
                rep.reminders += 1


# ── returns: a hold never waits on a silent merchant ─────────────────────────────────────────
def return_deadlines(batches, now: datetime, rep: SweepReport) -> None:
    at = FixedClock(now)
    q = sa.select(RET.c.id).where(RET.c.status == "IN_TRANSIT",
                                  RET.c.requested_at <= now - timedelta(days=POLICY.return_transit_days_max))
    for s, ids in batches(q, RET.c.id):
        for rid in ids:
            ret = s.get(ReturnRequest, rid)
            orders.mark_received(session=s, merchant_id=None, return_id=None, ret=ret, clock=at)
            rep.auto_received += 1
    q = sa.select(RET.c.id).where(RET.c.status == "RECEIVED", RET.c.inspect_deadline_at <= now)
    for s, ids in batches(q, RET.c.id):
        for rid in ids:
            ret = s.get(ReturnRequest, rid)
            orders.accept_return(session=s, merchant_id=None, return_id=None, ret=ret, clock=at, outcome="auto_accepted")
            rep.auto_accepted += 1


# ── notices before deductions T-3d, T-1d ─────────────────────────────────────────────────────
def _unannounced(now: datetime):
    """An open installment with a notice before its attempt that has come and was not sent."""
    return sa.or_(*(sa.and_(INST.c.attempt_at <= now + timedelta(days=d), INST.c.notices_sent.op("&")(1 << i) == 0)
                    for i, d in enumerate(POLICY.reminder_days_before)))


def notices(batches, now: datetime, rep: SweepReport) -> None:
    """The notices before every automatic deduction (``bills.announce``): after the trials ended
    (installment 1 of an order billed just now may still need one) and before the deductions."""
    q = sa.select(INST.c.id).where(INST.c.status.in_(IS.OPEN), _unannounced(now))
    for s, ids in batches(q, INST.c.id, owner_col=INST.c.shopper_id):
        insts = list(s.exec(select(Installment).where(Installment.id.in_(ids)).order_by(Installment.id)))
        order_by_id = {o.id: o for o in s.exec(select(Order).where(Order.id.in_({i.order_id for i in insts})))}
        methods = _autopay_methods(s, {i.shopper_id for i in insts})
        for inst in insts:
            if bills.announce(session=s, inst=inst, order=order_by_id[inst.order_id], methods=methods[inst.shopper_id],
                              now=now):
                rep.notices += 1


def _autopay_methods(s: Session, shoppers: set[int]) -> dict[int, list[PaymentMethod]]:
    """Each shopper's auto-deduction methods (``payments.AUTO_METHOD``), in the order they are tried."""
    methods: dict[int, list[PaymentMethod]] = {u: [] for u in shoppers}
    for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id.in_(shoppers), payments.AUTO_METHOD)
                    .order_by(PaymentMethod.priority, PaymentMethod.id)):
        methods[m.user_id].append(m)
    return methods


# ── deductions, one at a time ────────────────────────────────────────────────────────────────
def deductions_due(now: datetime) -> sa.Select:
    """Open installments whose attempt time has come and whose first notice is at least
    ``POLICY.min_notice`` old (``rules.deduction_due``)."""
    return sa.select(INST.c.id).where(INST.c.status.in_(IS.OPEN), INST.c.attempt_at <= now,
                                      INST.c.noticed_at <= rules.noticed_by(now))


def deduct_rows(s: Session, ids: list[int], now: datetime, rep: SweepReport, refresh: list[int]) -> None:
    """The per-row path: installments by due date then id, each ``capture_from_any`` (the first of
    the shopper's auto-deduction methods, in their order, whose balance covers it) or a failed
    attempt; then ``refresh_order_status`` for each touched order, in the order ``refresh`` gives."""
    insts = list(s.exec(select(Installment).where(Installment.id.in_(ids)).order_by(Installment.due_at, Installment.id)))
    order_ids = {i.order_id for i in insts}
    order_by_id = {o.id: o for o in s.exec(select(Order).where(Order.id.in_(order_ids)))}
    methods = _autopay_methods(s, {i.shopper_id for i in insts})
    rates = payments.overdue_rates(session=s, order_ids=order_ids)
    touched: set[int] = set()
    told_by = rules.noticed_by(now)
    for inst in insts:
        if not rules.deduction_due(inst.status, inst.attempt_at, inst.noticed_at, now, told_by):
            continue
        order = order_by_id[inst.order_id]
        cap = payments.capture_from_any(session=s, inst=inst, order=order, at=now, methods=methods[inst.shopper_id],
                                        auto=True)
        if cap is not None:
            for m in methods[inst.shopper_id]:
                if m.id == cap.method_id:
                    m.balance_fen -= cap.amount_fen
            rep.captured += 1
            rep.captured_fen += cap.amount_fen
            send(session=s, user_id=inst.shopper_id, at=now, notice=rules.deducted_notice(
                installment_id=inst.id, product=order.product_name, seq=inst.seq, periods=inst.periods,
                method=cap.method_label, amount_fen=cap.amount_fen))
        else:
            deduction_failed(s, inst=inst, order=order, now=now, methods=methods[inst.shopper_id],
                             interest_ppm=rates.get(order.id, 0))
            rep.failed += 1
        touched.add(order.id)
    for oid in refresh:
        if oid in touched:
            payments.refresh_order_status(session=s, order=order_by_id[oid], at=now)


def deduction_failed(s: Session, *, inst: Installment, order: Order, now: datetime,
                     methods: list[PaymentMethod], interest_ppm: int) -> None:
    """Nothing covered ``inst``: ``rules.failed_attempt`` says whether it is overdue and when it is
    tried again. The shopper is told (once a day per installment), and that notice announces the
    retry: its time, amount, method and, when the amount may rise before it, the late-fee rule (and
    the rate overdue interest runs at, ``interest_ppm``: a 备用金 draw's, else 0)."""
    fa = rules.failed_attempt(inst.due_at, now)
    values = dict(status=IS.OVERDUE, was_overdue=True) if fa.overdue else {}
    s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status.in_(IS.OPEN))
              .values(attempts=INST.c.attempts + 1, last_failure="insufficient_funds", attempt_at=fa.retry_at,
                      notices_sent=rules.ALL_NOTICES, **values))
    send(session=s, user_id=inst.shopper_id, at=now, notice=failure_notice(
        inst, order, now=now, retry_at=fa.retry_at, overdue=fa.overdue,
        method=bills.method_named(methods, payments.owed(inst)), interest_ppm=interest_ppm))


def failure_notice(inst, order, *, now: datetime, retry_at: datetime, overdue: bool, method: str,
                   interest_ppm: int) -> rules.Notice:
    """The notice of a failed attempt of ``inst`` (an ``Installment`` or a row with its columns, an
    ``Order`` or a row with its terms), for both deduction paths; ``interest_ppm``: the rate its
    overdue interest runs at (``payments.overdue_rates``)."""
    if not overdue:
        return rules.early_failed_notice(installment_id=inst.id, product=order.product_name, seq=inst.seq,
                                         periods=inst.periods, amount_fen=payments.owed(inst), due_at=inst.due_at,
                                         now=now, retry_at=retry_at, method=method)
    late = bills.late_rule(inst=inst, order=order, at=retry_at, overdue=True, interest_ppm=interest_ppm)
    return rules.failed_notice(installment_id=inst.id, product=order.product_name, seq=inst.seq, periods=inst.periods,
                               owed_fen=payments.owed(inst), due_at=inst.due_at, grace_days=order.grace_days, now=now,
                               retry_at=retry_at, method=method, late=late)


# ── overdue: grace, penalty, late fees, suspension, bad debt ─────────────────────────────────
def overdue(batches, now: datetime, rep: SweepReport) -> None:
    q = sa.select(INST.c.id).where(INST.c.status == IS.OVERDUE)
    for s, ids in batches(q, INST.c.id):
        insts = list(s.exec(select(Installment).where(Installment.id.in_(ids)).order_by(Installment.id)))
        rates = payments.overdue_rates(session=s, order_ids={i.order_id for i in insts})
        for inst in insts:
            order = s.get(Order, inst.order_id)
            apply_overdue_rules(s, inst=inst, order=order, now=now, rep=rep, interest_ppm=rates.get(order.id, 0))


def apply_overdue_rules(s: Session, *, inst: Installment, order: Order, now: datetime, rep: SweepReport,
                        interest_ppm: int) -> None:
    """What ``days_overdue`` brings: the grace's end (score, limit), late fees after it, interest on
    a 备用金 month's principal from the due date (``interest_ppm``: its draw's rate, 0 for any other
    kind), suspension, bad debt. A hardship plan's installments accrue neither fees nor interest."""
    days = rules.days_overdue(inst.due_at, now)
    uid = inst.shopper_id
    if rules.grace_over(days, order.grace_days) and not inst.penalized:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.penalized.is_(False)).values(penalized=True)).rowcount:
            credit.change_score(session=s, uid=uid, delta=-POLICY.overdue_score_penalty,
                                reason=credit.reason_of("cr.grace", inst=inst.id), at=now)
            acct = credit.fresh(session=s, uid=uid)
            _remember_restorable(s, acct)
            new_limit = rules.penalized_limit(acct.limit_fen)
            credit.set_limit(session=s, uid=uid, new_limit=new_limit, reason=credit.reason_of("cr.grace", inst=inst.id), at=now)
            s.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=0))
            send(session=s, user_id=uid, at=now, notice=rules.penalty_notice(installment_id=inst.id, limit_fen=new_limit))
            rep.penalized += 1
    if inst.plan_application_id is None:
        total, fee_days = rules.late_fee(principal_fen=inst.principal_fen, bps_per_day=order.late_fee_bps_per_day,
                                         cap_bps=order.late_fee_cap_bps, days=days, grace_days=order.grace_days)
        if total > inst.late_fee_fen:
            s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.late_fee_fen < total)
                      .values(late_fee_fen=total, late_fee_days=fee_days))
            inst.late_fee_fen = total
            send(session=s, user_id=uid, at=now, notice=rules.late_fee_notice(
                installment_id=inst.id, fee_days=fee_days, days=days, product=order.product_name, seq=inst.seq,
                periods=inst.periods, total_fen=total))
            rep.late_fees += 1
    if inst.plan_application_id is None and interest_ppm:
        interest = rules.overdue_interest(inst.principal_fen, interest_ppm, days)
        if interest > inst.overdue_interest_fen:
            if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status == IS.OVERDUE,
                                               INST.c.overdue_interest_fen < interest)
                         .values(overdue_interest_fen=interest, overdue_interest_days=days)).rowcount:
                inst.overdue_interest_fen, inst.overdue_interest_days = interest, days
                rep.overdue_interest += 1
    if rules.suspension_due(days) and not inst.suspended_applied:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.suspended_applied.is_(False))
                     .values(suspended_applied=True)).rowcount:
            acct = credit.fresh(session=s, uid=uid)
            if acct.bnpl_status != BNPL_SUSPENDED:
                _remember_restorable(s, acct)
                credit.set_limit(session=s, uid=uid, new_limit=0, reason=credit.reason_of("cr.suspended", days=days), at=now)
                credit.set_status(session=s, uid=uid, status=BNPL_SUSPENDED, reason=credit.reason_of("cr.suspended", days=days), at=now)
                send(session=s, user_id=uid, at=now, notice=rules.suspended_notice(installment_id=inst.id, days=days))
                rep.suspended += 1
    if rules.is_bad_debt(days) and not inst.bad_debt_applied:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.bad_debt_applied.is_(False))
                     .values(bad_debt_applied=True)).rowcount:
            s.execute(sa.update(CA).where(CA.c.user_id == uid).values(bad_debt=True))
            send(session=s, user_id=uid, at=now, notice=rules.bad_debt_notice(installment_id=inst.id, days=days))
            rep.bad_debts += 1


def _remember_restorable(s: Session, acct: CreditAccount) -> None:
    """The limit before the first cut is what an operator may restore up to."""
    if acct.restorable_limit_fen is None and acct.limit_fen > 0:
        s.execute(sa.update(CA).where(CA.c.user_id == acct.user_id, CA.c.restorable_limit_fen.is_(None))
                  .values(restorable_limit_fen=acct.limit_fen))
        acct.restorable_limit_fen = acct.limit_fen


# ── when is the next thing due? (drives the demo clock) ──────────────────────────────────────
def next_event_after(s: Session, t: datetime) -> datetime | None:
    """The earliest moment after ``t`` at which the sweep would have something to do."""

    def first(q, offset: timedelta = timedelta(0)) -> list[datetime]:
        v = s.execute(q).scalar()
        return [aware(v) + offset] if v is not None else []

    cands = first(sa.select(sa.func.min(ORD.c.trial_end_at)).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > t))
    for d in POLICY.reminder_days_before:
        cands += first(sa.select(sa.func.min(ORD.c.trial_end_at)).where(
            ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > t + timedelta(days=d)), -timedelta(days=d))
    cands += first(sa.select(sa.func.min(INST.c.attempt_at)).where(INST.c.status.in_(IS.OPEN), INST.c.attempt_at > t))
    # The notices before deductions, and the moments their minimum notice has passed.
    for i, d in enumerate(POLICY.reminder_days_before):
        cands += first(sa.select(sa.func.min(INST.c.attempt_at)).where(
            INST.c.status.in_(IS.OPEN), INST.c.attempt_at > t + timedelta(days=d),
            INST.c.notices_sent.op("&")(1 << i) == 0), -timedelta(days=d))
    cands += first(sa.select(sa.func.min(INST.c.noticed_at)).where(
        INST.c.status.in_(IS.OPEN), INST.c.noticed_at > rules.noticed_by(t)), POLICY.min_notice)
    cands += first(sa.select(sa.func.min(RET.c.inspect_deadline_at)).where(
        RET.c.status == "RECEIVED", RET.c.inspect_deadline_at > t))
    transit = timedelta(days=POLICY.return_transit_days_max)
    cands += first(sa.select(sa.func.min(RET.c.requested_at)).where(
        RET.c.status == "IN_TRANSIT", RET.c.requested_at > t - transit), transit)
    # The daily ticks of overdue installments (grace end, late fees, suspension, bad debt).
    for (due,) in s.execute(sa.select(INST.c.due_at).where(INST.c.status == IS.OVERDUE)):
        due = aware(due)
        k = (t - due) // DAY + 1
        if k <= POLICY.bad_debt_after_days:
            cands.append(due + k * DAY)
    return min(cands) if cands else None
