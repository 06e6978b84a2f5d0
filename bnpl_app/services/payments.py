"""Capturing money for an installment: the payment-gateway interface, the guarded debit of a
payment method, the money postings (merchant share, platform service fee, fee income), the
limit repayment, and what follows when an order is fully paid (on-time rewards). What is owed,
how a capture splits, the order's status and the reward are decided by ``domain.rules``; the
sweep's set-based path (``jobs.sweep.writes``) calls the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from ..domain import rules
from ..domain.errors import InsufficientFunds, InvalidTransition, NotFound
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import (
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
)
from . import credit, ledger
from .bulk import execute_many
from .ledger import MONEY, PLAT_FEE_INCOME, PLAT_SERVICE_FEE, mer, pm
from .notify import send

PMT = PaymentMethod.__table__
INST = Installment.__table__
ORD = Order.__table__
CA = credit.CA


class Gateway(Protocol):
    """What a real payment gateway would implement. Ours debits simulated balances. A gateway may
    also offer ``debit_many(session, [(method_id, amount_fen), …]) -> bool`` (several debits in
    one round trip, True only if every one went through); the sweep's batch path uses it when
    present and otherwise calls ``debit`` once per installment."""

    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool: ...


class SimulatedGateway:
    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool:
        res = session.execute(
            sa.update(PMT).where(PMT.c.id == method_id, PMT.c.balance_fen >= amount_fen)
            .values(balance_fen=PMT.c.balance_fen - amount_fen)
        )
        return res.rowcount == 1

    def debit_many(self, session: Session, debits: list[tuple[int, int]]) -> bool:
        """The same guarded debit for each (method, amount), as one executemany. True iff every
        row went through; if not, some may have, and the caller rolls them back."""
        return execute_many(session=session, sql=f"UPDATE {PMT.name} SET balance_fen = balance_fen - ? "
                                     "WHERE id = ? AND balance_fen >= ?",
                            rows=[(a, m, a) for m, a in debits]) == len(debits)


GATEWAY: Gateway = SimulatedGateway()


def owed(inst: Installment) -> int:
    """What ``inst`` owes (``rules.owed``); given the table's columns, the same rule as SQL."""
    return rules.owed(inst.principal_fen, inst.fee_fen, inst.fee_waived_fen, inst.late_fee_fen, inst.late_fee_waived_fen)


def methods_in_order(*, session: Session, uid: int) -> list[PaymentMethod]:
    return list(session.execute(
        sa.select(PaymentMethod).where(PaymentMethod.user_id == uid).order_by(PaymentMethod.priority, PaymentMethod.id)
    ).scalars())


def method_label(m: PaymentMethod) -> str:
    return m.label


@dataclass(frozen=True)
class Capture:
    installment_id: int
    amount_fen: int
    method_id: int
    method_label: str


def capture(
    *, session: Session,
    inst: Installment,
    order: Order,
    method: PaymentMethod,
    at: datetime,
    waive_fee: bool = False,
    billed: bool = True,
    gateway: Gateway | None = None,
    auto: bool = False,
) -> Capture:
    """Take what ``inst`` owes from ``method`` — once. Raises InsufficientFunds, leaving nothing.
    ``auto``: the sweep's automatic deduction (``auto_paid``); a payment the shopper makes is not."""
    fee_waived = inst.fee_fen if waive_fee else inst.fee_waived_fen
    amount = rules.owed(inst.principal_fen, inst.fee_fen, fee_waived, inst.late_fee_fen, inst.late_fee_waived_fen)
    res = session.execute(
        sa.update(INST)
        .where(INST.c.id == inst.id, INST.c.status.in_((IS.PENDING, IS.SCHEDULED, IS.OVERDUE)))
        .values(status=IS.PAID, paid_at=at, paid_fen=amount, paid_method_id=method.id, fee_waived_fen=fee_waived,
                attempt_at=None, last_failure=None, auto_paid=auto)
    )
    if res.rowcount != 1:
        raise InvalidTransition("bill.not_open", status=inst.status)
    if amount and not (gateway or GATEWAY).debit(session, method_id=method.id, amount_fen=amount):
        raise InsufficientFunds("bill.insufficient", method=method.label, balance=yuan(method.balance_fen), amount=yuan(amount))
    share, service_fee, fees = rules.capture_split(principal_fen=inst.principal_fen, amount_fen=amount,
                                                   platform_fee_bps=order.platform_fee_bps)
    ledger.post(
        session=session, ledger=MONEY, key=f"cap:{inst.id}", kind="capture", at=at, order_id=order.id, installment_id=inst.id,
        legs=[(pm(method.id), mer(order.merchant_id), share),
              (pm(method.id), PLAT_SERVICE_FEE, service_fee),
              (pm(method.id), PLAT_FEE_INCOME, fees)],
    )
    if billed:
        credit.repay_principal(session=session, uid=order.shopper_id, amount=inst.principal_fen, installment_id=inst.id,
                               order_id=order.id, at=at)
    return Capture(inst.id, amount, method.id, method.label)


