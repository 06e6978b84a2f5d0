"""信用分租机 (seed 003): a merchant lists devices for rent; the credit review decides the deposit
(``domain.rental``); the shopper accepts a contract — a quote, made on exactly what was shown or
refused with the changes — and only then is the waived part frozen on their 先用后付 credit
(``rfrz:``) and the rest taken from a payment method (``dep:``). Delivery (the device's serial)
makes the rent: an order of kind rent whose monthly installments the engine's sweep announces and
deducts. The end: a return (tracking number, received, inspected within the policy's days or
accepted by default) releases the freeze (``rrel:``) and refunds the paid deposit (``depref:``), or
takes a repair charge from the deposit — first the paid part (``deprep:``), then the freeze
(``rcap:``, a debt on an order of kind charge); or a buy-out (``buyout:``), which also ends the
deposit and cancels the rent not yet due.

Every step is a guarded single-statement update (``WHERE status = …``), so a replay or a race is
refused by the database; the freeze moves held → released | captured once. Functions take an
injected session and clock, never commit, and raise typed domain errors."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain import rental as rr, rules
from ..domain.clock import Clock, FixedClock, aware, china_time
from ..domain.errors import (
    InsufficientFunds,
    InsufficientLimit,
    InvalidTransition,
    NotEligible,
    NotFound,
    TermsChanged,
    ValidationError,
)
from ..domain.money import bps_of, percent, yuan
from ..domain.policy import POLICY
from ..domain.quotes import QuoteText
from ..models import (
    BNPL_ACTIVE,
    CreditAccount,
    FreezeState as FS,
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus as OS,
    PaymentMethod,
    Posting,
    Rental,
    RentalListing,
    RentalPhoto,
    RentalStatus as RS,
    ReturnOutcome as RO,
    User,
)
from ..words import render
from . import idempotency, ledger, payments
from .eligibility import Failure
from .ledger import LIMIT, MONEY, PLAT_DEPOSITS, PLAT_SERVICE_FEE, lim, mer, pm
from .notify import notify
from .paging import Key, Keyset, Page, fetch

LISTING = RentalListing.__table__
RENT = Rental.__table__
CA = CreditAccount.__table__
INST = Installment.__table__
P = Posting.__table__
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_SERIAL_RE = re.compile(r"^[A-Za-z0-9-]{4,40}$")
_TRACKING_RE = re.compile(r"^[A-Za-z0-9]{6,30}$")
MAX_STOCK = 100_000


def _int_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise NotFound(what)
    return value


# ── listings (the merchant's) ───────────────────────────────────────────────────────────────
def parse_terms(raw: object) -> str:
    """What a merchant typed for the terms offered (``6,12``, ``6 12``, ``6，12``) as the stored
    list; every term must be one the policy allows."""
    parts = [x for x in str(raw or "").replace("，", ",").replace(" ", ",").split(",") if x] if isinstance(raw, str) else []
    allowed = {str(t) for t in POLICY.rental_terms}
    if not parts or any(p not in allowed for p in parts):
        raise ValidationError("rental.bad_terms", field="terms", allowed="、".join(map(str, POLICY.rental_terms)))
    return ",".join(str(t) for t in POLICY.rental_terms if str(t) in parts)


_TEXT_WORDS = {"name": "rental.bad_name", "description": "rental.bad_description", "damage_rules": "rental.bad_damage_rules",
               "reason": "rental.bad_reason"}


def _text(value: object, *, field: str, lo: int, hi: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not lo <= len(text) <= hi:
        raise ValidationError(_TEXT_WORDS[field], field=field, min=lo, max=hi)
    return text


def _money(value: object, *, field: str, positive: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0) or value > 10**9:
        raise ValidationError("amount_not_positive" if positive else "bad_amount", field=field, text=str(value)[:20])
    return value


def _listing_values(*, name: object, description: object, monthly_rent_fen: object, terms: object, deposit_fen: object,
                    buyout_fen: object, damage_rules: object, stock: object, active: object) -> dict:
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_STOCK:
        raise ValidationError("rental.bad_stock", field="stock", max=MAX_STOCK)
    return dict(name=_text(name, field="name", lo=1, hi=80), description=_text(description, field="description", lo=0, hi=500),
                monthly_rent_fen=_money(monthly_rent_fen, field="monthly_rent", positive=True), terms=parse_terms(terms),
                deposit_fen=_money(deposit_fen, field="deposit", positive=False),
                buyout_fen=_money(buyout_fen, field="buyout", positive=False),
                damage_rules=_text(damage_rules, field="damage_rules", lo=1, hi=500), stock=stock, active=active is True)


def create_listing(*, session: Session, merchant_id: int, clock: Clock, name: object, description: object = "",
                   monthly_rent_fen: object, terms: object, deposit_fen: object, buyout_fen: object,
                   damage_rules: object, stock: object, active: object = True, image: str = "") -> RentalListing:
    values = _listing_values(name=name, description=description, monthly_rent_fen=monthly_rent_fen, terms=terms,
                             deposit_fen=deposit_fen, buyout_fen=buyout_fen, damage_rules=damage_rules, stock=stock,
                             active=active)
    now = clock.now()
    listing = RentalListing(merchant_id=merchant_id, image=image[:120], created_at=now, updated_at=now, **values)
    session.add(listing)
    session.flush()
    return listing


def own_listing(*, session: Session, merchant_id: int, listing_id: object) -> RentalListing:
    listing = session.get(RentalListing, _int_id(listing_id, "rental listing"))
    if listing is None or listing.merchant_id != merchant_id:
        raise NotFound("rental listing")
    return listing


def edit_listing(*, session: Session, merchant_id: int, listing_id: object, clock: Clock, name: object,
                 description: object = "", monthly_rent_fen: object, terms: object, deposit_fen: object,
                 buyout_fen: object, damage_rules: object, stock: object, active: object = True) -> RentalListing:
    """A change reaches new contracts only: a contract accepted before keeps what it was accepted on,
    and a shopper looking at the old terms is refused with what changed."""
    listing = own_listing(session=session, merchant_id=merchant_id, listing_id=listing_id)
    values = _listing_values(name=name, description=description, monthly_rent_fen=monthly_rent_fen, terms=terms,
                             deposit_fen=deposit_fen, buyout_fen=buyout_fen, damage_rules=damage_rules, stock=stock,
                             active=active)
    session.execute(sa.update(LISTING).where(LISTING.c.id == listing.id).values(updated_at=clock.now(), **values))
    session.refresh(listing)
    return listing


def merchant_listings(*, session: Session, merchant_id: int) -> list[RentalListing]:
    return list(session.exec(select(RentalListing).where(RentalListing.merchant_id == merchant_id)
                             .order_by(RentalListing.id)))


def get_listing(*, session: Session, listing_id: object, shown_only: bool = True) -> RentalListing:
    """A listing a shopper may see: an inactive one is 'not found' (``shown_only``)."""
    listing = session.get(RentalListing, _int_id(listing_id, "rental listing"))
    if listing is None or (shown_only and not listing.active):
        raise NotFound("rental listing")
    return listing


LISTINGS = Keyset("rent_listings", (Key(LISTING.c.id, int),))


def listings_page(*, session: Session, cursor: str = "") -> Page[tuple[RentalListing, str]]:
    """The active listings with their shop's name, a page at a time."""
    stmt = (select(RentalListing, Merchant.name).join(Merchant, Merchant.id == RentalListing.merchant_id)
            .where(RentalListing.active.is_(True)))
    return fetch(session=session, stmt=stmt, keyset=LISTINGS, cursor=cursor)


