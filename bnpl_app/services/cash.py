"""备用金 (seed 004): a cash-advance line beside the 先用后付 limit — applying for it, drawing on
it (to a bound bank card, or spent at once on an ordinary purchase in our shop) and repaying a
draw early. Its installments are an order of kind ``cash`` that the one engine runs like every other
(notices, the sweep, grace, late fees, penalties; ``payments.capture`` repays the line).

The line has its own identity, ``line = available + outstanding principal`` with ``available ≥ 0``
(``cash_lines``' CHECK), mirrored in the limit ledger (``cashgrant:``, ``draw:``, ``crp:``).

What a shopper confirms is a quote, ``DrawTerms``: amount, term, daily rate and APR, every month's
principal, interest and interest days, the late-fee rule. The draw is made on exactly the terms the
screen showed, or refused with ``TermsChanged`` naming what changed (checkout's promise); the terms
are part of the idempotency key's request and stored on the order and the draw.

Early repayment applies a principal amount from the last month backwards in whole months (缩短期限:
the term shortens), with interest only up to the day of repayment (``domain.loans.early_repayment``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..domain import loans, rules
from ..domain.clock import Clock
from ..domain.errors import (
    Conflict,
    InsufficientFunds,
    InsufficientLimit,
    InvalidTransition,
    NotEligible,
    NotFound,
    TermsChanged,
    ValidationError,
)
from ..domain.money import percent, yuan
from ..domain.policy import POLICY, Policy
from ..domain.quotes import QuoteText
from ..models import (
    BNPL_SUSPENDED,
    CashDraw,
    CashLine,
    CashLineStatus,
    DrawDest,
    Installment,
    InstallmentStatus as IS,
    MethodKind as MK,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    User,
)
from . import bills, credit, idempotency, ledger, payments
from .eligibility import Failure
from .ledger import LIMIT, MONEY, PLAT_CASH_BOOK, PLAT_SERVICE_FEE, mer, pm

CL = CashLine.__table__
INST = Installment.__table__
PROD = Product.__table__
ORD = Order.__table__
PRODUCT_NAME = "备用金借款"  # the name a draw's order carries on bills and notices
# the client's key: the draw's orders are keyed ``cash:<key>`` / ``buy:<key>`` (orders keys are ≤ 64)
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,56}$")


# ── the line ─────────────────────────────────────────────────────────────────────────────────
def line_of(*, session: Session, uid: int) -> CashLine | None:
    return session.exec(select(CashLine).where(CashLine.user_id == uid)).first()


def available(line: CashLine) -> int:
    """What may still be drawn: line − outstanding principal, never negative."""
    return max(0, line.line_fen - line.outstanding_fen)


def bound_cards(*, session: Session, uid: int) -> list[PaymentMethod]:
    """The shopper's bound bank cards, in their order (a draw is paid out to one of them)."""
    return [m for m in payments.methods_in_order(session=session, uid=uid) if m.kind == MK.CARD]


def standing_failures(*, session: Session, uid: int, now: datetime) -> list[Failure]:
    """Why the shopper may not draw (or be granted a line) now, whatever the line says: an
    installment of any kind past its grace period unpaid, 先用后付 suspended, a bad debt."""
    acct = credit.account(session=session, uid=uid)
    fails = []
    late = session.execute(sa.select(INST.c.due_at, ORD.c.grace_days).join(ORD, ORD.c.id == INST.c.order_id)
                           .where(INST.c.shopper_id == uid, INST.c.status == IS.OVERDUE)).all()
    worst = max((rules.days_overdue(due, now) for due, grace in late
                 if rules.grace_over(rules.days_overdue(due, now), grace)), default=None)
    if worst is not None:
        fails.append(Failure("past_grace", "cash.past_grace", {"days": worst}))
    if acct.bnpl_status == BNPL_SUSPENDED:
        fails.append(Failure("suspended", "cash.suspended"))
    if acct.bad_debt:
        fails.append(Failure("bad_debt", "cash.bad_debt"))
    return fails


