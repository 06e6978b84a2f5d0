"""The shopper's credit account: score, limit, frozen, outstanding. Every change is a guarded
single-statement UPDATE (correct under concurrent writers on SQLite and PostgreSQL alike) plus
its posting in the limit ledger plus, for score/limit, a history event."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain import rules
from ..domain.errors import InsufficientLimit, NotFound
from ..domain.policy import POLICY
from ..domain.status import BNPL_STATUS_CODE
from ..models import BNPL_ACTIVE, CashLine, CreditAccount, CreditEvent
from . import ledger
from .ledger import LIMIT, lim

CA = CreditAccount.__table__
CL = CashLine.__table__


def account(*, session: Session, uid: int) -> CreditAccount:
    acct = session.exec(select(CreditAccount).where(CreditAccount.user_id == uid)).first()
    if acct is None:
        raise NotFound("credit account")
    return acct


def fresh(*, session: Session, uid: int) -> CreditAccount:
    """Re-read after guarded updates (the identity map would otherwise show stale numbers)."""
    acct = account(session=session, uid=uid)
    session.refresh(acct)
    return acct


def available(acct: CreditAccount) -> int:
    """Available limit by the identity: never negative."""
    return max(0, acct.limit_fen - acct.frozen_fen - acct.outstanding_fen)


def excess(acct: CreditAccount) -> int:
    """How far frozen + outstanding stand above a limit that was cut below them."""
    return max(0, acct.frozen_fen + acct.outstanding_fen - acct.limit_fen)


def spendable(acct: CreditAccount) -> int:
    """What a new order may use: available, further bounded by the shopper's own cap."""
    room = available(acct)
    if acct.self_cap_fen is not None:
        room = min(room, max(0, acct.self_cap_fen - acct.frozen_fen - acct.outstanding_fen))
    return room


def freeze(*, session: Session, uid: int, amount: int, order_id: int, at: datetime) -> None:
    res = session.execute(
        sa.update(CA)
        .where(
            CA.c.user_id == uid,
            CA.c.bnpl_status == BNPL_ACTIVE,
            CA.c.limit_fen - CA.c.frozen_fen - CA.c.outstanding_fen >= amount,
            sa.or_(CA.c.self_cap_fen.is_(None), CA.c.self_cap_fen - CA.c.frozen_fen - CA.c.outstanding_fen >= amount),
        )
        .values(frozen_fen=CA.c.frozen_fen + amount, updated_at=at)
    )
    if res.rowcount != 1:
        raise InsufficientLimit("checkout.limit_race")
    ledger.post(
        session=session, ledger=LIMIT, key=f"frz:{order_id}", kind="freeze", at=at, order_id=order_id,
        legs=[(lim(uid, "headroom"), lim(uid, "frozen"), amount)],
    )


def _move(session: Session, *, uid: int, amount: int, src: str, dst: str, key: str, kind: str, at: datetime,
          order_id: int | None = None, installment_id: int | None = None) -> None:
    """frozen/outstanding → headroom/outstanding, refusing to take a bucket below zero."""
    cols = {"frozen": CA.c.frozen_fen, "outstanding": CA.c.outstanding_fen}
    values: dict = {"updated_at": at}
    if src in cols:
        values[cols[src].name] = cols[src] - amount
    if dst in cols:
        values[cols[dst].name] = cols[dst] + amount
    stmt = sa.update(CA).where(CA.c.user_id == uid).values(**values)
    if src in cols:
        stmt = stmt.where(cols[src] >= amount)
    if session.execute(stmt).rowcount != 1:
        raise RuntimeError(f"credit {src} of user {uid} is below {amount} — ledger and orders disagree")
    ledger.post(session=session, ledger=LIMIT, key=key, kind=kind, at=at, order_id=order_id, installment_id=installment_id,
                legs=[(lim(uid, src), lim(uid, dst), amount)])


def release(*, session: Session, uid: int, amount: int, order_id: int, at: datetime) -> None:
    _move(session, uid=uid, amount=amount, src="frozen", dst="headroom", key=f"rel:{order_id}", kind="release",
          at=at, order_id=order_id)


def release_outstanding(*, session: Session, uid: int, amount: int, order_id: int, at: datetime) -> None:
    """A billed order was returned and refunded: its open principal is owed no more."""
    _move(session, uid=uid, amount=amount, src="outstanding", dst="headroom", key=f"relout:{order_id}", kind="release",
          at=at, order_id=order_id)


def bill(*, session: Session, uid: int, amount: int, order_id: int, at: datetime) -> None:
    """Trial ended: the hold becomes outstanding (the capture of the two-phase transfer)."""
    _move(session, uid=uid, amount=amount, src="frozen", dst="outstanding", key=f"bill:{order_id}", kind="capture",
          at=at, order_id=order_id)


def settle_frozen(*, session: Session, uid: int, amount: int, order_id: int, at: datetime) -> None:
    """Paid during the trial: the hold is captured and repaid at once."""
    _move(session, uid=uid, amount=amount, src="frozen", dst="headroom", key=f"paynow:{order_id}", kind="capture_paid",
          at=at, order_id=order_id)


def repay_principal(*, session: Session, uid: int, amount: int, installment_id: int, order_id: int, at: datetime) -> None:
    if amount:
        _move(session, uid=uid, amount=amount, src="outstanding", dst="headroom", key=f"lrp:{installment_id}",
              kind="repay", at=at, order_id=order_id, installment_id=installment_id)