def shop_name(*, session: Session, merchant_id: int) -> str:
    return session.execute(sa.select(Merchant.name).where(Merchant.id == merchant_id)).scalar_one()


# ── the contract: a quote ───────────────────────────────────────────────────────────────────
CONTRACT_VERSION = 1
_CONTRACT_KEYS = {"v", "listing_id", "device", "term_months", "monthly_rent_fen", "deposit_fen", "band", "waived_fen",
                  "held_fen", "paid_fen", "buyout_fen", "damage_rules", "late_fee_bps_per_day", "late_fee_cap_bps",
                  "grace_days", "score"}


@dataclass(frozen=True)
class Contract(QuoteText):
    """What the shopper is shown and accepts: the device and term, the monthly rent (the schedule
    follows from delivery), the deposit decision of the credit review (the part held on credit and
    the part paid), the buy-out price, the damage rules and the overdue rule. The early-return rule
    is the platform's (``rental.contract.early``), the same for every contract of this version."""

    REFUSAL = ("rental.bad_contract", "contract")

    listing_id: int
    device: str
    term_months: int
    monthly_rent_fen: int
    deposit_fen: int
    band: str
    waived_fen: int
    held_fen: int
    paid_fen: int
    buyout_fen: int
    damage_rules: str
    late_fee_bps_per_day: int
    late_fee_cap_bps: int
    grace_days: int
    score: int

    @property
    def rent_total_fen(self) -> int:
        return self.monthly_rent_fen * self.term_months

    def as_dict(self) -> dict:
        return {"v": CONTRACT_VERSION, "listing_id": self.listing_id, "device": self.device,
                "term_months": self.term_months, "monthly_rent_fen": self.monthly_rent_fen,
                "deposit_fen": self.deposit_fen, "band": self.band, "waived_fen": self.waived_fen,
                "held_fen": self.held_fen, "paid_fen": self.paid_fen, "buyout_fen": self.buyout_fen,
                "damage_rules": self.damage_rules, "late_fee_bps_per_day": self.late_fee_bps_per_day,
                "late_fee_cap_bps": self.late_fee_cap_bps, "grace_days": self.grace_days, "score": self.score}

    @classmethod
    def from_dict(cls, data: object) -> Contract:
        num = cls.whole

        def words(value: object, limit: int) -> str:
            if not isinstance(value, str) or len(value) > limit:
                raise ValidationError("rental.bad_contract", field="contract")
            return value

        if not isinstance(data, dict) or set(data) != _CONTRACT_KEYS or num(data["v"]) != CONTRACT_VERSION:
            raise ValidationError("rental.bad_contract", field="contract")
        if data["band"] not in rr.BANDS:
            raise ValidationError("rental.bad_contract", field="contract")
        return cls(listing_id=num(data["listing_id"]), device=words(data["device"], 80),
                   term_months=num(data["term_months"]), monthly_rent_fen=num(data["monthly_rent_fen"]),
                   deposit_fen=num(data["deposit_fen"]), band=data["band"], waived_fen=num(data["waived_fen"]),
                   held_fen=num(data["held_fen"]), paid_fen=num(data["paid_fen"]), buyout_fen=num(data["buyout_fen"]),
                   damage_rules=words(data["damage_rules"], 500), late_fee_bps_per_day=num(data["late_fee_bps_per_day"]),
                   late_fee_cap_bps=num(data["late_fee_cap_bps"]), grace_days=num(data["grace_days"]),
                   score=num(data["score"]))


class ContractChanged(TermsChanged):
    """The contract on offer now is not the one the shopper accepted: nothing was frozen or taken.
    ``changes``: what changed; ``terms``: the contract on offer now (None: not offered any more)."""

    def __init__(self, changes: list[tuple[str, dict]], contract: Contract | None) -> None:
        super().__init__(changes, contract)
        self.key = "rental.contract_changed"

    def text(self, lang: str = "zh") -> str:
        return render("checkout.terms_changed.with", lang, message=render("rental.contract_changed", lang),
                      changes=render("quote.sep", lang).join(self.what(lang)),
                      hint=render("rental.contract_changed.hint", lang))


def changes(shown: Contract, now: Contract) -> list[tuple[str, dict]]:
    """What differs between the contract a shopper saw and the one on offer now (message keys)."""
    if shown == now:
        return []
    out: list[tuple[str, dict]] = []
    if shown.monthly_rent_fen != now.monthly_rent_fen:
        out.append(("rental.changed.rent", {"old": yuan(shown.monthly_rent_fen), "new": yuan(now.monthly_rent_fen)}))
    if shown.deposit_fen != now.deposit_fen:
        out.append(("rental.changed.deposit", {"old": yuan(shown.deposit_fen), "new": yuan(now.deposit_fen)}))
    if (shown.band, shown.held_fen, shown.paid_fen) != (now.band, now.held_fen, now.paid_fen):
        out.append(("rental.changed.decision", {"held": yuan(now.held_fen), "paid": yuan(now.paid_fen)}))
    if shown.buyout_fen != now.buyout_fen:
        out.append(("rental.changed.buyout", {"old": yuan(shown.buyout_fen), "new": yuan(now.buyout_fen)}))
    if shown.damage_rules != now.damage_rules:
        out.append(("rental.changed.damage", {}))
    if (shown.late_fee_bps_per_day, shown.late_fee_cap_bps, shown.grace_days) != (
            now.late_fee_bps_per_day, now.late_fee_cap_bps, now.grace_days):
        out.append(("quote.changed.late_fee", {"rate": percent(now.late_fee_bps_per_day),
                                               "cap": percent(now.late_fee_cap_bps), "grace": now.grace_days}))
    if not out:
        out.append(("rental.changed.other", {}))
    return out