def apply_failures(*, session: Session, uid: int, now: datetime, policy: Policy = POLICY) -> list[Failure]:
    """Every rule a shopper fails to be granted a line, each with what to do about it."""
    user = session.get(User, uid)
    acct = credit.account(session=session, uid=uid)
    fails: list[Failure] = []
    if line_of(session=session, uid=uid) is not None:
        fails.append(Failure("has_line", "cash.has_line"))
    if not user.real_name_verified:
        fails.append(Failure("real_name", "elig.real_name"))
    if not user.phone:
        fails.append(Failure("phone", "elig.phone"))
    if not bound_cards(session=session, uid=uid):
        fails.append(Failure("card", "cash.no_card"))
    if acct.score < policy.cash_min_score:
        fails.append(Failure("score", "cash.score", {"score": acct.score, "min": policy.cash_min_score}))
    if not loans.rate_allowed(policy.cash_daily_rate_ppm, policy.cash_apr_cap_bps):
        fails.append(Failure("rate", "cash.rate_cap", {"apr": percent(loans.apr_bps(policy.cash_daily_rate_ppm)),
                                                        "cap": percent(policy.cash_apr_cap_bps)}))
    return fails + standing_failures(session=session, uid=uid, now=now)


def apply(*, session: Session, uid: int, clock: Clock, policy: Policy = POLICY) -> CashLine:
    """Grant the shopper a 备用金 line from their score band (``POLICY.cash_line_for``), posted as
    ``cashgrant:<line>`` granted → available. Refused (``NotEligible``, every failing rule named)
    leaving nothing."""
    now = clock.now()
    fails = apply_failures(session=session, uid=uid, now=now, policy=policy)
    if fails:
        raise NotEligible(fails)
    acct = credit.account(session=session, uid=uid)
    card = bound_cards(session=session, uid=uid)[0]
    line = CashLine(user_id=uid, line_fen=policy.cash_line_for(acct.score), outstanding_fen=0,
                    status=CashLineStatus.ACTIVE, daily_rate_ppm=policy.cash_daily_rate_ppm, score_at_grant=acct.score,
                    card_method_id=card.id, granted_at=now, updated_at=now)
    savepoint = session.begin_nested()
    try:
        session.add(line)
        session.flush()
    except IntegrityError:  # a concurrent application of the same shopper won
        savepoint.rollback()
        raise NotEligible([Failure("has_line", "cash.has_line")]) from None
    savepoint.commit()
    ledger.post(session=session, ledger=LIMIT, key=f"cashgrant:{line.id}", kind="cash_grant", at=now,
                legs=[(ledger.cash(uid, "granted"), ledger.cash(uid, "available"), line.line_fen)])
    return line


# ── the quote ────────────────────────────────────────────────────────────────────────────────
TERMS_VERSION = 1
_TERMS_KEYS = {"v", "amount_fen", "term", "daily_rate_ppm", "apr_bps", "method", "late_fee_bps_per_day",
               "late_fee_cap_bps", "grace_days", "periods"}
_PERIOD_KEYS = {"seq", "days", "principal_fen", "interest_fen"}
METHOD = "equal_principal"  # 等额本金: the one repayment method


@dataclass(frozen=True)
class DrawPeriod:
    seq: int
    days: int
    principal_fen: int
    interest_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.interest_fen