def capture_from_any(*, session: Session, inst: Installment, order: Order, at: datetime,
                     methods: list[PaymentMethod] | None = None, auto: bool = False) -> Capture | None:
    """Try the shopper's methods in their order; None if none could cover it."""
    need = owed(inst)
    for m in methods if methods is not None else methods_in_order(session=session, uid=order.shopper_id):
        if m.balance_fen < need:
            continue
        sp = session.begin_nested()
        try:
            cap = capture(session=session, inst=inst, order=order, method=m, at=at, auto=auto)
        except InsufficientFunds:
            sp.rollback()  # the balance moved under us; try the next method
            continue
        sp.commit()
        return cap
    return None


def refresh_order_status(*, session: Session, order: Order, at: datetime) -> str:
    """After an installment changed: the order's status by ``rules.order_status_after`` — paid off
    (``finish_order``), overdue or due."""
    new = rules.order_status_after(order.status, session.execute(
        sa.select(INST.c.status).where(INST.c.order_id == order.id)).scalars())
    if new == order.status:
        return new
    if new == OS.PAID:
        finish_order(session=session, order=order, at=at)
        return OS.PAID
    session.execute(sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status == order.status).values(status=new))
    order.status = new
    return new


# What ``rules.installment_was_late`` decides on, in its order.
LATE_COLUMNS = (INST.c.status, INST.c.was_overdue, INST.c.penalized, INST.c.plan_application_id)


def finish_order(*, session: Session, order: Order, at: datetime) -> None:
    """Fully paid: close it, then reward it if no installment was late (``apply_standing``)."""
    on_time = not any(rules.installment_was_late(*r) for r in session.execute(sa.select(*LATE_COLUMNS).where(INST.c.order_id == order.id)))
    res = session.execute(
        sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status != OS.PAID)
        .values(status=OS.PAID, closed_at=at, on_time=on_time)
    )
    if res.rowcount != 1:
        return
    order.status = OS.PAID
    session.add(OrderEvent(order_id=order.id, at=at, step="paid", amount_fen=order.price_fen))
    send(session=session, user_id=order.shopper_id, notice=rules.paid_notice(order_id=order.id, product=order.product_name),
         at=at, sms=False)
    apply_standing(session=session, uid=order.shopper_id, order_id=order.id, on_time=on_time, at=at)


def apply_standing(*, session: Session, uid: int, order_id: int, on_time: bool, at: datetime) -> rules.Standing:
    """What a paid-off order does to the shopper's score, streak and limit
    (``rules.standing_after_order``), written compare-and-set, with the history events, the limit
    posting and, when on time, the reward notice."""
    for _ in range(5):
        a = session.execute(sa.select(CA.c.score, CA.c.on_time_streak, CA.c.limit_fen, CA.c.bnpl_status,
                                      CA.c.restorable_limit_fen).where(CA.c.user_id == uid)).one()
        st = rules.standing_after_order(on_time=on_time, score=a.score, streak=a.on_time_streak, limit_fen=a.limit_fen,
                                        bnpl_status=a.bnpl_status, restorable_limit_fen=a.restorable_limit_fen)
        values = dict(score=st.score, on_time_streak=st.streak, limit_fen=st.limit_fen)
        if on_time:
            values["updated_at"] = at
        if session.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.score == a.score,
                                               CA.c.on_time_streak == a.on_time_streak, CA.c.limit_fen == a.limit_fen)
                           .values(**values)).rowcount == 1:
            break
    else:
        raise RuntimeError("credit account kept changing under us")
    if not on_time:
        return st
    if st.score != a.score:
        credit.log_change(session=session, uid=uid, kind="score", old=a.score, new=st.score,
                          reason=credit.reason_of("cr.on_time", order=order_id), at=at)
    if st.stepped:
        credit.log_change(session=session, uid=uid, kind="limit", old=a.limit_fen, new=st.limit_fen,
                          reason=credit.reason_of("cr.step", n=POLICY.on_time_orders_for_step), at=at)
    send(session=session, user_id=uid, notice=rules.reward_notice(order_id=order_id, standing=st), at=at, sms=False)
    return st


def own_method(*, session: Session, uid: int, method_id: object) -> PaymentMethod:
    if isinstance(method_id, bool) or not isinstance(method_id, int):
        raise NotFound("payment method")
    m = session.get(PaymentMethod, method_id)
    if m is None or m.user_id != uid:
        raise NotFound("payment method")
    return m