def _credit(session: Session, uid: int) -> CreditAccount:
    acct = session.exec(select(CreditAccount).where(CreditAccount.user_id == uid)).first()
    if acct is None:
        raise NotFound("credit account")
    session.refresh(acct)
    return acct


def decision_for(*, session: Session, uid: int, deposit_fen: int) -> rr.DepositDecision:
    """The credit review of this shopper for a deposit of ``deposit_fen``, as of now."""
    acct = _credit(session, uid)
    return rr.decide_deposit(score=acct.score, deposit_fen=deposit_fen, bnpl_active=acct.bnpl_status == BNPL_ACTIVE,
                             available_fen=max(0, acct.limit_fen - acct.frozen_fen - acct.outstanding_fen))


def offered(*, session: Session, uid: int, listing: RentalListing, term: int) -> Contract | None:
    """The contract this shopper would accept for ``term`` months now; None when the term is not
    offered."""
    if term not in rr.terms_offered(listing.terms):
        return None
    d = decision_for(session=session, uid=uid, deposit_fen=listing.deposit_fen)
    score = _credit(session, uid).score
    return Contract(listing_id=listing.id, device=listing.name, term_months=term, monthly_rent_fen=listing.monthly_rent_fen,
                    deposit_fen=listing.deposit_fen, band=d.band, waived_fen=d.waived_fen, held_fen=d.held_fen,
                    paid_fen=d.paid_fen, buyout_fen=listing.buyout_fen, damage_rules=listing.damage_rules,
                    late_fee_bps_per_day=POLICY.late_fee_bps_per_day, late_fee_cap_bps=POLICY.late_fee_cap_bps,
                    grace_days=POLICY.grace_days, score=score)


def problems(*, session: Session, uid: int, listing: RentalListing, contract: Contract | None) -> list[Failure]:
    """Every rule the shopper or the listing fails for this rental, with what to do about it."""
    user = session.get(User, uid)
    out: list[Failure] = []
    if contract is not None and contract.band == rr.REFUSED:
        out.append(Failure("score", "rental.refused_score", {"score": contract.score, "min": POLICY.rental_min_score}))
    if not user.real_name_verified:
        out.append(Failure("real_name", "elig.real_name"))
    if not user.phone:
        out.append(Failure("phone", "elig.phone"))
    if not payments.methods_in_order(session=session, uid=uid):
        out.append(Failure("method", "rental.no_method"))
    if not listing.active:
        out.append(Failure("inactive", "rental.inactive"))
    if listing.stock < 1:
        out.append(Failure("stock", "rental.out_of_stock"))
    return out


def deposit_method(*, session: Session, uid: int, amount_fen: int, method_id: object = None) -> PaymentMethod | None:
    """Where the paid part of a deposit comes from: the method chosen, else the first of the
    shopper's methods (in their order) that covers it; None when nothing is to be paid."""
    if amount_fen <= 0:
        return None
    if method_id is not None:
        return payments.own_method(session=session, uid=uid, method_id=method_id)
    methods = payments.methods_in_order(session=session, uid=uid)
    return next((m for m in methods if m.balance_fen >= amount_fen), methods[0] if methods else None)


@dataclass(frozen=True)
class RentalQuote:
    listing: RentalListing
    shop: str
    contract: Contract | None  # None: the term is not offered
    decision: rr.DepositDecision
    method: PaymentMethod | None  # where the paid part of the deposit would come from
    problems: list[Failure]


def quote(*, session: Session, uid: int, listing_id: object, term: int) -> RentalQuote:
    listing = get_listing(session=session, listing_id=listing_id)
    contract = offered(session=session, uid=uid, listing=listing, term=term)
    decision = decision_for(session=session, uid=uid, deposit_fen=listing.deposit_fen)
    return RentalQuote(listing, shop_name(session=session, merchant_id=listing.merchant_id), contract, decision,
                       deposit_method(session=session, uid=uid, amount_fen=decision.paid_fen),
                       problems(session=session, uid=uid, listing=listing, contract=contract))


def _request_hash(uid: int, contract: Contract) -> str:
    return hashlib.sha256(f"rent|{uid}|{contract.to_json()}".encode()).hexdigest()


def _replay(session: Session, *, key: str, uid: int, request_hash: str) -> Rental | None:
    return idempotency.replay(session=session, model=Rental, owner="shopper_id", key=key, uid=uid, request_hash=request_hash,
                              reused="rental.key_reused")


# ── the freeze on the shopper's 先用后付 credit (the pattern of ``credit.freeze``) ─────────────
def _freeze(session: Session, *, uid: int, amount: int, rental_id: int, at: datetime) -> None:
    res = session.execute(
        sa.update(CA).where(CA.c.user_id == uid, CA.c.bnpl_status == BNPL_ACTIVE,
                            CA.c.limit_fen - CA.c.frozen_fen - CA.c.outstanding_fen >= amount)
        .values(frozen_fen=CA.c.frozen_fen + amount, updated_at=at))
    if res.rowcount != 1:
        raise InsufficientLimit("rental.limit_race")
    ledger.post(session=session, ledger=LIMIT, key=f"rfrz:{rental_id}", kind="rental_freeze", at=at,
                legs=[(lim(uid, "headroom"), lim(uid, "frozen"), amount)])


def _move_frozen(session: Session, *, uid: int, amount: int, to: str, key: str, kind: str, at: datetime,
                 order_id: int | None = None) -> None:
    """Frozen → headroom (a release) or → outstanding (a capture), never below zero."""
    values: dict = {"frozen_fen": CA.c.frozen_fen - amount, "updated_at": at}
    if to == "outstanding":
        values["outstanding_fen"] = CA.c.outstanding_fen + amount
    if session.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.frozen_fen >= amount).values(**values)).rowcount != 1:
        raise RuntimeError(f"credit frozen of user {uid} is below {amount} — ledger and rentals disagree")
    ledger.post(session=session, ledger=LIMIT, key=key, kind=kind, at=at, order_id=order_id,
                legs=[(lim(uid, "frozen"), lim(uid, to), amount)])