@dataclass(frozen=True)
class DrawTerms(QuoteText):
    """A draw's quote as the shopper saw it. Due dates are not part of it (they fall monthly from
    the moment of confirming), the interest days of each month are: a draw confirmed on another day
    whose months have other lengths is on other terms."""

    REFUSAL = ("cash.bad_terms", "terms")

    amount_fen: int
    term: int
    daily_rate_ppm: int
    apr_bps: int
    late_fee_bps_per_day: int
    late_fee_cap_bps: int
    grace_days: int
    periods: tuple[DrawPeriod, ...]
    method: str = METHOD

    @classmethod
    def of(cls, *, amount_fen: int, term: int, daily_rate_ppm: int, at: datetime, policy: Policy = POLICY) -> DrawTerms:
        """The terms of drawing ``amount_fen`` over ``term`` months at ``at``."""
        sched = loans.schedule(amount_fen, daily_rate_ppm, loans.period_days(at, term))
        return cls(amount_fen=amount_fen, term=term, daily_rate_ppm=daily_rate_ppm,
                   apr_bps=loans.apr_bps(daily_rate_ppm), late_fee_bps_per_day=policy.late_fee_bps_per_day,
                   late_fee_cap_bps=policy.late_fee_cap_bps, grace_days=policy.grace_days,
                   periods=tuple(DrawPeriod(p.seq, p.days, p.principal_fen, p.interest_fen) for p in sched))

    @property
    def total_interest_fen(self) -> int:
        return sum(p.interest_fen for p in self.periods)

    def as_dict(self) -> dict:
        return {"v": TERMS_VERSION, "amount_fen": self.amount_fen, "term": self.term,
                "daily_rate_ppm": self.daily_rate_ppm, "apr_bps": self.apr_bps, "method": self.method,
                "late_fee_bps_per_day": self.late_fee_bps_per_day, "late_fee_cap_bps": self.late_fee_cap_bps,
                "grace_days": self.grace_days,
                "periods": [{"seq": p.seq, "days": p.days, "principal_fen": p.principal_fen,
                             "interest_fen": p.interest_fen} for p in self.periods]}

    @classmethod
    def from_dict(cls, data: object) -> DrawTerms:
        """Terms as data (from a tab's state, the database), checked field by field."""
        num = cls.whole

        if not isinstance(data, dict) or set(data) != _TERMS_KEYS or num(data["v"]) != TERMS_VERSION:
            raise ValidationError("cash.bad_terms", field="terms")
        periods = data["periods"]
        if (data["method"] != METHOD or not isinstance(periods, list) or not 1 <= len(periods) <= max(POLICY.cash_terms)
                or not all(isinstance(p, dict) and set(p) == _PERIOD_KEYS for p in periods)):
            raise ValidationError("cash.bad_terms", field="terms")
        return cls(amount_fen=num(data["amount_fen"]), term=num(data["term"]), daily_rate_ppm=num(data["daily_rate_ppm"]),
                   apr_bps=num(data["apr_bps"]), late_fee_bps_per_day=num(data["late_fee_bps_per_day"]),
                   late_fee_cap_bps=num(data["late_fee_cap_bps"]), grace_days=num(data["grace_days"]),
                   periods=tuple(DrawPeriod(num(p["seq"]), num(p["days"]), num(p["principal_fen"]),
                                            num(p["interest_fen"])) for p in periods))


def changes(shown: DrawTerms, now: DrawTerms) -> list[tuple[str, dict]]:
    """What differs between the terms a shopper saw and those on offer now (message keys)."""
    if shown == now:
        return []
    out: list[tuple[str, dict]] = []
    if shown.amount_fen != now.amount_fen:
        out.append(("cash.changed.amount", {"old": yuan(shown.amount_fen), "new": yuan(now.amount_fen)}))
    if shown.daily_rate_ppm != now.daily_rate_ppm:
        out.append(("cash.changed.rate", {"old": loans.rate_percent(shown.daily_rate_ppm), "new": loans.rate_percent(now.daily_rate_ppm)}))
    if (shown.late_fee_bps_per_day, shown.late_fee_cap_bps, shown.grace_days) != (
            now.late_fee_bps_per_day, now.late_fee_cap_bps, now.grace_days):
        out.append(("quote.changed.late_fee", {"rate": percent(now.late_fee_bps_per_day),
                                               "cap": percent(now.late_fee_cap_bps), "grace": now.grace_days}))
    if shown.total_interest_fen != now.total_interest_fen:
        out.append(("cash.changed.interest", {"old": yuan(shown.total_interest_fen), "new": yuan(now.total_interest_fen)}))
    if not out:
        out.append(("quote.changed.schedule", {}))
    return out


