"""An order after checkout: pay now during the trial, returns (request with tracking number,
merchant receives and inspects: intact → released, and whatever was paid refunded; damaged →
rejected with photos, trial resumes or a paid order stays paid), the 3-day inspection deadline,
and the credit-hold timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain import rules
from ..domain.clock import Clock, china_time
from ..domain.errors import InsufficientFunds, InvalidTransition, NotFound, ValidationError
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import (
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    ReturnOutcome as RO,
    ReturnPhoto,
    ReturnRequest,
    ReturnStatus as RS,
)
from . import credit, payments
from .notify import notify, send
from .paging import Key, Keyset, Page, fetch

ORD = Order.__table__
INST = Installment.__table__
RET = ReturnRequest.__table__
_TRACKING_RE = re.compile(r"^[A-Za-z0-9]{6,30}$")


def _int_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise NotFound(what)
    return value


def own_order(*, session: Session, uid: int, order_id: object) -> Order:
    """The shopper's own order; another shopper's order is simply 'not found'."""
    o = session.get(Order, _int_id(order_id, "order"))
    if o is None or o.shopper_id != uid:
        raise NotFound("order")
    return o


def merchant_order(*, session: Session, merchant_id: int, order_id: object) -> Order:
    o = session.get(Order, _int_id(order_id, "order"))
    if o is None or o.merchant_id != merchant_id:
        raise NotFound("order")
    return o


MY_ORDERS = Keyset("my_orders", (Key(ORD.c.id, int, desc=True),))


def orders_page(*, session: Session, uid: int, cursor: str = "", size: int | None = None) -> Page[Order]:
    """The shopper's own orders, newest first, a page at a time."""
    return fetch(session=session, stmt=select(Order).where(Order.shopper_id == uid), keyset=MY_ORDERS, cursor=cursor, size=size)


def installments_of(*, session: Session, order_id: int) -> list[Installment]:
    return list(session.exec(select(Installment).where(Installment.order_id == order_id).order_by(Installment.seq, Installment.id)))


def _set_status(session: Session, order: Order, new: str, *, expect: tuple[str, ...], **extra) -> None:
    res = session.execute(sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status.in_(expect)).values(status=new, **extra))
    if res.rowcount != 1:
        raise InvalidTransition("order.not_in_trial", action=new.lower())
    order.status = new


def pay_now(*, session: Session, uid: int, order_id: object, method_id: int | None = None, clock: Clock) -> Order:
    """Pay the whole price during the trial; no fee is due since no period has started."""
    order = own_order(session=session, uid=uid, order_id=order_id)
    if order.status == OS.PAID:
        raise InvalidTransition("order.already_paid")
    if order.status not in OS.IN_TRIAL:
        raise InvalidTransition("order.not_in_trial", action="paid now")
    now = clock.now()
    methods = [payments.own_method(session=session, uid=uid, method_id=method_id)] if method_id is not None \
        else payments.methods_in_order(session=session, uid=uid)
    insts = [i for i in installments_of(session=session, order_id=order.id) if i.status == IS.PENDING]
    method = next((m for m in methods if m.balance_fen >= order.price_fen), None)
    if method is None:
        m = methods[0] if methods else None
        raise InsufficientFunds("bill.insufficient", method=m.label if m else "—", balance=yuan(m.balance_fen if m else 0),
                                amount=yuan(order.price_fen))
    # The credit account first: the platform's one lock order (checkout locks it before the product).
    credit.settle_frozen(session=session, uid=uid, amount=order.price_fen, order_id=order.id, at=now)
    for inst in insts:
        payments.capture(session=session, inst=inst, order=order, method=method, at=now, waive_fee=True, billed=False)
    session.add(OrderEvent(order_id=order.id, at=now, step="captured", amount_fen=order.price_fen, note="paid early"))
    _set_status(session, order, OS.DUE, expect=OS.IN_TRIAL, billed_at=now)
    payments.finish_order(session=session, order=order, at=now)
    return order


def request_return(*, session: Session, uid: int, order_id: object, tracking_no: str, clock: Clock) -> ReturnRequest:
    """Send the order back while its trial runs (``rules.may_return``), paid or not. An order in
    its trial is paused (RETURN_IN_TRANSIT: nothing is deducted, the price stays frozen); one
    already paid during the trial stays PAID — nothing is held or owed — while its return (the
    ``ReturnRequest``) is under way, and is refunded if the return is accepted."""
    order = own_order(session=session, uid=uid, order_id=order_id)
    tracking_no = (tracking_no or "").strip() if isinstance(tracking_no, str) else ""
    if not _TRACKING_RE.match(tracking_no):
        raise ValidationError("order.bad_tracking", field="tracking_no")
    now = clock.now()
    returned_before = session.execute(sa.select(RET.c.id).where(RET.c.order_id == order.id)).first() is not None
    if not rules.may_return(status=order.status, trial_end_at=order.trial_end_at, now=now, returned_before=returned_before):
        if order.status not in (OS.TRIAL, OS.PAID):
            raise InvalidTransition("order.not_in_trial", action="returned")
        if returned_before:
            raise InvalidTransition("order.returned_before")
        raise InvalidTransition("order.trial_over")
    if order.status == OS.TRIAL:
        _set_status(session, order, OS.RETURN_IN_TRANSIT, expect=(OS.TRIAL,))
    ret = ReturnRequest(order_id=order.id, shopper_id=uid, merchant_id=order.merchant_id, tracking_no=tracking_no,
                        status=RS.IN_TRANSIT, requested_at=now)
    session.add(ret)
    session.add(OrderEvent(order_id=order.id, at=now, step="return_shipped", note=tracking_no))
    session.flush()
    return ret


