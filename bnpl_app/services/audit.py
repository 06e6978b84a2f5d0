"""The consistency audit: the journal against the tables, and the limit identity for everyone.
Used by ``python -m bnpl_app audit`` (non-zero exit on any violation), the operator page and
after every step of the stateful property test.

It must finish on a journal of tens of millions of rows, so each big table is read in storage
order a fixed number of times and summed here. A GROUP BY on an indexed column looks cheaper to
SQLite (no sort), but it walks the index and fetches every row in index order: one random page
read per row, which on a 50M-row journal had not finished after 35 minutes.

Every kind of contract is checked (``OrderKind``): the 先用后付 limit holds 先用后付 orders in trial and
the waived deposits of rentals, and is owed the principal of 先用后付 and charge installments; a
备用金 line has its own identity (``cash:<uid>:*``); a merchant's settlement counts the captures of
every kind paid to it, buy-outs, repairs paid from deposits and purchases paid from 备用金 — each
posting of those checked against its row (posting keys: ``services/ledger.py``)."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from ..domain import rules
from ..domain.policy import POLICY
from ..domain.status import BNPL_STATUS_CODE, BnplStatus as BS
from ..models import (
    CashDraw,
    CashLine,
    CreditAccount,
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Merchant,
    Notification,
    Order,
    OrderStatus as OS,
    PaymentMethod,
    Posting,
    Rental,
)
from ..domain.money import bps_of
from ..domain.status import FreezeState as FS, OrderKind as OK, RentalStatus as RS
from .ledger import MONEY, PLAT_DEPOSITS, PLAT_SERVICE_FEE, cash, lim, mer, pm

P = Posting.__table__
INST = Installment.__table__
ORD = Order.__table__
CA = CreditAccount.__table__
PM = PaymentMethod.__table__
NOTE = Notification.__table__
CE = CreditEvent.__table__
CL = CashLine.__table__
CD = CashDraw.__table__
RT = Rental.__table__
# The money postings of a merchant's settlement that are not installment captures or refunds,
# and of the resolution of rental freezes and deposits: read aside in the journal's one pass.
_ASIDE = ("buyout:", "deprep:", "drawpay:", "rfrz:", "rrel:", "rcap:", "dep:", "depref:")

BATCH = 10_000  # rows fetched at a time while streaming a table


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    note: str = ""  # what it could not check, and why

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
                       (f" ({c.note})" if c.note else "") +
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


@dataclass
class _Aside:
    """The legs of the postings keyed ``_ASIDE``: key → [(debit, credit, amount)]."""

    legs: dict[str, list[tuple[str, str, int]]] = field(default_factory=lambda: defaultdict(list))

    def of(self, prefix: str, ident: int) -> list[tuple[str, str, int]]:
        return self.legs.get(f"{prefix}{ident}", [])

    def total(self, prefix: str, ident: int) -> int:
        return sum(a for _d, _c, a in self.of(prefix, ident))


def _journal(s: Session) -> tuple[dict[str, int], _Captures, _Aside]:
    """One pass over the journal: every account's balance (credits − debits), the captures, and
    the legs of the postings kept aside (``_ASIDE``). No WHERE, GROUP BY or ORDER BY, so every
    database reads the table straight through."""
    capture = sa.and_(P.c.kind == "capture", P.c.ledger == MONEY)
    aside = sa.or_(*(P.c.posting_key.startswith(prefix) for prefix in _ASIDE))
    bal: dict[str, int] = defaultdict(int)
    captures = _Captures()
    kept = _Aside()
    for debit, credit, amount, iid, key, other in _stream(s, sa.select(
            P.c.debit_account, P.c.credit_account, P.c.amount_fen,
            sa.case((capture, P.c.installment_id)), sa.case((capture, P.c.posting_key)),
            sa.case((aside, P.c.posting_key)))):
        bal[credit] += amount
        bal[debit] -= amount
        if iid is not None:
            captures.add(iid, key, amount)
        if other is not None:
            kept.legs[other].append((debit, credit, amount))
    return bal, captures, kept


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


def _installments(s: Session, captures: _Captures) -> tuple[Check, dict[int, int], dict[int, int], dict[int, list[int]],
                                                            Check]:
    """One pass over the installments, each with its order's platform fee and status (an order's
    row sits near its installments', so the join costs little): the once-only check, the open
    principal per shopper, per merchant [principal captured, platform fees net of refunded ones,
    principal refunded] — a REFUNDED installment was captured and then refunded — and the refunds
    check (read through the journal's order index: refunds are few)."""
    once = Check("no installment is paid twice; each payment matches its capture")
    open_by_user: dict[int, int] = defaultdict(int)  # open principal owed on the 先用后付 limit
    open_cash: dict[int, int] = defaultdict(int)  # … on the 备用金 line
    paid_by_merchant: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    refunded: dict[int, tuple[int, int]] = {}  # installment → (order, paid)
    returned_with_money: dict[int, int] = {}  # a RETURNED order's installments still PAID
    for iid, uid, mid, status, principal, paid_fen, refunded_fen, oid, bps, order_status, kind in _stream(s, sa.select(
            INST.c.id, INST.c.shopper_id, INST.c.merchant_id, INST.c.status, INST.c.principal_fen, INST.c.paid_fen,
            INST.c.refunded_fen, INST.c.order_id, ORD.c.platform_fee_bps, ORD.c.status, ORD.c.kind)
            .select_from(INST.outerjoin(ORD, ORD.c.id == INST.c.order_id))):
        once.checked += 1
        keys, amt = captures.of(iid)
        line = rules.line_repaid(kind) if kind is not None else rules.LINE_LIMIT
        if status in (IS.PAID, IS.REFUNDED):
            if keys > 1 or (paid_fen > 0 and (keys != 1 or amt != paid_fen)):
                once.fail(f"installment {iid}: paid {paid_fen}, {keys} capture(s) of {amt}")
            # settlement counts only installments whose order exists and pays a merchant
            if bps is not None and rules.pays_merchant(kind):
                paid_by_merchant[mid][0] += principal
                paid_by_merchant[mid][1] += bps_of(principal, bps)
                if status == IS.REFUNDED:
                    paid_by_merchant[mid][1] -= bps_of(principal, bps)
                    paid_by_merchant[mid][2] += principal
            if status == IS.REFUNDED:
                refunded[iid] = (oid, paid_fen)
                if refunded_fen != paid_fen:
                    once.fail(f"installment {iid}: refunded {refunded_fen} of the {paid_fen} it paid")
            elif order_status == OS.RETURNED:
                returned_with_money[oid] = returned_with_money.get(oid, 0) + paid_fen
        elif keys:
            once.fail(f"installment {iid} is {status} but has a capture")
        if status in IS.OPEN and line == rules.LINE_LIMIT:
            open_by_user[uid] += principal
        elif status in IS.OPEN and line == rules.LINE_CASH:
            open_cash[uid] += principal
    return once, open_by_user, open_cash, paid_by_merchant, _refunds(s, captures, refunded, returned_with_money)


def _refunds(s: Session, captures: _Captures, refunded: dict[int, tuple[int, int]],
             returned_with_money: dict[int, int]) -> Check:
    """Every refunded order's refunds equal its captures: each REFUNDED installment has exactly
    one posting ``ref:<installment>``, of what it paid, and no refund is booked on anything else
    of those orders; a returned order kept none of what it captured."""
    check = Check("every refunded order's refunds equal its captures (one ref: posting per refunded installment)")
    for oid, kept in sorted(returned_with_money.items()):
        check.fail(f"order {oid} was returned but {kept} of what it captured was not refunded")
    order_ids = sorted({oid for oid, _paid in refunded.values()})
    by_inst: dict[int | None, dict[str, int]] = defaultdict(dict)
    for k in range(0, len(order_ids), 500):
        for oid, iid, key, amount in s.execute(sa.select(P.c.order_id, P.c.installment_id, P.c.posting_key, P.c.amount_fen)
                                               .where(P.c.order_id.in_(order_ids[k:k + 500]), P.c.kind == "refund")):
            by_inst[iid][key] = by_inst[iid].get(key, 0) + amount
    per_order: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # order → [captured, refunded]
    for iid, (oid, paid) in refunded.items():
        check.checked += 1
        got = by_inst.pop(iid, {})
        if list(got) != [f"ref:{iid}"] or got[f"ref:{iid}"] != paid:
            check.fail(f"installment {iid}: paid {paid}, refund postings {got or 'none'}")
        per_order[oid][0] += captures.of(iid)[1]
        per_order[oid][1] += sum(got.values())
    for iid, got in by_inst.items():
        check.fail(f"refund postings {sorted(got)} on installment {iid}, which is not refunded")
    for oid, (captured, back) in sorted(per_order.items()):
        if captured != back:
            check.fail(f"order {oid}: captured {captured}, refunded {back}")
    return check


def _identity(s: Session, bal: dict[str, int], open_by_user: dict[int, int]) -> Check:
    identity = Check("limit = available + frozen + outstanding, available ≥ 0, columns = journal")
    frozen_by_user: dict[int, int] = defaultdict(int)
    # Only 先用后付 orders in their trial are held: few, found through the index on status. Summed
    # here, not grouped in SQL, which SQLite would answer by walking the shopper index over every order.
    for uid, price, kind in _stream(s, sa.select(ORD.c.shopper_id, ORD.c.price_fen, ORD.c.kind)
                                    .where(ORD.c.status.in_(OS.HOLDING))):
        if kind == OK.BNPL:
            frozen_by_user[uid] += price
    # … and the waived deposits of rentals whose freeze is held.
    for uid, waived in _stream(s, sa.select(RT.c.shopper_id, RT.c.waived_fen).where(RT.c.freeze_state == FS.HELD)):
        frozen_by_user[uid] += waived
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


def _settlement(s: Session, bal: dict[str, int], paid_by_merchant: dict[int, list[int]], aside: _Aside) -> Check:
    """captured − platform fees (net of the service fees refunded) − refunds (principal refunded)
    + what else was paid to the shop = the journal's balance of ``mer:<id>``. What else: a rental's
    buy-out (``buyout:``, the price paid, less the service fee), a repair paid from a deposit
    (``deprep:``) and a purchase paid from 备用金 (``drawpay:``, the amount drawn, less the service
    fee) — each posting checked against its row (the amount, the shop), then its shop's share counted."""
    settle = Check("merchant settlement = captured − platform fees − refunds")
    extra: dict[int, int] = defaultdict(int)

    def paid_to_shop(key: str, legs, total: int, mid: int | None) -> None:
        got = sum(a for _d, _c, a in legs)
        shop = [(c, a) for _d, c, a in legs if c.startswith("mer:")]
        if got != total or any(c not in (mer(mid), PLAT_SERVICE_FEE) for _d, c, _a in legs) or len(shop) > 1:
            settle.fail(f"{key}: legs {legs} but its row says {total} to shop {mid}")
            return
        extra[mid] += sum(a for _c, a in shop)

    rentals = {r.id: r for r in _stream(s, sa.select(RT.c.id, RT.c.merchant_id, RT.c.status, RT.c.buyout_paid_fen,
                                                     RT.c.repair_fen, RT.c.paid_deposit_fen))}
    for key in sorted(k for k in aside.legs if k.startswith(("buyout:", "deprep:"))):
        prefix, _, ident = key.partition(":")
        r = rentals.get(int(ident)) if ident.isdigit() else None
        if r is None:
            settle.fail(f"{key}: no such rental")
            continue
        if prefix == "buyout":
            if r.status != RS.BOUGHT_OUT:
                settle.fail(f"{key}: rental {r.id} is {r.status}, not bought out")
            paid_to_shop(key, aside.legs[key], r.buyout_paid_fen, r.merchant_id)
        else:
            paid_to_shop(key, aside.legs[key], min(r.repair_fen, r.paid_deposit_fen), r.merchant_id)
    draws = {d.id: d for d in _stream(s, sa.select(CD.c.id, CD.c.amount_fen, CD.c.dest, CD.c.method_id,
                                                   ORD.c.merchant_id).select_from(
        CD.outerjoin(ORD, ORD.c.id == CD.c.purchase_order_id)))}
    for key in sorted(k for k in aside.legs if k.startswith("drawpay:")):
        _, _, ident = key.partition(":")
        d = draws.get(int(ident)) if ident.isdigit() else None
        if d is None:
            settle.fail(f"{key}: no such 备用金 draw")
        elif d.dest == "shop":
            paid_to_shop(key, aside.legs[key], d.amount_fen, d.merchant_id)
        elif aside.legs[key] != [(aside.legs[key][0][0], pm(d.method_id), d.amount_fen)]:
            settle.fail(f"{key}: legs {aside.legs[key]} but the draw paid {d.amount_fen} to method {d.method_id}")
    for (mid,) in s.execute(sa.select(Merchant.id)):
        settle.checked += 1
        principal, fees, refunds = paid_by_merchant.get(mid, (0, 0, 0))
        if bal[mer(mid)] != principal - fees - refunds + extra[mid]:
            settle.fail(f"merchant {mid}: journal {bal[mer(mid)]}, expected {principal} − {fees} − {refunds}"
                        + (f" + {extra[mid]}" if extra[mid] else ""))
    return settle


# ── the promises to the shopper ───────────────────────────────────────────────────────────────
def _quotes(s: Session) -> Check:
    """The order is the quote: price, plan, terms, trial length and every period's principal and
    fee are the ones the shopper confirmed (``checkout.Terms`` stored with the order)."""
    from .checkout import Terms  # checkout imports services that import this module's neighbours

    quotes = Check("every order's principal, fees and schedule equal the quote confirmed for it")
    periods: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for oid, seq, principal, fee in _stream(s, sa.select(INST.c.order_id, INST.c.seq, INST.c.principal_fen, INST.c.fee_fen)
                                            .where(INST.c.plan_application_id.is_(None))):
        periods[oid].append((seq, principal, fee))
    legacy = 0
    rent_terms = {r.order_id: r for r in _stream(s, sa.select(RT.c.order_id, RT.c.term_months, RT.c.monthly_rent_fen)
                                                 .where(RT.c.order_id.is_not(None)))}
    draw_terms = {d.order_id: d for d in _stream(s, sa.select(CD.c.order_id, CD.c.amount_fen, CD.c.term_months,
                                                              CD.c.interest_fen))}
    for o in _stream(s, sa.select(ORD.c.id, ORD.c.price_fen, ORD.c.plan, ORD.c.periods, ORD.c.fee_bps,
                                   ORD.c.late_fee_bps_per_day, ORD.c.late_fee_cap_bps, ORD.c.grace_days, ORD.c.created_at,
                                   ORD.c.trial_end_at, ORD.c.product_id, ORD.c.quote_json, ORD.c.kind)):
        if o.kind != OK.BNPL:
            # 备用金 and rent carry their own contract: the schedule is the one of the draw's row (amount,
            # term, the quoted interest) or of the rental's (term × monthly rent, no fee).
            _contract(quotes, o, sorted(periods.get(o.id, [])), draw_terms.get(o.id), rent_terms.get(o.id))
            continue
        if o.quote_json is None:
            legacy += 1  # made before quotes were stored (migration 0005): nothing to compare with
            continue
        quotes.checked += 1
        try:
            t = Terms.from_json(o.quote_json)
        except (ValueError, KeyError, TypeError) as exc:
            quotes.fail(f"order {o.id}: stored quote unreadable ({exc})")
            continue
        stored = (o.product_id, o.price_fen, o.plan, o.fee_bps, o.late_fee_bps_per_day, o.late_fee_cap_bps, o.grace_days)
        quoted = (t.product_id, t.price_fen, t.plan, t.fee_bps, t.late_fee_bps_per_day, t.late_fee_cap_bps, t.grace_days)
        if stored != quoted:
            quotes.fail(f"order {o.id}: terms {stored} but the quote said {quoted}")
        if o.trial_end_at - o.created_at != timedelta(days=t.trial_days):
            quotes.fail(f"order {o.id}: trial {o.trial_end_at - o.created_at} but the quote said {t.trial_days} days")
        sched = sorted(periods.get(o.id, []))
        want = [(p.seq, p.principal_fen, p.fee_fen) for p in t.periods]
        if sched != want or o.periods != len(want) or sum(p[1] for p in sched) != o.price_fen:
            quotes.fail(f"order {o.id}: schedule {sched} but the quote said {want}")
    if legacy:
        quotes.note = f"{legacy} older order(s) made before quotes were stored, not compared"
    return quotes


def _contract(quotes: Check, o, sched: list[tuple[int, int, int]], draw, rental) -> None:
    """The schedule of a 备用金 draw or a rental's rent against the row it was made from."""
    if o.kind == OK.CASH:
        quotes.checked += 1
        if draw is None:
            quotes.fail(f"order {o.id}: a 备用金 order without its draw")
        elif (o.price_fen, o.periods, len(sched), sum(p[1] for p in sched), sum(p[2] for p in sched)) != (
                draw.amount_fen, draw.term_months, draw.term_months, draw.amount_fen, draw.interest_fen):
            quotes.fail(f"order {o.id}: schedule {sched} but the draw quoted {draw.amount_fen} over {draw.term_months} "
                        f"months, interest {draw.interest_fen}")
    elif o.kind == OK.RENT:
        quotes.checked += 1
        want = [(k + 1, rental.monthly_rent_fen, 0) for k in range(rental.term_months)] if rental is not None else None
        if want is None or sched != want or o.price_fen != rental.monthly_rent_fen * rental.term_months:
            quotes.fail(f"order {o.id}: rent schedule {sched} but the contract said {want}")


@dataclass
class _Told:
    """What an installment's shopper was told about its deductions: each announcing notice
    (time, amount, whether it said the amount may rise by the late-fee rule), and how many failed
    attempts were told."""

    announced: list[tuple] = field(default_factory=list)
    failures: int = 0


def _told(s: Session) -> dict[int, _Told]:
    told: dict[int, _Told] = defaultdict(_Told)
    for iid, kind, at, params in _stream(s, sa.select(NOTE.c.installment_id, NOTE.c.kind, NOTE.c.created_at,
                                                      NOTE.c.params_json).where(NOTE.c.installment_id.is_not(None))):
        if kind in rules.FAILURE_KINDS:
            told[iid].failures += 1
        if kind in rules.ANNOUNCING_KINDS:
            p = json.loads(params)
            told[iid].announced.append((at, p.get("amount_fen"), bool(p.get("late_rule"))))
    return told


def _notices(s: Session) -> tuple[Check, Check]:
    """No money taken without notice: every automatic capture was announced, for that
    installment, at least ``POLICY.min_notice`` before it, and the last notice before it named the
    amount taken (or said the amount may rise, and by which rule); every failed attempt was told."""
    before = Check(f"every automatic capture was announced ≥ {POLICY.min_notice.days} day(s) before, with the amount taken "
                   "(or the rule that changed it)")
    failed = Check("every failed attempt has its notice (one per installment per day)")
    told = _told(s)
    legacy = 0
    for iid, paid_at, paid_fen, auto, attempts, noticed_at, status, quoted in _stream(s, sa.select(
            INST.c.id, INST.c.paid_at, INST.c.paid_fen, INST.c.auto_paid, INST.c.attempts, INST.c.noticed_at,
            INST.c.status, ORD.c.quote_json.is_not(None)).select_from(INST.outerjoin(ORD, ORD.c.id == INST.c.order_id))):
        if not quoted and attempts:
            # An order made before migration 0005: its failures were told once, in notices that do
            # not name their installment. Nothing to compare with.
            legacy += 1
            continue
        t = told.get(iid)
        if attempts:
            failed.checked += 1
            if t is None or t.failures != attempts:
                failed.fail(f"installment {iid}: {attempts} failed attempt(s), {t.failures if t else 0} told")
        if not auto or status not in (IS.PAID, IS.REFUNDED):
            continue
        before.checked += 1
        notes = sorted(t.announced, key=lambda n: n[0]) if t else []
        if noticed_at is None or not notes or notes[0][0] > paid_at - POLICY.min_notice \
                or noticed_at > paid_at - POLICY.min_notice:
            before.fail(f"installment {iid}: taken at {paid_at}, first told {notes[0][0] if notes else 'never'}")
            continue
        _, amount, may_rise = notes[bisect_right([n[0] for n in notes], paid_at) - 1]
        if amount != paid_fen and not (may_rise and amount is not None and paid_fen > amount):
            before.fail(f"installment {iid}: took {paid_fen}, the last notice named {amount}"
                        + (" (may rise)" if may_rise else ""))
    if legacy:
        failed.note = f"{legacy} installment(s) of orders made before notices named their installment, not compared"
    return before, failed


def _consent(s: Session) -> Check:
    """No order was made while the shopper's 先用后付 was not active: each order's time is placed in
    its shopper's history of status changes (``CreditEvent`` kind "status", codes of
    ``BNPL_STATUS_CODE``). A change at the very instant of the order may have come before or after
    it, so either side of such a change passes."""
    consent = Check("no order was created while the shopper's 先用后付 was not active")
    active = BNPL_STATUS_CODE[BS.ACTIVE]
    history: dict[int, list[tuple]] = defaultdict(list)
    for uid, at, old, new in _stream(s, sa.select(CE.c.user_id, CE.c.at, CE.c.old_value, CE.c.new_value)
                                     .where(CE.c.kind == "status").order_by(CE.c.at, CE.c.id)):
        history[uid].append((at, old, new))
    start = BNPL_STATUS_CODE[BS.NOT_OPENED]
    # Only a 先用后付 order needs 先用后付 on (a 备用金 draw, a rental, a repair charge, a purchase do not).
    for oid, uid, created in _stream(s, sa.select(ORD.c.id, ORD.c.shopper_id, ORD.c.created_at)
                                     .where(ORD.c.kind == OK.BNPL)):
        consent.checked += 1
        h = history.get(uid, [])
        times = [e[0] for e in h]
        lo, hi = bisect_left(times, created), bisect_right(times, created)
        states = {h[lo - 1][2] if lo else start} | {e[2] for e in h[lo:hi]} | {e[1] for e in h[lo:hi]}
        if active not in states:
            consent.fail(f"order {oid} of user {uid} made at {created} while 先用后付 was not active")
    return consent


def _fee_caps(s: Session) -> Check:
    caps = Check("late fees never exceed the cap of the order's terms")
    for iid, principal, late, cap in _stream(s, sa.select(INST.c.id, INST.c.principal_fen, INST.c.late_fee_fen,
                                                          ORD.c.late_fee_cap_bps)
                                             .select_from(INST.join(ORD, ORD.c.id == INST.c.order_id))
                                             .where(INST.c.late_fee_fen > 0)):
        caps.checked += 1
        if late > bps_of(principal, cap):
            caps.fail(f"installment {iid}: late fees {late} above the cap {bps_of(principal, cap)}")
    return caps


# ── 备用金 and rentals ──────────────────────────────────────────────────────────────────────────
def _cash_lines(s: Session, bal: dict[str, int], open_cash: dict[int, int], aside: _Aside) -> Check:
    """Each 备用金 line: line = available + outstanding with available ≥ 0; the line's outstanding =
    the open principal of its draws' installments = the journal's ``cash:<uid>:outstanding``; the
    journal grants the line (``cash:<uid>:granted`` = −line); every draw's payout left the cash book."""
    check = Check("备用金 line = available + outstanding, available ≥ 0, columns = journal = draws")
    users = set()
    for uid, line, outstanding in _stream(s, sa.select(CL.c.user_id, CL.c.line_fen, CL.c.outstanding_fen)):
        check.checked += 1
        users.add(uid)
        available = bal[cash(uid, "available")]
        if available < 0 or line != available + outstanding:
            check.fail(f"user {uid}: line {line} ≠ available {available} + outstanding {outstanding}")
        if bal[cash(uid, "outstanding")] != outstanding or outstanding != open_cash[uid]:
            check.fail(f"user {uid}: 备用金 outstanding {outstanding}, journal {bal[cash(uid, 'outstanding')]}, "
                       f"installments {open_cash[uid]}")
        if -bal[cash(uid, "granted")] != line:
            check.fail(f"user {uid}: line {line} but the journal grants {-bal[cash(uid, 'granted')]}")
    for uid in sorted(u for u, owed in open_cash.items() if owed and u not in users):
        check.fail(f"user {uid} owes 备用金 principal {open_cash[uid]} without a line")
    for key, legs in sorted(aside.legs.items()):
        if key.startswith("drawpay:") and any(d != "plat:cash_book" for d, _c, _a in legs):
            check.fail(f"{key}: paid from {sorted({d for d, _c, _a in legs})}, not the cash book")
    return check


def _cash_interest(s: Session) -> Check:
    """No 备用金 interest above the APR cap: every rate (a line's, a draw's) × 365 within it, and each
    installment of a draw's schedule bears at most the cap's interest on the principal outstanding
    during its period (the draw's amount less the principal of the periods before), over the days
    of the period (from the draw, then from the due date before), and its overdue interest at most the
    cap's interest on its own principal over the days it counted (``overdue_interest_days``), which
    are no more than the whole days from its due date to its payment. A hardship plan's installments
    carry no new interest: together (interest and overdue interest) they bear at most what the
    periods they replaced did."""
    check = Check("备用金 interest never above the APR cap")
    for what, ident, ppm in [*(("line", i, r) for i, r in _stream(s, sa.select(CL.c.id, CL.c.daily_rate_ppm))),
                             *(("draw", i, r) for i, r in _stream(s, sa.select(CD.c.id, CD.c.daily_rate_ppm)))]:
        check.checked += 1
        if not rules.rate_within_cap(ppm):
            check.fail(f"{what} {ident}: daily rate {ppm} ppm is above the APR cap of {POLICY.cash_apr_cap_bps} bp")
    draws = {d.order_id: d for d in _stream(s, sa.select(CD.c.order_id, CD.c.amount_fen, CD.c.created_at))}
    sched: dict[int, list] = defaultdict(list)
    plan_fees: dict[int, int] = defaultdict(int)
    replaced_fees: dict[int, int] = defaultdict(int)
    for iid, oid, seq, due, principal, fee, fee_waived, plan, status, late_interest, late_days, paid_at in _stream(
            s, sa.select(INST.c.id, INST.c.order_id, INST.c.seq, INST.c.due_at, INST.c.principal_fen, INST.c.fee_fen,
                         INST.c.fee_waived_fen, INST.c.plan_application_id, INST.c.status, INST.c.overdue_interest_fen,
                         INST.c.overdue_interest_days, INST.c.paid_at)
            .select_from(INST.join(ORD, ORD.c.id == INST.c.order_id)).where(ORD.c.kind == OK.CASH)):
        if plan is not None:
            plan_fees[oid] += fee + late_interest
            continue
        if status == IS.REPLACED:
            replaced_fees[oid] += fee - fee_waived + late_interest
        sched[oid].append((seq, due, principal, fee))
        if late_interest or late_days:
            check.checked += 1
            if late_interest > rules.interest_cap_fen(principal, late_days):
                check.fail(f"installment {iid}: overdue interest {late_interest} on {principal} over {late_days} "
                           f"day(s) is above the cap ({rules.interest_cap_fen(principal, late_days)})")
            if paid_at is not None and late_days > rules.days_overdue(due, paid_at):
                check.fail(f"installment {iid}: overdue interest counted {late_days} day(s), but it was paid "
                           f"{rules.days_overdue(due, paid_at)} day(s) after its due date")
    for oid, rows in sorted(sched.items()):
        d = draws.get(oid)
        if d is None:
            check.fail(f"order {oid}: 备用金 installments without a draw")
            continue
        left, start = d.amount_fen, d.created_at
        for seq, due, principal, fee in sorted(rows):
            check.checked += 1
            days = -(-(due - start) // timedelta(days=1))
            if fee > rules.interest_cap_fen(left, days):
                check.fail(f"order {oid} period {seq}: interest {fee} on {left} over {days} day(s) is above the cap "
                           f"({rules.interest_cap_fen(left, days)})")
            left, start = left - principal, due
    for oid, fees in sorted(plan_fees.items()):
        check.checked += 1
        if fees > replaced_fees[oid]:
            check.fail(f"order {oid}: the hardship plan bears interest {fees}, above the {replaced_fees[oid]} it replaced")
    return check


def _rental_freezes(s: Session, bal: dict[str, int], aside: _Aside) -> Check:
    """Each rental's waived deposit is frozen once (``rfrz:``, the waived amount, while it is held or
    after) and resolved at most once: one ``rrel:`` and one ``rcap:`` at most, adding up to the freeze
    when released or captured, none while held; a rental that has ended holds nothing. Its paid
    deposit: ``dep:`` = paid, ``depref:`` = refunded, ``deprep:`` = the repair taken from it; and
    ``plat:deposits`` holds what is paid and neither refunded nor taken for repairs."""
    check = Check("every rental freeze resolved at most once; deposits held = paid − refunded − repairs")
    ended = (RS.RETURNED, RS.BOUGHT_OUT, RS.CANCELLED)
    held = 0
    for r in _stream(s, sa.select(RT.c.id, RT.c.status, RT.c.freeze_state, RT.c.waived_fen, RT.c.paid_deposit_fen,
                                  RT.c.deposit_refunded_fen, RT.c.repair_fen)):
        check.checked += 1
        frz, rel, cap = (aside.total(p, r.id) for p in ("rfrz:", "rrel:", "rcap:"))
        if len(aside.of("rrel:", r.id)) > 1 or len(aside.of("rcap:", r.id)) > 1 or len(aside.of("rfrz:", r.id)) > 1:
            check.fail(f"rental {r.id}: its freeze was moved more than once")
        if r.freeze_state == FS.NONE:
            if frz or rel or cap:
                check.fail(f"rental {r.id}: nothing waived, yet frozen {frz}, released {rel}, captured {cap}")
        elif frz != r.waived_fen:
            check.fail(f"rental {r.id}: waived {r.waived_fen}, frozen {frz}")
        if r.freeze_state == FS.HELD and (rel or cap):
            check.fail(f"rental {r.id}: held, yet released {rel} and captured {cap}")
        if r.freeze_state in (FS.RELEASED, FS.CAPTURED) and rel + cap != frz:
            check.fail(f"rental {r.id}: {r.freeze_state}, released {rel} + captured {cap} ≠ frozen {frz}")
        if r.freeze_state == FS.RELEASED and cap:
            check.fail(f"rental {r.id}: released, yet {cap} captured")
        if r.freeze_state == FS.HELD and r.status in ended:
            check.fail(f"rental {r.id} is {r.status} but its freeze is still held")
        from_deposit = min(r.repair_fen, r.paid_deposit_fen)
        got = (aside.total("dep:", r.id), aside.total("depref:", r.id), aside.total("deprep:", r.id))
        if got != (r.paid_deposit_fen, r.deposit_refunded_fen, from_deposit):
            check.fail(f"rental {r.id}: deposit paid/refunded/repair {got} in the journal, "
                       f"{(r.paid_deposit_fen, r.deposit_refunded_fen, from_deposit)} in the row")
        held += r.paid_deposit_fen - r.deposit_refunded_fen - from_deposit
    if bal[PLAT_DEPOSITS] != held:
        check.fail(f"plat:deposits holds {bal[PLAT_DEPOSITS]}, the rentals {held}")
    return check


def run_audit(*, session: Session) -> AuditReport:
    s = session
    bal, captures, aside = _journal(s)
    once, open_by_user, open_cash, paid_by_merchant, refunds = _installments(s, captures)
    return AuditReport([_postings(s, bal), _identity(s, bal, open_by_user), once, _methods(s, bal),
                        _settlement(s, bal, paid_by_merchant, aside), refunds, _quotes(s), *_notices(s), _consent(s),
                        _fee_caps(s), _cash_lines(s, bal, open_cash, aside), _cash_interest(s),
                        _rental_freezes(s, bal, aside)])
