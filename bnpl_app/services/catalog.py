"""The shop window: every shop's products a page at a time (shop by shop, oldest product first),
optionally only those offering 先用后付, searched by name or category; and one product as its page
shows it. Anyone may browse, so the window reads only what a product card shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.clock import Clock
from ..domain.policy import POLICY
from ..models import Merchant, Product
from . import checkout, eligibility, schedule
from .paging import Key, Keyset, Page, clean_query, contains, fetch

PROD = Product.__table__
SHOP = Merchant.__table__
KEYSET = Keyset("catalog", (Key(PROD.c.merchant_id, int), Key(PROD.c.id, int)))


@dataclass(frozen=True)
class CatalogItem:
    id: int
    name: str
    category: str
    shop: str
    price_fen: int
    image: str
    bnpl: bool
    trial_days: int
    stock: int


def product_page(*, session: Session, bnpl_only: bool = False, query: str = "", cursor: str = "",
                 size: int | None = None) -> Page[CatalogItem]:
    q = (sa.select(PROD.c.id, PROD.c.name, PROD.c.category, SHOP.c.name.label("shop"), PROD.c.price_fen,
                   PROD.c.image, PROD.c.bnpl_enabled, PROD.c.trial_days, PROD.c.stock)
         .join(SHOP, SHOP.c.id == PROD.c.merchant_id))
    if bnpl_only:
        q = q.where(PROD.c.bnpl_enabled.is_(True))
    text = clean_query(query)
    if text:
        q = q.where(sa.or_(contains(PROD.c.name, text), contains(PROD.c.category, text)))
    return fetch(session=session, stmt=q, keyset=KEYSET, cursor=cursor, size=size).map(
        lambda r: CatalogItem(r.id, r.name, r.category, r.shop, r.price_fen, r.image, bool(r.bnpl_enabled),
                              r.trial_days, r.stock))


@dataclass(frozen=True)
class ProductInfo:
    product: Product
    shop: str
    eligibility: eligibility.Eligibility | None  # None: nobody is logged in to check
    schedules: tuple[schedule.Schedule, ...]  # each plan offered, as if ordered now (none without 先用后付)


def product_info(*, session: Session, product_id: object, uid: int | None, clock: Clock) -> ProductInfo:
    """One product as its page shows it: the shop, whether ``uid`` may use 先用后付 for it (every
    rule not met), and the schedule of every plan the merchant offers."""
    now = clock.now()
    p = checkout.get_product(session=session, product_id=product_id)
    shop = session.get(Merchant, p.merchant_id)
    trial_end = now + timedelta(days=p.trial_days)
    schedules = tuple(schedule.build(price_fen=p.price_fen, plan=plan, trial_end=trial_end, interest_free=p.interest_free)
                      for plan in p.plans if plan in POLICY.plans) if p.bnpl_enabled else ()
    return ProductInfo(p, shop.name if shop else "",
                       eligibility.check(session=session, uid=uid, product=p) if uid is not None else None, schedules)
