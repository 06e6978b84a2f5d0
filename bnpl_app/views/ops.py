"""What the operator desk renders: small dataclasses built from ``services.desk`` and the audit,
in the reader's language, money pre-formatted from int fen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from .. import routes
from ..domain.clock import FixedClock, china_time
from ..domain.money import yuan, yuan_plain
from ..domain.policy import POLICY
from ..domain.status import BNPL_STATUS_OF_CODE
from ..services import desk
from ..services.audit import AuditReport, run_audit
from ..services.paging import Page
from ..words import render, render_reason, text
from . import MethodView, band_name, capital, mask_phone, method_views
from .account import bill_label
from .shop import late_fee_net, overdue_days, shown_owed
from ..models import ApplicationStatus as AS


def _kind(kind: str, lang: str) -> str:
    return capital(render(f"kind.{kind}", lang))


@dataclass
class SummaryView:
    user_id: int = 0
    username: str = ""
    display_name: str = ""
    score: int = 0
    band: str = ""
    limit: str = ""
    available: str = ""
    frozen: str = ""
    outstanding: str = ""
    restorable: str = ""
    bnpl_status: str = ""
    bnpl_status_label: str = ""
    bad_debt: bool = False
    orders: int = 0
    orders_paid: int = 0
    orders_on_time: int = 0
    owed: str = ""
    overdue: str = ""
    late_fees: str = ""
    max_days_overdue: int = 0


def summary_view(s: desk.ShopperSummary, lang: str) -> SummaryView:
    return SummaryView(
        user_id=s.user_id, username=s.username, display_name=s.display_name, score=s.score, band=band_name(POLICY.band_for(s.score), lang),
        limit=yuan(s.limit_fen), available=yuan(s.available_fen), frozen=yuan(s.frozen_fen),
        outstanding=yuan(s.outstanding_fen),
        restorable=yuan(s.restorable_limit_fen) if s.restorable_limit_fen is not None else "—",
        bnpl_status=s.bnpl_status, bnpl_status_label=text(f"status.{s.bnpl_status}", lang), bad_debt=s.bad_debt,
        orders=s.orders, orders_paid=s.orders_paid, orders_on_time=s.orders_on_time, owed=yuan(s.owed_fen),
        overdue=yuan(s.overdue_fen), late_fees=yuan(s.late_fees_fen), max_days_overdue=s.max_days_overdue,
    )


@dataclass
class ProofView:
    url: str = ""
    label: str = ""
    is_image: bool = False
    kind: str = ""  # PNG, JPG, PDF …


def _proof(p: desk.ProofFile) -> ProofView:
    return ProofView(routes.upload_url(p.stored_name), p.label, p.is_image, p.content_type.split("/")[-1].upper())


# ── the queue ────────────────────────────────────────────────────────────────────────────────
@dataclass
class QueueRow:
    id: int = 0
    kind: str = ""
    kind_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""
    statement: str = ""
    proofs: int = 0
    url: str = ""
    shopper: SummaryView = field(default_factory=SummaryView)


def queue_row(i: desk.QueueItem, lang: str) -> QueueRow:
    return QueueRow(
        id=i.application.id, kind=i.application.kind, kind_label=_kind(i.application.kind, lang),
        status=i.application.status, status_label=text(f"ops.app.{i.application.status}", lang),
        created=china_time(i.application.created_at), statement=i.application.statement[:120], proofs=len(i.proofs),
        url=routes.ops_application(i.application.id), shopper=summary_view(i.shopper, lang),
    )


def queue_rows(s: Session, *, now: datetime, lang: str, status: str, query: str = "",
               cursor: str = "") -> Page[QueueRow]:
    """One page of the review queue (``desk.review_page``)."""
    return desk.review_page(session=s, clock=FixedClock(now), status=status, query=query, cursor=cursor).map(lambda i: queue_row(i, lang))


# ── one application ──────────────────────────────────────────────────────────────────────────
@dataclass
class EventView:
    at: str = ""
    kind: str = ""
    change: str = ""
    reason: str = ""


@dataclass
class AppDetail:
    id: int = 0
    kind: str = ""
    kind_label: str = ""
    status: str = ""
    status_label: str = ""
    pending: bool = False
    created: str = ""
    statement: str = ""
    reason_category: str = ""
    proposed_installments: int = 0
    request_fee_waiver: bool = False
    decided: str = ""
    decided_by: str = ""
    decision_reason: str = ""
    approved_limit: str = ""
    waived: str = ""
    plan_installments: int = 0
    late_fees: str = ""
    late_fees_input: str = ""
    restorable: str = ""
    restorable_input: str = ""
    hardship_principal: str = ""
    max_installments: int = POLICY.hardship_max_installments
    proofs: list[ProofView] = field(default_factory=list)
    shopper: SummaryView = field(default_factory=SummaryView)
    history: list[EventView] = field(default_factory=list)
    shopper_url: str = ""


def _event(e, lang: str) -> EventView:
    if e.kind == "limit":
        change = f"{yuan(e.old_value)} → {yuan(e.new_value)}"
    elif e.kind == "score":
        change = f"{e.old_value} → {e.new_value}"
    elif e.kind == "status" and {e.old_value, e.new_value} <= BNPL_STATUS_OF_CODE.keys():
        change = " → ".join(text(f"status.{BNPL_STATUS_OF_CODE[v]}", lang) for v in (e.old_value, e.new_value))
    else:
        change = ""
    return EventView(china_time(e.at), text(f"ops.event.{e.kind}", lang), change, render_reason(e.reason, lang))


def application_detail(s: Session, *, application_id: int, now: datetime, lang: str) -> AppDetail:
    d = desk.application_detail(session=s, application_id=application_id, clock=FixedClock(now))
    a = d.application
    return AppDetail(
        id=a.id, kind=a.kind, kind_label=_kind(a.kind, lang), status=a.status,
        status_label=text(f"ops.app.{a.status}", lang), pending=a.status == AS.PENDING, created=china_time(a.created_at),
        statement=a.statement, reason_category=text(f"ops.reason.{a.reason_category}", lang),
        proposed_installments=a.proposed_installments or 0, request_fee_waiver=a.request_fee_waiver,
        decided=china_time(a.decided_at), decided_by=d.decided_by, decision_reason=a.decision_reason or "",
        approved_limit=yuan(a.approved_limit_fen) if a.approved_limit_fen is not None else "",
        waived=yuan(a.waived_fen) if a.waived_fen is not None else "", plan_installments=a.plan_installments or 0,
        late_fees=yuan(d.late_fees_fen), late_fees_input=yuan_plain(d.late_fees_fen, drop_zero_cents=True),
        restorable=yuan(d.restorable_limit_fen), restorable_input=yuan_plain(d.restorable_limit_fen, drop_zero_cents=True),
        hardship_principal=yuan(d.hardship_principal_fen), proofs=[_proof(p) for p in d.proofs],
        shopper=summary_view(d.shopper, lang), history=[_event(e, lang) for e in d.history],
        shopper_url=f"{routes.OPS_SHOPPERS}?uid={a.shopper_id}",
    )


# ── shopper look-up ──────────────────────────────────────────────────────────────────────────
@dataclass
class ShopperHit:
    id: int = 0
    username: str = ""
    display_name: str = ""


@dataclass
class OrderLineView:
    id: int = 0
    product: str = ""
    price: str = ""
    plan_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""


@dataclass
class InstallmentLineView:
    id: int = 0
    order_id: int = 0
    seq: str = ""
    due: str = ""
    principal: str = ""
    owed: str = ""
    late_fee: str = ""
    status: str = ""
    status_label: str = ""
    days_overdue: int = 0


@dataclass
class PostingView:
    id: int = 0
    at: str = ""
    ledger: str = ""
    kind: str = ""
    debit: str = ""
    credit: str = ""
    amount: str = ""


@dataclass
class ApplicationLine:
    id: int = 0
    kind_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""
    url: str = ""


@dataclass
class CashView:
    """备用金 exposure: granted lines, principal drawn, overdue (one shopper's or the platform's)."""

    has: bool = False
    lines: int = 0
    line: str = ""
    available: str = ""
    outstanding: str = ""
    overdue: str = ""
    has_overdue: bool = False


@dataclass
class RentalView:
    """Rental exposure: rentals running, waived deposits still frozen, rent overdue."""

    has: bool = False
    active: int = 0
    held: int = 0
    held_amount: str = ""
    overdue: str = ""
    has_overdue: bool = False


def cash_view(c: desk.CashExposure) -> CashView:
    return CashView(c.lines > 0, c.lines, yuan(c.line_fen), yuan(c.available_fen), yuan(c.outstanding_fen),
                    yuan(c.overdue_fen), c.overdue_fen > 0)


def rental_view(r: desk.RentalExposure) -> RentalView:
    return RentalView(bool(r.active or r.held or r.overdue_fen), r.active, r.held, yuan(r.held_fen), yuan(r.overdue_fen),
                      r.overdue_fen > 0)


@dataclass
class ShopperFileView:
    found: bool = False
    summary: SummaryView = field(default_factory=SummaryView)
    self_cap: str = ""
    verified: bool = False
    phone: str = ""
    orders: list[OrderLineView] = field(default_factory=list)
    installments: list[InstallmentLineView] = field(default_factory=list)
    methods: list[MethodView] = field(default_factory=list)
    postings: list[PostingView] = field(default_factory=list)
    applications: list[ApplicationLine] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    cash: CashView = field(default_factory=CashView)
    rentals: RentalView = field(default_factory=RentalView)


def hits(s: Session, query: str, cursor: str = "") -> Page[ShopperHit]:
    """One page of the shoppers matching ``query``."""
    return desk.shoppers_page(session=s, query=query, cursor=cursor).map(lambda u: ShopperHit(u.id, u.username, u.display_name))


def file_view(f: desk.ShopperFile, *, now: datetime, lang: str) -> ShopperFileView:
    return ShopperFileView(
        found=True, summary=summary_view(f.summary, lang),
        self_cap=yuan(f.self_cap_fen) if f.self_cap_fen is not None else "—",
        verified=f.user.real_name_verified, phone=mask_phone(f.user.phone) or "—",
        orders=[OrderLineView(o.id, bill_label(o.kind, o.product_name, lang), yuan(o.price_fen), text(f"plan.{o.plan}", lang), o.status,
                              text(f"status.{o.status}", lang), china_time(o.created_at)) for o in f.orders],
        installments=[InstallmentLineView(
            i.id, i.order_id, f"{i.seq}/{i.periods}", china_time(i.due_at), yuan(i.principal_fen), yuan(shown_owed(i)),
            yuan(late_fee_net(i)), i.status, text(f"status.{i.status}", lang), overdue_days(i, now),
        ) for i in f.installments],
        methods=method_views(f.methods, lang),
        postings=[PostingView(p.id, china_time(p.at, seconds=True), p.ledger, p.kind, p.debit, p.credit, yuan(p.amount_fen))
                  for p in f.postings],
        applications=[ApplicationLine(a.id, _kind(a.kind, lang), a.status, text(f"ops.app.{a.status}", lang),
                                      china_time(a.created_at), routes.ops_application(a.id)) for a in f.applications],
        events=[_event(e, lang) for e in f.events],
        cash=cash_view(f.cash), rentals=rental_view(f.rentals),
    )


def shopper_file(s: Session, *, uid: int, now: datetime, lang: str) -> ShopperFileView:
    return file_view(desk.shopper_file(session=s, uid=uid, clock=FixedClock(now)), now=now, lang=lang)


# ── risk ─────────────────────────────────────────────────────────────────────────────────────
@dataclass
class BucketView:
    key: str = ""
    label: str = ""
    installments: int = 0
    shoppers: int = 0
    principal: str = ""
    owed: str = ""
    owed_yuan: int = 0  # chart axis only


@dataclass
class BadDebtView:
    user_id: int = 0
    username: str = ""
    display_name: str = ""
    owed: str = ""
    days: int = 0
    installments: int = 0
    url: str = ""


@dataclass
class RiskView:
    buckets: list[BucketView] = field(default_factory=list)
    chart: list[dict] = field(default_factory=list)  # owed per bucket in whole yuan, for the chart axis only
    bad_debts: list[BadDebtView] = field(default_factory=list)
    overdue: str = ""
    frozen: str = ""
    outstanding: str = ""
    suspended: int = 0
    cash: CashView = field(default_factory=CashView)
    rentals: RentalView = field(default_factory=RentalView)


def _bucket_label(b: desk.Bucket, lang: str) -> str:
    if b.high is None:
        return render("ops.bucket.bad_debt", lang, low=b.low)
    # day 0 (failed today) sits with the grace days: the label starts at day 1
    return render("ops.bucket.grace" if b.low == 0 else "ops.bucket.days", lang, low=max(1, b.low), high=b.high)


def risk_view(s: Session, *, now: datetime, lang: str) -> RiskView:
    r = desk.risk(session=s, clock=FixedClock(now))
    return RiskView(
        buckets=[BucketView(b.key, _bucket_label(b, lang), b.installments, b.shoppers, yuan(b.principal_fen),
                            yuan(b.owed_fen), b.owed_fen // 100) for b in r.buckets],
        chart=[{"bucket": b.key, "owed": b.owed_fen // 100} for b in r.buckets],
        bad_debts=[BadDebtView(b.user_id, b.username, b.display_name, yuan(b.owed_fen), b.days_overdue, b.installments,
                               f"{routes.OPS_SHOPPERS}?uid={b.user_id}") for b in r.bad_debts],
        overdue=yuan(r.overdue_fen), frozen=yuan(r.frozen_fen), outstanding=yuan(r.outstanding_fen),
        suspended=r.suspended, cash=cash_view(r.cash), rentals=rental_view(r.rentals),
    )


# ── audit ────────────────────────────────────────────────────────────────────────────────────
@dataclass
class CheckView:
    name: str = ""
    checked: int = 0
    ok: bool = True
    violations: list[str] = field(default_factory=list)


@dataclass
class AuditView:
    ran: bool = False
    ok: bool = True
    at: str = ""
    checks: list[CheckView] = field(default_factory=list)
    summary: str = ""


_CHECK_KEYS = {
    "every posting balances": "ops.audit.postings",
    "limit = available": "ops.audit.identity",
    "no installment is paid twice": "ops.audit.once",
    "payment-method balances": "ops.audit.methods",
    "merchant settlement": "ops.audit.settlement",
    "every refunded order": "ops.audit.refunds",
    "every order's principal": "ops.audit.quotes",
    "every automatic capture": "ops.audit.announced",
    "every failed attempt": "ops.audit.failures",
    "no order was created": "ops.audit.consent",
    "late fees never exceed": "ops.audit.fee_cap",
    "备用金 line": "ops.audit.cash_lines",
    "备用金 interest": "ops.audit.cash_interest",
    "every rental freeze": "ops.audit.rental_freezes",
}


def _check_name(name: str, lang: str) -> str:
    key = next((k for prefix, k in _CHECK_KEYS.items() if name.startswith(prefix)), None)
    return text(key, lang) if key else name


def audit_result(rep: AuditReport, *, now: datetime, lang: str) -> AuditView:
    checks = [CheckView(_check_name(c.name, lang), c.checked, c.ok, c.violations[:20]) for c in rep.checks]
    summary = text("ops.audit.clean", lang) if rep.ok else \
        render("ops.audit.found", lang, n=sum(len(c.violations) for c in rep.checks))
    return AuditView(ran=True, ok=rep.ok, at=china_time(now, seconds=True), checks=checks, summary=summary)


def audit_view(s: Session, *, now: datetime, lang: str) -> AuditView:
    return audit_result(run_audit(session=s), now=now, lang=lang)
