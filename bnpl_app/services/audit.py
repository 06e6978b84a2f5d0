"""The consistency audit: the journal against the tables, and the limit identity for everyone.
Used by ``python -m bnpl_app audit`` (non-zero exit on any violation), the operator page and
after every step of the stateful property test."""

from __future__ import annotations

from collections import defaultdict
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
from .ledger import lim, mer, pm

P = Posting.__table__
INST = Installment.__table__
ORD = Order.__table__


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


def _balances(s: Session) -> dict[str, int]:
    bal: dict[str, int] = defaultdict(int)
    for acct, amt in s.execute(sa.select(P.c.credit_account, sa.func.sum(P.c.amount_fen)).group_by(P.c.credit_account)):
        bal[acct] += int(amt)
    for acct, amt in s.execute(sa.select(P.c.debit_account, sa.func.sum(P.c.amount_fen)).group_by(P.c.debit_account)):
        bal[acct] -= int(amt)
    return bal


def run_audit(s: Session) -> AuditReport:
    bal = _balances(s)

    postings = Check("every posting balances (two legs, positive amount, one ledger per key)")
    for key, n, ledgers, bad in s.execute(sa.select(
            P.c.posting_key, sa.func.count(), sa.func.count(sa.distinct(P.c.ledger)),
            sa.func.sum(sa.case((sa.or_(P.c.amount_fen <= 0, P.c.debit_account == P.c.credit_account), 1), else_=0)))
            .group_by(P.c.posting_key)):
        postings.checked += 1
        if bad or ledgers != 1:
            postings.fail(f"posting {key}: {bad} bad leg(s), {ledgers} ledgers")
    total = sum(bal.values())
    if total != 0:
        postings.fail(f"the journal's accounts sum to {total}, not 0")

    identity = Check("limit = available + frozen + outstanding, available ≥ 0, columns = journal")
    frozen_by_user: dict[int, int] = defaultdict(int)
    for uid, amt in s.execute(sa.select(ORD.c.shopper_id, sa.func.sum(ORD.c.price_fen))
                              .where(ORD.c.status.in_(OS.HOLDING)).group_by(ORD.c.shopper_id)):
        frozen_by_user[uid] = int(amt)
    out_by_user: dict[int, int] = defaultdict(int)
    for uid, amt in s.execute(sa.select(INST.c.shopper_id, sa.func.sum(INST.c.principal_fen))
                              .where(INST.c.status.in_(IS.OPEN)).group_by(INST.c.shopper_id)):
        out_by_user[uid] = int(amt)
    for a in s.execute(sa.select(CreditAccount)).scalars():
        identity.checked += 1
        u = a.user_id
        available = max(0, a.limit_fen - a.frozen_fen - a.outstanding_fen)
        excess = max(0, a.frozen_fen + a.outstanding_fen - a.limit_fen)
        if a.limit_fen + excess != available + a.frozen_fen + a.outstanding_fen or available < 0:
            identity.fail(f"user {u}: identity broken")
        if -bal[lim(u, "granted")] != a.limit_fen:
            identity.fail(f"user {u}: limit {a.limit_fen} but journal grants {-bal[lim(u, 'granted')]}")
        if bal[lim(u, "frozen")] != a.frozen_fen or a.frozen_fen != frozen_by_user[u]:
            identity.fail(f"user {u}: frozen {a.frozen_fen}, journal {bal[lim(u, 'frozen')]}, orders {frozen_by_user[u]}")
        if bal[lim(u, "outstanding")] != a.outstanding_fen or a.outstanding_fen != out_by_user[u]:
            identity.fail(f"user {u}: outstanding {a.outstanding_fen}, journal {bal[lim(u, 'outstanding')]}, "
                          f"installments {out_by_user[u]}")
        if bal[lim(u, "headroom")] != a.limit_fen - a.frozen_fen - a.outstanding_fen:
            identity.fail(f"user {u}: headroom {bal[lim(u, 'headroom')]} ≠ limit − frozen − outstanding")

    once = Check("no installment is paid twice; each payment matches its capture")
    captured: dict[int, tuple[int, int]] = {}
    for iid, keys, amt in s.execute(sa.select(P.c.installment_id, sa.func.count(sa.distinct(P.c.posting_key)),
                                              sa.func.sum(P.c.amount_fen))
                                    .where(P.c.kind == "capture", P.c.ledger == "money").group_by(P.c.installment_id)):
        captured[iid] = (keys, int(amt))
    for iid, status, paid in s.execute(sa.select(INST.c.id, INST.c.status, INST.c.paid_fen)):
        once.checked += 1
        keys, amt = captured.get(iid, (0, 0))
        if status == IS.PAID:
            if keys > 1 or (paid > 0 and (keys != 1 or amt != paid)):
                once.fail(f"installment {iid}: paid {paid}, {keys} capture(s) of {amt}")
        elif keys:
            once.fail(f"installment {iid} is {status} but has a capture")

    methods = Check("payment-method balances = journal")
    for m in s.execute(sa.select(PaymentMethod)).scalars():
        methods.checked += 1
        if bal[pm(m.id)] != m.balance_fen:
            methods.fail(f"method {m.id}: balance {m.balance_fen}, journal {bal[pm(m.id)]}")

    settle = Check("merchant settlement = captured − platform fees − refunds")
    for (mid,) in s.execute(sa.select(Merchant.id)):
        settle.checked += 1
        principal = fees = 0
        for p, bps in s.execute(sa.select(INST.c.principal_fen, ORD.c.platform_fee_bps)
                                .join(ORD, ORD.c.id == INST.c.order_id)
                                .where(INST.c.merchant_id == mid, INST.c.status == IS.PAID)):
            principal += p
            fees += bps_of(p, bps)
        refunds = bal[f"{mer(mid)}:refunds"]
        if bal[mer(mid)] != principal - fees - refunds:
            settle.fail(f"merchant {mid}: journal {bal[mer(mid)]}, expected {principal} − {fees} − {refunds}")

    return AuditReport([postings, identity, once, methods, settle])
