"""Checkout: ¥0 now, the price frozen from the available limit, stock reserved, the schedule of
the chosen plan stored, all or nothing. One order per idempotency key (Stripe's rules: the client
makes the key when the confirm screen opens; a replay returns the original order; the same key
with different parameters is refused).

What the shopper confirms is a quote, ``Terms``: price, plan, trial, fees, the late-fee rule and
every period's amounts. The order is made on exactly the terms the screen showed, or refused with
``TermsChanged`` naming what changed and carrying the terms on offer now; the terms are part of the
idempotency key's request, and stored on the order (``orders.quote_json``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from ..domain import rules
from ..domain.clock import UTC, Clock
from ..domain.errors import NotEligible, NotFound, TermsChanged, ValidationError
from ..domain.money import percent, yuan
from ..domain.policy import POLICY, Policy
from ..domain.quotes import QuoteText
from ..models import Installment, InstallmentStatus as IS, Order, OrderEvent, OrderStatus as OS, PaymentMethod, Product
from . import credit, eligibility, idempotency, payments, schedule
from .eligibility import Failure
from .merchant import shop_room

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PROD = Product.__table__


def _request_hash(uid: int, terms: Terms) -> str:
    """What an idempotency key stands for: this shopper ordering on these terms (product and plan
    included)."""
    return hashlib.sha256(f"{uid}|{terms.to_json()}".encode()).hexdigest()


def sells_on(product: Product, plan: object) -> bool:
    """Whether ``product`` is sold on ``plan``: the rule the preview, the cart and checkout apply."""
    return isinstance(plan, str) and plan in product.plans


def preview(*, session: Session, uid: int, product_id: object, plan: str, clock: Clock) -> tuple[Product, schedule.Schedule]:
    """The schedule of ``plan`` as if ordered now: the terms on offer, dated from now."""
    product = get_product(session=session, product_id=product_id)
    terms = offered(product=product, plan=plan)
    if terms is None:
        raise ValidationError("elig.plan", field="plan", plan=str(plan)[:10])
    return product, terms.dated(clock.now())


# ── the quote ────────────────────────────────────────────────────────────────────────────────
TERMS_VERSION = 1
_TERMS_KEYS = {"v", "product_id", "price_fen", "plan", "trial_days", "interest_free", "fee_bps",
               "late_fee_bps_per_day", "late_fee_cap_bps", "grace_days", "periods"}
_PERIOD_KEYS = {"seq", "principal_fen", "fee_fen"}
_NO_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # due dates are not terms: they follow from the confirm time


@dataclass(frozen=True)
class TermsPeriod:
    seq: int
    principal_fen: int
    fee_fen: int


@dataclass(frozen=True)
class Terms(QuoteText):
    """A quote as the shopper saw it. Due dates are not part of it: the trial ends ``trial_days``
    after the moment the shopper confirms, and the periods fall monthly from then on."""

    REFUSAL = ("checkout.bad_terms", "terms")

    product_id: int
    price_fen: int
    plan: str
    trial_days: int
    interest_free: bool
    fee_bps: int
    late_fee_bps_per_day: int
    late_fee_cap_bps: int
    grace_days: int
    periods: tuple[TermsPeriod, ...]

    @classmethod
    def of(cls, product: Product, plan: str, *, policy: Policy = POLICY) -> Terms:
        """The terms ``product`` is sold on in ``plan`` now (the schedule rule: ``schedule.build``)."""
        sched = schedule.build(price_fen=product.price_fen, plan=plan, trial_end=_NO_DATE,
                               interest_free=product.interest_free, policy=policy)
        return cls(product_id=product.id, price_fen=product.price_fen, plan=plan, trial_days=product.trial_days,
                   interest_free=bool(product.interest_free), fee_bps=sched.fee_bps,
                   late_fee_bps_per_day=sched.late_fee_bps_per_day, late_fee_cap_bps=sched.late_fee_cap_bps,
                   grace_days=sched.grace_days,
                   periods=tuple(TermsPeriod(p.seq, p.principal_fen, p.fee_fen) for p in sched.periods))

    def as_dict(self) -> dict:
        return {"v": TERMS_VERSION, "product_id": self.product_id, "price_fen": self.price_fen, "plan": self.plan,
                "trial_days": self.trial_days, "interest_free": self.interest_free, "fee_bps": self.fee_bps,
                "late_fee_bps_per_day": self.late_fee_bps_per_day, "late_fee_cap_bps": self.late_fee_cap_bps,
                "grace_days": self.grace_days,
                "periods": [{"seq": p.seq, "principal_fen": p.principal_fen, "fee_fen": p.fee_fen} for p in self.periods]}

    @classmethod
    def from_dict(cls, data: object) -> Terms:
        """Terms as data (from a browser, a tab's state, the database), checked field by field."""
        num = cls.whole

        if not isinstance(data, dict) or set(data) != _TERMS_KEYS or num(data["v"]) != TERMS_VERSION:
            raise ValidationError("checkout.bad_terms", field="terms")
        periods = data["periods"]
        if (not isinstance(data["plan"], str) or not isinstance(data["interest_free"], bool)
                or not isinstance(periods, list) or not 1 <= len(periods) <= max(map(POLICY.periods_of, POLICY.plans))
                or not all(isinstance(p, dict) and set(p) == _PERIOD_KEYS for p in periods)):
            raise ValidationError("checkout.bad_terms", field="terms")
        return cls(product_id=num(data["product_id"]), price_fen=num(data["price_fen"]), plan=data["plan"],
                   trial_days=num(data["trial_days"]), interest_free=data["interest_free"], fee_bps=num(data["fee_bps"]),
                   late_fee_bps_per_day=num(data["late_fee_bps_per_day"]),
                   late_fee_cap_bps=num(data["late_fee_cap_bps"]), grace_days=num(data["grace_days"]),
                   periods=tuple(TermsPeriod(num(p["seq"]), num(p["principal_fen"]), num(p["fee_fen"])) for p in periods))

    def trial_end(self, confirmed_at: datetime) -> datetime:
        """When the trial of an order confirmed at ``confirmed_at`` ends: its first deduction."""
        return confirmed_at + timedelta(days=self.trial_days)

    def dated(self, confirmed_at: datetime) -> schedule.Schedule:
        """These terms as the schedule of an order confirmed at ``confirmed_at``: the amounts of the
        terms on the due dates of the schedule rule."""
        dates = schedule.build(price_fen=self.price_fen, plan=self.plan, trial_end=self.trial_end(confirmed_at),
                               interest_free=self.interest_free)
        return schedule.Schedule(
            self.plan, tuple(schedule.Period(p.seq, d.due_at, p.principal_fen, p.fee_fen)
                             for p, d in zip(self.periods, dates.periods, strict=True)),
            self.fee_bps, self.late_fee_bps_per_day, self.late_fee_cap_bps, self.grace_days)

    @property
    def total_fee_fen(self) -> int:
        return sum(p.fee_fen for p in self.periods)


def changes(shown: Terms, now: Terms) -> list[tuple[str, dict]]:
    """What differs between the terms a shopper saw and the terms on offer now, as message keys
    with their parameters (empty: the same terms)."""
    if shown == now:
        return []
    out: list[tuple[str, dict]] = []
    if shown.price_fen != now.price_fen:
        out.append(("quote.changed.price", {"old": yuan(shown.price_fen), "new": yuan(now.price_fen)}))
    if shown.trial_days != now.trial_days:
        out.append(("quote.changed.trial_days", {"old": shown.trial_days, "new": now.trial_days}))
    if shown.interest_free != now.interest_free:
        out.append(("quote.changed.interest_free_on" if now.interest_free else "quote.changed.interest_free_off", {}))
    if shown.fee_bps != now.fee_bps:
        out.append(("quote.changed.fee", {"old": percent(shown.fee_bps), "new": percent(now.fee_bps)}))
    if (shown.late_fee_bps_per_day, shown.late_fee_cap_bps, shown.grace_days) != (
            now.late_fee_bps_per_day, now.late_fee_cap_bps, now.grace_days):
        out.append(("quote.changed.late_fee", {"rate": percent(now.late_fee_bps_per_day),
                                               "cap": percent(now.late_fee_cap_bps), "grace": now.grace_days}))
    if not out:  # the same price and fees, yet other amounts: say so rather than nothing
        out.append(("quote.changed.schedule", {}))
    return out


def offered(*, product: Product, plan: str) -> Terms | None:
    """The terms ``product`` is sold on in ``plan`` now; None when the merchant does not offer it."""
    return Terms.of(product, plan) if sells_on(product, plan) else None


def first_method(*, session: Session, uid: int, amount_fen: int) -> PaymentMethod | None:
    """Where a deduction of ``amount_fen`` would come from at today's balances
    (``rules.named_method``: the same method a notice before the deduction names)."""
    return first_methods(session=session, uid=uid, amounts=[amount_fen])[0]


def first_methods(*, session: Session, uid: int, amounts: list[int]) -> list[PaymentMethod | None]:
    """``first_method`` of each amount, from one read of the shopper's methods (a product page
    quotes every plan)."""
    methods = payments.auto_methods(session=session, uid=uid)
    balances = [m.balance_fen for m in methods]
    return [methods[at] if (at := rules.named_method(balances, amount)) is not None else None for amount in amounts]


@dataclass(frozen=True)
class Quote:
    """What the confirm step shows for one line before the shopper confirms it."""

    product: Product
    terms: Terms
    schedule: schedule.Schedule  # the terms as dated if confirmed at the quote's instant
    method: PaymentMethod | None  # where the first deduction would come from at today's balances
    eligibility: eligibility.Eligibility


def quote(*, session: Session, uid: int, product_id: object, plan: str, clock: Clock) -> Quote:
    product, sched = preview(session=session, uid=uid, product_id=product_id, plan=plan, clock=clock)
    terms = Terms.of(product, plan)
    return Quote(product, terms, sched, first_method(session=session, uid=uid, amount_fen=sched.first.total_fen),
                 eligibility.check(session=session, uid=uid, product=product))


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
    return idempotency.replay(session=session, model=Order, owner="shopper_id", key=key, uid=uid, request_hash=request_hash,
                              reused="checkout.key_reused")


def _refuse_changed(session: Session, *, product: Product, plan: str, quoted: Terms) -> None:
    """Why the product row refused the order (read again, as committed now): its terms changed,
    先用后付 was turned off, or it is out of stock."""
    session.refresh(product)
    now_offered = offered(product=product, plan=plan)
    if now_offered is None:
        raise TermsChanged([("quote.changed.plan_gone", {})], None)
    if now_offered != quoted:
        raise TermsChanged(changes(quoted, now_offered), now_offered)
    if not product.bnpl_enabled:
        raise NotEligible([Failure("product_off", "elig.product_off")])
    raise NotEligible([Failure("stock", "elig.stock")])


def checkout(*, session: Session, uid: int, product_id: object, plan: str, idempotency_key: str, clock: Clock,
             terms: Terms | dict | str | None = None) -> Order:
    """Place an order on ``terms``: the quote the shopper saw (a screen always passes it). Without
    ``terms`` (the seed, tools, tests) the order is made on the terms on offer now.

    Refusals, each leaving the database as it was: ``TermsChanged`` (the terms on offer are no
    longer those quoted: what changed, and the new terms), ``NotEligible`` (a rule of
    ``eligibility.check``, the shop's cap, stock), ``InsufficientLimit`` (a concurrent order took
    the limit), ``Conflict`` (the key was used for another request)."""
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValidationError("checkout.bad_key", field="idempotency_key")
    if not isinstance(plan, str) or plan not in POLICY.plans:
        raise ValidationError("bad_choice", field="plan", value=str(plan)[:10])
    shown = None if terms is None else Terms.parse(terms)
    if shown is not None and (shown.product_id != product_id or shown.plan != plan):
        raise ValidationError("checkout.bad_terms", field="terms")
    product = get_product(session=session, product_id=product_id)
    now_offered = Terms.of(product, plan)
    quoted = shown or now_offered
    rhash = _request_hash(uid, quoted)
    if (existing := _replay(session, key=idempotency_key, uid=uid, request_hash=rhash)) is not None:
        return existing

    # What the shopper saw first: a refusal for a rule they could not have read about (a limit
    # short of a price they never saw) would mislead.
    if shown is not None and not sells_on(product, plan):
        raise TermsChanged([("quote.changed.plan_gone", {})], None)
    if shown is not None and shown != now_offered:
        raise TermsChanged(changes(shown, now_offered), now_offered)
    elig = eligibility.check(session=session, uid=uid, product=product)
    if not elig.eligible:
        raise NotEligible(list(elig.failures))
    if not sells_on(product, plan):
        raise NotEligible([Failure("plan", "elig.plan", {"plan": plan})])

    now = clock.now()
    sched = quoted.dated(now)  # the quoted amounts; trial end = the moment of confirming + the trial
    order = Order(
        shopper_id=uid, merchant_id=product.merchant_id, product_id=product.id, product_name=product.name,
        price_fen=quoted.price_fen, plan=plan, periods=len(sched.periods), status=OS.TRIAL,
        idempotency_key=idempotency_key, request_hash=rhash, created_at=now,
        trial_end_at=quoted.trial_end(now), fee_bps=quoted.fee_bps,
        late_fee_bps_per_day=quoted.late_fee_bps_per_day, late_fee_cap_bps=quoted.late_fee_cap_bps,
        grace_days=quoted.grace_days, platform_fee_bps=POLICY.platform_fee_bps, quote_json=quoted.to_json(),
    )
    def write() -> Order:
        session.add(order)
        session.flush()
        return order

    order, fresh = idempotency.write_once(session=session, write=write, again=lambda: _replay(
        session, key=idempotency_key, uid=uid, request_hash=rhash))
    if not fresh:
        return order

    # Each guard is one statement the database decides; any refusal rolls the whole checkout back.
    # Rows are locked in the platform's one order — credit account, then product — the same order
    # as captures and returns, so concurrent writers on PostgreSQL never deadlock. The freeze locks
    # the shopper's credit account, so the per-shop exposure read after it is not raced by another
    # checkout of the same shopper.
    credit.freeze(session=session, uid=uid, amount=quoted.price_fen, order_id=order.id, at=now)
    cap, held = shop_room(session=session, uid=uid, merchant_id=product.merchant_id)  # this order included
    if held > cap:
        used = held - quoted.price_fen
        raise NotEligible([Failure("shop_cap", "elig.shop_cap", {"cap": yuan(cap), "used": yuan(used)})])
    session.execute(sa.insert(Installment), [
        dict(order_id=order.id, shopper_id=uid, merchant_id=product.merchant_id, seq=p.seq, periods=len(sched.periods),
             due_at=p.due_at, principal_fen=p.principal_fen, fee_fen=p.fee_fen, status=IS.PENDING)
        for p in sched.periods
    ])
    session.add(OrderEvent(order_id=order.id, at=now, step="frozen", amount_fen=quoted.price_fen))
    session.flush()
    # The stock is taken only from the product as it was quoted: a merchant's edit committed since
    # the terms were read above (possible on PostgreSQL) makes this a refusal, never an order on
    # terms nobody showed. The row decides. It is the last write: a product's row is the one every
    # checkout of it waits for (a flash sale), so its lock is held from here to the commit only.
    if session.execute(sa.update(PROD).where(
            PROD.c.id == product.id, PROD.c.stock >= 1, PROD.c.bnpl_enabled.is_(True),
            PROD.c.price_fen == product.price_fen, PROD.c.trial_days == product.trial_days,
            PROD.c.interest_free == product.interest_free, PROD.c.allowed_plans == product.allowed_plans,
    ).values(stock=PROD.c.stock - 1)).rowcount != 1:
        _refuse_changed(session, product=product, plan=plan, quoted=quoted)
    return order
