"""The merchant console's reads: the shop's orders (state, trial end, frozen amount), the returns
desk, settlement by day from the money ledger, its CSV export, and per-product analytics over time.

Everything is scoped by ``merchant_id`` — the caller passes the acting merchant's id from the
server-side session, never one the browser sent — and money is int fen throughout. Settlement is
read from the journal itself (postings of kind ``capture`` crediting ``mer:<id>`` and
``plat:service_fee``, and of kind ``refund`` debiting them back), so what the merchant sees is
exactly what the audit checks."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from ..domain import rules
from ..domain.clock import CST, UTC, Clock, aware, china_time
from ..domain.errors import NotFound
from ..domain.money import yuan_plain
from ..models import (
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Order,
    OrderKind,
    OrderStatus as OS,
    Posting,
    Product,
    ReturnOutcome as RO,
    ReturnPhoto,
    ReturnRequest,
    ReturnStatus as RS,
    User,
)
from ..words import text
from . import payments
from .ledger import LIMIT, MONEY, PLAT_SERVICE_FEE, mer
from .paging import Key, Keyset, Page, as_id, clean_query, contains, fetch

ORD = Order.__table__
INST = Installment.__table__
P = Posting.__table__
RET = ReturnRequest.__table__
USR = User.__table__

# The shop's catalog orders (先用后付 and ordinary purchases) are its orders list; rent and repair
# charges belong to its rentals, and the rates below are of 先用后付 orders only.
CATALOG_KINDS = (OrderKind.BNPL, OrderKind.BUY)
KEPT = (OS.DUE, OS.OVERDUE, OS.PAID)  # the trial ended (or was paid early) and the shopper kept it
DECIDED = (*KEPT, OS.RETURNED)
ORDER_LIMIT = 500  # a console page never ships more rows than this to a browser


def day_of(dt: datetime) -> date:
    """Business days are China days."""
    return dt.astimezone(CST).date()


def rate_permille(part: int, whole: int) -> int | None:
    """part / whole in ‰, rounded half up — ints only (None when there is nothing to divide)."""
    if whole <= 0:
        return None
    return (part * 2000 + whole) // (2 * whole)


def fmt_rate(permille: int | None) -> str:
    return "—" if permille is None else f"{permille // 10}.{permille % 10}%"


def merchant(*, session: Session, merchant_id: int) -> Merchant:
    m = session.get(Merchant, merchant_id)
    if m is None:
        raise NotFound("shop")
    return m


def products(*, session: Session, merchant_id: int) -> list[Product]:
    return list(session.execute(sa.select(Product).where(Product.merchant_id == merchant_id).order_by(Product.id)).scalars())


def open_trials(*, session: Session, merchant_id: int) -> dict[int, int]:
    """product id → the shop's orders of it still holding the price (in trial or being returned)."""
    return {pid: int(n) for pid, n in session.execute(
        sa.select(Order.product_id, sa.func.count()).where(Order.merchant_id == merchant_id, Order.status.in_(OS.HOLDING))
        .group_by(Order.product_id))}


# ── orders ───────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class OrderLine:
    id: int
    product_id: int
    product: str
    shopper: str
    price_fen: int
    plan: str
    status: str
    created_at: datetime
    trial_end_at: datetime
    frozen_fen: int  # held against the shopper's limit while the order is in trial or returning
    outstanding_fen: int  # principal billed and not yet paid
    paid_fen: int  # captured so far (principal + fees, what the shopper paid)
    return_status: str


def _order_select(merchant_id: int, status: str = ""):
    q = (sa.select(ORD.c.id, ORD.c.product_id, ORD.c.product_name, USR.c.display_name, ORD.c.price_fen, ORD.c.plan,
                   ORD.c.status, ORD.c.created_at, ORD.c.trial_end_at)
         .join(USR, USR.c.id == ORD.c.shopper_id).where(ORD.c.merchant_id == merchant_id, ORD.c.kind.in_(CATALOG_KINDS)))
    return q.where(ORD.c.status == status) if status else q


