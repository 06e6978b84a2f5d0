"""What the shopper's account screens render (bills, credit, wallet, inbox, help), built from the
services in the reader's language. Money is pre-formatted from int fen; the int is kept only
where a screen sends it back (the amount a repay button shows). Never ORM rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from . import routes
from .domain.clock import FixedClock
from .domain.errors import DomainError
from .domain.messages import render, render_reason
from .domain.money import yuan
from .domain.policy import POLICY
from .i18n import text
from .models import (
    Application,
    ApplicationProof,
    CreditEvent,
    Notification,
    Order,
    OrderStatus as OS,
    PaymentMethod,
    User,
)
from .pages import words_account  # noqa: F401  (the words these views use)
from .services import applications, bills, credit, inbox, payments
from .services.paging import Page
from .views import InstallmentView, fmt, installment_view


def pct(bps: int) -> str:
    """Basis points as a percentage for reading (60 → 0.6%), without floats."""
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


def method_label(m: PaymentMethod, lang: str) -> str:
    return render("method.wallet", lang).capitalize() if m.kind == "wallet" else m.label


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
class MethodView:
    id: int = 0
    kind: str = ""
    label: str = ""
    balance: str = ""
    rank: int = 0  # 1 = tried first


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


def methods_of(s: Session, uid: int, lang: str) -> list[MethodView]:
    return [MethodView(m.id, m.kind, method_label(m, lang), yuan(m.balance_fen), k + 1)
            for k, m in enumerate(payments.methods_in_order(s, uid))]


def my_bills(s: Session, *, uid: int, lang: str, now: datetime, cursor: str = "") -> tuple[BillsView, Page]:
    """The bills screen with one page of its statements' installments (latest due first): a
    statement shows the rows of that month on this page, its figures cover the whole month, and
    the totals above cover every bill. The page (positions, count) comes back beside the view."""
    page = bills.installments_page(s, uid=uid, cursor=cursor)
    rows = [installment_view(inst, product, lang, now) for inst, product in page.items]
    by_month: dict[str, StatementView] = {}
    for v in rows:
        by_month.setdefault(v.month, StatementView(month=v.month)).rows.insert(0, v)  # by due date within a month
    for month, sums in bills.statement_sums(s, uid=uid, months=list(by_month)).items():
        st = by_month[month]
        st.total, st.paid, st.owed = yuan(sums.total_fen), yuan(sums.paid_fen), yuan(sums.owed_fen)
        st.count = sums.installments
    open_total, overdue_total = bills.open_totals(s, uid=uid)
    early = []
    for o in s.exec(select(Order).where(Order.shopper_id == uid, Order.status.in_(OS.BILLED)).order_by(Order.id)):
        try:
            q = bills.early_quote(s, uid=uid, order_id=o.id, now=now)
        except DomainError:
            continue
        if len(q.installment_ids) < 2:
            continue  # one installment left: that is a plain repayment, offered on its row
        early.append(EarlyView(o.id, o.product_name, len(q.installment_ids), yuan(q.total_fen), q.total_fen,
                               yuan(q.saving_fen), q.saving_fen > 0))
    labels = {m.id: method_label(m, lang) for m in payments.methods_in_order(s, uid)}
    raw_labels = {m.label: labels[m.id] for m in payments.methods_in_order(s, uid)}
    planned_all = [PlannedView(p.installment_id, p.product, p.seq, p.periods, fmt(p.at), yuan(p.amount_fen),
                           raw_labels.get(p.method_label, p.method_label) if p.method_label else "",
                           p.method_label is not None, p.overdue)
               for p in bills.dry_run(s, uid=uid, clock=FixedClock(now))]
    planned = planned_all[:POLICY.page_size]  # the next ones; the rest are in the statements below
    return BillsView(
        statements=list(by_month.values()), early=early, planned=planned,
        planned_more=len(planned_all) - len(planned),
        methods=methods_of(s, uid, lang), days_before=credit.account(s, uid).autopay_days_before,
        open_total=yuan(open_total), overdue_total=yuan(overdue_total), has_overdue=overdue_total > 0,
    ), page.with_items(rows)


# ── credit ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class ScorePoint:
    at: str = ""
    score: int = 0


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
    has_method: bool = False
    restorable: bool = False
    restorable_limit: str = ""
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


def _mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else ""


def application_view(s: Session, a: Application, lang: str) -> ApplicationView:
    kind_label = render(f"kind.{a.kind}", lang)
    if a.kind == "hardship":
        reason = text(f"credit.reason_{a.reason_category}", lang)
        waiver = text("credit.waiver_yes" if a.request_fee_waiver else "credit.waiver_no", lang)
        detail = f"{reason} · {a.proposed_installments or 0} {text('credit.periods', lang)} · {waiver}"
    else:
        detail = ""
    if a.status == "REJECTED":
        decision = a.decision_reason or ""
    elif a.status == "APPROVED" and a.kind == "restoration":
        decision = render("n.restored_terms", lang, limit=yuan(a.approved_limit_fen or 0))
    elif a.status == "APPROVED":
        decision = render("n.hardship_terms", lang, n=a.plan_installments or 0, waived=yuan(a.waived_fen or 0))
    else:
        decision = ""
    proofs = [p.label for p in s.exec(select(ApplicationProof).where(ApplicationProof.application_id == a.id)
                                      .order_by(ApplicationProof.id))]
    return ApplicationView(a.id, a.kind, kind_label, a.status,
                           text("credit.pending", lang) if a.status == "PENDING" else text(f"status.{a.status}", lang),
                           fmt(a.created_at), fmt(a.decided_at), a.statement, detail, decision, proofs)


def my_credit(s: Session, *, uid: int, lang: str, now: datetime) -> CreditView:
    acct = credit.account(s, uid)
    user = s.get(User, uid)
    band = POLICY.band_for(acct.score)
    used = acct.frozen_fen + acct.outstanding_fen
    scale = max(acct.limit_fen, used)
    avail = credit.available(acct)
    events = list(s.exec(select(CreditEvent).where(CreditEvent.user_id == uid, CreditEvent.kind.in_(("score", "limit")))
                         .order_by(CreditEvent.at, CreditEvent.id)))
    scores = [e for e in events if e.kind == "score"]
    history = ([ScorePoint(fmt(scores[0].at)[:10], scores[0].old_value)] if scores else []) + \
        [ScorePoint(fmt(e.at)[:10], e.new_value) for e in scores] + [ScorePoint(fmt(now)[:10], acct.score)]
    open_orders = s.execute(sa.select(sa.func.count()).select_from(Order).where(
        Order.shopper_id == uid, Order.status.in_(OS.HOLDING + OS.BILLED))).scalar_one()
    overdue = applications.overdue_owed(s, uid)
    open_limit = acct.limit_fen or (POLICY.start_limit(acct.score) if acct.restorable_limit_fen is None else 0)
    apps = list(s.exec(select(Application).where(Application.shopper_id == uid).order_by(Application.id.desc())))
    return CreditView(
        score=acct.score, band=band.name_en if lang == "en" else band.name_zh, band_range=f"{band.low}–{band.high}",
        limit=yuan(acct.limit_fen), has_limit=acct.limit_fen > 0, available=yuan(avail), frozen=yuan(acct.frozen_fen),
        outstanding=yuan(acct.outstanding_fen), excess=yuan(credit.excess(acct)), has_excess=credit.excess(acct) > 0,
        w_available=_share(avail, scale), w_frozen=_share(acct.frozen_fen, scale),
        w_outstanding=_share(acct.outstanding_fen, scale), limit_at=_share(acct.limit_fen, scale) if scale else "100%",
        self_cap=yuan(acct.self_cap_fen) if acct.self_cap_fen is not None else "", spendable=yuan(credit.spendable(acct)),
        status=acct.bnpl_status, status_label=text(f"status.{acct.bnpl_status}", lang),
        terms_accepted=fmt(acct.terms_accepted_at), open_orders=open_orders,
        open_limit=yuan(open_limit) if open_limit else "",
        real_name=bool(user.real_name_verified), phone=_mask(user.phone),
        has_method=s.exec(select(PaymentMethod.id).where(PaymentMethod.user_id == uid)).first() is not None,
        restorable=acct.restorable_limit_fen is not None, restorable_limit=yuan(acct.restorable_limit_fen or 0),
        overdue_owed=yuan(overdue), owes_overdue=overdue > 0,
        hardship_ok=applications.hardship_eligible(s, uid, now), bad_debt=acct.bad_debt,
        history=[{"at": p.at, "score": p.score} for p in history],
        score_changes=[Change(fmt(e.at), str(e.old_value), str(e.new_value), e.new_value > e.old_value,
                              render_reason(e.reason, lang)) for e in reversed(scores)][:10],
        limit_changes=[Change(fmt(e.at), yuan(e.old_value), yuan(e.new_value), e.new_value > e.old_value,
                              render_reason(e.reason, lang)) for e in reversed(events) if e.kind == "limit"][:10],
        applications=[application_view(s, a, lang) for a in apps],
    )


# ── wallet ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class WalletView:
    balance: str = ""
    methods: list[MethodView] = field(default_factory=list)


def my_wallet(s: Session, *, uid: int, lang: str) -> WalletView:
    from .services import wallet

    try:
        balance = yuan(wallet.wallet_of(s, uid).balance_fen)
    except DomainError:
        balance = yuan(0)
    return WalletView(balance, methods_of(s, uid, lang))


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
    **dict.fromkeys(("deducted", "failed", "late_fee", "penalty", "bad_debt"), ("bills", routes.BILLS)),
    **dict.fromkeys(("app_approved", "app_rejected", "suspended", "reward", "reward_step"), ("credit", routes.CREDIT)),
    **dict.fromkeys(("reminder", "paid", "return_received", "return_accepted", "return_rejected"),
                    ("orders", routes.ORDERS)),
}


def _params(n: Notification) -> dict:
    try:
        params = json.loads(n.params_json or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def notice_text(n: Notification, lang: str) -> tuple[str, str]:
    """Title and body in the reader's language from the stored parameters; the parts that were
    written in 中文 at send time (which application, the terms granted) are rendered again."""
    params = _params(n)
    code = params.get("kind_code")
    if code in ("restoration", "hardship"):
        params["kind"] = render(f"kind.{code}", lang)
        if n.kind == "app_approved" and code == "restoration" and "limit" in params:
            params["terms"] = render("n.restored_terms", lang, limit=params["limit"])
        elif n.kind == "app_approved" and code == "hardship" and "n" in params:
            params["terms"] = render("n.hardship_terms", lang, n=params["n"], waived=params.get("waived", ""))
    if params.get("method") == render("method.wallet", "zh"):
        params["method"] = render("method.wallet", lang)
    title = render(f"n.{n.kind}.title", lang, **params)
    body = render(f"n.{n.kind}.body", lang, **params)
    return (n.title if title == f"n.{n.kind}.title" else title, n.body if body == f"n.{n.kind}.body" else body)


def notice_view(n: Notification, lang: str) -> NoticeView:
    title, body = notice_text(n, lang)
    to, link = _LINKS.get(n.kind, ("", ""))
    return NoticeView(n.id, n.kind, title, body, fmt(n.created_at), n.read_at is None, link, to)


def my_notices(s: Session, *, uid: int, lang: str, cursor: str = "") -> Page[NoticeView]:
    """One page of the user's notices, newest first."""
    return inbox.page_for(s, uid=uid, cursor=cursor).map(lambda n: notice_view(n, lang))