def merchant_return(*, session: Session, merchant_id: int, return_id: object) -> ReturnRequest:
    r = session.get(ReturnRequest, _int_id(return_id, "return"))
    if r is None or r.merchant_id != merchant_id:
        raise NotFound("return")
    return r


def _return_step(session: Session, ret: ReturnRequest, *, expect: str, action: str, **values) -> None:
    res = session.execute(sa.update(RET).where(RET.c.id == ret.id, RET.c.status == expect).values(**values))
    if res.rowcount != 1:
        raise InvalidTransition("return.bad_state", status=ret.status, action=action)
    for k, v in values.items():
        setattr(ret, k, v)


def mark_received(*, session: Session, merchant_id: int | None, return_id: object, clock: Clock,
                  ret: ReturnRequest | None = None) -> ReturnRequest:
    ret = ret or merchant_return(session=session, merchant_id=merchant_id, return_id=return_id)
    now = clock.now()
    deadline = now + timedelta(days=POLICY.inspection_days)
    _return_step(session, ret, expect=RS.IN_TRANSIT, action="received", status=RS.RECEIVED, received_at=now,
                 inspect_deadline_at=deadline)
    order = session.get(Order, ret.order_id)
    if order.status != OS.PAID:  # a paid order stays PAID until its return is decided
        _set_status(session, order, OS.RETURN_RECEIVED, expect=(OS.RETURN_IN_TRANSIT,))
    session.add(OrderEvent(order_id=order.id, at=now, step="received"))
    notify(session=session, user_id=order.shopper_id, kind="return_received", at=now, dedupe_key=f"retrcv:{ret.id}", sms=False,
           product=order.product_name, deadline=china_time(deadline))
    return ret


def accept_return(*, session: Session, merchant_id: int | None, return_id: object, clock: Clock,
                  ret: ReturnRequest | None = None, outcome: str = RO.INTACT) -> ReturnRequest:
    """Intact (or the deadline passed), in one transaction: order RETURNED; every captured amount
    refunded to the method it came from (``payments.refund``) and, for an order paid during its
    trial, its on-time reward taken back; the open installments cancelled with their fees waived;
    whatever the order still holds of the limit (the frozen price, outstanding principal) released
    at once; stock back; the timeline and the shopper told."""
    ret = ret or merchant_return(session=session, merchant_id=merchant_id, return_id=return_id)
    now = clock.now()
    _return_step(session, ret, expect=RS.RECEIVED, action="accepted", status=RS.ACCEPTED, inspected_at=now, outcome=outcome)
    order = session.get(Order, ret.order_id)
    was = order.status
    insts = installments_of(session=session, order_id=order.id)
    frozen = order.price_fen if was in OS.HOLDING else 0
    outstanding = sum(i.principal_fen for i in insts if i.status in IS.OPEN)
    _set_status(session, order, OS.RETURNED, expect=(OS.RETURN_RECEIVED, OS.PAID), closed_at=now)
    refunds = [payments.refund(session=session, inst=i, at=now) for i in insts if i.status == IS.PAID]
    session.execute(sa.update(INST).where(INST.c.order_id == order.id, INST.c.status.in_((IS.PENDING, *IS.OPEN)))
                    .values(status=IS.CANCELLED, fee_waived_fen=INST.c.fee_fen, late_fee_waived_fen=INST.c.late_fee_fen,
                            attempt_at=None))
    if frozen:
        credit.release(session=session, uid=order.shopper_id, amount=frozen, order_id=order.id, at=now)
    if outstanding:
        credit.release_outstanding(session=session, uid=order.shopper_id, amount=outstanding, order_id=order.id, at=now)
    prod = Product.__table__
    session.execute(sa.update(prod).where(prod.c.id == order.product_id).values(stock=prod.c.stock + 1))
    session.add(OrderEvent(order_id=order.id, at=now, step="inspected", note=outcome))
    if frozen + outstanding:
        session.add(OrderEvent(order_id=order.id, at=now, step="released", amount_fen=frozen + outstanding))
        notify(session=session, user_id=order.shopper_id, kind="return_accepted", at=now, dedupe_key=f"retok:{ret.id}",
               product=order.product_name, amount=yuan(frozen + outstanding))
    refunded = sum(r.amount_fen for r in refunds)
    if refunded:
        labels = dict(session.execute(sa.select(PaymentMethod.id, PaymentMethod.label).where(
            PaymentMethod.id.in_({r.method_id for r in refunds}))).all())
        methods = "、".join(labels[m] for m in dict.fromkeys(r.method_id for r in refunds))
        session.add(OrderEvent(order_id=order.id, at=now, step="refunded", amount_fen=refunded, note=methods[:200]))
        send(session=session, user_id=order.shopper_id, at=now, notice=rules.refund_notice(
            order_id=order.id, product=order.product_name, amount_fen=refunded, methods=methods))
    if was == OS.PAID:
        payments.take_back_reward(session=session, uid=order.shopper_id, order=order, at=now)
    return ret