def _order_lines(session: Session, rows) -> list[OrderLine]:
    """Order rows with what each one holds now: frozen, outstanding, paid, its return's state."""
    ids = [r.id for r in rows]
    outstanding: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    if ids:
        for oid, st, principal, paid_fen in session.execute(
                sa.select(INST.c.order_id, INST.c.status, INST.c.principal_fen, INST.c.paid_fen)
                .where(INST.c.order_id.in_(ids))):
            if st in IS.OPEN:
                outstanding[oid] += principal
            elif st == IS.PAID:
                paid[oid] += paid_fen
    returns = dict(session.execute(sa.select(RET.c.order_id, RET.c.status).where(RET.c.order_id.in_(ids))).all()) if ids else {}
    return [OrderLine(r.id, r.product_id, r.product_name, r.display_name, r.price_fen, r.plan, r.status,
                      aware(r.created_at), aware(r.trial_end_at),
                      r.price_fen if r.status in OS.HOLDING else 0, outstanding[r.id], paid[r.id],
                      returns.get(r.id, ""))
            for r in rows]


def orders(*, session: Session, merchant_id: int, status: str = "") -> list[OrderLine]:
    """The newest ``ORDER_LIMIT`` orders (the CSV export); the screen reads ``orders_page``."""
    rows = session.execute(_order_select(merchant_id, status).order_by(ORD.c.id.desc()).limit(ORDER_LIMIT)).all()
    return _order_lines(session, rows)


SHOP_ORDERS = Keyset("shop_orders", (Key(ORD.c.id, int, desc=True),))


def orders_page(*, session: Session, merchant_id: int, status: str = "", query: str = "", cursor: str = "",
                size: int | None = None) -> Page[OrderLine]:
    """One page of the shop's orders, newest first; ``query`` finds an order by its number or by
    the shopper's name or username (or the product's name)."""
    q = _order_select(merchant_id, status)
    text = clean_query(query)
    if text:
        match = [contains(USR.c.display_name, text), contains(USR.c.username, text), contains(ORD.c.product_name, text)]
        if (oid := as_id(text)) is not None:
            match.append(ORD.c.id == oid)
        q = q.where(sa.or_(*match))
    page = fetch(session=session, stmt=q, keyset=SHOP_ORDERS, cursor=cursor, size=size)
    return page.with_items(_order_lines(session, page.items))


# ── the returns desk ─────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ReturnLine:
    id: int
    order_id: int
    product: str
    shopper: str
    price_fen: int
    tracking_no: str
    status: str  # IN_TRANSIT RECEIVED ACCEPTED REJECTED
    requested_at: datetime
    received_at: datetime | None
    inspect_deadline_at: datetime | None
    inspected_at: datetime | None
    outcome: str
    reason: str
    photos: list[str] = field(default_factory=list)  # stored names


# Work first: parcels waiting for inspection (nearest deadline first), then those on the way,
# then the decided ones; newest first within each.
_RETURN_ORDER = {RS.RECEIVED: 0, RS.IN_TRANSIT: 1, RS.REJECTED: 2, RS.ACCEPTED: 3}
_FAR = datetime(9999, 12, 31, tzinfo=UTC)  # "no deadline": after every real one
_RANK = sa.case(_RETURN_ORDER, value=RET.c.status, else_=len(_RETURN_ORDER))
_DEADLINE = sa.case((RET.c.status == RS.RECEIVED, sa.func.coalesce(RET.c.inspect_deadline_at, sa.literal(_FAR, RET.c.inspect_deadline_at.type))),
                    else_=sa.literal(_FAR, RET.c.inspect_deadline_at.type))
RETURNS_DESK = Keyset("returns", (Key(_RANK, int), Key(_DEADLINE, datetime), Key(RET.c.id, int, desc=True)))


