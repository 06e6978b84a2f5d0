"""The consistency audit: the journal against the tables, and the limit identity for everyone.
Used by ``python -m bnpl_app audit`` (non-zero exit on any violation), the operator page and
after every step of the stateful property test.

It must finish on a journal of tens of millions of rows, so each big table is read in storage
order a fixed number of times and summed here. A GROUP BY on an indexed column looks cheaper to
SQLite (no sort), but it walks the index and fetches every row in index order: one random page
read per row, which on a 50M-row journal had not finished after 35 minutes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from ..models import (
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Order,
    OrderStatus as OS,
    PaymentMethod,
    Posting,
)
from ..domain.money import bps_of
from .ledger import MONEY, lim, mer, pm

P = Posting.__table__
INST = Installment.__table__
ORD = Order.__table__
CA = CreditAccount.__table__
PM = PaymentMethod.__table__

BATCH = 10_000  # rows fetched at a time while streaming a table


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def fail(self, msg: str) -> None:
        if len(self.violations) < 50:
            self.violations.append(msg)


@dataclass
class AuditReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            out.append(f"{'OK  ' if c.ok else 'FAIL'} {c.name}: {c.checked} checked" +
                       ("" if c.ok else f", {len(c.violations)} violation(s)"))
            out += [f"     - {v}" for v in c.violations[:10]]
        out.append("audit: clean" if self.ok else "audit: VIOLATIONS FOUND")
        return out


@dataclass
class _Captures:
    """Per installment, its money-ledger captures: how many distinct posting keys, how much."""

    fen: dict[int, int] = field(default_factory=dict)
    # The key, or a set once a second key shows up (rare): a set for every installment would not fit.
    keys: dict[int, str | set[str]] = field(default_factory=dict)

    def add(self, iid: int, key: str, amount: int) -> None:
        self.fen[iid] = self.fen.get(iid, 0) + amount
        seen = self.keys.setdefault(iid, key)
        if isinstance(seen, set):
            seen.add(key)
        elif seen != key:
            self.keys[iid] = {seen, key}

    def of(self, iid: int) -> tuple[int, int]:
        seen = self.keys.get(iid)
        if seen is None:
            return 0, 0
        return (len(seen) if isinstance(seen, set) else 1), self.fen[iid]


def _stream(s: Session, stmt) -> Iterable[sa.Row]:
    """The rows as they come (psycopg would otherwise fetch a whole table into memory)."""
    return s.execute(stmt, execution_options={"yield_per": BATCH})


def _journal(s: Session) -> tuple[dict[str, int], _Captures]:
    """One pass over the journal: every account's balance (credits − debits), and the captures.
    No WHERE, GROUP BY or ORDER BY, so every database reads the table straight through."""
    capture = sa.and_(P.c.kind == "capture", P.c.ledger == MONEY)
    bal: dict[str, int] = defaultdict(int)
    captures = _Captures()
    for debit, credit, amount, iid, key in _stream(s, sa.select(
            P.c.debit_account, P.c.credit_account, P.c.amount_fen,
            sa.case((capture, P.c.installment_id)), sa.case((capture, P.c.posting_key)))):
        bal[credit] += amount
        bal[debit] -= amount
        if iid is not None:
            captures.add(iid, key, amount)
    return bal, captures


def _scan(s: Session, table: sa.Table) -> str:
    """``table`` for a FROM clause whose GROUP BY must sort a table scan, not walk an index
    (see the module's docstring). PostgreSQL plans that on its own."""
    return f"{table.name} NOT INDEXED" if s.get_bind().dialect.name == "sqlite" else table.name


def _postings(s: Session, bal: dict[str, int]) -> Check:
    postings = Check("every posting balances (two legs, positive amount, one ledger per key)")
    # The index on (posting_key, leg) answers this alone, without touching the table.
    postings.checked = s.execute(sa.select(sa.func.count(sa.distinct(P.c.posting_key)))).scalar_one()
    # One sort of the whole journal by key; only the broken keys come back, in key order.
    bad_leg = "CASE WHEN amount_fen <= 0 OR debit_account = credit_account THEN 1 ELSE 0 END"
    for key, bad, ledgers in _stream(s, sa.text(f"""
            SELECT posting_key, sum({bad_leg}), count(DISTINCT ledger) FROM {_scan(s, P)} GROUP BY posting_key
            HAVING count(DISTINCT ledger) <> 1 OR sum({bad_leg}) > 0 ORDER BY posting_key""")):
        postings.fail(f"posting {key}: {bad} bad leg(s), {ledgers} ledgers")
    total = sum(bal.values())
    if total != 0:
        postings.fail(f"the journal's accounts sum to {total}, not 0")
    return postings


def _installments(s: Session, captures: _Captures) -> tuple[Check, dict[int, int], dict[int, list[int]]]:
    """One pass over the installments, each with its order's platform fee (an order's row sits near
    its installments', so the join costs little): the once-only check, the open principal per
    shopper, and per merchant the principal and platform fees of paid installments."""
    once = Check("no installment is paid twice; each payment matches its capture")
    open_by_user: dict[int, int] = defaultdict(int)
    paid_by_merchant: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for iid, uid, mid, status, principal, paid_fen, bps in _stream(s, sa.select(
            INST.c.id, INST.c.shopper_id, INST.c.merchant_id, INST.c.status, INST.c.principal_fen, INST.c.paid_fen,
            ORD.c.platform_fee_bps).select_from(INST.outerjoin(ORD, ORD.c.id == INST.c.order_id))):
        once.checked += 1
        keys, amt = captures.of(iid)
        if status == IS.PAID:
            if keys > 1 or (paid_fen > 0 and (keys != 1 or amt != paid_fen)):
                once.fail(f"installment {iid}: paid {paid_fen}, {keys} capture(s) of {amt}")
            if bps is not None:  # settlement counts only installments whose order exists
                paid_by_merchant[mid][0] += principal
                paid_by_merchant[mid][1] += bps_of(principal, bps)
        elif keys:
            once.fail(f"installment {iid} is {status} but has a capture")
        if status in IS.OPEN:
            open_by_user[uid] += principal
    return once, open_by_user, paid_by_merchant


def _identity(s: Session, bal: dict[str, int], open_by_user: dict[int, int]) -> Check:
    identity = Check("limit = available + frozen + outstanding, available ≥ 0, columns = journal")
    frozen_by_user: dict[int, int] = defaultdict(int)
    # Only orders in their trial are held: few, found through the index on status. Summed here,
    # not grouped in SQL, which SQLite would answer by walking the shopper index over every order.
    for uid, price in _stream(s, sa.select(ORD.c.shopper_id, ORD.c.price_fen).where(ORD.c.status.in_(OS.HOLDING))):
        frozen_by_user[uid] += price
    for u, limit, frozen, outstanding in _stream(s, sa.select(CA.c.user_id, CA.c.limit_fen, CA.c.frozen_fen,
                                                             CA.c.outstanding_fen)):
        identity.checked += 1
        available = max(0, limit - frozen - outstanding)
        excess = max(0, frozen + outstanding - limit)
        if limit + excess != available + frozen + outstanding or available < 0:
            identity.fail(f"user {u}: identity broken")
        if -bal[lim(u, "granted")] != limit:
            identity.fail(f"user {u}: limit {limit} but journal grants {-bal[lim(u, 'granted')]}")
        if bal[lim(u, "frozen")] != frozen or frozen != frozen_by_user[u]:
            identity.fail(f"user {u}: frozen {frozen}, journal {bal[lim(u, 'frozen')]}, orders {frozen_by_user[u]}")
        if bal[lim(u, "outstanding")] != outstanding or outstanding != open_by_user[u]:
            identity.fail(f"user {u}: outstanding {outstanding}, journal {bal[lim(u, 'outstanding')]}, "
                          f"installments {open_by_user[u]}")
        if bal[lim(u, "headroom")] != limit - frozen - outstanding:
            identity.fail(f"user {u}: headroom {bal[lim(u, 'headroom')]} ≠ limit − frozen − outstanding")
    return identity


def _methods(s: Session, bal: dict[str, int]) -> Check:
    methods = Check("payment-method balances = journal")
    for mid, balance in _stream(s, sa.select(PM.c.id, PM.c.balance_fen)):
        methods.checked += 1
        if bal[pm(mid)] != balance:
            methods.fail(f"method {mid}: balance {balance}, journal {bal[pm(mid)]}")
    return methods


def _settlement(s: Session, bal: dict[str, int], paid_by_merchant: dict[int, list[int]]) -> Check:
    settle = Check("merchant settlement = captured − platform fees − refunds")
    for (mid,) in s.execute(sa.select(Merchant.id)):
        settle.checked += 1
        principal, fees = paid_by_merchant.get(mid, (0, 0))
        refunds = bal[f"{mer(mid)}:refunds"]
        if bal[mer(mid)] != principal - fees - refunds:
            settle.fail(f"merchant {mid}: journal {bal[mer(mid)]}, expected {principal} − {fees} − {refunds}")
    return settle


def run_audit(*, session: Session) -> AuditReport:
    s = session
    bal, captures = _journal(s)
    once, open_by_user, paid_by_merchant = _installments(s, captures)
    return AuditReport([_postings(s, bal), _identity(s, bal, open_by_user), once, _methods(s, bal),
                        _settlement(s, bal, paid_by_merchant)])
