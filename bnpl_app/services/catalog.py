"""The shop window: every shop's products a page at a time (shop by shop, oldest product first),
optionally only those offering 先用后付, searched by name or category. Anyone may browse, so this
reads only what a product card shows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from ..models import Merchant, Product
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


def product_page(session: Session, *, bnpl_only: bool = False, query: str = "", cursor: str = "",
                 size: int | None = None) -> Page[CatalogItem]:
    q = (sa.select(PROD.c.id, PROD.c.name, PROD.c.category, SHOP.c.name.label("shop"), PROD.c.price_fen,
                   PROD.c.image, PROD.c.bnpl_enabled, PROD.c.trial_days, PROD.c.stock)
         .join(SHOP, SHOP.c.id == PROD.c.merchant_id))
    if bnpl_only:
        q = q.where(PROD.c.bnpl_enabled.is_(True))
    text = clean_query(query)
    if text:
        q = q.where(sa.or_(contains(PROD.c.name, text), contains(PROD.c.category, text)))
    return fetch(session, q, KEYSET, cursor=cursor, size=size).map(
        lambda r: CatalogItem(r.id, r.name, r.category, r.shop, r.price_fen, r.image, bool(r.bnpl_enabled),
                              r.trial_days, r.stock))
