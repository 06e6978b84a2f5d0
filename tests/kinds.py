"""Contracts of every kind — 备用金 lines and draws (to a card or spent on a purchase), device rentals
(deposit waived and frozen, or paid), their rent, repair charges, returns and buy-outs — written as
the product services write them: plain rows and the postings of the key contract (the common
brief; ``services/ledger.py``), through the engine's own primitives where it has them
(``credit.repay_cash_line``, ``payments.capture``). The engine's tests (unit, audit, property) use
these instead of waiting for ``services/cash.py`` and ``services/rental.py``; each function is one
transaction, like one action of a person.

The shapes follow the briefs: a 备用金 order has no shop and no product, is billed at once (status
DUE, ``billed_at = trial_end_at = created_at``), fee = that month's interest (等额本金: equal
principal, interest = outstanding × daily rate × days of the period), platform fee 0; a rent order
is made at delivery, one installment a month of the monthly rent, fee 0; a repair charge taken
from a waived deposit is an order of kind charge with one installment, owed on the 先用后付 limit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bnpl_app.domain import rules
from bnpl_app.domain.clock import add_months
from bnpl_app.domain.money import bps_of, split_even
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    CashDraw,
    CashLine,
    CreditAccount,
    FreezeState as FS,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderKind as OK,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    Rental,
    RentalListing,
    RentalStatus as RS,
)
from bnpl_app.services import ledger, payments
from bnpl_app.services.ledger import LIMIT, MONEY, PLAT_CASH_BOOK, PLAT_DEPOSITS, PLAT_SERVICE_FEE, cash, lim, mer, pm

CA = CreditAccount.__table__
CL = CashLine.__table__
RT = Rental.__table__
INST = Installment.__table__
CASH_PRODUCT = "备用金借款"


def _key() -> str:
    return uuid.uuid4().hex


def _terms(kind: str, *, price: int, periods: int, platform_fee_bps: int, now: datetime, **kw) -> dict:
    """An order billed at once: no trial, the late-fee terms of the policy."""
    return dict(kind=kind, price_fen=price, plan=str(periods), periods=periods, status=OS.DUE,
                idempotency_key=_key(), request_hash="0" * 64, created_at=now, trial_end_at=now, billed_at=now, fee_bps=0,
                late_fee_bps_per_day=POLICY.late_fee_bps_per_day, late_fee_cap_bps=POLICY.late_fee_cap_bps,
                grace_days=POLICY.grace_days, platform_fee_bps=platform_fee_bps, quote_json="{}", **kw)


def _schedule(s: Session, order: Order, rows: list[tuple[datetime, int, int]], now: datetime) -> list[int]:
    """SCHEDULED installments (due, principal, fee), attempted as ``rules.first_attempt_at`` says
    (``now``: when the contract was made)."""
    days_before = s.execute(sa.select(CA.c.autopay_days_before).where(CA.c.user_id == order.shopper_id)).scalar_one()
    ids = []
    for k, (due, principal, fee) in enumerate(rows):
        inst = Installment(order_id=order.id, shopper_id=order.shopper_id, merchant_id=order.merchant_id, seq=k + 1,
                           periods=len(rows), due_at=due, principal_fen=principal, fee_fen=fee, status=IS.SCHEDULED,
                           attempt_at=rules.first_attempt_at(due_at=due, seq=k + 1, autopay_days_before=days_before,
                                                             now=now))
        s.add(inst)
        s.flush()
        ids.append(inst.id)
    return ids


# ── 备用金 ─────────────────────────────────────────────────────────────────────────────────────
def cash_line(world, uid: int, *, line_fen: int = 500_000, ppm: int = POLICY.cash_daily_rate_ppm) -> int:
    """A granted line: the row and ``cashgrant:<line>`` granted → available."""
    now = world.clock.now()
    with world.tx() as s:
        line = CashLine(user_id=uid, line_fen=line_fen, daily_rate_ppm=ppm, score_at_grant=700, granted_at=now,
                        updated_at=now)
        s.add(line)
        s.flush()
        ledger.post(session=s, ledger=LIMIT, key=f"cashgrant:{line.id}", kind="cash_grant", at=now,
                    legs=[(cash(uid, "granted"), cash(uid, "available"), line_fen)])
        return line.id


def cash_schedule(amount: int, term: int, ppm: int, start: datetime) -> list[tuple[datetime, int, int]]:
    """等额本金: (due, principal, interest) per month; interest = outstanding × rate × days, to the fen."""
    out, left, prev = [], amount, start
    for k, part in enumerate(split_even(amount, term)):
        due = add_months(start, k + 1)
        days = (due - prev).days
        out.append((due, part, (left * ppm * days + 500_000) // 1_000_000))
        left, prev = left - part, due
    return out


def cash_draw(world, uid: int, *, amount: int = 60_000, term: int = 3, card: int | None = None,
              shop_product: int | None = None, ago: timedelta = timedelta(0)) -> tuple[int, int]:
    """A draw of ``amount`` over ``term`` months, paid to ``card`` (a method id; the shopper's first
    card when None) or spent on ``shop_product`` (an ordinary purchase: an order of kind buy, PAID);
    made ``ago`` before now (its first installment then falls due sooner). Returns (the draw's
    order, the draw)."""
    now = world.clock.now() - ago
    with world.tx() as s:
        line = s.exec(select(CashLine).where(CashLine.user_id == uid)).one()
        sched = cash_schedule(amount, term, line.daily_rate_ppm, now)
        order = Order(shopper_id=uid, merchant_id=None, product_id=None, product_name=CASH_PRODUCT,
                      **_terms(OK.CASH, price=amount, periods=term, platform_fee_bps=0, now=now))
        s.add(order)
        s.flush()
        _schedule(s, order, sched, now)
        purchase = None
        if shop_product is not None:
            p = s.get(Product, shop_product)
            purchase = Order(shopper_id=uid, merchant_id=p.merchant_id, product_id=p.id, product_name=p.name,
                             closed_at=now, **{**_terms(OK.BUY, price=amount, periods=1,
                                                        platform_fee_bps=POLICY.platform_fee_bps, now=now),
                                               "status": OS.PAID, "plan": "full"})
            s.add(purchase)
            s.flush()
        elif card is None:
            card = s.execute(sa.select(PaymentMethod.id).where(PaymentMethod.user_id == uid, PaymentMethod.kind == "card")
                             .order_by(PaymentMethod.id)).scalars().first()
        draw = CashDraw(user_id=uid, line_id=line.id, order_id=order.id, amount_fen=amount, term_months=term,
                        daily_rate_ppm=line.daily_rate_ppm, interest_fen=sum(i for _d, _p, i in sched),
                        dest="shop" if purchase else "card", method_id=card,
                        purchase_order_id=purchase.id if purchase else None, quote_json="{}", idempotency_key=_key(),
                        request_hash="0" * 64, created_at=now)
        s.add(draw)
        s.flush()
        if s.execute(sa.update(CL).where(CL.c.id == line.id, CL.c.outstanding_fen + amount <= CL.c.line_fen)
                     .values(outstanding_fen=CL.c.outstanding_fen + amount, updated_at=now)).rowcount != 1:
            raise ValueError("draw above the line")
        ledger.post(session=s, ledger=LIMIT, key=f"draw:{draw.id}", kind="draw", at=now, order_id=order.id,
                    legs=[(cash(uid, "available"), cash(uid, "outstanding"), amount)])
        if purchase is not None:
            fee = bps_of(amount, purchase.platform_fee_bps)
            legs = [(PLAT_CASH_BOOK, mer(purchase.merchant_id), amount - fee), (PLAT_CASH_BOOK, PLAT_SERVICE_FEE, fee)]
        else:
            payments.GATEWAY.credit(s, method_id=card, amount_fen=amount)
            legs = [(PLAT_CASH_BOOK, pm(card), amount)]
        ledger.post(session=s, ledger=MONEY, key=f"drawpay:{draw.id}", kind="draw", at=now, order_id=order.id, legs=legs)
        return order.id, draw.id


# ── rentals ──────────────────────────────────────────────────────────────────────────────────
def rental(world, uid: int, merchant_id: int, *, monthly: int = 30_000, term: int = 6, deposit: int = 100_000,
           waived: int | None = None, deposit_method: int | None = None, deliver: bool = True,
           ago: timedelta = timedelta(0)) -> tuple[int, int | None]:
    """A rental accepted (``waived`` of the deposit frozen on the 先用后付 limit — all of it by default —
    the rest paid from ``deposit_method``) and, when ``deliver``, delivered: the rent order is made
    with one installment a month from then (``ago`` before now). Returns (rental, rent order or None)."""
    waived = deposit if waived is None else waived
    now = world.clock.now() - ago
    with world.tx() as s:
        listing = RentalListing(merchant_id=merchant_id, name="Phone", monthly_rent_fen=monthly, deposit_fen=deposit,
                                buyout_fen=monthly * 2, stock=5, created_at=now, updated_at=now)
        s.add(listing)
        s.flush()
        r = Rental(listing_id=listing.id, shopper_id=uid, merchant_id=merchant_id, device_name="Phone", term_months=term,
                   monthly_rent_fen=monthly, deposit_fen=deposit, waived_fen=waived, paid_deposit_fen=deposit - waived,
                   deposit_method_id=deposit_method if deposit > waived else None, buyout_fen=monthly * 2,
                   score_at_review=700, contract_json="{}", accepted_at=now,
                   freeze_state=FS.HELD if waived else FS.NONE, idempotency_key=_key(), request_hash="0" * 64,
                   created_at=now)
        s.add(r)
        s.flush()
        if waived:
            if s.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.limit_fen - CA.c.frozen_fen - CA.c.outstanding_fen >= waived)
                         .values(frozen_fen=CA.c.frozen_fen + waived, updated_at=now)).rowcount != 1:
                raise ValueError("not enough limit for the waived deposit")
            ledger.post(session=s, ledger=LIMIT, key=f"rfrz:{r.id}", kind="freeze", at=now,
                        legs=[(lim(uid, "headroom"), lim(uid, "frozen"), waived)])
        if deposit > waived:
            if not payments.GATEWAY.debit(s, method_id=deposit_method, amount_fen=deposit - waived):
                raise ValueError("the deposit method cannot pay")
            ledger.post(session=s, ledger=MONEY, key=f"dep:{r.id}", kind="deposit", at=now,
                        legs=[(pm(deposit_method), PLAT_DEPOSITS, deposit - waived)])
        oid = None
        if deliver:
            order = Order(shopper_id=uid, merchant_id=merchant_id, product_id=None, product_name="Phone",
                          **_terms(OK.RENT, price=monthly * term, periods=term, platform_fee_bps=POLICY.platform_fee_bps,
                                   now=now))
            s.add(order)
            s.flush()
            _schedule(s, order, [(add_months(now, k + 1), monthly, 0) for k in range(term)], now)
            s.execute(sa.update(RT).where(RT.c.id == r.id).values(order_id=order.id, status=RS.RENTING, serial="SN1",
                                                                  delivered_at=now))
            oid = order.id
        return r.id, oid


def _resolve_freeze(s: Session, r: Rental, captured: int, now: datetime) -> int | None:
    """Release the waived deposit, less ``captured`` (a repair charge: frozen → outstanding, owed on a
    new order of kind charge with one installment). Returns the charge order."""
    uid, charge = r.shopper_id, None
    if not r.waived_fen:
        return None
    state = FS.CAPTURED if captured else FS.RELEASED
    if s.execute(sa.update(RT).where(RT.c.id == r.id, RT.c.freeze_state == FS.HELD)
                 .values(freeze_state=state, freeze_resolved_at=now)).rowcount != 1:
        raise ValueError("freeze already resolved")
    if captured:
        s.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.frozen_fen >= captured)
                  .values(frozen_fen=CA.c.frozen_fen - captured, outstanding_fen=CA.c.outstanding_fen + captured))
        ledger.post(session=s, ledger=LIMIT, key=f"rcap:{r.id}", kind="capture", at=now,
                    legs=[(lim(uid, "frozen"), lim(uid, "outstanding"), captured)])
        order = Order(shopper_id=uid, merchant_id=r.merchant_id, product_id=None, product_name="维修费 Phone",
                      **_terms(OK.CHARGE, price=captured, periods=1, platform_fee_bps=POLICY.platform_fee_bps, now=now))
        s.add(order)
        s.flush()
        _schedule(s, order, [(now + timedelta(days=max(POLICY.reminder_days_before)), captured, 0)], now)
        charge = order.id
    if r.waived_fen - captured:
        s.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.frozen_fen >= r.waived_fen - captured)
                  .values(frozen_fen=CA.c.frozen_fen - (r.waived_fen - captured)))
        ledger.post(session=s, ledger=LIMIT, key=f"rrel:{r.id}", kind="release", at=now,
                    legs=[(lim(uid, "frozen"), lim(uid, "headroom"), r.waived_fen - captured)])
    return charge


def _refund_deposit(s: Session, r: Rental, repair: int, now: datetime) -> int:
    """The paid deposit: the repair taken from it first (``deprep:``), the rest refunded (``depref:``).
    Returns what the repair still needs (taken from the waived freeze)."""
    from_deposit = min(repair, r.paid_deposit_fen)
    if from_deposit:
        ledger.post(session=s, ledger=MONEY, key=f"deprep:{r.id}", kind="deposit_repair", at=now,
                    legs=[(PLAT_DEPOSITS, mer(r.merchant_id), from_deposit)])
    back = r.paid_deposit_fen - from_deposit
    if back:
        payments.GATEWAY.credit(s, method_id=r.deposit_method_id, amount_fen=back)
        ledger.post(session=s, ledger=MONEY, key=f"depref:{r.id}", kind="deposit_refund", at=now,
                    legs=[(PLAT_DEPOSITS, pm(r.deposit_method_id), back)])
    s.execute(sa.update(RT).where(RT.c.id == r.id).values(deposit_refunded_fen=back))
    return repair - from_deposit


def _cancel_rent(s: Session, r: Rental, now: datetime) -> None:
    """The rent not yet paid is not due any more."""
    if r.order_id is None:
        return
    s.execute(sa.update(INST).where(INST.c.order_id == r.order_id, INST.c.status.in_(IS.OPEN))
              .values(status=IS.CANCELLED, attempt_at=None))
    payments.refresh_order_status(session=s, order=s.get(Order, r.order_id), at=now)


def return_rental(world, rental_id: int, *, repair: int = 0) -> int | None:
    """The device back and inspected: intact (``repair`` 0) or damaged with a repair charge (taken from
    the paid deposit first, then from the waived freeze). Returns the charge order, if any."""
    now = world.clock.now()
    with world.tx() as s:
        r = s.get(Rental, rental_id)
        if repair > r.deposit_fen:
            raise ValueError("a repair is charged up to the deposit")
        from_freeze = _refund_deposit(s, r, repair, now)
        charge = _resolve_freeze(s, r, from_freeze, now)
        _cancel_rent(s, r, now)
        s.execute(sa.update(RT).where(RT.c.id == r.id).values(status=RS.RETURNED, repair_fen=repair, inspected_at=now,
                                                              outcome="damaged" if repair else "intact", closed_at=now))
        return charge


def buy_out(world, rental_id: int, *, method_id: int) -> None:
    """The buy-out price paid (``buyout:``: the shop's share and the platform's service fee), the
    freeze released, the paid deposit refunded, the rent not yet paid cancelled."""
    now = world.clock.now()
    with world.tx() as s:
        r = s.get(Rental, rental_id)
        if not payments.GATEWAY.debit(s, method_id=method_id, amount_fen=r.buyout_fen):
            raise ValueError("the method cannot pay the buy-out")
        fee = bps_of(r.buyout_fen, POLICY.platform_fee_bps)
        ledger.post(session=s, ledger=MONEY, key=f"buyout:{r.id}", kind="buyout", at=now, order_id=r.order_id,
                    legs=[(pm(method_id), mer(r.merchant_id), r.buyout_fen - fee), (pm(method_id), PLAT_SERVICE_FEE, fee)])
        _refund_deposit(s, r, 0, now)
        _resolve_freeze(s, r, 0, now)
        _cancel_rent(s, r, now)
        s.execute(sa.update(RT).where(RT.c.id == r.id).values(status=RS.BOUGHT_OUT, bought_out_at=now,
                                                              buyout_paid_fen=r.buyout_fen, closed_at=now))