def parse_term(term: object) -> int:
    if isinstance(term, bool) or not isinstance(term, int) or term not in POLICY.cash_terms:
        raise ValidationError("cash.bad_term", field="term", terms=" / ".join(map(str, POLICY.cash_terms)))
    return term


def _active_line(session: Session, uid: int) -> CashLine:
    line = line_of(session=session, uid=uid)
    if line is None or line.status != CashLineStatus.ACTIVE:
        raise InvalidTransition("cash.no_line")
    return line


def draw_failures(*, session: Session, uid: int, line: CashLine, amount_fen: int, now: datetime) -> list[Failure]:
    """Every rule a draw of ``amount_fen`` fails now: the amount, the rate cap, the shopper's standing."""
    fails = []
    room = available(line)
    if amount_fen < POLICY.cash_draw_min_fen:
        fails.append(Failure("min", "cash.below_min", {"amount": yuan(amount_fen), "min": yuan(POLICY.cash_draw_min_fen)}))
    elif amount_fen > room:
        fails.append(Failure("available", "cash.above_available", {"amount": yuan(amount_fen), "available": yuan(room)}))
    if not loans.rate_allowed(line.daily_rate_ppm, POLICY.cash_apr_cap_bps):
        fails.append(Failure("rate", "cash.rate_cap", {"apr": percent(loans.apr_bps(line.daily_rate_ppm)),
                                                        "cap": percent(POLICY.cash_apr_cap_bps)}))
    return fails + standing_failures(session=session, uid=uid, now=now)


@dataclass(frozen=True)
class DrawQuote:
    """What the draw form shows before the shopper confirms."""

    terms: DrawTerms
    due_dates: tuple[datetime, ...]  # if confirmed at the quote's instant
    failures: tuple[Failure, ...]  # rules the draw would fail now (nothing is refused yet)
    available_fen: int


def _amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError("amount_not_positive", field="amount")
    return value


def quote(*, session: Session, uid: int, amount_fen: object, term: object, clock: Clock) -> DrawQuote:
    """The terms of drawing ``amount_fen`` over ``term`` months now, and what would refuse it."""
    amount, months = _amount(amount_fen), parse_term(term)
    line = _active_line(session, uid)
    now = clock.now()
    terms = DrawTerms.of(amount_fen=amount, term=months, daily_rate_ppm=line.daily_rate_ppm, at=now)
    return DrawQuote(terms, tuple(loans.due_dates(now, months)),
                     tuple(draw_failures(session=session, uid=uid, line=line, amount_fen=amount, now=now)),
                     available(line))


def shop_quote(*, session: Session, uid: int, product_id: object, term: object, clock: Clock) -> tuple[Product, DrawQuote]:
    """Paying for a product with 备用金: a draw of its price."""
    product = _product(session, product_id)
    return product, quote(session=session, uid=uid, amount_fen=product.price_fen, term=term, clock=clock)


def _product(session: Session, product_id: object) -> Product:
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise NotFound("product")
    p = session.get(Product, product_id)
    if p is None:
        raise NotFound("product")
    return p


# ── the draw ─────────────────────────────────────────────────────────────────────────────────
def _request_hash(uid: int, dest: str, target: int, terms: DrawTerms) -> str:
    """What an idempotency key stands for: this shopper drawing on these terms to this card or product."""
    return hashlib.sha256(f"{uid}|{dest}|{target}|{terms.to_json()}".encode()).hexdigest()


def _replay(session: Session, *, key: str, uid: int, request_hash: str) -> CashDraw | None:
    return idempotency.replay(session=session, model=CashDraw, owner="user_id", key=key, uid=uid, request_hash=request_hash,
                              reused="cash.key_reused")


