"""The shopper's credit page as it reads: the account, the history of score and limit changes,
the checks 先用后付 needs (real name, phone, a payment method), the applications. Only reads;
the changes are ``consent``'s, ``applications``' and ``credit``'s."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from ..domain.clock import Clock
from ..models import Application, CreditAccount, CreditEvent, User
from . import applications, credit, orders, wallet


def score_and_limit_history(*, session: Session, uid: int) -> list[CreditEvent]:
    """Every change of the shopper's score or limit, oldest first."""
    return list(session.exec(select(CreditEvent).where(CreditEvent.user_id == uid,
                                                       CreditEvent.kind.in_(("score", "limit")))
                             .order_by(CreditEvent.at, CreditEvent.id)))


@dataclass(frozen=True)
class CreditProfile:
    account: CreditAccount
    user: User
    history: list[CreditEvent]  # score and limit changes, oldest first
    open_orders: int
    overdue_owed_fen: int
    has_method: bool  # a bound payment method
    auto_method: bool  # … that automatic deduction may use (what 先用后付 needs)
    hardship_ok: bool  # something is overdue long enough to negotiate
    applications: list[tuple[Application, list[str]]]  # newest first, with their proof files' labels


def credit_profile(*, session: Session, uid: int, clock: Clock) -> CreditProfile:
    return CreditProfile(
        account=credit.account(session=session, uid=uid), user=session.get(User, uid),
        history=score_and_limit_history(session=session, uid=uid), open_orders=orders.open_count(session=session, uid=uid),
        overdue_owed_fen=applications.overdue_owed(session=session, uid=uid), has_method=wallet.has_method(session=session, uid=uid),
        auto_method=wallet.has_auto_method(session=session, uid=uid),
        hardship_ok=applications.hardship_eligible(session=session, uid=uid, clock=clock),
        applications=applications.of_shopper(session=session, uid=uid),
    )