# ── help and terms: every number from POLICY ────────────────────────────────────────────────
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


def bands(lang: str) -> list[BandRow]:
    return [BandRow(f"{b.low}–{b.high}", b.name_en if lang == "en" else b.name_zh,
                    yuan(b.start_limit_fen) if b.start_limit_fen else "—",
                    yuan(b.ceiling_fen) if b.ceiling_fen else "—") for b in POLICY.bands]


def terms(lang: str) -> list[HelpSection]:
    """What a shopper agrees to when opening 先用后付: trial, deduction, fees, overdue consequences."""
    P = POLICY
    en = lang == "en"
    rem = "、".join(str(d) for d in P.reminder_days_before) if not en else " and ".join(str(d) for d in P.reminder_days_before)
    return [
        HelpSection("Trial" if en else "试用", [
            (f"Order for ¥0 and try the goods first. The trial lasts as long as the merchant sets "
             f"({P.trial_days_min}–{P.trial_days_max} days, usually {P.trial_days_default}); the exact deduction time "
             f"and amount are shown before you confirm.") if en else
            (f"下单 ¥0，先试用再付款。试用期由商家设定（{P.trial_days_min}–{P.trial_days_max} 天，通常 {P.trial_days_default} 天），"
             f"确认订单前会显示准确的扣款时间和金额。"),
            (f"Return during the trial with a tracking number and nothing is charged; while a return is under way "
             f"the deduction is paused.") if en else
            "试用期内填写快递单号退货即不扣款；退货处理期间暂停扣款。",
        ]),
        HelpSection("Deduction" if en else "扣款", [
            (f"When the trial ends the amount due is taken automatically from your payment methods, in the order you "
             f"choose on the bills page. Reminders reach your inbox {rem} day(s) before.") if en else
            f"试用结束时按您在账单页设定的支付方式顺序自动扣款；试用结束前 {rem} 天会在消息中心提醒您。",
            (f"If no method has enough, it is retried every day.") if en else "余额不足时每天重试扣款。",
        ]),
        HelpSection("Fees" if en else "费用", [
            (f"Paying in full at the end of the trial costs nothing extra. Installments (3, 6 or 12 months) cost "
             f"{pct(P.installment_fee_bps)} of the price per period, or nothing when the merchant marks them "
             f"interest-free (免息). Repaying early waives the fees of periods that have not started.") if en else
            (f"试用结束一次付清不收任何费用。分 3、6、12 期每期手续费为商品价格的 {pct(P.installment_fee_bps)}，"
             f"商家标注“免息”的不收手续费。提前还清可免除尚未开始各期的手续费。"),
        ]),
        HelpSection("If you pay late" if en else "逾期后果", [
            (f"{P.grace_days} days of grace: pay within them and nothing happens.") if en else
            f"到期后 {P.grace_days} 天为宽限期，期间还款无任何影响。",
            (f"After the grace period: credit score −{P.overdue_score_penalty} and your limit is halved; then a late "
             f"fee of {pct(P.late_fee_bps_per_day)} of the overdue principal per day, at most "
             f"{pct(P.late_fee_cap_bps)} of it in total.") if en else
            (f"宽限期过后：信用分 −{P.overdue_score_penalty}，额度减半；之后每天按逾期本金的 {pct(P.late_fee_bps_per_day)} "
             f"收取滞纳金，累计不超过本金的 {pct(P.late_fee_cap_bps)}。"),
            (f"At {P.suspend_after_days} days overdue 先用后付 is suspended (limit ¥0, no new orders); at "
             f"{P.bad_debt_after_days} days the debt is recorded as a bad debt. Paying off does not restore a cut or "
             f"suspended limit by itself: you apply for restoration with proof.") if en else
            (f"逾期满 {P.suspend_after_days} 天暂停先用后付（额度归零，不能下新单）；满 {P.bad_debt_after_days} 天记为呆账。"
             f"还清后额度不会自动恢复，需要提交证明申请恢复。"),
        ]),
    ]