def _resolve_freeze(session: Session, rental: Rental, new: str, at: datetime) -> None:
    """held → released | captured, once: a second resolution is refused by the database."""
    if rental.freeze_state == FS.NONE and rental.waived_fen == 0:
        return
    if session.execute(sa.update(RENT).where(RENT.c.id == rental.id, RENT.c.freeze_state == FS.HELD)
                       .values(freeze_state=new, freeze_resolved_at=at)).rowcount != 1:
        raise InvalidTransition("rental.freeze_resolved")
    rental.freeze_state, rental.freeze_resolved_at = new, at


def _release_held(session: Session, rental: Rental, amount: int, at: datetime) -> None:
    if amount:
        _move_frozen(session, uid=rental.shopper_id, amount=amount, to="headroom", key=f"rrel:{rental.id}",
                     kind="rental_release", at=at, order_id=rental.order_id)


def _refund_deposit(session: Session, rental: Rental, amount: int, at: datetime) -> None:
    """The paid deposit (what is left of it) back to the method it came from, once."""
    if not amount:
        return
    if session.execute(sa.update(RENT).where(RENT.c.id == rental.id, RENT.c.deposit_refunded_fen == 0,
                                             RENT.c.paid_deposit_fen >= amount)
                       .values(deposit_refunded_fen=amount)).rowcount != 1:
        raise InvalidTransition("rental.deposit_resolved")
    payments.GATEWAY.credit(session, method_id=rental.deposit_method_id, amount_fen=amount)
    ledger.post(session=session, ledger=MONEY, key=f"depref:{rental.id}", kind="deposit_refund", at=at,
                order_id=rental.order_id, legs=[(PLAT_DEPOSITS, pm(rental.deposit_method_id), amount)])
    rental.deposit_refunded_fen = amount


def _set_status(session: Session, rental: Rental, new: str, *, expect: tuple[str, ...], action: str, **values) -> None:
    res = session.execute(sa.update(RENT).where(RENT.c.id == rental.id, RENT.c.status.in_(expect))
                          .values(status=new, **values))
    if res.rowcount != 1:
        session.refresh(rental)
        raise InvalidTransition(CANNOT[action], rental=rental.id)
    rental.status = new
    for k, v in values.items():
        setattr(rental, k, v)


# Why a step is refused in the rental's present status (each a message of its own).
CANNOT = {"deliver": "rental.cannot.deliver", "return": "rental.cannot.return", "receive": "rental.cannot.receive",
          "inspect": "rental.cannot.inspect", "buyout": "rental.cannot.buyout", "cancel": "rental.cannot.cancel"}


STATUS_WORDS = {RS.AWAITING_DELIVERY: "rental.status.awaiting", RS.RENTING: "rental.status.renting",
                RS.RETURN_IN_TRANSIT: "rental.status.in_transit", RS.RETURN_RECEIVED: "rental.status.received",
                RS.RETURNED: "rental.status.returned", RS.BOUGHT_OUT: "rental.status.bought_out",
                RS.CANCELLED: "rental.status.cancelled"}


def _merchant_user(session: Session, merchant_id: int) -> int:
    return session.execute(sa.select(Merchant.user_id).where(Merchant.id == merchant_id)).scalar_one()


# ── accepting the contract ──────────────────────────────────────────────────────────────────
def accept(*, session: Session, uid: int, listing_id: object, term: object, contract: Contract | dict | str,
           idempotency_key: str, clock: Clock, method_id: object = None) -> Rental:
    """Rent the device on ``contract`` — exactly what the shopper was shown and accepted, time
    stamped — or refuse, leaving nothing: ``ContractChanged`` (the listing or the credit review
    changed: what changed, and the contract on offer now), ``NotEligible`` (score below the
    minimum, identity, no payment method, listing off, out of stock), ``InsufficientLimit`` (a
    concurrent order took the limit the freeze needed), ``InsufficientFunds`` (the paid part is not
    covered), ``Conflict`` (the key was used for another request). A replay returns the rental."""
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValidationError("checkout.bad_key", field="idempotency_key")
    if isinstance(term, bool) or term not in POLICY.rental_terms:
        raise ValidationError("rental.bad_term", field="term", allowed="、".join(map(str, POLICY.rental_terms)))
    shown = Contract.parse(contract)
    lid = _int_id(listing_id, "rental listing")
    if shown.listing_id != lid or shown.term_months != term:
        raise ValidationError("rental.bad_contract", field="contract")
    rhash = _request_hash(uid, shown)
    if (existing := _replay(session, key=idempotency_key, uid=uid, request_hash=rhash)) is not None:
        return existing
    listing = get_listing(session=session, listing_id=lid, shown_only=False)
    now_offered = offered(session=session, uid=uid, listing=listing, term=term)
    if now_offered is None:
        raise ContractChanged([("rental.changed.term_gone", {})], None)
    if now_offered != shown:
        raise ContractChanged(changes(shown, now_offered), now_offered)
    failures = problems(session=session, uid=uid, listing=listing, contract=shown)
    if failures:
        raise NotEligible(failures)
    method = deposit_method(session=session, uid=uid, amount_fen=shown.paid_fen, method_id=method_id)
    if shown.paid_fen and (method is None or method.balance_fen < shown.paid_fen):
        raise InsufficientFunds("rental.deposit_funds", amount=yuan(shown.paid_fen),
                                method=method.label if method else "—", balance=yuan(method.balance_fen if method else 0))

    now = clock.now()
    rental = Rental(listing_id=listing.id, shopper_id=uid, merchant_id=listing.merchant_id, device_name=shown.device,
                    term_months=term, monthly_rent_fen=shown.monthly_rent_fen, deposit_fen=shown.deposit_fen,
                    waived_fen=shown.held_fen, paid_deposit_fen=shown.paid_fen,
                    deposit_method_id=method.id if method is not None else None, buyout_fen=shown.buyout_fen,
                    damage_rules=shown.damage_rules, score_at_review=shown.score, contract_json=shown.to_json(),
                    accepted_at=now, status=RS.AWAITING_DELIVERY,
                    freeze_state=FS.HELD if shown.held_fen else FS.NONE, idempotency_key=idempotency_key,
                    request_hash=rhash, created_at=now)
    def write() -> Rental:
        session.add(rental)
        session.flush()
        return rental

    rental, fresh = idempotency.write_once(session=session, write=write, again=lambda: _replay(
        session, key=idempotency_key, uid=uid, request_hash=rhash))
    if not fresh:
        return rental

    # The credit account first (the platform's one lock order), then the money, then the listing.
    if shown.held_fen:
        _freeze(session, uid=uid, amount=shown.held_fen, rental_id=rental.id, at=now)
    if shown.paid_fen:
        if not payments.GATEWAY.debit(session, method_id=method.id, amount_fen=shown.paid_fen):
            raise InsufficientFunds("rental.deposit_funds", amount=yuan(shown.paid_fen), method=method.label,
                                    balance=yuan(method.balance_fen))
        ledger.post(session=session, ledger=MONEY, key=f"dep:{rental.id}", kind="deposit", at=now,
                    legs=[(pm(method.id), PLAT_DEPOSITS, shown.paid_fen)])
    # The stock is taken only from the listing as it was quoted: an edit committed meanwhile refuses.
    if session.execute(sa.update(LISTING).where(
            LISTING.c.id == listing.id, LISTING.c.active.is_(True), LISTING.c.stock >= 1,
            LISTING.c.monthly_rent_fen == shown.monthly_rent_fen, LISTING.c.deposit_fen == shown.deposit_fen,
            LISTING.c.buyout_fen == shown.buyout_fen, LISTING.c.damage_rules == shown.damage_rules,
            LISTING.c.name == shown.device, LISTING.c.terms == listing.terms,
    ).values(stock=LISTING.c.stock - 1)).rowcount != 1:
        session.refresh(listing)
        again = offered(session=session, uid=uid, listing=listing, term=term)
        if again is None or again != shown:
            raise ContractChanged(changes(shown, again) if again else [("rental.changed.term_gone", {})], again)
        raise NotEligible(problems(session=session, uid=uid, listing=listing, contract=shown)
                          or [Failure("stock", "rental.out_of_stock")])
    notify(session=session, user_id=uid, kind="rental_accepted", at=now, dedupe_key=f"racc:{rental.id}", sms=False,
           device=shown.device, held=yuan(shown.held_fen), paid=yuan(shown.paid_fen))
    notify(session=session, user_id=_merchant_user(session, listing.merchant_id), kind="rental_new", at=now,
           dedupe_key=f"rnew:{rental.id}", sms=False, device=shown.device, rental=rental.id)
    session.flush()
    return rental


