"""The 信用分租机 part of the demo world: devices for rent at both demo shops, and two renters whose
contracts are accepted and delivered through the real services at the start of the demo's
simulated time — the sweep then runs their rent like any other: rita's is paid month by month,
rex's is not (he has nothing left after his half deposit), so by the demo's end it is overdue for
long enough to negotiate."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db import transaction
from ..models import Merchant, User
from ..services import rental

# shop: [(device, description, monthly rent, terms, deposit, buy-out, damage rules, stock)]
LISTINGS = {
    "shop_digital": [
        ("iPhone 16 128G", "全新国行，含原装充电线", 29_900, "6,12", 300_000, 420_000,
         "屏幕碎裂按 ¥800 计；进水或主板损坏按 ¥2,000 计；正常使用磨损不收费", 10),
        ("iPad Air 11 英寸", "WLAN 版 128G，附保护壳", 19_900, "6,12", 200_000, 260_000,
         "屏幕碎裂按 ¥900 计；外壳明显凹陷按 ¥300 计；正常使用磨损不收费", 6),
    ],
    "shop_fashion": [
        ("拍立得相机 mini 12", "附 20 张相纸", 5_900, "6", 60_000, 45_000,
         "镜头划伤按 ¥200 计；进水按 ¥600 计；正常使用磨损不收费", 8),
    ],
}

# renter: (shop, device, term): rita (score ≥ 700) rents with the deposit waived; rex (600–699) half.
RENTALS = {"rita": ("shop_digital", "iPhone 16 128G", 12), "rex": ("shop_digital", "iPad Air 11 英寸", 6)}


def seed_rental_demo(engine: Engine, *, clock) -> dict[str, int]:
    """The listings, and each renter's contract accepted and the device delivered now. Returns
    the rental ids by renter."""
    listing_ids: dict[tuple[str, str], int] = {}
    with transaction(engine) as s:
        for shop, items in LISTINGS.items():
            mid = s.execute(sa.select(Merchant.id).join(User, User.id == Merchant.user_id)
                            .where(User.username == shop)).scalar_one()
            for name, description, rent, terms, deposit, buyout, damage, stock in items:
                listing_ids[(shop, name)] = rental.create_listing(
                    session=s, merchant_id=mid, clock=clock, name=name, description=description, monthly_rent_fen=rent,
                    terms=terms, deposit_fen=deposit, buyout_fen=buyout, damage_rules=damage, stock=stock).id
    out: dict[str, int] = {}
    for renter, (shop, device, term) in RENTALS.items():
        lid = listing_ids[(shop, device)]
        with transaction(engine) as s:
            uid = s.execute(sa.select(User.id).where(User.username == renter)).scalar_one()
            shown = rental.quote(session=s, uid=uid, listing_id=lid, term=term).contract
            r = rental.accept(session=s, uid=uid, listing_id=lid, term=term, contract=shown,
                              idempotency_key=f"seed-rent-{renter}", clock=clock)
            rental.deliver(session=s, merchant_id=r.merchant_id, rental_id=r.id, serial=f"SN-DEMO-{r.id:04d}", clock=clock)
            out[renter] = r.id
    return out
