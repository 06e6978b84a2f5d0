"""Capturing money for an installment: the payment-gateway interface, the guarded debit of a
payment method, the money postings (merchant share, platform service fee, fee income), the
limit repayment, and what follows when an order is fully paid (on-time rewards)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.errors import InsufficientFunds, InvalidTransition, NotFound
from ..domain.money import bps_of, yuan
from ..domain.policy import POLICY
from ..models import (
    BNPL_ACTIVE,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
    ShopExposure,
)
from . import credit, ledger
from .ledger import MONEY, PLAT_FEE_INCOME, PLAT_SERVICE_FEE, mer, pm
from .notify import notify

PMT = PaymentMethod.__table__
INST = Installment.__table__
ORD = Order.__table__
EXPO = ShopExposure.__table__


class Gateway(Protocol):
    """What a real payment gateway would implement. Ours debits simulated balances."""

    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool: ...


class SimulatedGateway:
    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool:
        res = session.execute(
            sa.update(PMT).where(PMT.c.id == method_id, PMT.c.balance_fen >= amount_fen)
            .values(balance_fen=PMT.c.balance_fen - amount_fen)
        )
        return res.rowcount == 1


GATEWAY: Gateway = SimulatedGateway()


def owed(inst: Installment) -> int:
    return inst.principal_fen + inst.fee_fen - inst.fee_waived_fen + inst.late_fee_fen - inst.late_fee_waived_fen


def methods_in_order(session: Session, uid: int) -> list[PaymentMethod]:
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
    session: Session,
    *,
    inst: Installment,
    order: Order,
    method: PaymentMethod,
    at: datetime,
    waive_fee: bool = False,
    billed: bool = True,
    gateway: Gateway | None = None,
) -> Capture:
    """Take what ``inst`` owes from ``method`` — once. Raises InsufficientFunds, leaving nothing."""
    fee_waived = inst.fee_fen if waive_fee else inst.fee_waived_fen
    amount = inst.principal_fen + inst.fee_fen - fee_waived + inst.late_fee_fen - inst.late_fee_waived_fen
    res = session.execute(
        sa.update(INST)
        .where(INST.c.id == inst.id, INST.c.status.in_((IS.PENDING, IS.SCHEDULED, IS.OVERDUE)))
        .values(status=IS.PAID, paid_at=at, paid_fen=amount, paid_method_id=method.id, fee_waived_fen=fee_waived,
                attempt_at=None, last_failure=None)
    )
    if res.rowcount != 1:
        raise InvalidTransition("bill.not_open", status=inst.status)
    if amount and not (gateway or GATEWAY).debit(session, method_id=method.id, amount_fen=amount):
        raise InsufficientFunds("bill.insufficient", method=method.label, balance=yuan(method.balance_fen), amount=yuan(amount))
    service_fee = bps_of(inst.principal_fen, order.platform_fee_bps)
    fees = amount - inst.principal_fen
    ledger.post(
        session, ledger=MONEY, key=f"cap:{inst.id}", kind="capture", at=at, order_id=order.id, installment_id=inst.id,
        legs=[(pm(method.id), mer(order.merchant_id), inst.principal_fen - service_fee),
              (pm(method.id), PLAT_SERVICE_FEE, service_fee),
              (pm(method.id), PLAT_FEE_INCOME, fees)],
    )
    if billed:
        credit.repay_principal(session, uid=order.shopper_id, amount=inst.principal_fen, installment_id=inst.id,
                               order_id=order.id, at=at)
    session.execute(
        sa.update(EXPO).where(EXPO.c.shopper_id == order.shopper_id, EXPO.c.merchant_id == order.merchant_id)
        .values(exposure_fen=EXPO.c.exposure_fen - inst.principal_fen)
    )
    return Capture(inst.id, amount, method.id, method.label)


def capture_from_any(session: Session, *, inst: Installment, order: Order, at: datetime,
                     methods: list[PaymentMethod] | None = None) -> Capture | None:
    """Try the shopper's methods in their order; None if none could cover it."""
    need = owed(inst)
    for m in methods if methods is not None else methods_in_order(session, order.shopper_id):
        if m.balance_fen < need:
            continue
        sp = session.begin_nested()
        try:
            cap = capture(session, inst=inst, order=order, method=m, at=at)
        except InsufficientFunds:
            sp.rollback()  # the balance moved under us; try the next method
            continue
        sp.commit()
        return cap
    return None