def _return_lines(session: Session, rows: list[ReturnRequest]) -> list[ReturnLine]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    photos: dict[int, list[str]] = defaultdict(list)
    for rid, name in session.execute(sa.select(ReturnPhoto.return_id, ReturnPhoto.stored_name)
                                     .where(ReturnPhoto.return_id.in_(ids)).order_by(ReturnPhoto.id)):
        photos[rid].append(name)
    orders_by_id = {o.id: o for o in session.execute(
        sa.select(Order).where(Order.id.in_([r.order_id for r in rows]))).scalars()}
    names = dict(session.execute(sa.select(User.id, User.display_name)
                                 .where(User.id.in_({r.shopper_id for r in rows}))).all())
    return [ReturnLine(r.id, r.order_id, orders_by_id[r.order_id].product_name, names.get(r.shopper_id, ""),
                       orders_by_id[r.order_id].price_fen, r.tracking_no, r.status, r.requested_at, r.received_at,
                       r.inspect_deadline_at, r.inspected_at, r.outcome or "", r.reason or "", photos[r.id])
            for r in rows]


def returns_desk(*, session: Session, merchant_id: int) -> list[ReturnLine]:
    """The first ``ORDER_LIMIT`` returns in desk order (work first); the screen reads ``returns_page``."""
    rows = list(session.execute(sa.select(ReturnRequest).where(ReturnRequest.merchant_id == merchant_id)
                                .order_by(*RETURNS_DESK.order_by()).limit(ORDER_LIMIT)).scalars())
    return _return_lines(session, rows)


def returns_page(*, session: Session, merchant_id: int, query: str = "", cursor: str = "",
                 size: int | None = None) -> Page[ReturnLine]:
    """One page of the returns desk in desk order; ``query`` finds a return by its order number or
    tracking number."""
    q = sa.select(ReturnRequest).where(ReturnRequest.merchant_id == merchant_id)
    text = clean_query(query)
    if text:
        match = [contains(RET.c.tracking_no, text)]
        if (oid := as_id(text)) is not None:
            match.append(RET.c.order_id == oid)
        q = q.where(sa.or_(*match))
    page = fetch(session=session, stmt=q, keyset=RETURNS_DESK, cursor=cursor, size=size)
    return page.with_items(_return_lines(session, page.items))


def returns_waiting(*, session: Session, merchant_id: int) -> int:
    """Parcels received and waiting for this shop's inspection (all of them, not one page)."""
    return int(session.execute(sa.select(sa.func.count()).select_from(RET).where(
        RET.c.merchant_id == merchant_id, RET.c.status == RS.RECEIVED)).scalar_one())


# ── settlement from the ledger ───────────────────────────────────────────────────────────────
@dataclass
class SettlementDay:
    day: date
    captured_fen: int = 0  # principal captured from shoppers for this shop's orders
    fees_fen: int = 0  # the platform service fee taken from it, less the service fee of refunds
    refunds_fen: int = 0  # principal refunded to shoppers (returns accepted after paying)
    captures: int = 0  # how many installment captures

    @property
    def net_fen(self) -> int:
        return self.captured_fen - self.fees_fen - self.refunds_fen


@dataclass
class Settlement:
    days: list[SettlementDay]
    captured_fen: int
    fees_fen: int
    refunds_fen: int
    net_fen: int
    ledger_balance_fen: int  # balance of mer:<id> in the journal: must equal net_fen


class china_day(FunctionElement):
    """The China-time calendar day of a UTC timestamp column, as ``YYYY-MM-DD`` text (which sorts
    as the days do) — the business day of ``day_of``, computed by the database so settlement can
    be summed and paged by day. China keeps one offset all year."""

    type = sa.String()
    inherit_cache = True


_CST_HOURS = int(CST.utcoffset(None).total_seconds()) // 3600


@compiles(china_day, "sqlite")
def _china_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(list(element.clauses)[0], **kw)}, '+{_CST_HOURS} hours')"


@compiles(china_day, "postgresql")
def _china_day_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char(({col} AT TIME ZONE 'UTC') + INTERVAL '{_CST_HOURS} hours', 'YYYY-MM-DD')"


