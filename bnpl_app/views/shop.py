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
from ..models import Installment, InstallmentStatus as IS, OrderStatus as OS, ReturnStatus as RS
from ..services import bills, catalog, checkout, eligibility, orders, payments, schedule
from ..services.paging import Page
from ..words import has, text
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


def period_views(sched: schedule.Schedule) -> list[PeriodView]:
    return [PeriodView(x.seq, china_time(x.due_at), yuan(x.principal_fen), yuan(x.fee_fen), yuan(x.total_fen))
            for x in sched.periods]


def plan_view(sched: schedule.Schedule, lang: str) -> PlanView:
    return PlanView(
        plan=sched.plan, label=text(f"plan.{sched.plan}", lang), periods=period_views(sched),
        total_fee=yuan(sched.total_fee_fen), total=yuan(sched.total_fen), first_amount=yuan(sched.first.total_fen),
        first_due=china_time(sched.first.due_at),
        fee_rule=say("plan.fee_rule", lang, fee=pct(sched.fee_bps)) if sched.fee_bps else say("plan.fee_free", lang),
    )


def problems(el: eligibility.Eligibility, lang: str) -> list[Reason]:
    """Every rule not met, with what to do about it."""
    return [Reason(f.rule, f.text(lang)) for f in el.failures]


def detail_view(info: catalog.ProductInfo, lang: str) -> ProductDetail:
    p = info.product
    d = ProductDetail(id=p.id, name=p.name, description=p.description, shop=info.shop, price=yuan(p.price_fen),
                      image=p.image, stock=p.stock, bnpl=p.bnpl_enabled, trial_days=p.trial_days,
                      min_score=p.min_score, interest_free=p.interest_free,
                      late_fee_rule=say("product.late_fee_text", lang),
                      plans=[plan_view(x, lang) for x in info.schedules])
    if info.eligibility is not None:
        d.checked, d.eligible, d.reasons = True, info.eligibility.eligible, problems(info.eligibility, lang)
    return d


def product_detail(s: Session, *, product_id: int, uid: int | None, lang: str, now: datetime) -> ProductDetail:
    return detail_view(catalog.product_info(session=s, product_id=product_id, uid=uid, clock=FixedClock(now)), lang)


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


def confirm_view(q: checkout.Quote, lang: str) -> ConfirmLine:
    p, first = q.product, q.schedule.first
    return ConfirmLine(
        product_id=p.id, name=p.name, plan=q.schedule.plan, plan_label=text(f"plan.{q.schedule.plan}", lang),
        price=yuan(p.price_fen), due_now=yuan(0), deduction_time=china_time(first.due_at),
        deduction_amount=yuan(first.total_fen),
        method=method_name(q.method.kind, q.method.label, lang) if q.method else "—",
        periods=period_views(q.schedule), total_fee=yuan(q.schedule.total_fee_fen),
        problem="；".join(r.text for r in problems(q.eligibility, lang)),
    )


def confirm_line(s: Session, *, uid: int, product_id: int, plan: str, lang: str, now: datetime) -> ConfirmLine:
    return confirm_view(checkout.quote(session=s, uid=uid, product_id=product_id, plan=plan, clock=FixedClock(now)), lang)


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
