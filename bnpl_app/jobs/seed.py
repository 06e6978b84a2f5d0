"""The demo world of shared/TESTIDS.md, made by running the real services through simulated
time (carol's overdue and dave's suspension happen, they are not written in by hand), so the
seeded database passes the audit like any other."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from ..db import transaction
from ..domain.clock import FixedClock, SystemClock
from ..domain.policy import POLICY
from ..models import (
    MERCHANT,
    OPERATOR,
    SHOPPER,
    CreditAccount,
    InstallmentStatus as IS,
    Merchant,
    Product,
    User,
)
from ..services import auth, bills, cash, checkout, consent, wallet
from .clock import DbClock, advance
from .rental_demo import seed_rental_demo

DEMO_PASSWORD = "demo1234"

SHOPPERS = {
    # username: (display name, starting score, wallet ¥, card ¥ or None, open 先用后付)
    "alice": ("Alice 王", 715, 300_000, 2_000_000, True),
    "bob": ("Bob 李", 580, 80_000, None, True),
    "carol": ("Carol 张", 660, 0, None, True),
    "dave": ("Dave 刘", 620, 0, None, True),
    "erin": ("Erin 陈", 510, 20_000, None, False),
    "rita": ("Rita 周", 730, 200_000, None, True),  # 信用分租机: a phone rented mid-term, deposit waived, rent paid
    "rex": ("Rex 吴", 660, 0, 100_000, True),  # 信用分租机: half deposit paid from his card, rent overdue since
    "fiona": ("Fiona 赵", 690, 100_000, 500_000, False),
    "gina": ("Gina 孙", 705, 300_000, 200_000, True),  # a 备用金 line with a draw being repaid
}

# merchant: (shop name, trial days, min score, [(name, category, ¥ fen, stock, bnpl on, plans, 免息, image)])
SHOPS = {
    "shop_fashion": ("衣橱时尚 Fashion", 7, 550, [
        ("纯棉T恤", "服饰", 9_900, 200, True, "full", False, "tshirt"),
        ("直筒牛仔裤", "服饰", 29_900, 120, True, "full,3", False, "jeans"),
        ("轻薄羽绒服", "服饰", 89_900, 60, True, "full,3,6", True, "jacket"),
        ("休闲运动鞋", "鞋履", 45_900, 80, True, "full,3", False, "sneakers"),
        ("羊绒围巾", "配饰", 12_900, 50, False, "full", False, "scarf"),
    ]),
    "shop_digital": ("数码小铺 Digital", 15, 650, [
        ("蓝牙耳机", "数码", 39_900, 100, True, "full,3", False, "earbuds"),
        ("机械键盘", "数码", 59_900, 70, True, "full,3,6", False, "keyboard"),
        ("智能手表", "数码", 129_900, 40, True, "full,3,6,12", False, "watch"),
        ("平板电脑", "数码", 299_900, 20, False, "full,3,6,12", False, "tablet"),
        ("移动电源", "数码", 15_900, 150, True, "full", False, "powerbank"),
    ]),
}


def _user(s, *, username: str, role: str, display: str, clock) -> User:
    u = auth.register(session=s, username=username, password=DEMO_PASSWORD, display_name=display, clock=clock, role=role)
    u.real_name_verified = True
    u.phone = "138" + f"{abs(hash(username)) % 10**8:08d}"
    s.add(u)
    s.flush()
    return u


def is_seeded(engine: Engine) -> bool:
    with transaction(engine) as s:
        return s.exec(select(User.id).where(User.username == "ops")).first() is not None


def seed_demo(engine: Engine, *, now: datetime | None = None) -> datetime:
    """Create the demo world ending at ``now`` (default: the wall clock, to the minute)."""
    end = (now or SystemClock().now()).replace(second=0, microsecond=0)
    clock = FixedClock(end - timedelta(days=60))
    ids: dict[str, int] = {}
    products: dict[str, int] = {}
    with transaction(engine) as s:
        for name, (display, score, wallet_fen, card_fen, _open) in SHOPPERS.items():
            u = _user(s, username=name, role=SHOPPER, display=display, clock=clock)
            ids[name] = u.id
            s.execute(sa.update(CreditAccount.__table__).where(CreditAccount.__table__.c.user_id == u.id).values(score=score))
            if wallet_fen:
                wallet.topup(session=s, uid=u.id, amount_fen=wallet_fen, clock=clock)
            if card_fen:
                wallet.add_card(session=s, uid=u.id, bank="招商银行", last4="8888" if name == "alice" else "6666",
                                balance_fen=card_fen, clock=clock)
        for name, (shop, trial, min_score, items) in SHOPS.items():
            u = _user(s, username=name, role=MERCHANT, display=shop, clock=clock)
            m = Merchant(user_id=u.id, name=shop, shop_cap_fen=POLICY.default_shop_cap_fen)
            s.add(m)
            s.flush()
            ids[name] = u.id
            for pname, cat, price, stock, on, plans, free, image in items:
                p = Product(merchant_id=m.id, name=pname, category=cat, price_fen=price, stock=stock, bnpl_enabled=on,
                            trial_days=trial, min_score=min_score, allowed_plans=plans, interest_free=free,
                            image=f"/products/{image}.svg", description=f"{shop} · {pname}", created_at=clock.now())
                s.add(p)
                s.flush()
                products[pname] = p.id
        _user(s, username="ops", role=OPERATOR, display="运营 Ops", clock=clock)
        for name, (_d, _sc, _w, _c, opened) in SHOPPERS.items():
            if opened:
                consent.open_bnpl(session=s, uid=ids[name], accept_terms=True, terms_version=POLICY.terms_version, clock=clock)

    # rita and rex rent devices (信用分租机), delivered now: the sweep runs their rent from here on.
    seed_rental_demo(engine, clock=clock)

    def step(to: datetime) -> None:
        advance(engine=engine, clock=clock, delta=to - clock.now())

    def buy(name: str, product: str, plan: str = "full") -> int:
        with transaction(engine) as s:
            o = checkout.checkout(session=s, uid=ids[name], product_id=products[product], plan=plan,
                                  idempotency_key=f"seed-{name}-{product.encode().hex()[:20]}-{clock.now():%j%H%M}",
                                  clock=clock)
            return o.id

    # dave buys 50 days ago, goes 35 days overdue (suspended at 30), then pays everything off.
    step(end - timedelta(days=50))
    buy("dave", "直筒牛仔裤")
    # gina draws ¥6,000 of 备用金 over 6 months to her card: the sweep takes month 1, she pays month 2 early.
    with transaction(engine) as s:
        gina_draw = cash.seed_cash_demo(session=s, uid=ids["gina"], amount_fen=600_000, term=6, clock=clock).order_id
    # carol: one installment 10 days overdue (7-day trial).
    step(end - timedelta(days=17))
    buy("carol", "纯棉T恤")
    # alice: one order kept and paid on time (+5 → 720), one in trial now.
    step(end - timedelta(days=12))
    buy("alice", "休闲运动鞋")
    step(end - timedelta(days=8))
    with transaction(engine) as s:
        wallet.topup(session=s, uid=ids["dave"], amount_fen=50_000, clock=clock)
        for inst in bills.billed_installments(session=s, uid=ids["dave"]):
            if inst.status != IS.PAID:
                bills.repay(session=s, uid=ids["dave"], installment_id=inst.id, clock=clock)
        month_2 = next(i for i in bills.billed_installments(session=s, uid=ids["gina"])
                       if i.order_id == gina_draw and i.status != IS.PAID)
        bills.repay(session=s, uid=ids["gina"], installment_id=month_2.id, clock=clock)
    step(end - timedelta(days=2))
    buy("alice", "轻薄羽绒服", "3")
    step(end)
    # alice's kept order was deducted from her wallet; the demo shows it back at its starting amount.
    with transaction(engine) as s:
        short = SHOPPERS["alice"][2] - wallet.wallet_of(session=s, uid=ids["alice"]).balance_fen
        if short > 0:
            wallet.topup(session=s, uid=ids["alice"], amount_fen=short, clock=clock)
    DbClock(engine).set(end)
    return end
