"""What the shopper's account screens render (bills, credit, wallet, inbox, help), built from
``services.bills``, ``profile``, ``wallet`` and ``inbox`` in the reader's language. Money is
pre-formatted from int fen; the int is kept only where a screen sends it back (the amount a
repay button shows). The help page's and the terms' prose is the words catalog's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from .. import routes
from ..domain import rules
from ..domain.clock import FixedClock, china_time
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import (
    Application,
    ApplicationKind as AK,
    ApplicationStatus as AS,
    MethodKind as MK,
    Notification,
)
from ..services import bills, credit, inbox, payments, profile, wallet
from ..services.paging import Page
from ..words import has, render, render_reason, text
from . import MethodView, band_name, mask_phone, method_name, method_views, say
from .shop import InstallmentView, installment_view


# ── bills ───────────────────────────────────────────────────────────────────────────────────
@dataclass
class StatementView:
    month: str = ""
    total: str = ""
    paid: str = ""
    owed: str = ""
    count: int = 0  # installments in the month; a month split across pages shows fewer rows here
    rows: list[InstallmentView] = field(default_factory=list)


@dataclass
class EarlyView:
    order_id: int = 0
    product: str = ""
    open_count: int = 0
    total: str = ""
    total_fen: int = 0  # sent back: the amount the shopper saw
    saving: str = ""
    has_saving: bool = False


@dataclass
class PlannedView:
    installment_id: int = 0
    product: str = ""
    seq: int = 0
    periods: int = 0
    when: str = ""
    amount: str = ""
    method: str = ""
    covered: bool = True
    overdue: bool = False


@dataclass
class BillsView:
    statements: list[StatementView] = field(default_factory=list)
    early: list[EarlyView] = field(default_factory=list)
    planned: list[PlannedView] = field(default_factory=list)
    planned_more: int = 0  # planned deductions after those listed
    methods: list[MethodView] = field(default_factory=list)
    days_before: int = 0
    open_total: str = ""
    overdue_total: str = ""
    has_overdue: bool = False


def bill_label(kind: str, product: str, lang: str) -> str:
    """What a bill (or any contract) is for: a 先用后付 order's product; any other kind named first
    (备用金 · 租金 · 维修费), unless the product's name already says it (备用金借款)."""
    label = text(f"engine.kind.{kind}", lang)
    return product if kind == "bnpl" or product.startswith(label) else f"{label} · {product}"


def planned_view(p: bills.PlannedDeduction, lang: str) -> PlannedView:
    return PlannedView(p.installment_id, bill_label(p.kind, p.product, lang), p.seq, p.periods, china_time(p.at),
                       yuan(p.amount_fen),
                       method_name(p.method_kind, p.method_label, lang) if p.method_label else "",
                       p.method_label is not None, p.overdue)


def bills_view(b: bills.Overview, *, lang: str, now: datetime) -> tuple[BillsView, Page]:
    """The bills screen with one page of its statements' installments (latest due first): a
    statement shows the rows of that month on this page, its figures cover the whole month, and
    the totals above cover every bill. The page (positions, count) comes back beside the view."""
    rows = [installment_view(inst, bill_label(kind, product, lang), lang, now) for inst, product, kind in b.page.items]
    by_month: dict[str, StatementView] = {}
    for v in rows:
        by_month.setdefault(v.month, StatementView(month=v.month)).rows.insert(0, v)  # by due date within a month
    for month, st in by_month.items():
        sums = b.months[month]
        st.total, st.paid, st.owed = yuan(sums.total_fen), yuan(sums.paid_fen), yuan(sums.owed_fen)
        st.count = sums.installments
    early = [EarlyView(e.order_id, bill_label(e.kind, e.product, lang), len(e.quote.installment_ids), yuan(e.quote.total_fen), e.quote.total_fen,
                       yuan(e.quote.saving_fen), e.quote.saving_fen > 0) for e in b.early]
    planned = b.planned[:POLICY.page_size]  # the next ones; the rest are in the statements below
    return BillsView(
        statements=list(by_month.values()), early=early, planned=[planned_view(p, lang) for p in planned],
        planned_more=len(b.planned) - len(planned), methods=method_views(b.methods, lang), days_before=b.days_before,
        open_total=yuan(b.open_fen), overdue_total=yuan(b.overdue_fen), has_overdue=b.overdue_fen > 0,
    ), b.page.with_items(rows)


