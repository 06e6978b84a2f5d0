"""Wallet and bound cards (simulated balances behind the payment-gateway interface): top-up,
binding and unbinding a card, which methods automatic deduction may use and in which order, and
the recent money movements read from the journal (payments, refunds, top-ups). Every balance change
is a posting in the money ledger. An unbound method keeps its row (the journal references it) with
``removed_at`` set, and is never used again; the last method automatic deduction may use stays while
anything is owed or held (``rules.method_change_refused``)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain import rules
from ..domain.clock import Clock
from ..domain.errors import InvalidTransition, NotFound, ValidationError
from ..domain.money import check_amount, yuan
from ..models import (
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    MethodKind as MK,
    Order,
    OrderStatus as OS,
    PaymentMethod,
    Posting,
)
from . import ledger, payments
from .ledger import EXT_FUNDING, MONEY, pm

PMT = PaymentMethod.__table__
_CARD_RE = re.compile(r"^\d{4}$")


def wallet_of(*, session: Session, uid: int) -> PaymentMethod:
    w = session.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid, PaymentMethod.kind == MK.WALLET)).first()
    if w is None:
        raise NotFound("wallet")
    return w


def balance_fen(*, session: Session, uid: int) -> int:
    """The wallet's balance; 0 for someone without a wallet."""
    return session.execute(sa.select(PMT.c.balance_fen).where(PMT.c.user_id == uid, PMT.c.kind == MK.WALLET)
                           .limit(1)).scalar_one_or_none() or 0


def has_method(*, session: Session, uid: int) -> bool:
    """Whether the shopper has a bound payment method (one not unbound)."""
    return session.execute(sa.select(PMT.c.id).where(PMT.c.user_id == uid, PMT.c.removed_at.is_(None))
                           .limit(1)).first() is not None


def has_auto_method(*, session: Session, uid: int) -> bool:
    """Whether automatic deduction has somewhere to take from: a bound method that allows it."""
    return bool(session.execute(sa.select(auto_method_exists(uid))).scalar_one())


def auto_method_exists(uid) -> sa.Exists:
    """``has_auto_method`` as SQL, for a statement that asks it beside other things."""
    return sa.exists().where(PMT.c.user_id == uid, PMT.c.removed_at.is_(None), PMT.c.autopay.is_(True))


_INST = Installment.__table__
_ORD = Order.__table__
_CA = CreditAccount.__table__


def owes_or_holds(*, session: Session, uid: int) -> bool:
    """Whether anything may still be deducted: an installment not yet paid (in trial, billed or
    overdue) or an order whose price is held (in trial or being returned)."""
    return session.execute(sa.select(_INST.c.id).where(
        _INST.c.shopper_id == uid, _INST.c.status.in_((IS.PENDING, *IS.OPEN))).limit(1)).first() is not None \
        or session.execute(sa.select(_ORD.c.id).where(_ORD.c.shopper_id == uid, _ORD.c.status.in_(OS.HOLDING))
                           .limit(1)).first() is not None


def kinds_by_label(*, session: Session, uid: int) -> dict[str, str]:
    """The kind (wallet, card) of each of the user's methods by the label it is stored with, for a
    record that kept only the label (a deduction notice names the method it was taken from)."""
    return {label: kind for label, kind in session.execute(
        sa.select(PMT.c.label, PMT.c.kind).where(PMT.c.user_id == uid).order_by(PMT.c.id))}

# ── the shopper's say over their methods ─────────────────────────────────────────────────────
def _lock_methods(session: Session, uid: int) -> None:
    """Changes to one shopper's methods take turns (on PostgreSQL, a lock on their credit account
    row; SQLite's writers already take turns), so two tabs cannot each unbind "the other" last
    method."""
    session.execute(sa.select(_CA.c.user_id).where(_CA.c.user_id == uid).with_for_update())


def _refusal(session: Session, uid: int, m: PaymentMethod, *, unbinding: bool) -> str | None:
    others = sum(1 for o in payments.auto_methods(session=session, uid=uid) if o.id != m.id)
    return rules.method_change_refused(unbinding=unbinding, kind=m.kind, balance_fen=m.balance_fen, auto=m.autopay,
                                       other_auto=others, owes_or_holds=owes_or_holds(session=session, uid=uid))


def remove_method(*, session: Session, uid: int, method_id: object, clock: Clock) -> PaymentMethod:
    """Unbind one of the shopper's methods: kept for the journal, never used again. Refused
    (nothing changed) for the wallet while it holds money, and for the last method automatic
    deduction may use while anything is owed or held."""
    _lock_methods(session, uid)
    m = payments.own_method(session=session, uid=uid, method_id=method_id)
    key = _refusal(session, uid, m, unbinding=True)
    if key:
        raise InvalidTransition(key, balance=yuan(m.balance_fen))
    guard = [PMT.c.id == m.id, PMT.c.removed_at.is_(None)]
    if m.kind == MK.WALLET:
        guard.append(PMT.c.balance_fen == 0)  # a top-up that raced us keeps the wallet bound
    if session.execute(sa.update(PMT).where(*guard).values(removed_at=clock.now())).rowcount != 1:
        raise InvalidTransition("method.wallet_balance" if m.kind == MK.WALLET else "method.removed",
                                balance=yuan(m.balance_fen))
    session.refresh(m)
    return m


def set_method_autopay(*, session: Session, uid: int, method_id: object, on: object, clock: Clock) -> PaymentMethod:
    """Allow automatic deduction to use a method, or not (it stays for manual payments). Switching
    it off on the last method that allows it is refused while anything is owed or held."""
    if not isinstance(on, bool):
        raise ValidationError("bad_id", field="autopay")
    _lock_methods(session, uid)
    m = payments.own_method(session=session, uid=uid, method_id=method_id)
    if not on:
        key = _refusal(session, uid, m, unbinding=False)
        if key:
            raise InvalidTransition(key)
    session.execute(sa.update(PMT).where(PMT.c.id == m.id, PMT.c.removed_at.is_(None)).values(autopay=on))
    session.refresh(m)
    return m