def refunded_fen(*, session: Session, order_id: int) -> int:
    """How much of the order's captured money was refunded."""
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(INST.c.refunded_fen), 0))
                               .where(INST.c.order_id == order_id)).scalar_one())


def reject_return(*, session: Session, merchant_id: int, return_id: object, reason: str,
                  photos: list[tuple[str, str, int]], clock: Clock) -> ReturnRequest:
    """Damaged: at least one photo (already stored and checked by ``uploads``) and a reason.
    The parcel goes back and the trial resumes; if it has ended, the deduction runs at the next
    sweep with the due date moved to now, so the paused days never count as late."""
    ret = merchant_return(session=session, merchant_id=merchant_id, return_id=return_id)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError("return.reason_required", field="reason")
    if len(reason) > 300:
        raise ValidationError("bad_text", field="reason", min=1, max=300)
    if not photos:
        raise ValidationError("return.photo_required", field="photos")
    now = clock.now()
    _return_step(session, ret, expect=RS.RECEIVED, action="rejected", status=RS.REJECTED, inspected_at=now,
                 outcome=RO.DAMAGED, reason=reason)
    for stored_name, content_type, size in photos:
        session.add(ReturnPhoto(return_id=ret.id, stored_name=stored_name, content_type=content_type, size=size, created_at=now))
    order = session.get(Order, ret.order_id)
    if order.status != OS.PAID:  # a paid order simply stays PAID: nothing is refunded
        _set_status(session, order, OS.RETURN_REJECTED, expect=(OS.RETURN_RECEIVED,), resumed_at=now)
    session.add(OrderEvent(order_id=order.id, at=now, step="inspected", note=RO.DAMAGED))
    session.add(OrderEvent(order_id=order.id, at=now, step="return_rejected", note=reason[:200]))
    notify(session=session, user_id=order.shopper_id, kind="return_rejected", at=now, dedupe_key=f"retno:{ret.id}",
           product=order.product_name, reason=reason)
    session.flush()
    return ret


def timeline(*, session: Session, order_id: int) -> list[OrderEvent]:
    return list(session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.at, OrderEvent.id)))


# ── what the shopper's order screens read ───────────────────────────────────────────────────
@dataclass(frozen=True)
class OrderFacts:
    order: Order
    installments: list[Installment]
    timeline: list[OrderEvent] = field(default_factory=list)  # the rest only for one order's page
    return_request: ReturnRequest | None = None
    photos: list[str] = field(default_factory=list)  # stored names of the inspection photos


def order_facts(*, session: Session, order: Order, detail: bool = False) -> OrderFacts:
    insts = installments_of(session=session, order_id=order.id)
    if not detail:
        return OrderFacts(order, insts)
    ret = session.exec(select(ReturnRequest).where(ReturnRequest.order_id == order.id)).first()
    photos = [] if ret is None else list(session.exec(
        select(ReturnPhoto.stored_name).where(ReturnPhoto.return_id == ret.id).order_by(ReturnPhoto.id)))
    return OrderFacts(order, insts, timeline(session=session, order_id=order.id), ret, photos)


def my_orders(*, session: Session, uid: int, cursor: str = "") -> Page[OrderFacts]:
    """One page of the shopper's orders, newest first, each with its installments."""
    return orders_page(session=session, uid=uid, cursor=cursor).map(lambda o: order_facts(session=session, order=o))


def my_order(*, session: Session, uid: int, order_id: object) -> OrderFacts:
    """One of the shopper's own orders with everything its page shows."""
    return order_facts(session=session, order=own_order(session=session, uid=uid, order_id=order_id), detail=True)


def open_count(*, session: Session, uid: int) -> int:
    """The shopper's orders still running: in trial, being returned, or billed and not paid off."""
    return session.execute(sa.select(sa.func.count()).select_from(ORD).where(
        ORD.c.shopper_id == uid, ORD.c.status.in_(OS.HOLDING + OS.BILLED))).scalar_one()
