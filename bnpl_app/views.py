"""Small dataclasses the UI renders, built from the services in the reader's language. Never ORM
rows in state: only what a screen shows, money pre-formatted from int fen (plus the int where a
screen must send it back), times as text in China time plus epoch seconds for countdowns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from . import routes
from .domain.clock import china_month, china_time
from .domain.money import yuan
from .domain.policy import POLICY
from .i18n import UI, text
from .models import (
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Order,
    OrderStatus as OS,
    Product,
    ReturnPhoto,
    ReturnRequest,
)
from .services import catalog, checkout, eligibility, orders, payments, schedule
from .services.paging import Page


def fmt(dt: datetime | None, seconds: bool = False) -> str:
    return china_time(dt, seconds=seconds)


def epoch(dt: datetime | None) -> int:
    return int(dt.timestamp()) if dt else 0


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


def late_fee_rule(lang: str) -> str:
    pct = lambda bps: f"{bps / 100:g}%"  # noqa: E731 — display only
    if lang == "en":
        return (f"Grace period {POLICY.grace_days} days with no fee. After that: score −{POLICY.overdue_score_penalty} "
                f"and limit halved, then a late fee of {pct(POLICY.late_fee_bps_per_day)} of the overdue principal per "
                f"day, at most {pct(POLICY.late_fee_cap_bps)} in total. At {POLICY.suspend_after_days} days overdue "
                f"先用后付 is suspended.")
    return (f"逾期 {POLICY.grace_days} 天内为宽限期，不收费；宽限期后信用分 −{POLICY.overdue_score_penalty}、额度减半，"
            f"并按逾期本金每日 {pct(POLICY.late_fee_bps_per_day)} 收取滞纳金，累计不超过本金的 {pct(POLICY.late_fee_cap_bps)}；"
            f"逾期满 {POLICY.suspend_after_days} 天暂停先用后付。")


def period_views(sched: schedule.Schedule) -> list[PeriodView]:
    return [PeriodView(x.seq, fmt(x.due_at), yuan(x.principal_fen), yuan(x.fee_fen), yuan(x.total_fen))
            for x in sched.periods]


def plan_view(p: Product, plan: str, now: datetime, lang: str) -> PlanView:
    from datetime import timedelta

    sched = schedule.build(price_fen=p.price_fen, plan=plan, trial_end=now + timedelta(days=p.trial_days),
                           interest_free=p.interest_free)
    if sched.fee_bps:
        rule = (f"每期手续费为本金的 {sched.fee_bps / 100:g}%" if lang != "en"
                else f"Fee per period: {sched.fee_bps / 100:g}% of the principal")
    else:
        rule = "免息，无手续费" if lang != "en" else "Interest-free: no fees"
    return PlanView(
        plan=plan, label=text(f"plan.{plan}", lang),
        periods=period_views(sched),
        total_fee=yuan(sched.total_fee_fen), total=yuan(sched.total_fen), first_amount=yuan(sched.first.total_fen),
        first_due=fmt(sched.first.due_at), fee_rule=rule,
    )


def _shop_names(s: Session) -> dict[int, str]:
    return {m.id: m.name for m in s.exec(select(Merchant))}


def product_card(p: catalog.CatalogItem) -> ProductCard:
    return ProductCard(p.id, p.name, p.category, p.shop, yuan(p.price_fen), p.image, p.bnpl, p.trial_days, p.stock,
                       routes.product(p.id))


def product_cards(s: Session, *, bnpl_only: bool = False, query: str = "", cursor: str = "") -> Page[ProductCard]:
    """One page of the catalog (``services.catalog``): never the whole table."""
    return catalog.product_page(s, bnpl_only=bnpl_only, query=query, cursor=cursor).map(product_card)


def product_detail(s: Session, *, product_id: int, uid: int | None, lang: str, now: datetime) -> ProductDetail:
    p = checkout.get_product(s, product_id)
    d = ProductDetail(id=p.id, name=p.name, description=p.description, shop=_shop_names(s).get(p.merchant_id, ""),
                      price=yuan(p.price_fen), image=p.image, stock=p.stock, bnpl=p.bnpl_enabled,
                      trial_days=p.trial_days, min_score=p.min_score, interest_free=p.interest_free,
                      late_fee_rule=late_fee_rule(lang))
    if uid is not None:
        el = eligibility.check(s, uid=uid, product=p)
        d.checked = True
        d.eligible = el.eligible
        d.reasons = [Reason(f.rule, f.text(lang)) for f in el.failures]
    if p.bnpl_enabled:
        d.plans = [plan_view(p, plan, now, lang) for plan in p.plans if plan in POLICY.plans]
    return d


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


def confirm_line(s: Session, *, uid: int, product_id: int, plan: str, lang: str, now: datetime) -> ConfirmLine:
    p, sched = checkout.preview(s, uid=uid, product_id=product_id, plan=plan, clock=_At(now))
    first = sched.first
    methods = payments.methods_in_order(s, uid)
    method = next((m for m in methods if m.balance_fen >= first.total_fen), methods[0] if methods else None)
    el = eligibility.check(s, uid=uid, product=p)
    return ConfirmLine(
        product_id=p.id, name=p.name, plan=plan, plan_label=text(f"plan.{plan}", lang), price=yuan(p.price_fen),
        due_now=yuan(0), deduction_time=fmt(first.due_at), deduction_amount=yuan(first.total_fen),
        method=method.label if method else "—",
        periods=period_views(sched),
        total_fee=yuan(sched.total_fee_fen),
        problem="；".join(f.text(lang) for f in el.failures),
    )


class _At:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


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
    return text(f"note.{note}", lang) if f"note.{note}" in UI else note


def installment_view(i: Installment, product: str, lang: str, now: datetime) -> InstallmentView:
    from .domain.rules import days_overdue

    owed = payments.owed(i)
    return InstallmentView(
        id=i.id, order_id=i.order_id, product=product, seq=i.seq, periods=i.periods, due=fmt(i.due_at),
        month=china_month(i.due_at), principal=yuan(i.principal_fen),
        fee=yuan(i.fee_fen - i.fee_waived_fen), late_fee=yuan(i.late_fee_fen - i.late_fee_waived_fen),
        late_fee_fen=i.late_fee_fen - i.late_fee_waived_fen,
        owed=yuan(owed if i.status != IS.PAID else i.paid_fen), owed_fen=owed, status=i.status,
        status_label=text(f"status.{i.status}", lang), paid_at=fmt(i.paid_at),
        days_overdue=days_overdue(i.due_at, now) if i.status == IS.OVERDUE else 0,
        open=i.status in IS.OPEN, plan=i.plan_application_id is not None,
    )


def order_view(s: Session, o: Order, *, lang: str, now: datetime, detail: bool = False,
               planned: dict[int, tuple[str, str, str]] | None = None) -> OrderView:
    insts = orders.installments_of(s, o.id)
    v = OrderView(
        id=o.id, product=o.product_name, product_id=o.product_id, price=yuan(o.price_fen), plan=o.plan,
        plan_label=text(f"plan.{o.plan}", lang), status=o.status, status_label=text(f"status.{o.status}", lang),
        created=fmt(o.created_at), trial_end=fmt(o.trial_end_at, seconds=True), trial_end_ts=epoch(o.trial_end_at),
        in_trial=o.status in OS.IN_TRIAL, paused=o.status in OS.RETURNING,
        can_return=o.status == OS.TRIAL and o.trial_end_at > now, can_pay_now=o.status in OS.IN_TRIAL,
        frozen=yuan(o.price_fen) if o.status in OS.HOLDING else yuan(0), url=routes.order(o.id),
    )
    nxt = next((i for i in insts if i.status in (IS.PENDING, IS.SCHEDULED, IS.OVERDUE)), None)
    if nxt is not None and planned and nxt.id in planned:
        v.next_time, v.next_amount, v.next_method = planned[nxt.id]
    elif nxt is not None:
        v.next_amount = yuan(payments.owed(nxt))
        v.next_time = fmt(nxt.attempt_at or nxt.due_at)
    if detail:
        v.installments = [installment_view(i, o.product_name, lang, now) for i in insts
                          if i.status not in (IS.CANCELLED,)]
        v.timeline = [HoldStep(e.step, text(f"step.{e.step}", lang), fmt(e.at, seconds=True),
                               yuan(e.amount_fen) if e.amount_fen is not None else "", note_text(e.note, lang))
                      for e in orders.timeline(s, o.id)]
        ret = s.exec(select(ReturnRequest).where(ReturnRequest.order_id == o.id)).first()
        if ret is not None:
            v.tracking_no = ret.tracking_no
            v.return_status = ret.status
            v.return_status_label = text(f"status.{ret.status}", lang)
            v.inspect_deadline = fmt(ret.inspect_deadline_at) if ret.status == "RECEIVED" else ""
            v.rejection_reason = ret.reason or ""
            v.photos = [routes.upload_url(p.stored_name) for p in
                        s.exec(select(ReturnPhoto).where(ReturnPhoto.return_id == ret.id).order_by(ReturnPhoto.id))]
    return v


def planned_deductions(s: Session, *, uid: int, now: datetime) -> dict[int, tuple[str, str, str]]:
    """installment id → (when, amount, method) from the sweep's dry run."""
    from .services import bills

    return {p.installment_id: (fmt(p.at), yuan(p.amount_fen), p.method_label or "—")
            for p in bills.dry_run(s, uid=uid, clock=_At(now))}


def my_orders(s: Session, *, uid: int, lang: str, now: datetime, cursor: str = "") -> Page[OrderView]:
    """One page of the shopper's orders, newest first."""
    page = orders.orders_page(s, uid=uid, cursor=cursor)
    planned = planned_deductions(s, uid=uid, now=now) if page.items else {}
    return page.map(lambda o: order_view(s, o, lang=lang, now=now, planned=planned))


def my_order(s: Session, *, uid: int, order_id: int, lang: str, now: datetime) -> OrderView:
    o = orders.own_order(s, uid=uid, order_id=order_id)
    return order_view(s, o, lang=lang, now=now, detail=True, planned=planned_deductions(s, uid=uid, now=now))
