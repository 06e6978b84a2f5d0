"""What the 信用分租机 screens render: the devices for rent, one device with the credit review of
its deposit and the contract, the shopper's rentals (rent, hold timeline, photos), and the
merchant's listings, rentals desk and settlement. Built from ``services.rental``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from sqlmodel import Session

from .. import routes
from ..domain import rental as rr
from ..domain.clock import china_time
from ..domain.money import yuan, yuan_plain
from ..domain.rules import days_overdue
from ..models import FreezeState as FS, InstallmentStatus as IS, PaymentMethod, RentalStatus as RS
from ..services import rental
from ..services.paging import Page
from ..words import render, text
from . import epoch, method_name, pct, say

_say = say  # the policy's rental numbers are among the figures (``{rental_full}``)


def _terms_label(terms: tuple[int, ...], lang: str) -> str:
    return render("rental.terms_label", lang, terms="/".join(map(str, terms)))


# ── the devices for rent ────────────────────────────────────────────────────────────────────
@dataclass
class ListingCard:
    id: int = 0
    name: str = ""
    shop: str = ""
    rent: str = ""
    terms: str = ""
    deposit: str = ""
    buyout: str = ""
    stock: int = 0
    url: str = ""


def listing_cards(s: Session, *, lang: str, cursor: str = "") -> Page[ListingCard]:
    return rental.listings_page(session=s, cursor=cursor).map(lambda row: ListingCard(
        row[0].id, row[0].name, row[1], yuan(row[0].monthly_rent_fen), _terms_label(rr.terms_offered(row[0].terms), lang),
        yuan(row[0].deposit_fen), yuan(row[0].buyout_fen), row[0].stock, routes.rent_listing(row[0].id)))


# ── one device: the credit review and the contract ──────────────────────────────────────────
@dataclass
class ContractView:
    term: int = 0
    rent: str = ""
    total: str = ""
    deposit: str = ""
    band: str = ""
    band_label: str = ""
    held: str = ""
    paid: str = ""
    buyout: str = ""
    lines: list[str] = field(default_factory=list)  # every term, in words
    json: str = ""  # what the shopper accepts (sent back with the acceptance)


@dataclass
class ListingDetail:
    id: int = 0
    name: str = ""
    description: str = ""
    shop: str = ""
    rent: str = ""
    deposit: str = ""
    buyout: str = ""
    damage_rules: str = ""
    stock: int = 0
    terms: list[str] = field(default_factory=list)  # months offered, as text (the term picker's values)
    checked: bool = False  # a shopper is logged in: their credit review is shown
    band: str = ""
    band_label: str = ""
    why: list[str] = field(default_factory=list)
    held: str = ""
    paid: str = ""
    method: str = ""
    problems: list[str] = field(default_factory=list)
    can_apply: bool = False
    contract: ContractView = field(default_factory=ContractView)


def contract_lines(c: rental.Contract, lang: str) -> list[str]:
    """Every term of a contract in words: rent schedule, deposit decision, buy-out, damage,
    overdue and early-return rules, inspection."""
    band = text(rr.BAND_LABEL[c.band], lang)
    return [
        _say("rental.contract.rent", lang, term=c.term_months, rent=yuan(c.monthly_rent_fen), total=yuan(c.rent_total_fen)),
        _say("rental.contract.deposit", lang, deposit=yuan(c.deposit_fen), band=band, held=yuan(c.held_fen),
             paid=yuan(c.paid_fen)),
        _say("rental.contract.buyout", lang, buyout=yuan(c.buyout_fen)),
        _say("rental.contract.damage", lang, rules=c.damage_rules, deposit=yuan(c.deposit_fen)),
        _say("product.late_fee_text", lang, grace_days=c.grace_days, late_fee_per_day=pct(c.late_fee_bps_per_day),
             late_fee_cap=pct(c.late_fee_cap_bps)) + _say("rental.contract.bad_debt", lang),
        _say("rental.contract.early", lang),
        _say("rental.contract.inspection", lang),
    ]


def contract_view(c: rental.Contract, lang: str) -> ContractView:
    return ContractView(c.term_months, yuan(c.monthly_rent_fen), yuan(c.rent_total_fen), yuan(c.deposit_fen), c.band,
                        text(rr.BAND_LABEL[c.band], lang), yuan(c.held_fen), yuan(c.paid_fen), yuan(c.buyout_fen),
                        contract_lines(c, lang), c.to_json())


def _method(m: PaymentMethod | None, lang: str) -> str:
    return method_name(m.kind, m.label, lang) if m is not None else text("quote.no_method", lang)


def listing_detail(s: Session, *, listing_id: object, uid: int | None, term: int, lang: str) -> ListingDetail:
    """A device's page; for a shopper, the credit review of its deposit and the contract of
    ``term`` months (the first term offered when ``term`` is not)."""
    listing = rental.get_listing(session=s, listing_id=listing_id)
    offered = rr.terms_offered(listing.terms)
    d = ListingDetail(id=listing.id, name=listing.name, description=listing.description,
                      shop=rental.shop_name(session=s, merchant_id=listing.merchant_id), rent=yuan(listing.monthly_rent_fen),
                      deposit=yuan(listing.deposit_fen), buyout=yuan(listing.buyout_fen), damage_rules=listing.damage_rules,
                      stock=listing.stock, terms=[str(t) for t in offered])
    if uid is None or not offered:
        return d
    q = rental.quote(session=s, uid=uid, listing_id=listing.id, term=term if term in offered else offered[0])
    dec = q.decision
    d.checked, d.band, d.band_label = True, dec.band, text(rr.BAND_LABEL[dec.band], lang)
    d.why = [render(key, lang, **{k: (yuan(v) if k in ("available", "waived") else v) for k, v in params.items()})
             for key, params in dec.why]
    d.held, d.paid = yuan(dec.held_fen), yuan(dec.paid_fen)
    d.method = _method(q.method, lang) if dec.paid_fen else ""
    d.problems = [f.text(lang) for f in q.problems]
    d.can_apply = not q.problems and q.contract is not None
    if q.contract is not None:
        d.contract = contract_view(q.contract, lang)
    return d


# ── the shopper's rentals ───────────────────────────────────────────────────────────────────
@dataclass
class RentStep:
    step: str = ""
    label: str = ""
    at: str = ""
    amount: str = ""
    note: str = ""


@dataclass
class RentInstallment:
    id: int = 0
    seq: int = 0
    due: str = ""
    amount: str = ""
    status: str = ""
    status_label: str = ""


@dataclass
class RentalView:
    id: int = 0
    device: str = ""
    status: str = ""
    status_label: str = ""
    term: int = 0
    rent: str = ""
    deposit: str = ""
    held: str = ""
    paid: str = ""
    buyout: str = ""
    band_label: str = ""
    accepted: str = ""
    serial: str = ""
    shopper: str = ""
    tracking: str = ""
    deadline: str = ""
    deadline_ts: int = 0
    next_rent: str = ""
    next_due: str = ""
    rent_paid: int = 0  # months paid
    outcome: str = ""
    reason: str = ""
    repair: str = ""
    photos: list[str] = field(default_factory=list)
    charge_url: str = ""
    order_url: str = ""
    contract: list[str] = field(default_factory=list)
    timeline: list[RentStep] = field(default_factory=list)
    rents: list[RentInstallment] = field(default_factory=list)
    holding: bool = False  # the waived part is held on credit now
    hold_state: str = ""  # what became of the hold, in words (once it is no longer held)
    refunded: str = ""  # the paid deposit given back ("" when nothing)
    overdue: str = ""  # rent past its due date and unpaid ("" when none), with its late fees
    overdue_days: int = 0
    can_return: bool = False
    can_buyout: bool = False
    can_cancel: bool = False
    can_deliver: bool = False
    can_receive: bool = False
    can_inspect: bool = False


def _note(step: rental.Step, lang: str) -> str:
    outcome = {"intact": "rental.outcome.intact", "damaged": "rental.outcome.damaged",
               "auto_accepted": "rental.outcome.auto_accepted"}.get(step.note)
    return text(outcome, lang) if outcome else step.note


_FREEZE_WORDS = {FS.NONE: "rental.freeze.none", FS.HELD: "rental.freeze.held", FS.RELEASED: "rental.freeze.released",
                 FS.CAPTURED: "rental.freeze.captured"}


def rental_view(f: rental.RentalFacts, lang: str, now: datetime) -> RentalView:
    r = f.rental
    c = rental.Contract.from_json(r.contract_json)
    v = RentalView(
        id=r.id, device=r.device_name, status=r.status, status_label=text(rental.STATUS_WORDS[r.status], lang),
        term=r.term_months, rent=yuan(r.monthly_rent_fen), deposit=yuan(r.deposit_fen), held=yuan(r.waived_fen),
        paid=yuan(r.paid_deposit_fen), buyout=yuan(r.buyout_fen), band_label=text(rr.BAND_LABEL[c.band], lang),
        accepted=china_time(r.accepted_at, seconds=True), serial=r.serial or "", shopper=f.shopper,
        tracking=r.tracking_no or "",
        deadline=china_time(r.inspect_deadline_at) if r.status == RS.RETURN_RECEIVED else "",
        deadline_ts=epoch(r.inspect_deadline_at) if r.status == RS.RETURN_RECEIVED else 0,
        outcome=text({"intact": "rental.outcome.intact", "damaged": "rental.outcome.damaged",
                      "auto_accepted": "rental.outcome.auto_accepted"}[r.outcome], lang) if r.outcome else "",
        reason=r.reason or "", repair=yuan(r.repair_fen) if r.repair_fen else "",
        photos=[routes.upload_url(n) for n in f.photos], charge_url=routes.order(f.charge.id) if f.charge else "",
        order_url=routes.order(r.order_id) if r.order_id else "", contract=contract_lines(c, lang),
        timeline=[RentStep(x.step, text(rental.TIMELINE_WORDS[x.step], lang), china_time(x.at, seconds=True),
                           yuan(x.amount_fen) if x.amount_fen is not None else "", _note(x, lang)) for x in f.timeline],
        rents=[RentInstallment(i.id, i.seq, china_time(i.due_at), yuan(i.principal_fen + i.late_fee_fen - i.late_fee_waived_fen),
                               i.status, text(f"status.{i.status}", lang)) for i in f.installments],
        can_return=r.status == RS.RENTING, can_buyout=r.status == RS.RENTING, can_cancel=r.status == RS.AWAITING_DELIVERY,
        can_deliver=r.status == RS.AWAITING_DELIVERY, can_receive=r.status == RS.RETURN_IN_TRANSIT,
        can_inspect=r.status == RS.RETURN_RECEIVED,
    )
    nxt = next((i for i in f.installments if i.status in IS.OPEN), None)
    if nxt is not None:
        v.next_rent, v.next_due = yuan(nxt.principal_fen + nxt.late_fee_fen - nxt.late_fee_waived_fen), china_time(
            nxt.attempt_at or nxt.due_at)
    v.rent_paid = sum(1 for i in f.installments if i.status == IS.PAID)
    v.holding = r.freeze_state == FS.HELD
    v.hold_state = text(_FREEZE_WORDS[r.freeze_state], lang)
    v.refunded = yuan(r.deposit_refunded_fen) if r.deposit_refunded_fen else ""
    late = [i for i in f.installments if i.status == IS.OVERDUE]
    if late:
        v.overdue = yuan(sum(i.principal_fen + i.late_fee_fen - i.late_fee_waived_fen for i in late))
        v.overdue_days = max(days_overdue(i.due_at, now) for i in late)
    return v


def my_rentals(s: Session, *, uid: int, lang: str, now: datetime, cursor: str = "") -> Page[RentalView]:
    return rental.my_rentals(session=s, uid=uid, cursor=cursor).map(lambda f: rental_view(f, lang, now))


def shop_rentals(s: Session, *, merchant_id: int, lang: str, now: datetime, cursor: str = "") -> Page[RentalView]:
    return rental.shop_rentals(session=s, merchant_id=merchant_id, cursor=cursor).map(lambda f: rental_view(f, lang, now))


# ── the merchant's listings and settlement ──────────────────────────────────────────────────
@dataclass
class MerchantListing:
    id: int = 0
    name: str = ""
    description: str = ""
    rent: str = ""
    rent_input: str = ""
    terms: str = ""
    deposit: str = ""
    deposit_input: str = ""
    buyout: str = ""
    buyout_input: str = ""
    damage_rules: str = ""
    stock: int = 0
    active: bool = True


def merchant_listings(s: Session, *, merchant_id: int) -> list[MerchantListing]:
    return [MerchantListing(x.id, x.name, x.description, yuan(x.monthly_rent_fen), yuan_plain(x.monthly_rent_fen, drop_zero_cents=True),
                            x.terms, yuan(x.deposit_fen), yuan_plain(x.deposit_fen, drop_zero_cents=True), yuan(x.buyout_fen),
                            yuan_plain(x.buyout_fen, drop_zero_cents=True), x.damage_rules, x.stock, bool(x.active))
            for x in rental.merchant_listings(session=s, merchant_id=merchant_id)]


@dataclass
class RentalSettlement:
    rent: str = "¥0.00"
    rent_fees: str = "¥0.00"
    buyouts: str = "¥0.00"
    buyout_fees: str = "¥0.00"
    repairs: str = "¥0.00"
    repair_fees: str = "¥0.00"
    net: str = "¥0.00"


def settlement_view(s: Session, *, merchant_id: int) -> RentalSettlement:
    st = rental.settlement(session=s, merchant_id=merchant_id)
    return RentalSettlement(yuan(st.rent_captured_fen), yuan(st.rent_fees_fen), yuan(st.buyouts_fen),
                            yuan(st.buyout_fees_fen), yuan(st.repairs_fen), yuan(st.repair_fees_fen), yuan(st.net_fen))


def held_on_credit(s: Session, *, uid: int) -> str:
    """租机押金冻结: how much of the shopper's credit rental deposits hold ("" when none)."""
    held = rental.held_fen(session=s, uid=uid)
    return yuan(held) if held else ""
