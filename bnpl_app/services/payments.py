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
    CashDraw,
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
    Posting,
)
from . import credit, ledger
from .bulk import execute_many
from .ledger import MONEY, PLAT_CASH_BOOK, PLAT_FEE_INCOME, PLAT_SERVICE_FEE, Leg, mer, pm
from .notify import send

PMT = PaymentMethod.__table__
INST = Installment.__table__
ORD = Order.__table__
CD = CashDraw.__table__
P = Posting.__table__
CA = credit.CA


class Gateway(Protocol):
    """What a real payment gateway would implement. Ours debits simulated balances. A gateway may
    also offer ``debit_many(session, [(method_id, amount_fen), …]) -> bool`` (several debits in
    one round trip, True only if every one went through); the sweep's batch path uses it when
    present and otherwise calls ``debit`` once per installment."""

    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool: ...

    def credit(self, session: Session, *, method_id: int, amount_fen: int) -> None:
        """Give money back to a method (a refund); a real gateway would refund the original charge."""


class SimulatedGateway:
    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool:
        res = session.execute(
            sa.update(PMT).where(PMT.c.id == method_id, PMT.c.balance_fen >= amount_fen)
            .values(balance_fen=PMT.c.balance_fen - amount_fen)
        )
        return res.rowcount == 1

    def credit(self, session: Session, *, method_id: int, amount_fen: int) -> None:
        session.execute(sa.update(PMT).where(PMT.c.id == method_id).values(balance_fen=PMT.c.balance_fen + amount_fen))

    def debit_many(self, session: Session, debits: list[tuple[int, int]]) -> bool:
        """The same guarded debit for each (method, amount), as one executemany. True iff every
        row went through; if not, some may have, and the caller rolls them back."""
        return execute_many(session=session, sql=f"UPDATE {PMT.name} SET balance_fen = balance_fen - ? "
                                     "WHERE id = ? AND balance_fen >= ?",
                            rows=[(a, m, a) for m, a in debits]) == len(debits)


GATEWAY: Gateway = SimulatedGateway()


def owed(inst: Installment) -> int:
    """What ``inst`` owes (``rules.owed``); given the table's columns, the same rule as SQL."""
    return rules.owed(inst.principal_fen, inst.fee_fen, inst.fee_waived_fen, inst.late_fee_fen, inst.late_fee_waived_fen,
                      inst.overdue_interest_fen)


def overdue_rates(*, session: Session, order_ids) -> dict[int, int]:
    """The daily rate (ppm) overdue interest runs at for each of ``order_ids`` that is a 备用金 draw
    (``rules.overdue_interest``: its draw's rate); an order not in it (any other kind) accrues none."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return dict(session.execute(sa.select(CD.c.order_id, CD.c.daily_rate_ppm).where(CD.c.order_id.in_(ids))).all())


def methods_in_order(*, session: Session, uid: int, with_removed: bool = False) -> list[PaymentMethod]:
    """The shopper's payment methods in their chosen order; those they unbound are left out (never
    used or offered again) unless ``with_removed`` (what the journal references)."""
    q = sa.select(PaymentMethod).where(PaymentMethod.user_id == uid)
    if not with_removed:
        q = q.where(PaymentMethod.removed_at.is_(None))
    return list(session.execute(q.order_by(PaymentMethod.priority, PaymentMethod.id)).scalars())


# What automatic deduction may take from: bound methods the shopper allows it on (as SQL: the
# sweep's per-row path filters with it, its set-based path writes the same two columns).
AUTO_METHOD = sa.and_(PMT.c.removed_at.is_(None), PMT.c.autopay.is_(sa.true()))


def auto_methods(*, session: Session, uid: int) -> list[PaymentMethod]:
    """``AUTO_METHOD``s of the shopper in the order automatic deduction tries them. Whatever
    predicts a deduction (the dry run, the checkout quote, the notices) reads this."""
    return list(session.execute(sa.select(PaymentMethod).where(PaymentMethod.user_id == uid, AUTO_METHOD)
                                .order_by(PaymentMethod.priority, PaymentMethod.id)).scalars())


def method_label(m: PaymentMethod) -> str:
    return m.label


def principal_payee(kind: str, merchant_id: int | None) -> str:
    """The account a capture's principal share goes to (``rules.pays_merchant``): the order's
    merchant, or the platform's cash book for a 备用金 draw."""
    return mer(merchant_id) if rules.pays_merchant(kind) else PLAT_CASH_BOOK


