"""What the merchant console renders: small dataclasses built from ``services.console`` in the
reader's language. Money is pre-formatted from int fen (plus a plain-yuan string where a form
must show it for editing); times are China time, with epoch seconds for live countdowns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from .. import routes
from ..domain.clock import FixedClock, china_time
from ..domain.money import yuan, yuan_plain
from ..domain.policy import POLICY
from ..models import OrderStatus as OS, Product, ReturnStatus as RS
from ..services import console
from ..services.paging import Page
from ..words import text
from . import epoch, pct

# ── products ─────────────────────────────────────────────────────────────────────────────────
@dataclass
class ProductRow:
    id: int = 0
    name: str = ""
    category: str = ""
    description: str = ""
    price: str = ""
    price_input: str = ""
    stock: int = 0
    image: str = ""
    bnpl: bool = False
    trial_days: int = 0
    min_score: int = 0
    plans: str = ""
    plans_label: str = ""
    interest_free: bool = False
    open_trials: int = 0  # orders of this product still in trial (they keep their terms)
    url: str = ""
    version: str = ""  # changes when the saved settings change: re-keys the row's form inputs


@dataclass
class ShopView:
    name: str = ""
    cap: str = ""
    cap_input: str = ""
    platform_min_score: int = POLICY.platform_min_score


def product_row(p: Product, open_trials: int, lang: str) -> ProductRow:
    return ProductRow(
        id=p.id, name=p.name, category=p.category, description=p.description, price=yuan(p.price_fen),
        price_input=yuan_plain(p.price_fen, drop_zero_cents=True), stock=p.stock, image=p.image, bnpl=p.bnpl_enabled,
        trial_days=p.trial_days, min_score=p.min_score, plans=",".join(p.plans),
        plans_label=" · ".join(text(f"plan.{x}", lang) for x in p.plans), interest_free=p.interest_free,
        open_trials=open_trials, url=routes.product(p.id),
        version=f"{p.id}-{p.trial_days}-{p.min_score}-{p.allowed_plans}-{int(p.interest_free)}-{p.price_fen}-{p.stock}",
    )


def product_rows(s: Session, merchant_id: int, lang: str) -> list[ProductRow]:
    trials = console.open_trials(session=s, merchant_id=merchant_id)
    return [product_row(p, trials.get(p.id, 0), lang) for p in console.products(session=s, merchant_id=merchant_id)]


def shop_view(s: Session, merchant_id: int) -> ShopView:
    m = console.merchant(session=s, merchant_id=merchant_id)
    return ShopView(name=m.name, cap=yuan(m.shop_cap_fen), cap_input=yuan_plain(m.shop_cap_fen, drop_zero_cents=True))


# ── orders ───────────────────────────────────────────────────────────────────────────────────
@dataclass
class MerchantOrderRow:
    id: int = 0
    product: str = ""
    shopper: str = ""
    price: str = ""
    plan_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""
    trial_end: str = ""
    trial_end_ts: int = 0
    in_trial: bool = False  # the trial clock is running
    holding: bool = False  # the price is frozen on the shopper's limit
    frozen: str = ""
    outstanding: str = ""
    paid: str = ""
    return_label: str = ""


def order_row(o: console.OrderLine, lang: str) -> MerchantOrderRow:
    return MerchantOrderRow(
        id=o.id, product=o.product, shopper=o.shopper, price=yuan(o.price_fen), plan_label=text(f"plan.{o.plan}", lang),
        status=o.status, status_label=text(f"status.{o.status}", lang), created=china_time(o.created_at),
        trial_end=china_time(o.trial_end_at), trial_end_ts=epoch(o.trial_end_at), in_trial=o.status in OS.IN_TRIAL,
        holding=o.status in OS.HOLDING, frozen=yuan(o.frozen_fen), outstanding=yuan(o.outstanding_fen),
        paid=yuan(o.paid_fen), return_label=text(f"status.{o.return_status}", lang) if o.return_status else "",
    )


def order_rows(s: Session, merchant_id: int, lang: str, status: str = "", query: str = "",
               cursor: str = "") -> Page[MerchantOrderRow]:
    """One page of the shop's orders (``console.orders_page``)."""
    return console.orders_page(session=s, merchant_id=merchant_id, status=status, query=query, cursor=cursor).map(
        lambda o: order_row(o, lang))


# ── returns desk ─────────────────────────────────────────────────────────────────────────────
@dataclass
class ReturnRow:
    id: int = 0
    order_id: int = 0
    product: str = ""
    shopper: str = ""
    price: str = ""
    tracking_no: str = ""
    status: str = ""
    status_label: str = ""
    requested: str = ""
    received: str = ""
    deadline: str = ""
    deadline_ts: int = 0
    inspected: str = ""
    outcome_label: str = ""
    reason: str = ""
    photos: list[str] = field(default_factory=list)
    can_receive: bool = False
    can_inspect: bool = False


def return_row(r: console.ReturnLine, lang: str) -> ReturnRow:
    return ReturnRow(
        id=r.id, order_id=r.order_id, product=r.product, shopper=r.shopper, price=yuan(r.price_fen),
        tracking_no=r.tracking_no, status=r.status, status_label=text(f"status.{r.status}", lang),
        requested=china_time(r.requested_at), received=china_time(r.received_at), deadline=china_time(r.inspect_deadline_at),
        deadline_ts=epoch(r.inspect_deadline_at), inspected=china_time(r.inspected_at),
        outcome_label=text(f"mer.outcome.{r.outcome}", lang) if r.outcome else "", reason=r.reason,
        photos=[routes.upload_url(n) for n in r.photos], can_receive=r.status == RS.IN_TRANSIT,
        can_inspect=r.status == RS.RECEIVED,
    )