def _settlement_parts(merchant_id: int):
    """Which money postings are this shop's settlement, and what each counts as: a capture's
    share for the shop and platform service fee (captured = both; fees = the service fee), and a
    refund's share and service fee given back (refunds = both, the principal refunded; the
    service fee refunded comes off the fees). So captured − fees − refunds = the shop's share
    kept = the balance of ``mer:<id>``."""
    acct = mer(merchant_id)
    shop_orders = sa.select(ORD.c.id).where(ORD.c.merchant_id == merchant_id)
    mine = P.c.order_id.in_(shop_orders)
    # What else is paid to the shop (a rental's buy-out, a repair from a deposit, a purchase paid
    # from 备用金): every other posting with a leg to ``mer:<id>``, its service fee leg with it.
    paid_to_shop = sa.select(P.c.posting_key).where(P.c.credit_account == acct, P.c.ledger == MONEY)
    other = sa.and_(P.c.posting_key.in_(paid_to_shop), sa.not_(sa.and_(P.c.kind.in_(("capture", "refund")), mine)))
    captured = sa.or_(sa.and_(P.c.kind == "capture", mine), other)
    refunded = sa.and_(P.c.kind == "refund", mine)
    share = sa.and_(captured, P.c.credit_account == acct)
    fee = sa.and_(captured, P.c.credit_account == PLAT_SERVICE_FEE)
    share_back = sa.and_(refunded, P.c.debit_account == acct)
    fee_back = sa.and_(refunded, P.c.debit_account == PLAT_SERVICE_FEE)
    where = sa.and_(P.c.ledger == MONEY, sa.or_(
        sa.and_(captured, P.c.credit_account.in_((acct, PLAT_SERVICE_FEE))),
        sa.and_(refunded, P.c.debit_account.in_((acct, PLAT_SERVICE_FEE)))))
    amount = P.c.amount_fen
    total = lambda expr: sa.func.coalesce(sa.func.sum(expr), 0)  # noqa: E731
    sums = (
        total(sa.case((sa.and_(share, P.c.kind == "capture"), 1), else_=0)).label("captures"),
        total(sa.case((share, amount), (fee, amount), else_=0)).label("captured"),
        total(sa.case((fee, amount), (fee_back, -amount), else_=0)).label("fees"),
        total(sa.case((share_back, amount), (fee_back, amount), else_=0)).label("refunds"),
    )
    return where, sums


_DAY = china_day(P.c.created_at)
SETTLEMENT_DAYS = Keyset("settlement", (Key(_DAY, str, desc=True),))


def _settlement_days(merchant_id: int):
    where, sums = _settlement_parts(merchant_id)
    return sa.select(_DAY.label("day"), *sums).where(where).group_by(_DAY)


def _day(r) -> SettlementDay:
    return SettlementDay(date.fromisoformat(r.day), int(r.captured), int(r.fees), int(r.refunds), int(r.captures))


def settlement_totals(*, session: Session, merchant_id: int) -> Settlement:
    """The shop's settlement over all time (no days): captured, fees, refunds, net, and the
    journal's balance of ``mer:<id>`` that net must equal."""
    where, sums = _settlement_parts(merchant_id)
    t = session.execute(sa.select(*sums).where(where)).one()
    captured, fees, refunds = int(t.captured), int(t.fees), int(t.refunds)
    acct = mer(merchant_id)
    bal = session.execute(sa.select(
        sa.func.coalesce(sa.select(sa.func.sum(P.c.amount_fen)).where(P.c.credit_account == acct).scalar_subquery(), 0)
        - sa.func.coalesce(sa.select(sa.func.sum(P.c.amount_fen)).where(P.c.debit_account == acct).scalar_subquery(), 0)
    )).scalar_one()
    return Settlement([], captured, fees, refunds, captured - fees - refunds, int(bal))


def settlement_days_page(*, session: Session, merchant_id: int, cursor: str = "",
                         size: int | None = None) -> Page[SettlementDay]:
    """One page of the settlement by China day, newest first."""
    return fetch(session=session, stmt=_settlement_days(merchant_id), keyset=SETTLEMENT_DAYS, cursor=cursor, size=size).map(_day)