def repay_cash_line(*, session: Session, uid: int, amount: int, at: datetime, installment_id: int | None = None,
                    order_id: int | None = None, key: str | None = None) -> None:
    """Principal of a 备用金 draw paid back: the line's outstanding comes down by a guarded update
    (never below zero) and the limit ledger moves ``cash:<uid>:outstanding`` → ``:available``,
    keyed ``crp:<installment>`` (or ``key``, for a repayment that is not one installment's capture)."""
    if not amount:
        return
    res = session.execute(sa.update(CL).where(CL.c.user_id == uid, CL.c.outstanding_fen >= amount)
                          .values(outstanding_fen=CL.c.outstanding_fen - amount, updated_at=at))
    if res.rowcount != 1:
        raise RuntimeError(f"备用金 outstanding of user {uid} is below {amount} — ledger and draws disagree")
    ledger.post(session=session, ledger=LIMIT, key=key or f"crp:{installment_id}", kind="repay", at=at, order_id=order_id,
                installment_id=installment_id, legs=[(ledger.cash(uid, "outstanding"), ledger.cash(uid, "available"), amount)])


def reason_of(key: str, **params: object) -> str:
    """A history reason stored as a message key plus parameters, rendered in the reader's language
    by ``domain.messages.render_reason``. (Whole-number parameters, by far the most common — the
    sweep writes one per on-time order — are formatted directly: the same text json.dumps gives.)"""
    if not params:
        return key
    if all(type(v) is int for v in params.values()):
        return key + "{" + ",".join(f'"{k}":{v}' for k, v in params.items()) + "}"
    return key + json.dumps(params, ensure_ascii=False, separators=(",", ":"))


def log_change(*, session: Session, uid: int, kind: str, old: int, new: int, reason: str, at: datetime) -> CreditEvent:
    """The history event of a score or limit change already made; a limit change also posts the
    difference in the limit ledger (keyed by the event)."""
    ev = CreditEvent(user_id=uid, kind=kind, old_value=old, new_value=new, reason=reason, at=at)
    session.add(ev)
    session.flush()
    if kind == "limit":
        leg = (lim(uid, "granted"), lim(uid, "headroom"), new - old) if new > old else (
            lim(uid, "headroom"), lim(uid, "granted"), old - new)
        ledger.post(session=session, ledger=LIMIT, key=f"limit:{ev.id}", kind="limit_change", at=at, legs=[leg])
    return ev


def set_limit(*, session: Session, uid: int, new_limit: int, reason: str, at: datetime) -> int:
    """Compare-and-set the limit and post the difference. Returns the old limit."""
    if new_limit < 0:
        raise ValueError("limit cannot be negative")
    for _ in range(5):
        old = session.execute(sa.select(CA.c.limit_fen).where(CA.c.user_id == uid)).scalar_one_or_none()
        if old is None:
            raise NotFound("credit account")
        if old == new_limit:
            return old
        res = session.execute(
            sa.update(CA).where(CA.c.user_id == uid, CA.c.limit_fen == old).values(limit_fen=new_limit, updated_at=at)
        )
        if res.rowcount == 1:
            log_change(session=session, uid=uid, kind="limit", old=old, new=new_limit, reason=reason, at=at)
            return old
    raise RuntimeError("limit kept changing under us")


def change_score(*, session: Session, uid: int, delta: int, reason: str, at: datetime) -> int:
    """Add ``delta`` (clamped to 350–950) atomically; returns the new score."""
    lo, hi = POLICY.score_min, POLICY.score_max
    old = session.execute(sa.select(CA.c.score).where(CA.c.user_id == uid)).scalar_one()
    new_expr = sa.func.max(lo, sa.func.min(hi, CA.c.score + delta)) if session.get_bind().dialect.name == "sqlite" \
        else sa.func.greatest(lo, sa.func.least(hi, CA.c.score + delta))
    session.execute(sa.update(CA).where(CA.c.user_id == uid).values(score=new_expr, updated_at=at))
    new = session.execute(sa.select(CA.c.score).where(CA.c.user_id == uid)).scalar_one()
    if new != old:
        log_change(session=session, uid=uid, kind="score", old=old, new=new, reason=reason, at=at)
    return new


def log_status(*, session: Session, uid: int, old: str, new: str, reason: str, at: datetime) -> CreditEvent:
    """The history event of a 先用后付 status change already made: old and new as
    ``BNPL_STATUS_CODE`` numbers. Every path that changes ``bnpl_status`` writes one (open, close,
    suspend, restore), so the history replays to the status at any instant."""
    ev = CreditEvent(user_id=uid, kind="status", old_value=BNPL_STATUS_CODE[old], new_value=BNPL_STATUS_CODE[new],
                     reason=reason, at=at)
    session.add(ev)
    return ev


def set_status(*, session: Session, uid: int, status: str, reason: str, at: datetime) -> str:
    """Move 先用后付 towards ``status`` as ``rules.bnpl_status_after`` allows (a shopper who closed it
    stays closed), compare-and-set, with its history event when it changed. Returns the status."""
    for _ in range(5):
        old = session.execute(sa.select(CA.c.bnpl_status).where(CA.c.user_id == uid)).scalar_one_or_none()
        if old is None:
            raise NotFound("credit account")
        new = rules.bnpl_status_after(old, status)
        if new == old:
            return old
        if session.execute(sa.update(CA).where(CA.c.user_id == uid, CA.c.bnpl_status == old)
                           .values(bnpl_status=new, updated_at=at)).rowcount == 1:
            log_status(session=session, uid=uid, old=old, new=new, reason=reason, at=at)
            return new
    raise RuntimeError("先用后付 status kept changing under us")