def capture_legs(*, kind: str, merchant_id: int | None, method_id: int, principal_fen: int, amount_fen: int,
                 platform_fee_bps: int) -> list[Leg]:
    """The three legs of ``cap:<installment>`` (zero ones are dropped when posted; their places
    keep the leg numbers): principal share to its payee, the platform's service fee, and fee
    income (installment fee or interest, late fees) — for every kind, on both sweep paths."""
    share, service_fee, fees = rules.capture_split(principal_fen=principal_fen, amount_fen=amount_fen,
                                                   platform_fee_bps=platform_fee_bps)
    src = pm(method_id)
    return [(src, principal_payee(kind, merchant_id), share), (src, PLAT_SERVICE_FEE, service_fee),
            (src, PLAT_FEE_INCOME, fees)]


def repay_line(*, session: Session, order: Order, inst: Installment, at: datetime) -> None:
    """The captured principal goes back to the line it was owed on (``rules.line_repaid``): the
    先用后付 limit (``lrp:``), the 备用金 line (``crp:``), or none (rent)."""
    line = rules.line_repaid(order.kind)
    if line == rules.LINE_LIMIT:
        credit.repay_principal(session=session, uid=order.shopper_id, amount=inst.principal_fen, installment_id=inst.id,
                               order_id=order.id, at=at)
    elif line == rules.LINE_CASH:
        credit.repay_cash_line(session=session, uid=order.shopper_id, amount=inst.principal_fen, installment_id=inst.id,
                               order_id=order.id, at=at)


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
    amount = rules.owed(inst.principal_fen, inst.fee_fen, fee_waived, inst.late_fee_fen, inst.late_fee_waived_fen,
                        inst.overdue_interest_fen)
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
    ledger.post(
        session=session, ledger=MONEY, key=f"cap:{inst.id}", kind="capture", at=at, order_id=order.id, installment_id=inst.id,
        legs=capture_legs(kind=order.kind, merchant_id=order.merchant_id, method_id=method.id,
                          principal_fen=inst.principal_fen, amount_fen=amount, platform_fee_bps=order.platform_fee_bps),
    )
    if billed:
        repay_line(session=session, order=order, inst=inst, at=at)
    return Capture(inst.id, amount, method.id, method.label)


@dataclass(frozen=True)
class Refund:
    installment_id: int
    amount_fen: int
    method_id: int


def refund(*, session: Session, inst: Installment, at: datetime, gateway: Gateway | None = None) -> Refund:
    """Give back everything ``inst`` captured, to the method it came from — once: the installment
    goes PAID → REFUNDED by a guarded update (a second attempt is refused, leaving nothing), and
    the posting ``ref:<installment>`` reverses each leg of its capture ``cap:<installment>`` (the
    merchant's share back from ``mer:<id>``, the service fee from ``plat:service_fee``, fee income
    from ``plat:fee_income``, all to ``pm:<method>``); its UNIQUE key makes a replay impossible too.
    Every kind's capture reverses the same way (a rent's share back from its merchant); a 备用金
    repayment is not refunded (``rules.refundable``): the loan would be owed again."""
    kind = session.execute(sa.select(ORD.c.kind).where(ORD.c.id == inst.order_id)).scalar_one()
    if not rules.refundable(kind):
        raise InvalidTransition("engine.refund.not_refundable")
    res = session.execute(
        sa.update(INST).where(INST.c.id == inst.id, INST.c.status == IS.PAID, INST.c.refunded_fen == 0)
        .values(status=IS.REFUNDED, refunded_fen=INST.c.paid_fen, refunded_at=at)
    )
    if res.rowcount != 1:
        status = session.execute(sa.select(INST.c.status).where(INST.c.id == inst.id)).scalar_one()
        raise InvalidTransition("refund.already" if status == IS.REFUNDED else "refund.not_paid", inst=inst.id)
    session.refresh(inst)
    captured = list(session.execute(sa.select(P.c.debit_account, P.c.credit_account, P.c.amount_fen)
                                    .where(P.c.posting_key == f"cap:{inst.id}", P.c.ledger == MONEY).order_by(P.c.leg)))
    if sum(a for _d, _c, a in captured) != inst.paid_fen or any(d != pm(inst.paid_method_id) for d, _c, _a in captured):
        raise RuntimeError(f"installment {inst.id}: its capture does not match what it paid — ledger and table disagree")
    if inst.paid_fen:
        (gateway or GATEWAY).credit(session, method_id=inst.paid_method_id, amount_fen=inst.paid_fen)
    ledger.post(session=session, ledger=MONEY, key=f"ref:{inst.id}", kind="refund", at=at, order_id=inst.order_id,
                installment_id=inst.id, legs=[(credit_acct, debit, amount) for debit, credit_acct, amount in captured])
    return Refund(inst.id, inst.paid_fen, inst.paid_method_id)


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
    if rules.earns_standing(order.kind):
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