def move_method(*, session: Session, uid: int, method_id: object, step: object) -> list[PaymentMethod]:
    """Move a method one place earlier (``step`` -1) or later (+1) in the order automatic
    deduction tries them; returns the bound methods in their new order."""
    if step not in (-1, 1) or isinstance(step, bool):
        raise ValidationError("bad_id", field="step")
    _lock_methods(session, uid)
    m = payments.own_method(session=session, uid=uid, method_id=method_id)
    order = payments.methods_in_order(session=session, uid=uid)
    i = next(k for k, o in enumerate(order) if o.id == m.id)
    if not 0 <= i + step < len(order):
        raise InvalidTransition("method.move")
    order[i], order[i + step] = order[i + step], order[i]
    for prio, o in enumerate(order):
        session.execute(sa.update(PMT).where(PMT.c.id == o.id).values(priority=prio))
    for o in order:
        session.refresh(o)
    return order


def rebind_wallet(*, session: Session, uid: int, clock: Clock) -> PaymentMethod:
    """Use the wallet again after unbinding it (it is the platform's own balance, not a card):
    bound, last in the order, allowed for automatic deduction."""
    _lock_methods(session, uid)
    w = wallet_of(session=session, uid=uid)
    if w.removed_at is None:
        raise InvalidTransition("method.wallet_bound")
    prio = session.execute(sa.select(sa.func.coalesce(sa.func.max(PMT.c.priority), -1))
                           .where(PMT.c.user_id == uid, PMT.c.removed_at.is_(None))).scalar_one() + 1
    session.execute(sa.update(PMT).where(PMT.c.id == w.id).values(removed_at=None, autopay=True, priority=prio))
    session.refresh(w)
    return w


@dataclass(frozen=True)
class Movement:
    """One money movement of the shopper's methods, from the journal: a posting's legs on them."""

    key: str  # the posting key
    kind: str  # topup | capture | refund | …
    at: datetime
    amount_fen: int  # into the method (+) or out of it (−)
    method_id: int
    order_id: int | None
    method_kind: str = ""  # wallet | card
    method_label: str = ""


def movements(*, session: Session, uid: int, limit: int = 10) -> list[Movement]:
    """The last ``limit`` movements of the shopper's payment methods, newest first: each posting
    that touched one of them, its legs summed (a capture's three legs are one payment)."""
    # Every method the shopper ever had (a refund may go back to one unbound since).
    methods = {mid: (kind, label) for mid, kind, label in session.execute(
        sa.select(PMT.c.id, PMT.c.kind, PMT.c.label).where(PMT.c.user_id == uid))}
    accts = {pm(mid): mid for mid in methods}
    if not accts:
        return []
    P = Posting.__table__
    rows = session.execute(
        sa.select(P.c.posting_key, P.c.kind, P.c.created_at, P.c.debit_account, P.c.credit_account, P.c.amount_fen,
                  P.c.order_id)
        .where(P.c.ledger == MONEY, sa.or_(P.c.debit_account.in_(list(accts)), P.c.credit_account.in_(list(accts))))
        .order_by(P.c.id.desc()).limit(limit * 4))
    out: dict[str, Movement] = {}
    for key, kind, at, debit, credit_, amount, order_id in rows:
        sign, acct = (1, credit_) if credit_ in accts else (-1, debit)
        seen = out.get(key)
        if seen is None:
            if len(out) == limit:
                break
            mid = accts[acct]
            out[key] = Movement(key, kind, at, sign * amount, mid, order_id, *methods[mid])
        else:
            out[key] = replace(seen, amount_fen=seen.amount_fen + sign * amount)
    return list(out.values())


def topup(*, session: Session, uid: int, amount_fen: object, method_id: int | None = None, clock: Clock) -> PaymentMethod:
    """Add money to the wallet (or, in this simulation, to a card's balance)."""
    amount = check_amount(amount_fen, field="amount")
    m = payments.bound(wallet_of(session=session, uid=uid)) if method_id is None \
        else payments.own_method(session=session, uid=uid, method_id=method_id)
    now = clock.now()
    session.execute(sa.update(PMT).where(PMT.c.id == m.id).values(balance_fen=PMT.c.balance_fen + amount))
    ledger.post(session=session, ledger=MONEY, key=f"top:{m.id}:{secrets.token_hex(8)}", kind="topup", at=now, legs=[(EXT_FUNDING, pm(m.id), amount)])
    session.refresh(m)
    return m


def add_card(*, session: Session, uid: int, bank: str, last4: str, balance_fen: int = 0, clock: Clock) -> PaymentMethod:
    bank = (bank or "").strip() if isinstance(bank, str) else ""
    if not 2 <= len(bank) <= 20:
        raise ValidationError("bad_text", field="bank", min=2, max=20)
    if not isinstance(last4, str) or not _CARD_RE.match(last4):
        raise ValidationError("bad_text", field="last4", min=4, max=4)
    prio = session.execute(sa.select(sa.func.coalesce(sa.func.max(PMT.c.priority), -1)).where(PMT.c.user_id == uid)).scalar_one() + 1
    m = PaymentMethod(user_id=uid, kind=MK.CARD, label=f"{bank} ****{last4}", balance_fen=0, priority=prio, created_at=clock.now())
    session.add(m)
    session.flush()
    if balance_fen:
        topup(session=session, uid=uid, amount_fen=balance_fen, method_id=m.id, clock=clock)
    return m

