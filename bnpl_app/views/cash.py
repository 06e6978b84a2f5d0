"""What the 备用金 screens render (the line, the draw form's quote, the draws with their schedules
and the early repayment; the product page's "buy with 备用金"), built from ``services.cash`` in the
reader's language. Money is pre-formatted from int fen; the int is kept where a screen sends it
back (the amounts a confirmation must still match)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from ..domain import loans
from ..domain.clock import FixedClock, china_time
from ..domain.errors import DomainError
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import CashDraw, DrawDest, Installment, InstallmentStatus as IS, Order, OrderStatus as OS, PaymentMethod
from ..services import cash, credit, payments
from ..words import text
from . import method_name, pct, say
from .shop import Reason


@dataclass
class CardOption:
    id: str = ""
    label: str = ""


@dataclass
class CashPeriodView:
    seq: int = 0
    due: str = ""
    days: int = 0
    principal: str = ""
    interest: str = ""
    total: str = ""
    status: str = ""
    status_label: str = ""
    overdue_interest: str = ""  # interest run on past the due date (an overdue month's)
    overdue_interest_fen: int = 0


@dataclass
class DrawView:
    id: int = 0
    title: str = ""
    dest: str = ""
    open: bool = False
    left: str = ""  # principal not yet repaid
    left_fen: int = 0
    status: str = ""
    status_label: str = ""
    periods: list[CashPeriodView] = field(default_factory=list)
    repay_options: list[CardOption] = field(default_factory=list)  # principal amounts (fen) an early repayment may take
    repay_note: str = ""  # why it cannot be repaid early now


@dataclass
class CashView:
    has_line: bool = False
    line: str = ""
    available: str = ""
    available_fen: int = 0
    outstanding: str = ""
    rate: str = ""
    apr: str = ""
    # applying
    can_apply: bool = False
    would_get: str = ""  # the line the current score would be granted
    failures: list[Reason] = field(default_factory=list)
    cards: list[CardOption] = field(default_factory=list)
    draws: list[DrawView] = field(default_factory=list)
    amount_hint: str = ""


@dataclass
class QuoteView:
    """A draw's terms before the shopper confirms (``cash.DrawQuote``)."""

    amount: str = ""
    term: int = 0
    rate: str = ""
    apr: str = ""
    apr_cap: str = ""
    periods: list[CashPeriodView] = field(default_factory=list)
    total_interest: str = ""
    total_repay: str = ""
    first_due: str = ""
    late_rule: str = ""
    problems: list[Reason] = field(default_factory=list)  # what would refuse it now
    ok: bool = False


@dataclass
class RepayView:
    """An early repayment before the shopper confirms (``cash.EarlyRepayQuote``)."""

    draw_id: int = 0
    principal: str = ""
    interest_now: str = ""
    total: str = ""
    total_fen: int = 0
    saving: str = ""
    saving_fen: int = 0
    whole: bool = False
    method: str = ""


def late_rule(terms: cash.DrawTerms, lang: str) -> str:
    """The late-fee rule, and that interest keeps running on an overdue month's principal."""
    return (say("product.late_fee_text", lang, grace_days=terms.grace_days,
                late_fee_per_day=pct(terms.late_fee_bps_per_day), late_fee_cap=pct(terms.late_fee_cap_bps))
            + (" " if lang == "en" else "") + say("interest.rule", lang, rate=loans.rate_percent(terms.daily_rate_ppm)))


def quote_view(q: cash.DrawQuote, lang: str) -> QuoteView:
    t = q.terms
    periods = [CashPeriodView(p.seq, china_time(due), p.days, yuan(p.principal_fen), yuan(p.interest_fen),
                              yuan(p.total_fen)) for p, due in zip(t.periods, q.due_dates, strict=True)]
    return QuoteView(
        amount=yuan(t.amount_fen), term=t.term, rate=loans.rate_percent(t.daily_rate_ppm), apr=pct(t.apr_bps),
        apr_cap=pct(POLICY.cash_apr_cap_bps), periods=periods, total_interest=yuan(t.total_interest_fen),
        total_repay=yuan(t.amount_fen + t.total_interest_fen),
        first_due=f"{china_time(q.due_dates[0])} · {yuan(t.periods[0].total_fen)}", late_rule=late_rule(t, lang),
        problems=[Reason(f.rule, f.text(lang)) for f in q.failures], ok=not q.failures,
    )


