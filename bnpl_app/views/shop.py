"""What the shopper's shop screens render: the catalog, a product (eligibility, plans and their
schedules), the confirm step, the orders and one order's trial cockpit. Built from
``services.catalog``, ``checkout``, ``orders`` and ``bills`` (the dry run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from .. import routes
from ..domain import rules
from ..domain.clock import FixedClock, china_month, china_time
from ..domain.money import yuan
from ..domain.rules import days_overdue
from ..models import Installment, InstallmentStatus as IS, OrderStatus as OS, PaymentMethod, ReturnStatus as RS
from ..services import bills, catalog, checkout, eligibility, orders, payments, schedule
from ..services.paging import Page
from ..words import has, render, text
from . import epoch, method_name, pct, say


# ── catalog ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class ProductCard:
    id: int = 0
    name: str = ""
    category: str = ""
    shop: str = ""
    price: str = ""
    image: str = ""
    bnpl: bool = False
    trial_days: int = 0
    stock: int = 0
    url: str = ""


def product_card(p: catalog.CatalogItem) -> ProductCard:
    return ProductCard(p.id, p.name, p.category, p.shop, yuan(p.price_fen), p.image, p.bnpl, p.trial_days, p.stock,
                       routes.product(p.id))


def product_cards(s: Session, *, bnpl_only: bool = False, query: str = "", cursor: str = "") -> Page[ProductCard]:
    """One page of the catalog (``services.catalog``): never the whole table."""
    return catalog.product_page(session=s, bnpl_only=bnpl_only, query=query, cursor=cursor).map(product_card)


# ── a product ────────────────────────────────────────────────────────────────────────────────
@dataclass
class Reason:
    rule: str = ""
    text: str = ""


@dataclass
class PeriodView:
    seq: int = 0
    due: str = ""
    principal: str = ""
    fee: str = ""
    total: str = ""
    months: int = 0  # months after the first deduction (a quote's due dates tick with the clock)


@dataclass
class PlanView:
    plan: str = ""
    label: str = ""
    periods: list[PeriodView] = field(default_factory=list)
    total_fee: str = ""
    total: str = ""
    first_amount: str = ""
    first_due: str = ""
    fee_rule: str = ""
    # the quote: the first deduction counted from the moment of confirming, the late-fee rule of
    # the terms, the method the first deduction would come from
    deduct_after: str = ""
    offset_s: int = 0
    late_rule: str = ""
    method: str = ""


@dataclass
class ProductDetail:
    id: int = 0
    name: str = ""
    description: str = ""
    shop: str = ""
    price: str = ""
    image: str = ""
    stock: int = 0
    bnpl: bool = False
    trial_days: int = 0
    min_score: int = 0
    interest_free: bool = False
    eligible: bool = False
    checked: bool = False  # eligibility was checked (a shopper is logged in)
    reasons: list[Reason] = field(default_factory=list)
    plans: list[PlanView] = field(default_factory=list)
    late_fee_rule: str = ""
    changed: list[str] = field(default_factory=list)  # what changed while the page was open


def period_views(sched: schedule.Schedule) -> list[PeriodView]:
    return [PeriodView(x.seq, china_time(x.due_at), yuan(x.principal_fen), yuan(x.fee_fen), yuan(x.total_fen), x.seq - 1)
            for x in sched.periods]


def late_rule(terms: checkout.Terms, lang: str) -> str:
    """The late-fee rule as the terms hold it (grace, rate per day, cap)."""
    return say("product.late_fee_text", lang, grace_days=terms.grace_days,
               late_fee_per_day=pct(terms.late_fee_bps_per_day), late_fee_cap=pct(terms.late_fee_cap_bps))


def method_text(m: PaymentMethod | None, lang: str) -> str:
    return method_name(m.kind, m.label, lang) if m is not None else text("quote.no_method", lang)


def plan_view(sched: schedule.Schedule, lang: str, *, terms: checkout.Terms | None = None,
              method: PaymentMethod | None = None) -> PlanView:
    v = PlanView(
        plan=sched.plan, label=text(f"plan.{sched.plan}", lang), periods=period_views(sched),
        total_fee=yuan(sched.total_fee_fen), total=yuan(sched.total_fen), first_amount=yuan(sched.first.total_fen),
        first_due=china_time(sched.first.due_at),
        fee_rule=say("plan.fee_rule", lang, fee=pct(sched.fee_bps)) if sched.fee_bps else say("plan.fee_free", lang),
    )
    if terms is not None:
        v.deduct_after = say("quote.deduct_after", lang, days=terms.trial_days)
        v.offset_s = terms.trial_days * 86_400
        v.late_rule = late_rule(terms, lang)
        v.method = method_text(method, lang)
    return v


def change_texts(changes: list[tuple[str, dict]], lang: str) -> list[str]:
    """What changed (``checkout.changes``), each in words."""
    return [render(key, lang, **params) for key, params in changes]


def problems(el: eligibility.Eligibility, lang: str) -> list[Reason]:
    """Every rule not met, with what to do about it."""
    return [Reason(f.rule, f.text(lang)) for f in el.failures]


def detail_view(info: catalog.ProductInfo, lang: str, *, quotes: dict[str, checkout.Terms] | None = None,
                methods: dict[str, PaymentMethod | None] | None = None) -> ProductDetail:
    p = info.product
    quotes, methods = quotes or {}, methods or {}
    d = ProductDetail(id=p.id, name=p.name, description=p.description, shop=info.shop, price=yuan(p.price_fen),
                      image=p.image, stock=p.stock, bnpl=p.bnpl_enabled, trial_days=p.trial_days,
                      min_score=p.min_score, interest_free=p.interest_free,
                      late_fee_rule=late_rule(next(iter(quotes.values())), lang) if quotes
                      else say("product.late_fee_text", lang),
                      plans=[plan_view(x, lang, terms=quotes.get(x.plan), method=methods.get(x.plan))
                             for x in info.schedules])
    if info.eligibility is not None:
        d.checked, d.eligible, d.reasons = True, info.eligibility.eligible, problems(info.eligibility, lang)
    return d


@dataclass(frozen=True)
class Offer:
    """What a product page showed, to tell what a merchant's edit changed: the price, whether
    先用后付 is offered, and the terms of each plan (as their JSON)."""

    product_id: int
    price_fen: int
    bnpl: bool
    quotes: dict[str, str]

    def as_dict(self) -> dict:
        return {"product_id": self.product_id, "price_fen": self.price_fen, "bnpl": self.bnpl, "quotes": self.quotes}

    @classmethod
    def from_dict(cls, data: dict) -> Offer | None:
        try:
            return cls(int(data["product_id"]), int(data["price_fen"]), bool(data["bnpl"]), dict(data["quotes"]))
        except (KeyError, TypeError, ValueError):
            return None


def offer_changes(before: Offer | None, after: Offer, plan: str) -> list[tuple[str, dict]]:
    """What changed for a shopper looking at ``plan`` between two readings of one product page."""
    if before is None or before.product_id != after.product_id:
        return []
    if before.bnpl != after.bnpl:
        out = [("quote.changed.bnpl_on" if after.bnpl else "quote.changed.bnpl_off", {})]
        if before.price_fen != after.price_fen:
            out.append(("quote.changed.price", {"old": yuan(before.price_fen), "new": yuan(after.price_fen)}))
        return out
    if plan in before.quotes and plan not in after.quotes and after.bnpl:
        return [("quote.changed.plan_gone", {})]
    if plan in before.quotes and plan in after.quotes:
        return checkout.changes(checkout.Terms.from_json(before.quotes[plan]), checkout.Terms.from_json(after.quotes[plan]))
    if before.price_fen != after.price_fen:
        return [("quote.changed.price", {"old": yuan(before.price_fen), "new": yuan(after.price_fen)})]
    return []


def product_detail(s: Session, *, product_id: int, uid: int | None, lang: str, now: datetime) -> ProductDetail:
    return product_screen(s, product_id=product_id, uid=uid, lang=lang, now=now)[0]


def product_screen(s: Session, *, product_id: int, uid: int | None, lang: str, now: datetime) -> tuple[ProductDetail, Offer]:
    """A product page and what it offers: the quote of every plan (with the method each first
    deduction would come from, for a shopper)."""
    info = catalog.product_info(session=s, product_id=product_id, uid=uid, clock=FixedClock(now))
    p = info.product
    quotes = {x.plan: checkout.Terms.of(p, x.plan) for x in info.schedules}
    methods = {}
    if uid is not None:
        firsts = [t.periods[0].principal_fen + t.periods[0].fee_fen for t in quotes.values()]
        methods = dict(zip(quotes, checkout.first_methods(session=s, uid=uid, amounts=firsts), strict=True))
    offer = Offer(p.id, p.price_fen, bool(p.bnpl_enabled), {plan: t.to_json() for plan, t in quotes.items()})
    return detail_view(info, lang, quotes=quotes, methods=methods), offer


# ── the confirm step ─────────────────────────────────────────────────────────────────────────
@dataclass
class ConfirmLine:
    product_id: int = 0
    name: str = ""
    plan: str = ""
    plan_label: str = ""
    price: str = ""
    due_now: str = ""
    deduction_time: str = ""
    deduction_amount: str = ""
    method: str = ""
    periods: list[PeriodView] = field(default_factory=list)
    total_fee: str = ""
    problem: str = ""  # why this line cannot be confirmed, if it cannot
    # the quote: the first deduction counted from the moment of confirming (``offset_s`` later
    # than the clock, ticking), the late-fee rule of the terms
    deduct_after: str = ""
    offset_s: int = 0
    late_rule: str = ""
    changed: list[str] = field(default_factory=list)  # what changed since the shopper saw this line
    error: str = ""  # why the last confirm did not order this line
    quoted: bool = True  # False: the line cannot be quoted now (its plan is no longer offered)


def confirm_view(q: checkout.Quote, lang: str) -> ConfirmLine:
    p, first, terms = q.product, q.schedule.first, q.terms
    return ConfirmLine(
        product_id=p.id, name=p.name, plan=q.schedule.plan, plan_label=text(f"plan.{q.schedule.plan}", lang),
        price=yuan(terms.price_fen), due_now=yuan(0), deduction_time=china_time(first.due_at, seconds=True),
        deduction_amount=yuan(first.total_fen), method=method_text(q.method, lang),
        periods=period_views(q.schedule), total_fee=yuan(q.schedule.total_fee_fen),
        problem="；".join(r.text for r in problems(q.eligibility, lang)),
        deduct_after=say("quote.deduct_after", lang, days=terms.trial_days), offset_s=terms.trial_days * 86_400,
        late_rule=late_rule(terms, lang),
    )


def confirm_quote(s: Session, *, uid: int, product_id: int, plan: str, lang: str,
                  now: datetime) -> tuple[ConfirmLine, checkout.Terms]:
    """One line of the confirm step and the terms it shows."""
    q = checkout.quote(session=s, uid=uid, product_id=product_id, plan=plan, clock=FixedClock(now))
    return confirm_view(q, lang), q.terms


def confirm_line(s: Session, *, uid: int, product_id: int, plan: str, lang: str, now: datetime) -> ConfirmLine:
    return confirm_quote(s, uid=uid, product_id=product_id, plan=plan, lang=lang, now=now)[0]


# ── orders ───────────────────────────────────────────────────────────────────────────────────
@dataclass
class HoldStep:
    step: str = ""
    label: str = ""
    at: str = ""
    amount: str = ""
    note: str = ""


@dataclass
class InstallmentView:
    id: int = 0
    order_id: int = 0
    product: str = ""
    seq: int = 0
    periods: int = 0
    due: str = ""
    month: str = ""
    principal: str = ""
    fee: str = ""
    late_fee: str = ""
    late_fee_fen: int = 0
    overdue_interest: str = ""  # a 备用金 month's interest past its due date
    overdue_interest_fen: int = 0
    owed: str = ""
    owed_fen: int = 0
    status: str = ""
    status_label: str = ""
    paid_at: str = ""
    days_overdue: int = 0
    open: bool = False
    plan: bool = False  # part of a hardship plan


@dataclass
class OrderView:
    id: int = 0
    product: str = ""
    product_id: int = 0
    price: str = ""
    plan: str = ""
    plan_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""
    trial_end: str = ""
    trial_end_ts: int = 0
    in_trial: bool = False
    paused: bool = False
    can_return: bool = False
    can_pay_now: bool = False
    next_amount: str = ""
    next_time: str = ""
    next_method: str = ""
    frozen: str = ""
    url: str = ""
    tracking_no: str = ""
    return_status: str = ""
    return_status_label: str = ""
    inspect_deadline: str = ""
    rejection_reason: str = ""
    photos: list[str] = field(default_factory=list)
    timeline: list[HoldStep] = field(default_factory=list)
    installments: list[InstallmentView] = field(default_factory=list)


def note_text(note: str, lang: str) -> str:
    """Timeline notes are codes (outcomes, causes) or free text (tracking numbers, reasons)."""
    return text(f"note.{note}", lang) if has(f"note.{note}") else note


def late_fee_net(i: Installment) -> int:
    return i.late_fee_fen - i.late_fee_waived_fen


def shown_owed(i: Installment) -> int:
    """What an installment row shows: what is owed, or what was paid once it is paid."""
    return i.paid_fen if i.status == IS.PAID else payments.owed(i)


def overdue_days(i: Installment, now: datetime) -> int:
    return days_overdue(i.due_at, now) if i.status == IS.OVERDUE else 0


def installment_view(i: Installment, product: str, lang: str, now: datetime) -> InstallmentView:
    return InstallmentView(
        id=i.id, order_id=i.order_id, product=product, seq=i.seq, periods=i.periods, due=china_time(i.due_at),
        month=china_month(i.due_at), principal=yuan(i.principal_fen),
        fee=yuan(i.fee_fen - i.fee_waived_fen), late_fee=yuan(late_fee_net(i)), late_fee_fen=late_fee_net(i),
        overdue_interest=yuan(i.overdue_interest_fen), overdue_interest_fen=i.overdue_interest_fen,
        owed=yuan(shown_owed(i)), owed_fen=payments.owed(i), status=i.status,
        status_label=text(f"status.{i.status}", lang), paid_at=china_time(i.paid_at),
        days_overdue=overdue_days(i, now), open=i.status in IS.OPEN, plan=i.plan_application_id is not None,
    )


Planned = dict[int, bills.PlannedDeduction]  # installment id → what the sweep will take for it


def planned_by_installment(planned: list[bills.PlannedDeduction]) -> Planned:
    return {p.installment_id: p for p in planned}


def order_view(f: orders.OrderFacts, *, lang: str, now: datetime, planned: Planned) -> OrderView:
    o = f.order
    v = OrderView(
        id=o.id, product=o.product_name, product_id=o.product_id, price=yuan(o.price_fen), plan=o.plan,
        plan_label=text(f"plan.{o.plan}", lang), status=o.status, status_label=text(f"status.{o.status}", lang),
        created=china_time(o.created_at), trial_end=china_time(o.trial_end_at, seconds=True),
        trial_end_ts=epoch(o.trial_end_at), in_trial=o.status in OS.IN_TRIAL, paused=o.status in OS.RETURNING,
        can_return=rules.may_return(status=o.status, trial_end_at=o.trial_end_at, now=now,
                                    returned_before=f.return_request is not None),
        can_pay_now=o.status in OS.IN_TRIAL,
        frozen=yuan(o.price_fen) if o.status in OS.HOLDING else yuan(0), url=routes.order(o.id),
    )
    nxt = next((i for i in f.installments if i.status in (IS.PENDING, IS.SCHEDULED, IS.OVERDUE)), None)
    if nxt is not None and nxt.id in planned:
        p = planned[nxt.id]
        v.next_time, v.next_amount = china_time(p.at), yuan(p.amount_fen)
        v.next_method = method_name(p.method_kind, p.method_label, lang) if p.method_label else "—"
    elif nxt is not None:
        v.next_amount = yuan(payments.owed(nxt))
        v.next_time = china_time(nxt.attempt_at or nxt.due_at)
    return v


def order_detail(f: orders.OrderFacts, *, lang: str, now: datetime, planned: Planned) -> OrderView:
    """One order's page: the order, its installments, the credit-hold timeline and the return."""
    v = order_view(f, lang=lang, now=now, planned=planned)
    v.installments = [installment_view(i, f.order.product_name, lang, now) for i in f.installments
                      if i.status != IS.CANCELLED]
    v.timeline = [HoldStep(e.step, text(f"step.{e.step}", lang), china_time(e.at, seconds=True),
                           yuan(e.amount_fen) if e.amount_fen is not None else "", note_text(e.note, lang))
                  for e in f.timeline]
    ret = f.return_request
    if ret is not None:
        v.tracking_no = ret.tracking_no
        v.return_status = ret.status
        v.return_status_label = text(f"status.{ret.status}", lang)
        v.inspect_deadline = china_time(ret.inspect_deadline_at) if ret.status == RS.RECEIVED else ""
        v.rejection_reason = ret.reason or ""
        v.photos = [routes.upload_url(name) for name in f.photos]
    return v


def my_orders(s: Session, *, uid: int, lang: str, now: datetime, cursor: str = "") -> Page[OrderView]:
    """One page of the shopper's orders, newest first."""
    page = orders.my_orders(session=s, uid=uid, cursor=cursor)
    planned = planned_by_installment(bills.dry_run(session=s, uid=uid, clock=FixedClock(now)) if page.items else [])
    return page.map(lambda f: order_view(f, lang=lang, now=now, planned=planned))


def my_order(s: Session, *, uid: int, order_id: int, lang: str, now: datetime) -> OrderView:
    f = orders.my_order(session=s, uid=uid, order_id=order_id)
    return order_detail(f, lang=lang, now=now,
                        planned=planned_by_installment(bills.dry_run(session=s, uid=uid, clock=FixedClock(now))))