def help_sections(lang: str) -> list[HelpSection]:
    P = POLICY
    en = lang == "en"
    what = HelpSection("What is 先用后付?" if en else "什么是先用后付？", [
        ("Use first, pay later: you order for ¥0, try the goods, and pay only if you keep them — in full or in "
         "installments. It is never on by default: you turn it on yourself on the credit page after reading the terms, "
         "and you can turn it off there at any time (orders already made finish under their own terms).") if en else
        ("先用后付：下单 ¥0，收到商品先试用，满意再付款（一次付清或分期）；不满意退货即可。它不会默认开通，"
         "需要您在信用页阅读条款后自己开通，也可以随时关闭（已下的订单按原条款完成）。"),
        (f"You may also set your own spending cap below the limit you were granted.") if en else
        "您还可以自设一个低于授信额度的消费上限。",
    ])
    who = HelpSection("Who can use it" if en else "谁可以使用", [
        (f"All of these: real-name verified, a phone number bound, at least one payment method, a credit score of at "
         f"least {P.platform_min_score} (and at least the product's own minimum), 先用后付 turned on, enough available "
         f"limit, and within the shop's cap per shopper (usually {yuan(P.default_shop_cap_fen)}). A product page "
         f"names every rule you do not meet and what to do about it.") if en else
        (f"需同时满足：已实名认证、已绑定手机号、至少绑定一种支付方式、信用分不低于 {P.platform_min_score}"
         f"（且不低于商品自身要求）、已开通先用后付、可用额度足够、未超过店铺对单个用户的上限（通常 {yuan(P.default_shop_cap_fen)}）。"
         f"商品页会逐条说明未满足的条件及解决办法。"),
        (f"Credit scores run from {P.score_min} to {P.score_max}. Your limit starts from your score band (table below). "
         f"At every moment: limit = available + frozen (orders in trial) + owed (orders billed).") if en else
        (f"信用分范围 {P.score_min}–{P.score_max}，初始额度由分数段决定（见下表）。任何时候：额度 = 可用 + 冻结（试用中订单）"
         f"+ 待还（已出账订单）。"),
    ])
    returns = HelpSection("Returns" if en else "退货", [
        (f"Return while the order is in its trial: enter the tracking number and the deduction pauses. The merchant "
         f"must inspect the parcel within {P.inspection_days} days of receiving it; if they do not, the return is "
         f"accepted automatically and your limit is released.") if en else
        (f"试用期内可退货：填写快递单号后暂停扣款。商家须在签收后 {P.inspection_days} 天内验货，逾期未验视为验收通过，"
         f"冻结额度立即释放。"),
        ("If the parcel arrives damaged the merchant must show photos and a reason; the parcel comes back to you and "
         "the trial continues. Days spent on the return never count as late.") if en else
        "若包裹损坏，商家须提供照片和原因，包裹退回给您，试用继续；退货期间的天数不计逾期。",
    ])
    rewards = HelpSection("Paying on time" if en else "按时付款的奖励", [
        (f"Each order paid on time: credit score +{P.on_time_score_bonus}. After {P.on_time_orders_for_step} on-time "
         f"orders in a row your limit rises one step (up to your score band's ceiling).") if en else
        (f"每笔订单按时付清信用分 +{P.on_time_score_bonus}；连续 {P.on_time_orders_for_step} 笔按时付清，额度提升一档"
         f"（不超过所在分数段的上限）。"),
        (f"On the bills page you choose which payment method is tried first and whether to deduct 0–"
         f"{P.autopay_days_before_max} days before the due date, and see exactly what will be deducted, when and "
         f"from where.") if en else
        (f"在账单页可设置优先扣款的支付方式、到期前 0–{P.autopay_days_before_max} 天提前扣款，并查看将于何时、从哪里扣多少钱。"),
    ])
    back = HelpSection("Getting back on track" if en else "恢复与协商", [
        ("Limit cut or 先用后付 suspended? Pay off what is overdue, then apply for restoration on the credit page with "
         "proof (a repayment voucher or bank statement). An operator restores up to your previous limit or tells you "
         "why not.") if en else
        "额度被降低或先用后付被暂停？还清逾期款项后，在信用页提交证明（还款凭证、银行流水）申请恢复，审核通过后最高恢复到原额度，未通过会告知原因。",
        (f"Hardship: with an installment at least {P.hardship_min_overdue_days} days overdue you may apply for a new "
         f"plan of up to {P.hardship_max_installments} monthly installments and ask for late fees to be waived. An "
         f"approved plan adds no new fees and stops late fees. Proof files: images or PDF, at most "
         f"{P.upload_max_files} files of {P.upload_max_bytes // (1024 * 1024)} MB each.") if en else
        (f"困难协商：有逾期满 {P.hardship_min_overdue_days} 天的款项时，可申请最多 {P.hardship_max_installments} 期的新还款计划，"
         f"并申请减免滞纳金；通过后不再产生新费用，滞纳金停止计算。证明材料为图片或 PDF，最多 {P.upload_max_files} 个，"
         f"每个不超过 {P.upload_max_bytes // (1024 * 1024)} MB。"),
    ])
    return [what, who, *terms(lang), returns, rewards, back]