def return_rows(s: Session, merchant_id: int, lang: str, query: str = "", cursor: str = "") -> tuple[Page[ReturnRow], int]:
    """One page of the returns desk, and how many parcels in all wait for inspection."""
    page = console.returns_page(session=s, merchant_id=merchant_id, query=query, cursor=cursor).map(lambda r: return_row(r, lang))
    return page, console.returns_waiting(session=s, merchant_id=merchant_id)


# ── settlement ───────────────────────────────────────────────────────────────────────────────
@dataclass
class SettlementRow:
    day: str = ""
    captures: int = 0
    captured: str = ""
    fees: str = ""
    refunds: str = ""
    net: str = ""


@dataclass
class SettlementView:
    captured: str = ""
    fees: str = ""
    refunds: str = ""
    net: str = ""
    fee_rate: str = ""
    ledger_ok: bool = True
    days: list[SettlementRow] = field(default_factory=list)


def settlement_row(d: console.SettlementDay) -> SettlementRow:
    return SettlementRow(d.day.isoformat(), d.captures, yuan(d.captured_fen), yuan(d.fees_fen), yuan(d.refunds_fen),
                         yuan(d.net_fen))


def settlement_view(s: Session, merchant_id: int, cursor: str = "") -> tuple[SettlementView, Page[SettlementRow]]:
    """The totals over all time, and one page of the days (newest first)."""
    st = console.settlement_totals(session=s, merchant_id=merchant_id)
    page = console.settlement_days_page(session=s, merchant_id=merchant_id, cursor=cursor).map(settlement_row)
    return SettlementView(
        captured=yuan(st.captured_fen), fees=yuan(st.fees_fen), refunds=yuan(st.refunds_fen), net=yuan(st.net_fen),
        fee_rate=pct(POLICY.platform_fee_bps), ledger_ok=st.ledger_balance_fen == st.net_fen,
        days=page.items,
    ), page


def settlement_csv(s: Session, merchant_id: int, lang: str) -> str:
    return console.settlement_csv(settlement=console.settlement(session=s, merchant_id=merchant_id), lines=console.orders(session=s, merchant_id=merchant_id), lang=lang)


# ── analytics ────────────────────────────────────────────────────────────────────────────────
@dataclass
class MetricRow:
    name: str = ""
    orders: int = 0
    in_trial: int = 0
    decided: int = 0
    keep_rate: str = ""
    return_rate: str = ""
    damaged_rate: str = ""
    overdue_rate: str = ""
    keep_detail: str = ""
    return_detail: str = ""
    damaged_detail: str = ""
    overdue_detail: str = ""
    exposure: str = ""


@dataclass
class AnalyticsView:
    total: MetricRow = field(default_factory=MetricRow)
    products: list[MetricRow] = field(default_factory=list)
    # Chart series: numbers for the axes only (percent and whole yuan, display only); the exact
    # figures are in the tables beside them.
    product_chart: list[dict] = field(default_factory=list)
    weekly_chart: list[dict] = field(default_factory=list)
    exposure_chart: list[dict] = field(default_factory=list)
    exposure_now: str = ""


def _metric(name: str, r: console.Rates) -> MetricRow:
    return MetricRow(
        name=name, orders=r.orders, in_trial=r.in_trial, decided=r.decided,
        keep_rate=console.fmt_rate(r.keep), return_rate=console.fmt_rate(r.return_),
        damaged_rate=console.fmt_rate(r.damaged_rate), overdue_rate=console.fmt_rate(r.overdue_rate), keep_detail=f"{r.kept}/{r.decided}", return_detail=f"{r.returned}/{r.decided}",
        damaged_detail=f"{r.damaged}/{r.inspected}", overdue_detail=f"{r.overdue}/{r.kept}", exposure=yuan(r.exposure_fen),
    )


def _pct_int(permille: int | None) -> int:
    return 0 if permille is None else (permille + 5) // 10


def analytics(a: console.Analytics, lang: str) -> AnalyticsView:
    return AnalyticsView(
        total=_metric(text("mer.all_products", lang), a.total),
        products=[_metric(p.name, p.rates) for p in a.products],
        product_chart=[{"name": p.name, "keep": _pct_int(p.rates.keep), "returned": _pct_int(p.rates.return_),
                        "overdue": _pct_int(p.rates.overdue_rate)} for p in a.products if p.rates.orders],
        weekly_chart=[{"week": w.start.strftime("%m-%d"), "orders": w.rates.orders, "kept": w.rates.kept,
                       "returned": w.rates.returned, "overdue": w.rates.overdue} for w in a.weeks],
        exposure_chart=[{"day": d.strftime("%m-%d"), "exposure": fen // 100} for d, fen in a.exposure],
        exposure_now=yuan(a.total.exposure_fen),
    )


def analytics_view(s: Session, merchant_id: int, lang: str, now: datetime) -> AnalyticsView:
    return analytics(console.analytics(session=s, merchant_id=merchant_id, clock=FixedClock(now)), lang)