def repay_view(q: cash.EarlyRepayQuote, lang: str) -> RepayView:
    return RepayView(q.draw_id, yuan(q.principal_fen), yuan(q.interest_fen), yuan(q.total_fen), q.total_fen,
                     yuan(q.saving_fen), q.saving_fen, q.whole,
                     method_name(q.method.kind, q.method.label, lang) if q.method else text("quote.no_method", lang))


def _period(i: Installment, days: int, lang: str) -> CashPeriodView:
    net = i.fee_fen - i.fee_waived_fen
    shown = i.paid_fen if i.status == IS.PAID else payments.owed(i)
    return CashPeriodView(i.seq, china_time(i.due_at), days, yuan(i.principal_fen), yuan(net), yuan(shown), i.status,
                          text(f"status.{i.status}", lang), yuan(i.overdue_interest_fen), i.overdue_interest_fen)


def draw_view(row: CashDraw, order: Order, insts: list[Installment], lang: str, *,
              purchase: str = "", card: str = "") -> DrawView:
    ends = {i.seq: i.due_at for i in insts if i.status != IS.REPLACED}
    start = order.billed_at or order.created_at
    periods = [_period(i, loans.days_between(ends.get(i.seq - 1, start), i.due_at), lang)
               for i in insts if i.status not in (IS.CANCELLED, IS.REPLACED)]
    left = sum(i.principal_fen for i in insts if i.status in IS.OPEN)
    dest = say("cash.to_shop", lang, product=purchase) if row.dest == DrawDest.SHOP else say("cash.paid_out", lang, card=card)
    return DrawView(
        id=row.id, title=say("cash.draw_row", lang, amount=yuan(row.amount_fen), term=row.term_months,
                             date=china_time(row.created_at)[:10]),
        dest=dest, open=order.status in OS.BILLED and left > 0, left=yuan(left), left_fen=left,
        status=order.status,
        status_label=text("cash.closed", lang) if order.status == OS.PAID else text(f"status.{order.status}", lang),
        periods=periods,
    )


def cash_screen(s: Session, *, uid: int, lang: str, now: datetime) -> CashView:
    line = cash.line_of(session=s, uid=uid)
    cards = cash.bound_cards(session=s, uid=uid)
    v = CashView(cards=[CardOption(str(m.id), method_name(m.kind, m.label, lang)) for m in cards])
    if line is None:
        fails = cash.apply_failures(session=s, uid=uid, now=now)
        v.can_apply = not fails
        v.failures = [Reason(f.rule, f.text(lang)) for f in fails]
        v.would_get = yuan(POLICY.cash_line_for(credit.account(session=s, uid=uid).score))
        return v
    room = cash.available(line)
    v.has_line, v.line, v.available, v.available_fen = True, yuan(line.line_fen), yuan(room), room
    v.outstanding = yuan(line.outstanding_fen)
    v.rate, v.apr = loans.rate_percent(line.daily_rate_ppm), pct(loans.apr_bps(line.daily_rate_ppm))
    v.amount_hint = say("cash.amount_hint", lang, min=yuan(POLICY.cash_draw_min_fen), available=yuan(room))
    for row, order, insts in cash.draws_of(session=s, uid=uid):
        purchase = s.get(Order, row.purchase_order_id).product_name if row.purchase_order_id else ""
        method = s.get(PaymentMethod, row.method_id) if row.method_id else None
        card = method_name(method.kind, method.label, lang) if method else ""
        d = draw_view(row, order, insts, lang, purchase=purchase, card=card)
        if d.open:
            try:
                amounts = cash.early_options(session=s, uid=uid, draw_id=row.id, clock=FixedClock(now))
            except DomainError as err:
                d.repay_note = err.text(lang)
            else:
                d.repay_options = [repay_option(a, n, n == len(amounts), lang) for n, a in enumerate(amounts, start=1)]
        v.draws.append(d)
    return v


def repay_option(amount_fen: int, months: int, whole: bool, lang: str) -> CardOption:
    key = "cash.repay_option_all" if whole else "cash.repay_option"
    return CardOption(str(amount_fen), say(key, lang, amount=yuan(amount_fen), n=months))