# ── the merchant's side: delivery, the return, the inspection ───────────────────────────────
def merchant_rental(*, session: Session, merchant_id: int, rental_id: object) -> Rental:
    r = session.get(Rental, _int_id(rental_id, "rental"))
    if r is None or r.merchant_id != merchant_id:
        raise NotFound("rental")
    return r


def own_rental(*, session: Session, uid: int, rental_id: object) -> Rental:
    r = session.get(Rental, _int_id(rental_id, "rental"))
    if r is None or r.shopper_id != uid:
        raise NotFound("rental")
    return r


def deliver(*, session: Session, merchant_id: int, rental_id: object, serial: object, clock: Clock) -> Rental:
    """The device goes out with its serial; the rent starts: an order of kind rent whose monthly
    installments (``domain.rental.rent_due_dates``) the engine's sweep announces and deducts."""
    rental = merchant_rental(session=session, merchant_id=merchant_id, rental_id=rental_id)
    serial = serial.strip() if isinstance(serial, str) else ""
    if not _SERIAL_RE.fullmatch(serial):
        raise ValidationError("rental.bad_serial", field="serial")
    now = clock.now()
    _set_status(session, rental, RS.RENTING, expect=(RS.AWAITING_DELIVERY,), action="deliver", serial=serial,
                delivered_at=now)
    contract = Contract.from_json(rental.contract_json)
    order = Order(kind=OrderKind.RENT, shopper_id=rental.shopper_id, merchant_id=rental.merchant_id, product_id=None,
                  product_name=rental.device_name, price_fen=rental.monthly_rent_fen * rental.term_months,
                  plan=str(rental.term_months), periods=rental.term_months, status=OS.DUE,
                  idempotency_key=f"rent:{rental.id}", request_hash=rental.request_hash, created_at=now,
                  trial_end_at=now, billed_at=now, fee_bps=0, late_fee_bps_per_day=contract.late_fee_bps_per_day,
                  late_fee_cap_bps=contract.late_fee_cap_bps, grace_days=contract.grace_days,
                  platform_fee_bps=POLICY.platform_fee_bps, quote_json=rental.contract_json)
    session.add(order)
    session.flush()
    session.execute(sa.update(RENT).where(RENT.c.id == rental.id).values(order_id=order.id))
    rental.order_id = order.id
    days_before = _credit(session, rental.shopper_id).autopay_days_before
    session.execute(sa.insert(INST), [
        dict(order_id=order.id, shopper_id=rental.shopper_id, merchant_id=rental.merchant_id, seq=k,
             periods=rental.term_months, due_at=due, principal_fen=rental.monthly_rent_fen, fee_fen=0,
             status=IS.SCHEDULED,
             attempt_at=rules.first_attempt_at(due_at=due, seq=k, autopay_days_before=days_before, now=now))
        for k, due in enumerate(rr.rent_due_dates(now, rental.term_months), start=1)
    ])
    session.add(OrderEvent(order_id=order.id, at=now, step="rental_delivered", note=serial))
    notify(session=session, user_id=rental.shopper_id, kind="rental_delivered", at=now, dedupe_key=f"rdlv:{rental.id}",
           device=rental.device_name, serial=serial, rent=yuan(rental.monthly_rent_fen))
    session.flush()
    return rental


def _cancel_rent_not_due(session: Session, rental: Rental, at: datetime) -> int:
    """The months not begun are not owed (an early return shipped, a buy-out): their rent is
    cancelled; what fell due before stays owed. Returns how much was cancelled."""
    if rental.order_id is None:
        return 0
    rows = session.execute(sa.select(INST.c.id, INST.c.principal_fen, INST.c.due_at).where(
        INST.c.order_id == rental.order_id, INST.c.status == IS.SCHEDULED)).all()
    gone = [r for r in rows if rr.rent_not_due(aware(r.due_at), at)]
    if not gone:
        return 0
    session.execute(sa.update(INST).where(INST.c.id.in_([r.id for r in gone]), INST.c.status == IS.SCHEDULED)
                    .values(status=IS.CANCELLED, attempt_at=None))
    order = session.get(Order, rental.order_id)
    session.refresh(order)
    payments.refresh_order_status(session=session, order=order, at=at)
    amount = sum(r.principal_fen for r in gone)
    session.add(OrderEvent(order_id=order.id, at=at, step="rent_cancelled", amount_fen=amount))
    return amount


