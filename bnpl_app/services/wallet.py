"""Wallet and bound cards (simulated balances behind the payment-gateway interface): top-up,
binding a card, and the recent money movements read from the journal (payments, refunds,
top-ups). Every balance change is a posting in the money ledger."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain.clock import Clock
from ..domain.errors import NotFound, ValidationError
from ..domain.money import check_amount
from ..models import MethodKind as MK, PaymentMethod, Posting
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
    return session.execute(sa.select(PMT.c.id).where(PMT.c.user_id == uid).limit(1)).first() is not None


def kinds_by_label(*, session: Session, uid: int) -> dict[str, str]:
    """The kind (wallet, card) of each of the user's methods by the label it is stored with, for a
    record that kept only the label (a deduction notice names the method it was taken from)."""
    return {label: kind for label, kind in session.execute(
        sa.select(PMT.c.label, PMT.c.kind).where(PMT.c.user_id == uid).order_by(PMT.c.id))}


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
    m = wallet_of(session=session, uid=uid) if method_id is None else payments.own_method(session=session, uid=uid, method_id=method_id)
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
