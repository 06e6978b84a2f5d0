"""Merchant side: per-product 先用后付 settings, the per-shop cap, settlement and metrics.
(Settings and shop-cap reads live here; the console's richer queries are added with the console.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.clock import Clock
from ..domain.errors import NotFound, ValidationError
from ..domain.money import check_amount
from ..domain.numbers import whole_number
from ..domain.policy import POLICY
from ..models import Installment, InstallmentStatus as IS, Merchant, Order, OrderKind, OrderStatus as OS, Product


def shop_cap(*, session: Session, merchant_id: int) -> int:
    cap = session.execute(sa.select(Merchant.shop_cap_fen).where(Merchant.id == merchant_id)).scalar_one_or_none()
    if cap is None:
        raise NotFound("shop")
    return cap


def shop_exposure(*, session: Session, uid: int, merchant_id: int) -> int:
    """What one shopper owes or has frozen at one shop (the per-shop cap's measure): the price of
    each order still in its trial or return, plus the principal of each open installment. Derived,
    not stored, so no capture, release or hardship plan has a counter to keep in step."""
    return shop_room(session=session, uid=uid, merchant_id=merchant_id)[1]


def shop_room(*, session: Session, uid: int, merchant_id: int) -> tuple[int, int]:
    """(the shop's cap, ``shop_exposure``) in one statement — checkout asks for both inside its
    write transaction, twice. Checkout reads it after freezing (which locks the shopper's credit
    account), so two checkouts of one shopper never both pass on the same figure; a capture or
    release running meanwhile only lowers it, so a stale read errs on the safe side."""
    row = session.execute(_ROOM, {"uid": uid, "mid": merchant_id}).first()
    if row is None:
        raise NotFound("shop")
    return row[0], int(row[1]) + int(row[2])


def _room_statement() -> sa.Select:
    """``shop_room``'s statement: the cap beside the two sums of the exposure, built once."""
    uid, mid = sa.bindparam("uid"), sa.bindparam("mid")
    held = sa.select(sa.func.coalesce(sa.func.sum(Order.price_fen), 0)).where(
        Order.shopper_id == uid, Order.merchant_id == mid, Order.status.in_(OS.HOLDING),
        Order.kind == OrderKind.BNPL)
    # Owed on the 先用后付 limit only (``rules.line_repaid``): 先用后付 and repair charges, not rent.
    on_limit = sa.select(Order.id).where(Order.shopper_id == uid, Order.merchant_id == mid,
                                         Order.kind.in_((OrderKind.BNPL, OrderKind.CHARGE)))
    owed = sa.select(sa.func.coalesce(sa.func.sum(Installment.principal_fen), 0)).where(
        Installment.shopper_id == uid, Installment.merchant_id == mid, Installment.status.in_(IS.OPEN),
        Installment.order_id.in_(on_limit))
    return sa.select(Merchant.shop_cap_fen, held.scalar_subquery(), owed.scalar_subquery()).where(Merchant.id == mid)


_ROOM = _room_statement()


def own_product(*, session: Session, merchant_id: int, product_id: object) -> Product:
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


def check_stock(stock: object) -> int:
    """A stock count: a whole number from 0 to 100,000."""
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= 100_000:
        raise ValidationError("merchant.stock", field="stock")
    return stock


def parse_stock(text: object) -> int:
    """A stock count as the merchant typed it ("12"), checked as ``check_stock`` checks one."""
    n = whole_number(text, lo=0, hi=100_000, max_digits=6) if isinstance(text, str) else None
    return check_stock(-1 if n is None else n)


def update_product(
    *, session: Session,
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
    p = own_product(session=session, merchant_id=merchant_id, product_id=product_id)
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
        p.stock = check_stock(stock)
    # A browser may send "false": only a real bool is a choice (bool("false") is True).
    for name, flag in (("bnpl_enabled", bnpl_enabled), ("interest_free", interest_free)):
        if flag is not None and not isinstance(flag, bool):
            raise ValidationError("bad_choice", field=name, value=str(flag)[:20])
    if bnpl_enabled is not None:
        p.bnpl_enabled = bnpl_enabled
    if interest_free is not None:
        p.interest_free = interest_free
    session.add(p)
    session.flush()
    return p


def set_shop_cap(*, session: Session, merchant_id: int, cap_fen: int) -> None:
    check_amount(cap_fen, field="shop_cap")
    session.execute(sa.update(Merchant.__table__).where(Merchant.__table__.c.id == merchant_id).values(shop_cap_fen=cap_fen))


# ── the console's product editor (added with the merchant console) ───────────────────────────
import re as _re  # noqa: E402

_IMAGE_URL_RE = _re.compile(r"^/(files|products)/[A-Za-z0-9_-]{1,64}\.(png|jpg|gif|webp|svg)$")


def _text(value: object, *, field: str, min_len: int, max_len: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not min_len <= len(text) <= max_len or any(not ch.isprintable() for ch in text):
        raise ValidationError("bad_text", field=field, min=min_len, max=max_len)
    return text


def _image(value: object) -> str:
    """Only an image we serve ourselves: a stored upload (``/files/<generated>``) or a bundled one."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _IMAGE_URL_RE.match(value):
        raise ValidationError("bad_choice", field="image", value=str(value)[:20])
    return value


def create_product(
    *, session: Session,
    merchant_id: int,
    name: object,
    price_fen: object,
    stock: object,
    category: object = "",
    description: object = "",
    image: object = "",
    bnpl_enabled: bool = False,
    trial_days: int = POLICY.trial_days_default,
    min_score: int = POLICY.platform_min_score,
    allowed_plans: object = "full",
    interest_free: bool = False,
    clock: Clock,
) -> Product:
    """A new product of this merchant. 先用后付 stays off unless the merchant turns it on."""
    shop_cap(session=session, merchant_id=merchant_id)  # the merchant exists
    check_amount(price_fen, field="price")
    p = Product(merchant_id=merchant_id, name=_text(name, field="name", min_len=1, max_len=80),
                category=_text(category, field="category", min_len=0, max_len=30),
                description=_text(description, field="description", min_len=0, max_len=500),
                price_fen=price_fen, stock=0, image=_image(image), created_at=clock.now())
    session.add(p)
    session.flush()
    return update_product(session=session, merchant_id=merchant_id, product_id=p.id, bnpl_enabled=bnpl_enabled,
                          trial_days=trial_days, min_score=min_score, allowed_plans=allowed_plans,
                          interest_free=interest_free, stock=stock, clock=clock)


def edit_product(
    *, session: Session,
    merchant_id: int,
    product_id: int,
    name: object | None = None,
    price_fen: object | None = None,
    stock: object | None = None,
    category: object | None = None,
    description: object | None = None,
    image: object | None = None,
    clock: Clock,
) -> Product:
    """Name, price, stock, text and picture. A new price applies to new orders only: an order
    keeps the price (and terms) it was made with."""
    p = own_product(session=session, merchant_id=merchant_id, product_id=product_id)
    if name is not None:
        p.name = _text(name, field="name", min_len=1, max_len=80)
    if category is not None:
        p.category = _text(category, field="category", min_len=0, max_len=30)
    if description is not None:
        p.description = _text(description, field="description", min_len=0, max_len=500)
    if price_fen is not None:
        p.price_fen = check_amount(price_fen, field="price")
    if image is not None and image != "":
        p.image = _image(image)
    session.add(p)
    session.flush()
    return update_product(session=session, merchant_id=merchant_id, product_id=p.id, stock=stock, clock=clock)