def request_return(*, session: Session, uid: int, rental_id: object, tracking_no: object, clock: Clock) -> Rental:
    """The shopper sends the device back (at the end of the term, or early): the rent of months
    not yet begun is cancelled at once; the deposit is decided at the inspection."""
    rental = own_rental(session=session, uid=uid, rental_id=rental_id)
    tracking = tracking_no.strip() if isinstance(tracking_no, str) else ""
    if not _TRACKING_RE.fullmatch(tracking):
        raise ValidationError("order.bad_tracking", field="tracking_no")
    now = clock.now()
    _set_status(session, rental, RS.RETURN_IN_TRANSIT, expect=(RS.RENTING,), action="return", tracking_no=tracking,
                return_shipped_at=now)
    _cancel_rent_not_due(session, rental, now)
    notify(session=session, user_id=_merchant_user(session, rental.merchant_id), kind="rental_return_shipped", at=now,
           dedupe_key=f"rret:{rental.id}", sms=False, device=rental.device_name, tracking=tracking)
    return rental


def mark_received(*, session: Session, merchant_id: int | None, rental_id: object, clock: Clock,
                  rental: Rental | None = None) -> Rental:
    rental = rental or merchant_rental(session=session, merchant_id=merchant_id, rental_id=rental_id)
    now = clock.now()
    deadline = now + timedelta(days=POLICY.inspection_days)
    _set_status(session, rental, RS.RETURN_RECEIVED, expect=(RS.RETURN_IN_TRANSIT,), action="receive", received_at=now,
                inspect_deadline_at=deadline)
    notify(session=session, user_id=rental.shopper_id, kind="rental_received", at=now, dedupe_key=f"rrcv:{rental.id}",
           sms=False, device=rental.device_name, deadline=china_time(deadline))
    return rental


def accept_return(*, session: Session, merchant_id: int | None, rental_id: object, clock: Clock,
                  rental: Rental | None = None, outcome: str = RO.INTACT) -> Rental:
    """Intact (or the inspection deadline passed): the freeze released, the paid deposit refunded,
    the device back in stock."""
    rental = rental or merchant_rental(session=session, merchant_id=merchant_id, rental_id=rental_id)
    now = clock.now()
    _set_status(session, rental, RS.RETURNED, expect=(RS.RETURN_RECEIVED,), action="inspect", inspected_at=now,
                outcome=outcome, closed_at=now)
    _resolve_freeze(session, rental, FS.RELEASED, now)
    _release_held(session, rental, rental.waived_fen, now)
    _refund_deposit(session, rental, rental.paid_deposit_fen, now)
    session.execute(sa.update(LISTING).where(LISTING.c.id == rental.listing_id).values(stock=LISTING.c.stock + 1))
    notify(session=session, user_id=rental.shopper_id, kind="rental_returned", at=now, dedupe_key=f"rok:{rental.id}",
           device=rental.device_name, released=yuan(rental.waived_fen), refunded=yuan(rental.paid_deposit_fen))
    return rental


def reject_return(*, session: Session, merchant_id: int, rental_id: object, reason: object, repair_fen: object,
                  photos: list[tuple[str, str, int]], clock: Clock) -> Rental:
    """Damaged: at least one photo, a reason, and a repair charge within the deposit, taken first
    from the paid part (to the merchant; the rest refunded), then from the part held on credit (a
    debt: an order of kind charge with one installment, deducted after its notices; the rest of
    the freeze released)."""
    rental = merchant_rental(session=session, merchant_id=merchant_id, rental_id=rental_id)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError("return.reason_required", field="reason")
    reason = _text(reason, field="reason", lo=1, hi=300)
    if not photos:
        raise ValidationError("return.photo_required", field="photos")
    if isinstance(repair_fen, bool) or not isinstance(repair_fen, int) or repair_fen <= 0:
        raise ValidationError("rental.repair_needed", field="repair")
    if repair_fen > rental.deposit_fen:
        raise ValidationError("rental.repair_above_deposit", field="repair", repair=yuan(repair_fen),
                              deposit=yuan(rental.deposit_fen))
    now = clock.now()
    _set_status(session, rental, RS.RETURNED, expect=(RS.RETURN_RECEIVED,), action="inspect", inspected_at=now,
                outcome=RO.DAMAGED, reason=reason, repair_fen=repair_fen, closed_at=now)
    for stored_name, content_type, size in photos:
        session.add(RentalPhoto(rental_id=rental.id, stored_name=stored_name, content_type=content_type, size=size,
                                created_at=now))
    split = rr.repair_split(repair_fen=repair_fen, paid_fen=rental.paid_deposit_fen, held_fen=rental.waived_fen)
    if split.from_paid:
        ledger.post(session=session, ledger=MONEY, key=f"deprep:{rental.id}", kind="deposit_repair", at=now,
                    order_id=rental.order_id, legs=[(PLAT_DEPOSITS, mer(rental.merchant_id), split.from_paid)])
    _refund_deposit(session, rental, split.refund_paid, now)
    charge_id = None
    if rental.waived_fen:
        _resolve_freeze(session, rental, FS.CAPTURED if split.from_held else FS.RELEASED, now)
    if split.from_held:
        charge_id = _charge(session, rental, split.from_held, reason, now)
    _release_held(session, rental, split.release_held, now)
    notify(session=session, user_id=rental.shopper_id, kind="rental_damaged", at=now, dedupe_key=f"rdmg:{rental.id}",
           device=rental.device_name, reason=reason, repair=yuan(repair_fen), from_paid=yuan(split.from_paid),
           from_held=yuan(split.from_held), refunded=yuan(split.refund_paid), released=yuan(split.release_held),
           charge=charge_id or 0)
    session.flush()
    return rental