def take_back_reward(*, session: Session, uid: int, order: Order, at: datetime) -> rules.Standing | None:
    """A returned order earns no on-time reward (``rules.reward_taken_back``). Only an order paid
    during its trial (pay now) can be both rewarded and returned; its reward was recorded as the
    score event ``cr.on_time`` of this order and, when it lifted the limit, the ``cr.step`` limit
    event written right after it. The order's ``on_time`` is cleared: it was returned, not paid."""
    session.execute(sa.update(ORD).where(ORD.c.id == order.id).values(on_time=None))
    if order.on_time is not True:
        order.on_time = None
        return None
    order.on_time = None
    CE = CreditEvent.__table__
    ev = session.execute(sa.select(CE.c.id, CE.c.old_value, CE.c.new_value, CE.c.at).where(
        CE.c.user_id == uid, CE.c.kind == "score", CE.c.reason == credit.reason_of("cr.on_time", order=order.id))
        .order_by(CE.c.id).limit(1)).first()
    nxt = None if ev is None else session.execute(sa.select(CE.c.kind, CE.c.reason, CE.c.at, CE.c.old_value, CE.c.new_value)
                                                  .where(CE.c.user_id == uid, CE.c.id > ev.id).order_by(CE.c.id).limit(1)).first()
    step = nxt if nxt is not None and nxt.kind == "limit" and nxt.at == ev.at and nxt.reason.startswith("cr.step{") else None
    for _ in range(5):
        a = session.execute(sa.select(CA.c.score, CA.c.on_time_streak, CA.c.limit_fen).where(CA.c.user_id == uid)).one()
        st = rules.reward_taken_back(score=a.score, streak=a.on_time_streak, limit_fen=a.limit_fen,
                                     points=(ev.new_value - ev.old_value) if ev is not None else 0,
                                     step=(step.old_value, step.new_value) if step is not None else None)
        if session.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.score == a.score,
                                               CA.c.on_time_streak == a.on_time_streak, CA.c.limit_fen == a.limit_fen)
                           .values(score=st.score, on_time_streak=st.streak, limit_fen=st.limit_fen, updated_at=at)
                           ).rowcount == 1:
            break
    else:
        raise RuntimeError("credit account kept changing under us")
    why = credit.reason_of("cr.reward_back", order=order.id)
    if st.score != a.score:
        credit.log_change(session=session, uid=uid, kind="score", old=a.score, new=st.score, reason=why, at=at)
    if st.limit_fen != a.limit_fen:
        credit.log_change(session=session, uid=uid, kind="limit", old=a.limit_fen, new=st.limit_fen, reason=why, at=at)
    return st


def own_method(*, session: Session, uid: int, method_id: object) -> PaymentMethod:
    """One of the shopper's bound methods (somebody else's is not found; one they unbound is
    refused: it is never used again, for any payment or top-up)."""
    if isinstance(method_id, bool) or not isinstance(method_id, int):
        raise NotFound("payment method")
    m = session.get(PaymentMethod, method_id)
    if m is None or m.user_id != uid:
        raise NotFound("payment method")
    return bound(m)


def bound(m: PaymentMethod) -> PaymentMethod:
    """``m``, unless the shopper unbound it."""
    if m.removed_at is not None:
        raise InvalidTransition("method.removed")
    return m
