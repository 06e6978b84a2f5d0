"""Merchant side: per-product 先用后付 settings, the per-shop cap, settlement and metrics.
(Settings and shop-cap reads live here; the console's richer queries are added with the console.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.clock import Clock
from ..domain.errors import NotFound, ValidationError
from ..domain.money import check_amount
from ..domain.policy import POLICY
from ..models import Merchant, Product


def shop_cap(session: Session, merchant_id: int) -> int:
    cap = session.execute(sa.select(Merchant.shop_cap_fen).where(Merchant.id == merchant_id)).scalar_one_or_none()
    if cap is None:
        raise NotFound("shop")
    return cap


def own_product(session: Session, *, merchant_id: int, product_id: object) -> Product:
    """The merchant's own product, or NotFound (also for another merchant's product)."""
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise NotFound("product")
    p = session.get(Product, product_id)
    if p is None or p.merchant_id != merchant_id:
        raise NotFound("product")
    return p


def parse_plans(plans: object) -> str:
    items = plans.split(",") if isinstance(plans, str) else list(plans) if isinstance(plans, (list, tuple)) else []
    chosen = [str(x).strip() for x in items if str(x).strip()]
    if not chosen or any(p not in POLICY.plans for p in chosen):
        raise ValidationError("merchant.plans", field="plans")
    return ",".join(p for p in POLICY.plans if p in chosen)


def update_product(
    session: Session,
    *,
    merchant_id: int,
    product_id: int,
    bnpl_enabled: bool | None = None,
    trial_days: int | None = None,
    min_score: int | None = None,
    allowed_plans: object | None = None,
    interest_free: bool | None = None,
    stock: int | None = None,
    clock: Clock,
) -> Product:
    """Changes apply to new checkouts only: orders keep the terms they were made with."""
    p = own_product(session, merchant_id=merchant_id, product_id=product_id)
    if trial_days is not None:
        if isinstance(trial_days, bool) or not isinstance(trial_days, int) or not POLICY.trial_days_min <= trial_days <= POLICY.trial_days_max:
            raise ValidationError("merchant.trial_days", field="trial_days", min=POLICY.trial_days_min, max=POLICY.trial_days_max)
        p.trial_days = trial_days
    if min_score is not None:
        if isinstance(min_score, bool) or not isinstance(min_score, int) or not POLICY.platform_min_score <= min_score <= POLICY.score_max:
            raise ValidationError("merchant.min_score", field="min_score", min=POLICY.platform_min_score, max=POLICY.score_max)
        p.min_score = min_score
    if allowed_plans is not None:
        p.allowed_plans = parse_plans(allowed_plans)
    if stock is not None:
        if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= 100_000:
            raise ValidationError("merchant.stock", field="stock")
        p.stock = stock
    if bnpl_enabled is not None:
        p.bnpl_enabled = bool(bnpl_enabled)
    if interest_free is not None:
        p.interest_free = bool(interest_free)
    session.add(p)
    session.flush()
    return p


def set_shop_cap(session: Session, *, merchant_id: int, cap_fen: int) -> None:
    check_amount(cap_fen, field="shop_cap")
    session.execute(sa.update(Merchant.__table__).where(Merchant.__table__.c.id == merchant_id).values(shop_cap_fen=cap_fen))