def my_bills(s: Session, *, uid: int, lang: str, now: datetime, cursor: str = "") -> tuple[BillsView, Page]:
    return bills_view(bills.overview(session=s, uid=uid, clock=FixedClock(now), cursor=cursor), lang=lang, now=now)


# ── credit ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class Change:
    """One step of the score or limit history, with why it happened."""

    at: str = ""
    old: str = ""
    new: str = ""
    up: bool = False
    reason: str = ""


@dataclass
class ApplicationView:
    id: int = 0
    kind: str = ""
    kind_label: str = ""
    status: str = ""
    status_label: str = ""
    created: str = ""
    decided: str = ""
    statement: str = ""
    detail: str = ""  # what was asked: the plan proposed, the waiver request
    decision: str = ""  # the operator's reason, or the terms granted
    proofs: list[str] = field(default_factory=list)


@dataclass
class CreditView:
    score: int = 0
    band: str = ""
    band_range: str = ""
    limit: str = ""
    has_limit: bool = False
    available: str = ""
    frozen: str = ""
    rental_held: str = ""  # of frozen, what rental deposits hold (租机押金冻结); "" when none
    outstanding: str = ""
    excess: str = ""
    has_excess: bool = False
    # widths of the stacked bar (share of max(limit, frozen + outstanding)), as CSS percentages
    w_available: str = "0%"
    w_frozen: str = "0%"
    w_outstanding: str = "0%"
    limit_at: str = "100%"  # where the limit falls on the bar when it was cut below what is used
    self_cap: str = ""
    spendable: str = ""
    status: str = ""
    status_label: str = ""
    terms_accepted: str = ""
    open_limit: str = ""  # the limit turning it on would give (the current one, or the band's start)
    open_orders: int = 0
    real_name: bool = False
    phone: str = ""
    has_method: bool = False  # a bound payment method
    auto_method: bool = False  # … that automatic deduction may use
    restorable: bool = False
    restorable_limit: str = ""
    restore_first: bool = False  # closed while suspended: reopening waits for a restoration
    overdue_owed: str = ""
    owes_overdue: bool = False
    hardship_ok: bool = False
    bad_debt: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # chart data: {at, score}
    score_changes: list[Change] = field(default_factory=list)
    limit_changes: list[Change] = field(default_factory=list)
    applications: list[ApplicationView] = field(default_factory=list)


def _share(part: int, scale: int) -> str:
    permille = part * 1000 // scale if scale else 0
    return f"{permille // 10}.{permille % 10}%"


def application_view(a: Application, proofs: list[str], lang: str) -> ApplicationView:
    if a.kind == AK.HARDSHIP:
        reason = text(f"credit.reason_{a.reason_category}", lang)
        waiver = text("credit.waiver_yes" if a.request_fee_waiver else "credit.waiver_no", lang)
        detail = f"{reason} · {a.proposed_installments or 0} {text('credit.periods', lang)} · {waiver}"
    else:
        detail = ""
    if a.status == AS.REJECTED:
        decision = a.decision_reason or ""
    elif a.status == AS.APPROVED and a.kind == AK.RESTORATION:
        decision = render("n.restored_terms", lang, limit=yuan(a.approved_limit_fen or 0))
    elif a.status == AS.APPROVED:
        decision = render("n.hardship_terms", lang, n=a.plan_installments or 0, waived=yuan(a.waived_fen or 0))
    else:
        decision = ""
    return ApplicationView(a.id, a.kind, render(f"kind.{a.kind}", lang), a.status,
                           text("credit.pending" if a.status == AS.PENDING else f"status.{a.status}", lang),
                           china_time(a.created_at), china_time(a.decided_at), a.statement, detail, decision, proofs)


def _change(e, old: str, new: str, lang: str) -> Change:
    return Change(china_time(e.at), old, new, e.new_value > e.old_value, render_reason(e.reason, lang))