def draw(*, session: Session, uid: int, amount_fen: object, term: object, dest: str, idempotency_key: str,
         clock: Clock, method_id: object = None, product_id: object = None,
         terms: DrawTerms | dict | str | None = None) -> CashDraw:
    """Draw on the line on ``terms`` (the quote the screen showed; without it, the terms on offer
    now): paid to the bound card ``method_id`` (``dest`` card), or spent on one unit of
    ``product_id`` (``dest`` shop: an ordinary purchase, order of kind buy, paid at once — the
    amount is its price). Makes the draw, its order of kind cash with SCHEDULED installments
    (principal + that month's interest), the postings ``draw:`` and ``drawpay:``, and the line's
    outstanding raised by a guarded update.

    Refusals, each leaving the database as it was: ``TermsChanged`` (the terms on offer differ from
    those shown: what changed), ``NotEligible`` (amount, rate cap, standing, stock), ``InsufficientLimit``
    (a concurrent draw took the line), ``Conflict`` (the key was used for another request)."""
    if not isinstance(idempotency_key, str) or not _KEY_RE.fullmatch(idempotency_key):
        raise ValidationError("cash.bad_key", field="idempotency_key")
    if dest not in set(DrawDest):
        raise ValidationError("bad_choice", field="dest", value=str(dest)[:10])
    months = parse_term(term)
    now = clock.now()
    line = _active_line(session, uid)
    product = card = None
    if dest == DrawDest.SHOP:
        product = _product(session, product_id)
        amount = product.price_fen
        target = product.id
    else:
        amount = _amount(amount_fen)
        card = payments.own_method(session=session, uid=uid, method_id=method_id)
        if card.kind != MK.CARD:
            raise ValidationError("cash.card_only", field="method")
        target = card.id
    shown = None if terms is None else DrawTerms.parse(terms)
    if shown is not None and shown.term != months:
        raise ValidationError("cash.bad_terms", field="terms")
    now_offered = DrawTerms.of(amount_fen=amount, term=months, daily_rate_ppm=line.daily_rate_ppm, at=now)
    quoted = shown or now_offered
    rhash = _request_hash(uid, dest, target, quoted)
    if (existing := _replay(session, key=idempotency_key, uid=uid, request_hash=rhash)) is not None:
        return existing
    if shown is not None and shown != now_offered:
        raise TermsChanged(changes(shown, now_offered), now_offered)
    fails = draw_failures(session=session, uid=uid, line=line, amount_fen=amount, now=now)
    if product is not None and product.stock < 1:
        fails.append(Failure("stock", "elig.stock"))
    if fails:
        raise NotEligible(fails)

    order = Order(kind=OrderKind.CASH, shopper_id=uid, merchant_id=None, product_id=None, product_name=PRODUCT_NAME,
                  price_fen=amount, plan=str(months), periods=months, status=OS.DUE,
                  idempotency_key=f"cash:{idempotency_key}", request_hash=rhash, created_at=now, trial_end_at=now,
                  billed_at=now, fee_bps=0, late_fee_bps_per_day=quoted.late_fee_bps_per_day,
                  late_fee_cap_bps=quoted.late_fee_cap_bps, grace_days=quoted.grace_days, platform_fee_bps=0,
                  quote_json=quoted.to_json())
    def write() -> CashDraw:
        session.add(order)
        session.flush()
        made = CashDraw(user_id=uid, line_id=line.id, order_id=order.id, amount_fen=amount, term_months=months,
                        daily_rate_ppm=quoted.daily_rate_ppm, interest_fen=quoted.total_interest_fen, dest=dest,
                        method_id=card.id if card is not None else None, quote_json=quoted.to_json(),
                        idempotency_key=idempotency_key, request_hash=rhash, created_at=now)
        session.add(made)
        session.flush()
        return made

    row, fresh = idempotency.write_once(session=session, write=write, again=lambda: _replay(
        session, key=idempotency_key, uid=uid, request_hash=rhash))
    if not fresh:
        return row

    # The line decides: one guarded statement (the CHECK keeps outstanding ≤ line as well).
    if session.execute(sa.update(CL).where(CL.c.id == line.id, CL.c.status == CashLineStatus.ACTIVE,
                                           CL.c.line_fen - CL.c.outstanding_fen >= amount)
                       .values(outstanding_fen=CL.c.outstanding_fen + amount, updated_at=now)).rowcount != 1:
        raise InsufficientLimit("cash.line_race")
    ledger.post(session=session, ledger=LIMIT, key=f"draw:{row.id}", kind="cash_draw", at=now, order_id=order.id,
                legs=[(ledger.cash(uid, "available"), ledger.cash(uid, "outstanding"), amount)])
    days_before = credit.account(session=session, uid=uid).autopay_days_before
    session.execute(sa.insert(Installment), [
        dict(order_id=order.id, shopper_id=uid, merchant_id=None, seq=p.seq, periods=months, due_at=due,
             principal_fen=p.principal_fen, fee_fen=p.interest_fen, status=IS.SCHEDULED,
             attempt_at=rules.first_attempt_at(due_at=due, seq=p.seq, autopay_days_before=days_before, now=now))
        for p, due in zip(quoted.periods, loans.due_dates(now, months), strict=True)
    ])
    session.add(OrderEvent(order_id=order.id, at=now, step="cash_drawn", amount_fen=amount))
    if card is not None:
        payments.GATEWAY.credit(session, method_id=card.id, amount_fen=amount)
        ledger.post(session=session, ledger=MONEY, key=f"drawpay:{row.id}", kind="cash_payout", at=now,
                    order_id=order.id, legs=[(PLAT_CASH_BOOK, pm(card.id), amount)])
    else:
        row.purchase_order_id = _buy(session, uid=uid, product=product, key=idempotency_key, rhash=rhash, now=now,
                                     draw_id=row.id)
        session.add(row)
    session.flush()
    return row