def _charge(session: Session, rental: Rental, amount: int, reason: str, at: datetime) -> int:
    """The part of a repair charge taken from the freeze becomes a debt on the 先用后付 limit: an
    order of kind charge with one installment, due once its notices have gone out."""
    due = at + timedelta(days=max(POLICY.reminder_days_before))
    order = Order(kind=OrderKind.CHARGE, shopper_id=rental.shopper_id, merchant_id=rental.merchant_id, product_id=None,
                  product_name=render("rental.charge_name", "zh", device=rental.device_name)[:80], price_fen=amount,
                  plan="full", periods=1, status=OS.DUE, idempotency_key=f"charge:{rental.id}",
                  request_hash=rental.request_hash, created_at=at, trial_end_at=at, billed_at=at, fee_bps=0,
                  late_fee_bps_per_day=POLICY.late_fee_bps_per_day, late_fee_cap_bps=POLICY.late_fee_cap_bps,
                  grace_days=POLICY.grace_days, platform_fee_bps=POLICY.platform_fee_bps,
                  quote_json=json.dumps({"rental_id": rental.id, "repair_fen": amount, "reason": reason[:200]},
                                        ensure_ascii=True, sort_keys=True))
    session.add(order)
    session.flush()
    _move_frozen(session, uid=rental.shopper_id, amount=amount, to="outstanding", key=f"rcap:{rental.id}",
                 kind="rental_capture", at=at, order_id=order.id)
    session.add(Installment(order_id=order.id, shopper_id=rental.shopper_id, merchant_id=rental.merchant_id, seq=1,
                            periods=1, due_at=due, principal_fen=amount, fee_fen=0, status=IS.SCHEDULED, attempt_at=due))
    session.add(OrderEvent(order_id=order.id, at=at, step="captured", amount_fen=amount, note=reason[:200]))
    return order.id


def buyout(*, session: Session, uid: int, rental_id: object, clock: Clock, method_id: object = None) -> Rental:
    """The shopper keeps the device: the buy-out price paid (to the merchant, less the platform's
    service fee), the freeze released and the paid deposit refunded, the rent not yet due cancelled.
    Rent already due stays owed."""
    rental = own_rental(session=session, uid=uid, rental_id=rental_id)
    if rental.status != RS.RENTING:
        raise InvalidTransition("rental.cannot.buyout", rental=rental.id)
    price = rental.buyout_fen
    method = None
    if price:
        if method_id is not None:
            method = payments.own_method(session=session, uid=uid, method_id=method_id)
        else:
            methods = payments.methods_in_order(session=session, uid=uid)
            method = next((m for m in methods if m.balance_fen >= price), methods[0] if methods else None)
        if method is None or method.balance_fen < price:
            raise InsufficientFunds("rental.buyout_funds", amount=yuan(price), method=method.label if method else "—",
                                    balance=yuan(method.balance_fen if method else 0))
    now = clock.now()
    _set_status(session, rental, RS.BOUGHT_OUT, expect=(RS.RENTING,), action="buyout", bought_out_at=now,
                buyout_paid_fen=price, closed_at=now)
    if price:
        if not payments.GATEWAY.debit(session, method_id=method.id, amount_fen=price):
            raise InsufficientFunds("rental.buyout_funds", amount=yuan(price), method=method.label,
                                    balance=yuan(method.balance_fen))
        fee = bps_of(price, POLICY.platform_fee_bps)
        ledger.post(session=session, ledger=MONEY, key=f"buyout:{rental.id}", kind="buyout", at=now,
                    order_id=rental.order_id, legs=[(pm(method.id), mer(rental.merchant_id), price - fee),
                                                    (pm(method.id), PLAT_SERVICE_FEE, fee)])
    _resolve_freeze(session, rental, FS.RELEASED, now)
    _release_held(session, rental, rental.waived_fen, now)
    _refund_deposit(session, rental, rental.paid_deposit_fen, now)
    cancelled = _cancel_rent_not_due(session, rental, now)
    notify(session=session, user_id=rental.shopper_id, kind="rental_bought_out", at=now, dedupe_key=f"rbuy:{rental.id}",
           device=rental.device_name, price=yuan(price), cancelled=yuan(cancelled))
    notify(session=session, user_id=_merchant_user(session, rental.merchant_id), kind="rental_bought_out_shop", at=now,
           dedupe_key=f"rbuym:{rental.id}", sms=False, device=rental.device_name, price=yuan(price), rental=rental.id)
    return rental


def cancel(*, session: Session, uid: int, rental_id: object, clock: Clock) -> Rental:
    """Before delivery the shopper may change their mind: the freeze released, the paid deposit
    refunded, the device back in stock; nothing is owed."""
    rental = own_rental(session=session, uid=uid, rental_id=rental_id)
    now = clock.now()
    _set_status(session, rental, RS.CANCELLED, expect=(RS.AWAITING_DELIVERY,), action="cancel", closed_at=now)
    _resolve_freeze(session, rental, FS.RELEASED, now)
    _release_held(session, rental, rental.waived_fen, now)
    _refund_deposit(session, rental, rental.paid_deposit_fen, now)
    session.execute(sa.update(LISTING).where(LISTING.c.id == rental.listing_id).values(stock=LISTING.c.stock + 1))
    return rental


def auto_accept_due(*, session: Session, now: datetime) -> int:
    """The sweep's part: a hold never waits on a silent merchant. A return parcel never marked
    received is taken as received after ``return_transit_days_max``; one received and not
    inspected by its deadline is accepted (released and refunded). Returns how many were accepted."""
    at = FixedClock(now)
    transit = now - timedelta(days=POLICY.return_transit_days_max)
    for rid in session.execute(sa.select(RENT.c.id).where(RENT.c.status == RS.RETURN_IN_TRANSIT,
                                                          RENT.c.return_shipped_at <= transit)).scalars().all():
        mark_received(session=session, merchant_id=None, rental_id=None, rental=session.get(Rental, rid), clock=at)
    done = 0
    for rid in session.execute(sa.select(RENT.c.id).where(RENT.c.status == RS.RETURN_RECEIVED,
                                                          RENT.c.inspect_deadline_at <= now)).scalars().all():
        accept_return(session=session, merchant_id=None, rental_id=None, rental=session.get(Rental, rid), clock=at,
                      outcome=RO.AUTO_ACCEPTED)
        done += 1
    return done


# ── what the screens read ───────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Step:
    step: str  # a key of ``TIMELINE_WORDS``
    at: datetime
    amount_fen: int | None = None
    note: str = ""


TIMELINE_WORDS = {
    "accepted": "rental.step.accepted", "frozen": "rental.step.frozen", "deposit_paid": "rental.step.deposit_paid",
    "delivered": "rental.step.delivered", "return_shipped": "rental.step.return_shipped",
    "received": "rental.step.received", "inspected": "rental.step.inspected", "repair_paid": "rental.step.repair_paid",
    "captured": "rental.step.captured", "released": "rental.step.released", "refunded": "rental.step.refunded",
    "bought_out": "rental.step.bought_out", "cancelled": "rental.step.cancelled",
}
_POSTING_STEPS = (("rfrz", "frozen"), ("dep", "deposit_paid"), ("deprep", "repair_paid"), ("rcap", "captured"),
                  ("rrel", "released"), ("depref", "refunded"), ("buyout", "bought_out"))