def settlement(*, session: Session, merchant_id: int) -> Settlement:
    """Per China day, newest first, every day (the CSV export). Captured = the merchant's share +
    the service fee of each capture posting of this shop's orders; net = captured − fees − refunds."""
    st = settlement_totals(session=session, merchant_id=merchant_id)
    st.days = [_day(r) for r in session.execute(_settlement_days(merchant_id).order_by(*SETTLEMENT_DAYS.order_by()))]
    return st


def settlement_csv(*, settlement: Settlement, lines: list[OrderLine], lang: str = "zh") -> str:
    """A spreadsheet-safe CSV: the daily settlement, then the shop's orders. Cells that could be
    read as formulas (=, +, -, @) are quoted with a leading apostrophe."""

    def safe(v: object) -> str:
        text = str(v)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text

    def heads(*names: str) -> list[str]:
        return [text(f"csv.{n}", lang) for n in names]

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(heads("date", "captures", "captured", "platform_fee", "refunds", "net"))
    for d in settlement.days:
        w.writerow([d.day.isoformat(), d.captures, yuan_plain(d.captured_fen), yuan_plain(d.fees_fen),
                    yuan_plain(d.refunds_fen), yuan_plain(d.net_fen)])
    w.writerow([text("csv.total", lang), "", yuan_plain(settlement.captured_fen), yuan_plain(settlement.fees_fen),
                yuan_plain(settlement.refunds_fen), yuan_plain(settlement.net_fen)])
    w.writerow([])
    w.writerow(heads("order", "product", "shopper", "price", "plan", "status", "ordered_at", "trial_end", "frozen",
                     "outstanding", "paid"))
    for o in lines:
        w.writerow([o.id, safe(o.product), safe(o.shopper), yuan_plain(o.price_fen), o.plan, o.status,
                    china_time(o.created_at),
                    china_time(o.trial_end_at), yuan_plain(o.frozen_fen),
                    yuan_plain(o.outstanding_fen), yuan_plain(o.paid_fen)])
    return buf.getvalue()


def _is_number(text: str) -> bool:
    try:
        float(text)  # a check of the text only; nothing is computed with it
        return True
    except ValueError:
        return False


# ── analytics ────────────────────────────────────────────────────────────────────────────────
@dataclass
class Rates:
    """Counts behind the rates; the rates are derived (‰, ints)."""

    orders: int = 0  # placed
    decided: int = 0  # trial over: kept or returned
    kept: int = 0
    returned: int = 0
    inspected: int = 0  # returns the merchant (or the deadline) decided
    damaged: int = 0  # … of which rejected as damaged
    overdue: int = 0  # kept orders with an installment that went overdue
    in_trial: int = 0
    exposure_fen: int = 0  # frozen + outstanding now

    @property
    def keep(self) -> int | None:
        return rate_permille(self.kept, self.decided)

    @property
    def return_(self) -> int | None:
        return rate_permille(self.returned, self.decided)

    @property
    def damaged_rate(self) -> int | None:
        return rate_permille(self.damaged, self.inspected)

    @property
    def overdue_rate(self) -> int | None:
        return rate_permille(self.overdue, self.kept)


@dataclass
class ProductRates:
    product_id: int
    name: str
    rates: Rates


@dataclass
class Period:
    """One week (Monday, China time) of orders placed, with what became of them."""

    start: date
    rates: Rates


@dataclass
class Analytics:
    total: Rates
    products: list[ProductRates]
    weeks: list[Period]
    exposure: list[tuple[date, int]]  # end-of-day frozen + outstanding, from the limit ledger


def _overdue_orders(session: Session, merchant_id: int) -> set[int]:
    """The shop's orders with an installment that was late by the one on-time rule
    (``rules.installment_was_late`` — the shopper's reward decides by it too): it went overdue
    (paid late or not yet), was penalised, or was folded into a hardship plan. Never ``paid_at >
    due_at``: the sweep runs some seconds after a due instant, which is on time."""
    shop_orders = sa.select(ORD.c.id).where(ORD.c.merchant_id == merchant_id, ORD.c.kind == OrderKind.BNPL)
    return {oid for oid, *late in session.execute(
        sa.select(INST.c.order_id, *payments.LATE_COLUMNS).where(INST.c.order_id.in_(shop_orders)))
        if rules.installment_was_late(*late)}