def _buy(session: Session, *, uid: int, product: Product, key: str, rhash: str, now: datetime, draw_id: int) -> int:
    """The ordinary purchase a shop draw pays for: an order of kind buy, PAID and closed at once,
    one unit of stock taken (guarded: the product as quoted, in stock), the merchant credited the
    price less the platform's service fee (``drawpay:<draw>``, from the cash book)."""
    if session.execute(sa.update(PROD).where(PROD.c.id == product.id, PROD.c.stock >= 1,
                                             PROD.c.price_fen == product.price_fen)
                       .values(stock=PROD.c.stock - 1)).rowcount != 1:
        quoted = product.price_fen  # a merchant's edit or the last unit committed since it was read
        session.refresh(product)
        if product.stock < 1:
            raise NotEligible([Failure("stock", "elig.stock")])
        repriced = [("cash.changed.amount", {"old": yuan(quoted), "new": yuan(product.price_fen)})]
        raise TermsChanged(repriced, None)
    order = Order(kind=OrderKind.BUY, shopper_id=uid, merchant_id=product.merchant_id, product_id=product.id,
                  product_name=product.name, price_fen=product.price_fen, plan="full", periods=1, status=OS.PAID,
                  idempotency_key=f"buy:{key}", request_hash=rhash, created_at=now, trial_end_at=now, billed_at=now,
                  closed_at=now, fee_bps=0, late_fee_bps_per_day=POLICY.late_fee_bps_per_day,
                  late_fee_cap_bps=POLICY.late_fee_cap_bps, grace_days=POLICY.grace_days,
                  platform_fee_bps=POLICY.platform_fee_bps)
    session.add(order)
    session.flush()
    share, service_fee, _ = rules.capture_split(principal_fen=product.price_fen, amount_fen=product.price_fen,
                                                platform_fee_bps=order.platform_fee_bps)
    ledger.post(session=session, ledger=MONEY, key=f"drawpay:{draw_id}", kind="cash_purchase", at=now,
                order_id=order.id, legs=[(PLAT_CASH_BOOK, mer(product.merchant_id), share),
                                         (PLAT_CASH_BOOK, PLAT_SERVICE_FEE, service_fee)])
    session.add(OrderEvent(order_id=order.id, at=now, step="paid", amount_fen=product.price_fen, note="cash"))
    return order.id


