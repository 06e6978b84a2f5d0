"""Eligibility for one product: ALL rules must pass; every failing rule is named, with what the
shopper can do about it. The same checks run again inside checkout, where the database's guarded
updates have the last word."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.errors import NotFound
from ..domain.messages import has, render
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import BNPL_ACTIVE, CreditAccount, Product, User
from . import credit, wallet
from .merchant import shop_room


@dataclass(frozen=True)
class Failure:
    rule: str
    key: str
    params: dict = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        return render(self.key, lang, **self.params)

    def hint(self, lang: str = "en") -> str:
        return render(self.key + ".hint", lang, **self.params) if has(self.key + ".hint") else ""

    def text(self, lang: str = "zh") -> str:
        h = self.hint(lang)
        return render("elig.with_hint", lang, message=self.message(lang), hint=h) if h else self.message(lang)


@dataclass(frozen=True)
class Eligibility:
    failures: tuple[Failure, ...]
    available_fen: int
    price_fen: int

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def rules(self) -> list[str]:
        return [f.rule for f in self.failures]


def check(*, session: Session, uid: int, product: Product) -> Eligibility:
    # The shopper, their credit account and whether a method allows automatic deduction in one
    # statement: this check runs on the product page, at "buy", on the cart and inside checkout.
    row = session.execute(sa.select(User, CreditAccount, wallet.auto_method_exists(uid))
                          .join(CreditAccount, CreditAccount.user_id == User.id).where(User.id == uid)).first()
    if row is None:
        raise NotFound("credit account")
    user, acct, auto = row
    fails: list[Failure] = []
    if not user.real_name_verified:
        fails.append(Failure("real_name", "elig.real_name"))
    if not user.phone:
        fails.append(Failure("phone", "elig.phone"))
    # "A payment method bound" means one that automatic deduction may use: the deduction at the
    # trial's end needs somewhere to take from.
    if not auto:
        fails.append(Failure("payment_method", "elig.no_auto_method" if wallet.has_method(session=session, uid=uid)
                             else "elig.payment_method"))
    if acct.score < POLICY.platform_min_score:
        fails.append(Failure("platform_score", "elig.platform_score", {"score": acct.score, "min": POLICY.platform_min_score}))
    if acct.score < product.min_score and product.min_score > POLICY.platform_min_score:
        fails.append(Failure("product_score", "elig.product_score", {"score": acct.score, "min": product.min_score}))
    if acct.bnpl_status != BNPL_ACTIVE:
        fails.append(Failure("status", f"elig.{acct.bnpl_status}"))
    if not product.bnpl_enabled:
        fails.append(Failure("product_off", "elig.product_off"))
    room = credit.spendable(acct)
    if acct.bnpl_status == BNPL_ACTIVE and room < product.price_fen:
        fails.append(Failure("limit", "elig.limit", {"available": yuan(room), "price": yuan(product.price_fen)}))
    cap, used = shop_room(session=session, uid=uid, merchant_id=product.merchant_id)
    if used + product.price_fen > cap:
        fails.append(Failure("shop_cap", "elig.shop_cap", {"cap": yuan(cap), "used": yuan(used)}))
    if product.stock < 1:
        fails.append(Failure("stock", "elig.stock"))
    return Eligibility(tuple(fails), room, product.price_fen)