def credit_view(c: profile.CreditProfile, *, lang: str, now: datetime) -> CreditView:
    acct, user = c.account, c.user
    band = POLICY.band_for(acct.score)
    scale = max(acct.limit_fen, acct.frozen_fen + acct.outstanding_fen)
    avail = credit.available(acct)
    scores = [e for e in c.history if e.kind == "score"]
    day = lambda dt: china_time(dt)[:10]  # noqa: E731
    history = ([(day(scores[0].at), scores[0].old_value)] if scores else []) + \
        [(day(e.at), e.new_value) for e in scores] + [(day(now), acct.score)]
    open_limit = acct.limit_fen or (POLICY.start_limit(acct.score) if acct.restorable_limit_fen is None else 0)
    return CreditView(
        score=acct.score, band=band_name(band, lang), band_range=f"{band.low}–{band.high}",
        limit=yuan(acct.limit_fen), has_limit=acct.limit_fen > 0, available=yuan(avail), frozen=yuan(acct.frozen_fen),
        outstanding=yuan(acct.outstanding_fen), excess=yuan(credit.excess(acct)), has_excess=credit.excess(acct) > 0,
        w_available=_share(avail, scale), w_frozen=_share(acct.frozen_fen, scale),
        w_outstanding=_share(acct.outstanding_fen, scale), limit_at=_share(acct.limit_fen, scale) if scale else "100%",
        self_cap=yuan(acct.self_cap_fen) if acct.self_cap_fen is not None else "", spendable=yuan(credit.spendable(acct)),
        status=acct.bnpl_status, status_label=text(f"status.{acct.bnpl_status}", lang),
        terms_accepted=china_time(acct.terms_accepted_at), open_orders=c.open_orders,
        open_limit=yuan(open_limit) if open_limit else "",
        real_name=bool(user.real_name_verified), phone=mask_phone(user.phone), has_method=c.has_method,
        auto_method=c.auto_method,
        restorable=acct.restorable_limit_fen is not None, restorable_limit=yuan(acct.restorable_limit_fen or 0),
        restore_first=acct.limit_fen == 0 and acct.restorable_limit_fen is not None,
        overdue_owed=yuan(c.overdue_owed_fen), owes_overdue=c.overdue_owed_fen > 0,
        hardship_ok=c.hardship_ok, bad_debt=acct.bad_debt,
        history=[{"at": at, "score": score} for at, score in history],
        score_changes=[_change(e, str(e.old_value), str(e.new_value), lang) for e in reversed(scores)][:10],
        limit_changes=[_change(e, yuan(e.old_value), yuan(e.new_value), lang)
                       for e in reversed(c.history) if e.kind == "limit"][:10],
        applications=[application_view(a, proofs, lang) for a, proofs in c.applications],
    )


def my_credit(s: Session, *, uid: int, lang: str, now: datetime) -> CreditView:
    from .rental import held_on_credit

    v = credit_view(profile.credit_profile(session=s, uid=uid, clock=FixedClock(now)), lang=lang, now=now)
    v.rental_held = held_on_credit(s, uid=uid)
    return v


# ── wallet ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class MovementView:
    """One money movement of the shopper's methods (a payment, a refund, a top-up)."""

    key: str = ""
    kind: str = ""  # topup | capture | refund | other
    kind_label: str = ""
    amount: str = ""  # signed: +¥10.00 in, −¥10.00 out
    incoming: bool = False
    at: str = ""
    method: str = ""
    order_id: int = 0


MOVEMENT_KINDS = ("topup", "capture", "refund")


def movement_views(moves: list[wallet.Movement], lang: str) -> list[MovementView]:
    out = []
    for mv in moves:
        kind = mv.kind if mv.kind in MOVEMENT_KINDS else "other"
        out.append(MovementView(mv.key, kind, text(f"move.{kind}", lang),
                                ("+" if mv.amount_fen >= 0 else "−") + yuan(abs(mv.amount_fen)), mv.amount_fen >= 0,
                                china_time(mv.at), method_name(mv.method_kind, mv.method_label, lang), mv.order_id or 0))
    return out


@dataclass
class WalletView:
    balance: str = ""
    methods: list[MethodView] = field(default_factory=list)  # bound ones, in the order deductions try them
    wallet_bound: bool = True  # False: the shopper unbound the wallet (no top-ups until they use it again)
    auto_count: int = 0  # how many of them automatic deduction may use
    movements: list[MovementView] = field(default_factory=list)  # the latest, newest first


def my_wallet(s: Session, *, uid: int, lang: str) -> WalletView:
    methods = payments.methods_in_order(session=s, uid=uid)
    return WalletView(yuan(wallet.balance_fen(session=s, uid=uid)), method_views(methods, lang),
                      any(m.kind == MK.WALLET for m in methods), sum(1 for m in methods if m.autopay),
                      movement_views(wallet.movements(session=s, uid=uid, limit=POLICY.page_size), lang))


