"""The append-only journal. Each row is a two-leg transfer that balances by construction; a
business event with several legs shares one posting key, and ``(posting_key, leg)`` is UNIQUE, so
the same capture or release can never be written twice.

Accounts (balance = credits − debits):
  limit ledger  lim:<uid>:granted (−limit) · :headroom · :frozen · :outstanding
                headroom + frozen + outstanding = limit, always.
  money ledger  pm:<method>  a payment method's balance      ext:funding   top-ups from outside
                mer:<merchant> settlement owed to a merchant plat:service_fee  2% of principal
                plat:fee_income installment and late fees
                a capture ``cap:<installment>`` moves pm → mer, plat:service_fee, plat:fee_income;
                its refund ``ref:<installment>`` moves each of those legs back to the pm.
  limit ledger  cash:<uid>:granted (−line) · :available · :outstanding   a 备用金 line:
                available + outstanding = line, always (``cash.*`` postings).
  money ledger  plat:cash_book  what the platform lent on 备用金 lines: a draw moves it → pm (or →
                mer for a purchase), a capture of a cash installment moves its principal pm → it
                plat:deposits   rental deposits paid in cash, held until refunded or charged
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from ..models import Posting

LIMIT, MONEY = "limit", "money"
EXT_FUNDING = "ext:funding"
PLAT_SERVICE_FEE = "plat:service_fee"
PLAT_FEE_INCOME = "plat:fee_income"
PLAT_CASH_BOOK = "plat:cash_book"
PLAT_DEPOSITS = "plat:deposits"


def lim(uid: int, bucket: str) -> str:
    return f"lim:{uid}:{bucket}"


def cash(uid: int, bucket: str) -> str:
    """An account of a shopper's 备用金 line: granted · available · outstanding."""
    return f"cash:{uid}:{bucket}"


def pm(method_id: int) -> str:
    return f"pm:{method_id}"


def mer(merchant_id: int) -> str:
    return f"mer:{merchant_id}"


Leg = tuple[str, str, int]  # debit account, credit account, amount


def post(
    *, session: Session,
    ledger: str,
    key: str,
    legs: Iterable[Leg],
    kind: str,
    at: datetime,
    order_id: int | None = None,
    installment_id: int | None = None,
) -> int:
    """Append one posting; zero legs are dropped. Returns how many legs were written."""
    rows = [
        {
            "ledger": ledger,
            "posting_key": key,
            "leg": i,
            "debit_account": d,
            "credit_account": c,
            "amount_fen": a,
            "kind": kind,
            "order_id": order_id,
            "installment_id": installment_id,
            "created_at": at,
        }
        for i, (d, c, a) in enumerate(legs)
        if a
    ]
    for r in rows:
        if r["amount_fen"] < 0 or not isinstance(r["amount_fen"], int):
            raise ValueError(f"posting legs carry positive int fen, got {r['amount_fen']!r}")
    if rows:
        session.execute(sa.insert(Posting), rows)
    return len(rows)


def balance(*, session: Session, account: str) -> int:
    credit = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Posting.amount_fen), 0)).where(Posting.credit_account == account)
    ).scalar_one()
    debit = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Posting.amount_fen), 0)).where(Posting.debit_account == account)
    ).scalar_one()
    return int(credit) - int(debit)


def balances(*, session: Session, prefix: str = "") -> dict[str, int]:
    """Every account's balance (optionally only those starting with ``prefix``)."""
    out: dict[str, int] = {}
    cred = sa.select(Posting.credit_account, sa.func.sum(Posting.amount_fen)).group_by(Posting.credit_account)
    deb = sa.select(Posting.debit_account, sa.func.sum(Posting.amount_fen)).group_by(Posting.debit_account)
    if prefix:
        cred = cred.where(Posting.credit_account.startswith(prefix))
        deb = deb.where(Posting.debit_account.startswith(prefix))
    for acct, amt in session.execute(cred):
        out[acct] = out.get(acct, 0) + int(amt)
    for acct, amt in session.execute(deb):
        out[acct] = out.get(acct, 0) - int(amt)
    return out