def refresh_order_status(session: Session, *, order: Order, at: datetime) -> str:
    """After an installment changed: PAID when nothing is open, OVERDUE when anything is, else DUE."""
    statuses = [s for (s,) in session.execute(sa.select(INST.c.status).where(INST.c.order_id == order.id))]
    live = [s for s in statuses if s not in (IS.REPLACED, IS.CANCELLED)]
    if order.status not in OS.BILLED:
        return order.status
    if live and all(s == IS.PAID for s in live):
        finish_order(session, order=order, at=at)
        return OS.PAID
    new = OS.OVERDUE if IS.OVERDUE in live else OS.DUE
    if new != order.status:
        session.execute(sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status == order.status).values(status=new))
        order.status = new
    return new


def finish_order(session: Session, *, order: Order, at: datetime) -> None:
    """Fully paid: close it, then reward it if every installment was paid by its due date."""
    late = session.execute(
        sa.select(sa.func.count()).select_from(INST).where(
            INST.c.order_id == order.id, INST.c.status != IS.CANCELLED,
            sa.or_(INST.c.penalized.is_(True), INST.c.plan_application_id.is_not(None), INST.c.paid_at > INST.c.due_at),
        )
    ).scalar_one()
    on_time = late == 0
    res = session.execute(
        sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status != OS.PAID)
        .values(status=OS.PAID, closed_at=at, on_time=on_time)
    )
    if res.rowcount != 1:
        return
    order.status = OS.PAID
    session.add(OrderEvent(order_id=order.id, at=at, step="paid", amount_fen=order.price_fen))
    notify(session, user_id=order.shopper_id, kind="paid", at=at, dedupe_key=f"paid:{order.id}", sms=False,
           product=order.product_name)
    if on_time:
        reward_on_time(session, uid=order.shopper_id, order_id=order.id, at=at)
    else:
        session.execute(sa.update(credit.CA).where(credit.CA.c.user_id == order.shopper_id).values(on_time_streak=0))


def reward_on_time(session: Session, *, uid: int, order_id: int, at: datetime) -> None:
    """+5 score per on-time order; every 3rd in a row lifts the limit one step (≤ the band's ceiling)."""
    score = credit.change_score(session, uid=uid, delta=POLICY.on_time_score_bonus, reason=f"order {order_id} paid on time", at=at)
    CA = credit.CA
    session.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=CA.c.on_time_streak + 1))
    acct = credit.fresh(session, uid)
    stepped_to = 0
    if acct.on_time_streak >= POLICY.on_time_orders_for_step:
        session.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=0))
        if acct.bnpl_status == BNPL_ACTIVE and acct.restorable_limit_fen is None:
            step = POLICY.next_step(acct.limit_fen, score)
            if step > acct.limit_fen:
                credit.set_limit(session, uid=uid, new_limit=step,
                                 reason=f"{POLICY.on_time_orders_for_step} on-time orders in a row", at=at)
                stepped_to = step
    notify(session, user_id=uid, kind="reward_step" if stepped_to else "reward", at=at,
           dedupe_key=f"reward:{order_id}", sms=False, points=POLICY.on_time_score_bonus, limit=yuan(stepped_to))


def own_method(session: Session, *, uid: int, method_id: object) -> PaymentMethod:
    if isinstance(method_id, bool) or not isinstance(method_id, int):
        raise NotFound("payment method")
    m = session.get(PaymentMethod, method_id)
    if m is None or m.user_id != uid:
        raise NotFound("payment method")
    return m