# ── inbox ───────────────────────────────────────────────────────────────────────────────────
@dataclass
class NoticeView:
    id: int = 0
    kind: str = ""
    title: str = ""
    body: str = ""
    at: str = ""
    unread: bool = False
    link: str = ""  # where to act on it
    link_to: str = ""  # bills | credit | orders


_LINKS = {
    **dict.fromkeys(("deducted", "failed", "late_fee", "penalty", "bad_debt", "upcoming", "early_failed"),
                    ("bills", routes.BILLS)),
    **dict.fromkeys(("app_approved", "app_rejected", "suspended", "reward", "reward_step"), ("credit", routes.CREDIT)),
    **dict.fromkeys(("reminder", "paid", "return_received", "return_accepted", "return_rejected", "refund"),
                    ("orders", routes.ORDERS)),
}


def _params(n: Notification) -> dict:
    try:
        params = json.loads(n.params_json or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def notice_text(n: Notification, lang: str, method_kinds: dict[str, str]) -> tuple[str, str]:
    """Title and body in the reader's language from the stored parameters; the parts that were
    written in 中文 at send time (which application, the terms granted, the wallet's name) are
    rendered again from their keys. ``method_kinds``: the reader's methods' kinds by stored label."""
    params = _params(n)
    code = params.get("kind_code")
    if code in set(AK):
        params["kind"] = render(f"kind.{code}", lang)
        if n.kind == "app_approved" and code == AK.RESTORATION and "limit" in params:
            params["terms"] = render("n.restored_terms", lang, limit=params["limit"])
        elif n.kind == "app_approved" and code == AK.HARDSHIP and "n" in params:
            params["terms"] = render("n.hardship_terms", lang, n=params["n"], waived=params.get("waived", ""))
    if isinstance(label := params.get("method"), str) and method_kinds.get(label) == MK.WALLET:
        params["method"] = text("method.wallet", lang)
    return rules.notice_text(n.kind, params, lang) if has(f"n.{n.kind}.title") else (n.title, n.body)


def notice_view(n: Notification, lang: str, method_kinds: dict[str, str]) -> NoticeView:
    title, body = notice_text(n, lang, method_kinds)
    to, link = _LINKS.get(n.kind, ("", ""))
    return NoticeView(n.id, n.kind, title, body, china_time(n.created_at), n.read_at is None, link, to)


def my_notices(s: Session, *, uid: int, lang: str, cursor: str = "") -> Page[NoticeView]:
    """One page of the user's notices, newest first."""
    kinds = wallet.kinds_by_label(session=s, uid=uid)
    return inbox.page_for(session=s, uid=uid, cursor=cursor).map(lambda n: notice_view(n, lang, kinds))


# ── help and terms: every number from POLICY (``views.figures``) ───────────────────────────
@dataclass
class HelpSection:
    title: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class BandRow:
    scores: str = ""
    name: str = ""
    start: str = ""
    ceiling: str = ""


# Sections in the words catalog: ``<section>.title`` and its paragraphs ``<section>.1``, ``.2``, …
TERMS = ("terms.trial", "terms.deduction", "terms.fees", "terms.late")
HELP = ("help.what", "help.who", *TERMS, "help.returns", "help.rewards", "cash.help", "rental.help", "help.back")


def help_section(section: str, lang: str) -> HelpSection:
    lines, n = [], 1
    while has(f"{section}.{n}"):
        lines.append(say(f"{section}.{n}", lang))
        n += 1
    return HelpSection(say(f"{section}.title", lang), lines)


def bands(lang: str) -> list[BandRow]:
    return [BandRow(f"{b.low}–{b.high}", band_name(b, lang), yuan(b.start_limit_fen) if b.start_limit_fen else "—",
                    yuan(b.ceiling_fen) if b.ceiling_fen else "—") for b in POLICY.bands]


def terms(lang: str) -> list[HelpSection]:
    """What a shopper agrees to when opening 先用后付: trial, deduction, fees, overdue consequences."""
    return [help_section(x, lang) for x in TERMS]


def help_sections(lang: str) -> list[HelpSection]:
    """What it is and who can use it, then the terms, returns, rewards and getting back on track."""
    return [help_section(x, lang) for x in HELP]
