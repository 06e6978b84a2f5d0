"""Consent: 先用后付 is never on by default. Opening it needs the terms accepted; closing it is one
action and works with open orders; a shopper may cap their own spending below the limit.
Also the simulated identity checks (实名, phone) that eligibility asks for."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.clock import Clock
from ..domain.errors import InvalidTransition, ValidationError
from ..domain.money import yuan
from ..domain.policy import POLICY
from ..models import BNPL_ACTIVE, BNPL_CLOSED, BNPL_SUSPENDED, BnplStatus as BS, User
from . import credit

CA = credit.CA


def open_bnpl(*, session: Session, uid: int, accept_terms: bool, terms_version: str, clock: Clock) -> None:
    """Turn 先用后付 on — the first time or again after closing it: every time with the current terms
    accepted, which are recorded (version, time). A suspended shopper, or one who closed it while
    suspended (limit cut to 0, restoration pending), gets it back only through a restoration."""
    acct = credit.account(session=session, uid=uid)
    if acct.bnpl_status == BNPL_ACTIVE:
        raise InvalidTransition("consent.already_open")
    if acct.bnpl_status == BNPL_SUSPENDED:
        raise InvalidTransition("consent.suspended")
    if acct.limit_fen == 0 and acct.restorable_limit_fen is not None:
        raise InvalidTransition("consent.restore_first")
    if accept_terms is not True or terms_version != POLICY.terms_version:
        raise ValidationError("consent.terms_required", field="terms")
    if acct.score < POLICY.platform_min_score:
        raise InvalidTransition("consent.score_too_low", score=acct.score, min=POLICY.platform_min_score)
    now = clock.now()
    old = acct.bnpl_status
    res = session.execute(
        sa.update(CA)
        .where(CA.c.user_id == uid, CA.c.bnpl_status == old, CA.c.bnpl_status.in_((BS.NOT_OPENED, BS.CLOSED)),
               sa.not_(sa.and_(CA.c.limit_fen == 0, CA.c.restorable_limit_fen.is_not(None))))
        .values(bnpl_status=BNPL_ACTIVE, terms_version=terms_version, terms_accepted_at=now, updated_at=now)
    )
    if res.rowcount != 1:
        raise InvalidTransition("consent.already_open")
    credit.log_status(session=session, uid=uid, old=old, new=BNPL_ACTIVE, at=now,
                      reason=credit.reason_of("cr.opened" if old == BS.NOT_OPENED else "cr.reopened"))
    if acct.limit_fen == 0 and acct.restorable_limit_fen is None:
        credit.set_limit(session=session, uid=uid, new_limit=POLICY.start_limit(acct.score), reason=credit.reason_of("cr.opened"), at=now)


def close_bnpl(*, session: Session, uid: int, clock: Clock) -> None:
    """No new BNPL orders; open ones finish under the terms they were made with. Works in every
    status 先用后付 is on in, suspended included — and lifts nothing: the limit stays as it is (a
    suspended shopper's 0), so reopening after a suspension needs a restoration first."""
    now = clock.now()
    old = session.execute(sa.select(CA.c.bnpl_status).where(CA.c.user_id == uid)).scalar_one_or_none()
    res = session.execute(
        sa.update(CA).where(CA.c.user_id == uid, CA.c.bnpl_status == old, CA.c.bnpl_status.in_((BS.ACTIVE, BS.SUSPENDED)))
        .values(bnpl_status=BNPL_CLOSED, updated_at=now)
    )
    if res.rowcount != 1:
        raise InvalidTransition("consent.not_open")
    credit.log_status(session=session, uid=uid, old=old, new=BNPL_CLOSED, reason=credit.reason_of("cr.closed"), at=now)


def set_self_cap(*, session: Session, uid: int, cap_fen: int | None, clock: Clock) -> None:
    acct = credit.account(session=session, uid=uid)
    if cap_fen is not None:
        if isinstance(cap_fen, bool) or not isinstance(cap_fen, int) or not 0 <= cap_fen <= acct.limit_fen:
            raise ValidationError("consent.self_cap_range", field="self_cap", limit=yuan(acct.limit_fen))
    session.execute(sa.update(CA).where(CA.c.user_id == uid).values(self_cap_fen=cap_fen, updated_at=clock.now()))


_PHONE_RE = re.compile(r"^1\d{10}$", re.ASCII)
_ID_RE = re.compile(r"^\d{17}[\dXx]$", re.ASCII)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def verify_identity(*, session: Session, uid: int, real_name: str, id_number: str) -> None:
    """Simulated 实名认证: the format is checked; a real provider would be called here."""
    if not 2 <= len(_text(real_name)) <= 30:
        raise ValidationError("bad_text", field="real_name", min=2, max=30)
    if not _ID_RE.match(_text(id_number)):
        raise ValidationError("auth.bad_id_number", field="id_number")
    session.execute(sa.update(User.__table__).where(User.__table__.c.id == uid).values(real_name_verified=True))


def bind_phone(*, session: Session, uid: int, phone: str) -> None:
    phone = _text(phone)
    if not _PHONE_RE.match(phone):
        raise ValidationError("auth.bad_phone", field="phone")
    session.execute(sa.update(User.__table__).where(User.__table__.c.id == uid).values(phone=phone))