def _exposure_by_order(session: Session, merchant_id: int, upto: datetime | None = None) -> list[tuple[int, datetime, int]]:
    """(order id, when, signed change of frozen + outstanding) for each limit posting of this shop's orders."""
    shop_orders = sa.select(ORD.c.id).where(ORD.c.merchant_id == merchant_id, ORD.c.kind == OrderKind.BNPL)
    out = []
    for oid, debit, credit, amount, at in session.execute(
            sa.select(P.c.order_id, P.c.debit_account, P.c.credit_account, P.c.amount_fen, P.c.created_at)
            .where(P.c.ledger == LIMIT, P.c.order_id.in_(shop_orders)).order_by(P.c.id)):
        held = lambda a: a.endswith(":frozen") or a.endswith(":outstanding")  # noqa: E731
        delta = (amount if held(credit) else 0) - (amount if held(debit) else 0)
        if delta:
            out.append((oid, aware(at), delta))
    return out


def analytics(*, session: Session, merchant_id: int, clock: Clock, days: int = 60) -> Analytics:
    now = clock.now()
    rows = session.execute(sa.select(ORD.c.id, ORD.c.product_id, ORD.c.status, ORD.c.created_at)
                           .where(ORD.c.merchant_id == merchant_id, ORD.c.kind == OrderKind.BNPL)).all()
    ids = [r.id for r in rows]
    overdue = _overdue_orders(session, merchant_id)
    inspected: dict[int, str] = {}
    if ids:
        inspected = dict(session.execute(sa.select(RET.c.order_id, RET.c.outcome)
                                         .where(RET.c.merchant_id == merchant_id, RET.c.status.in_((RS.ACCEPTED, RS.REJECTED)))).all())
    moves = _exposure_by_order(session, merchant_id)
    exposure_now: dict[int, int] = defaultdict(int)
    for oid, _at, delta in moves:
        exposure_now[oid] += delta

    names = {p.id: p.name for p in products(session=session, merchant_id=merchant_id)}
    total = Rates()
    per_product: dict[int, Rates] = {pid: Rates() for pid in names}
    per_week: dict[date, Rates] = {}
    for r in rows:
        created = day_of(aware(r.created_at))
        week = created - timedelta(days=created.weekday())
        for rates in (total, per_product.setdefault(r.product_id, Rates()), per_week.setdefault(week, Rates())):
            rates.orders += 1
            if r.status in OS.HOLDING:
                rates.in_trial += 1
            if r.status in DECIDED:
                rates.decided += 1
            if r.status in KEPT:
                rates.kept += 1
                if r.id in overdue:
                    rates.overdue += 1
            if r.status == OS.RETURNED:
                rates.returned += 1
            if r.id in inspected:
                rates.inspected += 1
                if inspected[r.id] == RO.DAMAGED:
                    rates.damaged += 1
            rates.exposure_fen += exposure_now[r.id]

    # End-of-day exposure for the last ``days`` days (China time), replaying the limit postings.
    today = day_of(now)
    start = today - timedelta(days=days - 1)
    series: list[tuple[date, int]] = []
    running = 0
    moves_by_day: dict[date, int] = defaultdict(int)
    for _oid, at, delta in moves:
        d = day_of(at)
        if d < start:
            running += delta
        else:
            moves_by_day[d] += delta
    d = start
    while d <= today:
        running += moves_by_day.get(d, 0)
        series.append((d, running))
        d += timedelta(days=1)

    return Analytics(
        total=total,
        products=[ProductRates(pid, names.get(pid, f"#{pid}"), rates) for pid, rates in sorted(per_product.items())],
        weeks=[Period(w, per_week[w]) for w in sorted(per_week)],
        exposure=series,
    )