def timeline(*, session: Session, rental: Rental) -> list[Step]:
    """The rental's hold timeline: its own steps and every movement of its deposit, as the journal
    holds them (so what is shown is what moved)."""
    keys = {f"{prefix}:{rental.id}": step for prefix, step in _POSTING_STEPS}
    moved: dict[str, tuple[datetime, int]] = {}
    for key, at, amount in session.execute(sa.select(P.c.posting_key, P.c.created_at, P.c.amount_fen)
                                           .where(P.c.posting_key.in_(list(keys)))):
        when, total = moved.get(key, (at, 0))
        moved[key] = (when, total + amount)
    steps = [Step("accepted", rental.accepted_at)]
    steps += [Step(keys[k], at, amount) for k, (at, amount) in moved.items()]
    if rental.delivered_at:
        steps.append(Step("delivered", rental.delivered_at, note=rental.serial or ""))
    if rental.return_shipped_at:
        steps.append(Step("return_shipped", rental.return_shipped_at, note=rental.tracking_no or ""))
    if rental.received_at:
        steps.append(Step("received", rental.received_at))
    if rental.inspected_at:
        steps.append(Step("inspected", rental.inspected_at, rental.repair_fen or None, rental.outcome or ""))
    if rental.status == RS.CANCELLED and rental.closed_at:
        steps.append(Step("cancelled", rental.closed_at))
    order = {s: i for i, s in enumerate(TIMELINE_WORDS)}
    return sorted(steps, key=lambda s: (aware(s.at), order[s.step]))


@dataclass(frozen=True)
class RentalFacts:
    rental: Rental
    installments: list[Installment] = field(default_factory=list)
    timeline: list[Step] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    charge: Order | None = None  # the repair charge taken from the freeze, if any
    shopper: str = ""


def facts(*, session: Session, rental: Rental, shopper: bool = False) -> RentalFacts:
    insts = [] if rental.order_id is None else list(session.exec(
        select(Installment).where(Installment.order_id == rental.order_id).order_by(Installment.seq, Installment.id)))
    photos = list(session.exec(select(RentalPhoto.stored_name).where(RentalPhoto.rental_id == rental.id)
                               .order_by(RentalPhoto.id)))
    charge = session.exec(select(Order).where(Order.idempotency_key == f"charge:{rental.id}")).first()
    name = "" if shopper else session.execute(sa.select(User.display_name).where(User.id == rental.shopper_id)).scalar_one()
    return RentalFacts(rental, insts, timeline(session=session, rental=rental), photos, charge, name)


MY_RENTALS = Keyset("my_rentals", (Key(RENT.c.id, int, desc=True),))
SHOP_RENTALS = Keyset("shop_rentals", (Key(RENT.c.id, int, desc=True),))


def my_rentals(*, session: Session, uid: int, cursor: str = "") -> Page[RentalFacts]:
    """The shopper's rentals, newest first, each with its rent, timeline and photos."""
    page = fetch(session=session, stmt=select(Rental).where(Rental.shopper_id == uid), keyset=MY_RENTALS, cursor=cursor)
    return page.map(lambda r: facts(session=session, rental=r, shopper=True))


def shop_rentals(*, session: Session, merchant_id: int, cursor: str = "") -> Page[RentalFacts]:
    """The shop's rentals, newest first: applications to deliver, returns to receive and inspect."""
    page = fetch(session=session, stmt=select(Rental).where(Rental.merchant_id == merchant_id), keyset=SHOP_RENTALS,
                 cursor=cursor)
    return page.map(lambda r: facts(session=session, rental=r))


def held_fen(*, session: Session, uid: int) -> int:
    """How much of the shopper's 先用后付 credit rental deposits hold now (租机押金冻结)."""
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(RENT.c.waived_fen), 0)).where(
        RENT.c.shopper_id == uid, RENT.c.freeze_state == FS.HELD)).scalar_one())


@dataclass(frozen=True)
class Settlement:
    """What the shop's rentals brought it, as the journal holds it: rent captured (less the
    platform's service fee), buy-outs (less the fee), repair charges (from paid deposits, and the
    charges on credit as they are repaid)."""

    rent_captured_fen: int = 0
    rent_fees_fen: int = 0
    buyouts_fen: int = 0
    buyout_fees_fen: int = 0
    repairs_fen: int = 0
    repair_fees_fen: int = 0

    @property
    def net_fen(self) -> int:
        return (self.rent_captured_fen - self.rent_fees_fen + self.buyouts_fen - self.buyout_fees_fen
                + self.repairs_fen - self.repair_fees_fen)


def settlement(*, session: Session, merchant_id: int) -> Settlement:
    ORD = Order.__table__
    acct = mer(merchant_id)

    def legs(*where) -> tuple[int, int]:
        """(to the merchant, to the platform's service fee) of the money postings matched."""
        got = dict(session.execute(sa.select(P.c.credit_account, sa.func.coalesce(sa.func.sum(P.c.amount_fen), 0))
                                   .where(P.c.ledger == MONEY, P.c.credit_account.in_((acct, PLAT_SERVICE_FEE)), *where)
                                   .group_by(P.c.credit_account)).all())
        return int(got.get(acct, 0)), int(got.get(PLAT_SERVICE_FEE, 0))

    def captured(kind: str) -> tuple[int, int]:
        ids = sa.select(ORD.c.id).where(ORD.c.kind == kind, ORD.c.merchant_id == merchant_id)
        return legs(P.c.order_id.in_(ids), P.c.posting_key.like("cap:%"))

    rent_net, rent_fee = captured(OrderKind.RENT)
    charge_net, charge_fee = captured(OrderKind.CHARGE)
    ids = list(session.execute(sa.select(RENT.c.id).where(RENT.c.merchant_id == merchant_id)).scalars())
    buy_net, buy_fee = legs(P.c.posting_key.in_([f"buyout:{i}" for i in ids])) if ids else (0, 0)
    repair, _ = legs(P.c.posting_key.in_([f"deprep:{i}" for i in ids])) if ids else (0, 0)
    return Settlement(rent_captured_fen=rent_net + rent_fee, rent_fees_fen=rent_fee, buyouts_fen=buy_net + buy_fee,
                      buyout_fees_fen=buy_fee, repairs_fen=repair + charge_net + charge_fee, repair_fees_fen=charge_fee)
