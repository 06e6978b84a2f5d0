"""Checkout: ¥0 now, the price frozen from the available limit, stock reserved, the schedule of
the chosen plan stored, all or nothing. One order per idempotency key (Stripe's rules: the client
makes the key when the confirm screen opens; a replay returns the original order; the same key
with different parameters is refused)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..domain.clock import Clock
from ..domain.errors import Conflict, NotEligible, NotFound, ValidationError
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import Installment, InstallmentStatus as IS, Order, OrderEvent, OrderStatus as OS, PaymentMethod, Product
from . import credit, eligibility, payments, schedule
from .eligibility import Failure
from .merchant import shop_cap, shop_exposure

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PROD = Product.__table__


def _request_hash(uid: int, product_id: int, plan: str) -> str:
    return hashlib.sha256(f"{uid}|{product_id}|{plan}".encode()).hexdigest()


def sells_on(product: Product, plan: object) -> bool:
    """Whether ``product`` is sold on ``plan``: the rule the preview, the cart and checkout apply."""
    return isinstance(plan, str) and plan in product.plans


def preview(*, session: Session, uid: int, product_id: object, plan: str, clock: Clock) -> tuple[Product, schedule.Schedule]:
    product = get_product(session=session, product_id=product_id)
    if not sells_on(product, plan):
        raise ValidationError("elig.plan", field="plan", plan=str(plan)[:10])
    trial_end = clock.now() + timedelta(days=product.trial_days)
    return product, schedule.build(price_fen=product.price_fen, plan=plan, trial_end=trial_end,
                                   interest_free=product.interest_free)


@dataclass(frozen=True)
class Quote:
    """What the confirm step shows for one line before the shopper confirms it."""

    product: Product
    schedule: schedule.Schedule
    method: PaymentMethod | None  # where the first deduction would come from at today's balances
    eligibility: eligibility.Eligibility


def quote(*, session: Session, uid: int, product_id: object, plan: str, clock: Clock) -> Quote:
    product, sched = preview(session=session, uid=uid, product_id=product_id, plan=plan, clock=clock)
    methods = payments.auto_methods(session=session, uid=uid)
    method = next((m for m in methods if m.balance_fen >= sched.first.total_fen), methods[0] if methods else None)
    return Quote(product, sched, method, eligibility.check(session=session, uid=uid, product=product))


def get_product(*, session: Session, product_id: object) -> Product:
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise NotFound("product")
    p = session.get(Product, product_id)
    if p is None:
        raise NotFound("product")
    return p


def cart_check(*, session: Session, uid: int, product_id: object, plan: str, buy_now: bool) -> Product:
    """Whether (product, plan) may go into the shopper's cart: the product is sold on that plan with
    先用后付 on; to buy it at once (``buy_now``) the shopper must also pass the eligibility check that
    checkout will make."""
    product = get_product(session=session, product_id=product_id)
    if not product.bnpl_enabled or not sells_on(product, plan):
        raise ValidationError("elig.plan", field="plan", plan=str(plan)[:10])
    if buy_now and not eligibility.check(session=session, uid=uid, product=product).eligible:
        raise ValidationError("not_eligible")
    return product


def _replay(session: Session, *, key: str, uid: int, request_hash: str) -> Order | None:
    existing = session.exec(select(Order).where(Order.idempotency_key == key)).first()
    if existing is None:
        return None
    if existing.shopper_id != uid or existing.request_hash != request_hash:
        raise Conflict("checkout.key_reused")
    return existing


def checkout(*, session: Session, uid: int, product_id: object, plan: str, idempotency_key: str, clock: Clock) -> Order:
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValidationError("checkout.bad_key", field="idempotency_key")
    if not isinstance(plan, str) or plan not in POLICY.plans:
        raise ValidationError("bad_choice", field="plan", value=str(plan)[:10])
    product = get_product(session=session, product_id=product_id)
    rhash = _request_hash(uid, product.id, plan)
    if (existing := _replay(session, key=idempotency_key, uid=uid, request_hash=rhash)) is not None:
        return existing

    elig = eligibility.check(session=session, uid=uid, product=product)
    if not elig.eligible:
        raise NotEligible(list(elig.failures))
    if not sells_on(product, plan):
        raise NotEligible([Failure("plan", "elig.plan", {"plan": plan})])

    now = clock.now()
    _, sched = preview(session=session, uid=uid, product_id=product.id, plan=plan, clock=clock)
    order = Order(
        shopper_id=uid, merchant_id=product.merchant_id, product_id=product.id, product_name=product.name,
        price_fen=product.price_fen, plan=plan, periods=len(sched.periods), status=OS.TRIAL,
        idempotency_key=idempotency_key, request_hash=rhash, created_at=now,
        trial_end_at=now + timedelta(days=product.trial_days), fee_bps=sched.fee_bps,
        late_fee_bps_per_day=sched.late_fee_bps_per_day, late_fee_cap_bps=sched.late_fee_cap_bps,
        grace_days=sched.grace_days, platform_fee_bps=POLICY.platform_fee_bps,
    )
    savepoint = session.begin_nested()
    try:
        session.add(order)
        session.flush()
    except IntegrityError:
        # A concurrent request with the same key won; return its order (or refuse a mismatch).
        savepoint.rollback()
        existing = _replay(session, key=idempotency_key, uid=uid, request_hash=rhash)
        if existing is None:
            raise
        return existing
    savepoint.commit()

    # Each guard is one statement the database decides; any refusal rolls the whole checkout back.
    # Rows are locked in the platform's one order — credit account, then product — the same order
    # as captures and returns, so concurrent writers on PostgreSQL never deadlock. The freeze locks
    # the shopper's credit account, so the per-shop exposure read after it is not raced by another
    # checkout of the same shopper.
    credit.freeze(session=session, uid=uid, amount=product.price_fen, order_id=order.id, at=now)
    cap = shop_cap(session=session, merchant_id=product.merchant_id)
    held = shop_exposure(session=session, uid=uid, merchant_id=product.merchant_id)  # this order included
    if held > cap:
        used = held - product.price_fen
        raise NotEligible([Failure("shop_cap", "elig.shop_cap", {"cap": yuan(cap), "used": yuan(used)})])
    if session.execute(sa.update(PROD).where(PROD.c.id == product.id, PROD.c.stock >= 1)
                       .values(stock=PROD.c.stock - 1)).rowcount != 1:
        raise NotEligible([Failure("stock", "elig.stock")])
    session.execute(sa.insert(Installment), [
        dict(order_id=order.id, shopper_id=uid, merchant_id=product.merchant_id, seq=p.seq, periods=len(sched.periods),
             due_at=p.due_at, principal_fen=p.principal_fen, fee_fen=p.fee_fen, status=IS.PENDING)
        for p in sched.periods
    ])
    session.add(OrderEvent(order_id=order.id, at=now, step="frozen", amount_fen=product.price_fen))
    session.flush()
    return order