# ── the draws and their early repayment ──────────────────────────────────────────────────────
def own_draw(*, session: Session, uid: int, draw_id: object) -> CashDraw:
    if isinstance(draw_id, bool) or not isinstance(draw_id, int):
        raise NotFound("draw")
    row = session.get(CashDraw, draw_id)
    if row is None or row.user_id != uid:
        raise NotFound("draw")
    return row


def draws_of(*, session: Session, uid: int) -> list[tuple[CashDraw, Order, list[Installment]]]:
    """The shopper's draws, newest first, with their order and installments (by due date)."""
    out = []
    for row in session.exec(select(CashDraw).where(CashDraw.user_id == uid).order_by(CashDraw.id.desc())):
        order = session.get(Order, row.order_id)
        insts = list(session.exec(select(Installment).where(Installment.order_id == row.order_id)
                                  .order_by(Installment.seq, Installment.id)))
        out.append((row, order, insts))
    return out


def _open_periods(session: Session, row: CashDraw, order: Order, now: datetime) -> list[loans.OpenPeriod]:
    """The months of a draw not yet due, as ``loans.early_repayment`` takes them; refused while a
    month is due unpaid (pay it on the bills page first) or the draw is on a hardship plan."""
    insts = list(session.exec(select(Installment).where(Installment.order_id == order.id)
                              .order_by(Installment.seq, Installment.id)))
    live = [i for i in insts if i.status in IS.OPEN]
    if any(i.plan_application_id is not None for i in live):
        raise InvalidTransition("cash.on_plan")
    due = [i for i in live if i.due_at <= now]
    if due:
        raise InvalidTransition("cash.due_first", n=len(due), owed=yuan(sum(payments.owed(i) for i in due)))
    if not live:
        raise InvalidTransition("bill.nothing_owed")
    ends = {i.seq: i.due_at for i in insts if i.status != IS.REPLACED}
    out = []
    for i in live:
        start = ends.get(i.seq - 1, order.billed_at or order.created_at)
        out.append(loans.OpenPeriod(i.id, i.seq, i.principal_fen, i.fee_fen - i.fee_waived_fen,
                                    loans.days_between(start, i.due_at), loans.days_between(start, now)))
    return out


def repay_amounts(periods: list[loans.OpenPeriod]) -> list[int]:
    """The principal an early repayment may take: whole months from the last backwards (the last
    one, the last two, … all of them), so that every month keeps its principal or is paid off."""
    out, total = [], 0
    for p in reversed(periods):
        total += p.principal_fen
        out.append(total)
    return out


def early_options(*, session: Session, uid: int, draw_id: object, clock: Clock) -> list[int]:
    """``repay_amounts`` of one of the shopper's draws now (refused while a month is due)."""
    row = own_draw(session=session, uid=uid, draw_id=draw_id)
    return repay_amounts(_open_periods(session, row, session.get(Order, row.order_id), clock.now()))


@dataclass(frozen=True)
class EarlyRepayQuote:
    """An early repayment as the screen shows it before the shopper confirms."""

    draw_id: int
    order_id: int
    principal_fen: int  # principal repaid now
    interest_fen: int  # interest payable now (to today, when the draw is repaid in full)
    total_fen: int  # taken now
    saving_fen: int  # scheduled interest − interest charged
    whole: bool  # the draw is repaid in full
    outstanding_fen: int  # the draw's principal not yet due, before the repayment
    settled: tuple[loans.Settled, ...]
    method: PaymentMethod | None  # where it would come from at today's balances


def early_quote(*, session: Session, uid: int, draw_id: object, amount_fen: object, clock: Clock) -> EarlyRepayQuote:
    now = clock.now()
    row = own_draw(session=session, uid=uid, draw_id=draw_id)
    order = session.get(Order, row.order_id)
    periods = _open_periods(session, row, order, now)
    outstanding = sum(p.principal_fen for p in periods)
    amount = _amount(amount_fen)
    if amount > outstanding:
        raise ValidationError("cash.repay_above", field="amount", amount=yuan(amount), outstanding=yuan(outstanding))
    if amount not in repay_amounts(periods):
        raise ValidationError("cash.repay_months", field="amount", amount=yuan(amount),
                              amounts=" / ".join(yuan(a) for a in repay_amounts(periods)))
    settled = loans.early_repayment(periods, amount, row.daily_rate_ppm)
    interest_now = sum(s.interest_fen for s in settled if s.paid_off)
    total = amount + interest_now
    methods = payments.methods_in_order(session=session, uid=uid)
    i = rules.first_covering([m.balance_fen for m in methods], total)
    return EarlyRepayQuote(row.id, order.id, amount, interest_now, total, loans.saving(periods, settled),
                           amount == outstanding, outstanding, tuple(settled), methods[i] if i is not None else None)


def early_repay(*, session: Session, uid: int, draw_id: object, amount_fen: object, clock: Clock,
                expected_total_fen: int | None = None, expected_saving_fen: int | None = None) -> EarlyRepayQuote:
    """Repay ``amount_fen`` of a draw's principal now — whole months from the last backwards
    (``repay_amounts``) — with interest only to today: the months paid off are captured (their
    interest waived, but the current month's to today), the months left charge the interest of what
    is left (``fee_waived_fen``; each month keeps its principal, so the schedule stays the quoted
    one). What the screen showed must still hold (``expected_*``), or it is refused with the amounts
    now. One method pays it all, or nothing."""
    now = clock.now()
    q = early_quote(session=session, uid=uid, draw_id=draw_id, amount_fen=amount_fen, clock=clock)
    if (expected_total_fen is not None and expected_total_fen != q.total_fen) or (
            expected_saving_fen is not None and expected_saving_fen != q.saving_fen):
        raise ValidationError("cash.repay_changed", field="amount", total=yuan(q.total_fen), saving=yuan(q.saving_fen))
    if q.method is None:
        methods = payments.methods_in_order(session=session, uid=uid)
        first = methods[0] if methods else None
        raise InsufficientFunds("bill.insufficient", method=first.label if first else "—",
                                balance=yuan(first.balance_fen if first else 0), amount=yuan(q.total_fen))
    order = session.get(Order, q.order_id)
    for s in q.settled:
        inst = session.get(Installment, s.installment_id)
        waived = inst.fee_fen - s.interest_fen
        if s.paid_off:
            _set(session, inst, fee_waived_fen=waived)
            payments.capture(session=session, inst=inst, order=order, method=q.method, at=now)
        elif waived != inst.fee_waived_fen:
            was = payments.owed(inst)
            _set(session, inst, fee_waived_fen=waived)
            bills.reannounce(session=session, inst=inst, order=order, was_fen=was, now=now)
    session.add(OrderEvent(order_id=order.id, at=now, step="cash_early", amount_fen=q.total_fen))
    payments.refresh_order_status(session=session, order=order, at=now)
    return q


def _set(session: Session, inst: Installment, **values) -> None:
    """Change an open installment as it was read (a guarded update: a concurrent capture or a
    sweep that changed it refuses the repayment), and read it again."""
    res = session.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status == IS.SCHEDULED,
                                                INST.c.principal_fen == inst.principal_fen,
                                                INST.c.fee_waived_fen == inst.fee_waived_fen).values(**values))
    if res.rowcount != 1:
        raise Conflict("cash.repay_race")
    session.refresh(inst)


# ── the demo ─────────────────────────────────────────────────────────────────────────────────
def seed_cash_demo(*, session: Session, uid: int, amount_fen: int, term: int, clock: Clock) -> CashDraw:
    """The demo's 备用金 shopper: a line granted and one draw to their first bound card (the demo
    clock then runs the months: installments paid by the sweep)."""
    apply(session=session, uid=uid, clock=clock)
    card = bound_cards(session=session, uid=uid)[0]
    return draw(session=session, uid=uid, amount_fen=amount_fen, term=term, dest=DrawDest.CARD, method_id=card.id,
                idempotency_key=f"seed-cash-{uid}-{int(clock.now().timestamp())}", clock=clock)
