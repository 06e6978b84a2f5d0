"""Capturing money for an installment: the payment-gateway interface, the guarded debit of a
payment method, the money postings (merchant share, platform service fee, fee income), the
limit repayment, and what follows when an order is fully paid (on-time rewards)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from ..domain.errors import InsufficientFunds, InvalidTransition, NotFound
from ..domain.messages import render
from ..domain.money import bps_of, yuan
from ..domain.policy import POLICY
from ..models import (
    BNPL_ACTIVE,
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Notification,
    Order,
    OrderEvent,
    OrderStatus as OS,
    Outbox,
    PaymentMethod,
    Posting,
)
from . import changes, credit, ledger
from .ledger import LIMIT, MONEY, PLAT_FEE_INCOME, PLAT_SERVICE_FEE, lim, mer, pm
from .notify import notify

PMT = PaymentMethod.__table__
INST = Installment.__table__
ORD = Order.__table__
CA = credit.CA
POST = Posting.__table__
NOTE = Notification.__table__
OUTBOX = Outbox.__table__
OEV = OrderEvent.__table__
CEV = CreditEvent.__table__


class Gateway(Protocol):
    """What a real payment gateway would implement. Ours debits simulated balances. A gateway may
    also offer ``debit_many(session, [(method_id, amount_fen), …]) -> bool`` (several debits in
    one round trip, True only if every one went through); the sweep's batch path uses it when
    present and otherwise calls ``debit`` once per installment."""

    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool: ...


class SimulatedGateway:
    def debit(self, session: Session, *, method_id: int, amount_fen: int) -> bool:
        res = session.execute(
            sa.update(PMT).where(PMT.c.id == method_id, PMT.c.balance_fen >= amount_fen)
            .values(balance_fen=PMT.c.balance_fen - amount_fen)
        )
        return res.rowcount == 1

    def debit_many(self, session: Session, debits: list[tuple[int, int]]) -> bool:
        """The same guarded debit for each (method, amount), as one executemany. True iff every
        row went through; if not, some may have, and the caller rolls them back."""
        return execute_many(session, f"UPDATE {PMT.name} SET balance_fen = balance_fen - ? "
                                     "WHERE id = ? AND balance_fen >= ?",
                            [(a, m, a) for m, a in debits]) == len(debits)


GATEWAY: Gateway = SimulatedGateway()


def owed(inst: Installment) -> int:
    return inst.principal_fen + inst.fee_fen - inst.fee_waived_fen + inst.late_fee_fen - inst.late_fee_waived_fen


def methods_in_order(session: Session, uid: int) -> list[PaymentMethod]:
    return list(session.execute(
        sa.select(PaymentMethod).where(PaymentMethod.user_id == uid).order_by(PaymentMethod.priority, PaymentMethod.id)
    ).scalars())


def method_label(m: PaymentMethod) -> str:
    return m.label


@dataclass(frozen=True)
class Capture:
    installment_id: int
    amount_fen: int
    method_id: int
    method_label: str


def capture(
    session: Session,
    *,
    inst: Installment,
    order: Order,
    method: PaymentMethod,
    at: datetime,
    waive_fee: bool = False,
    billed: bool = True,
    gateway: Gateway | None = None,
) -> Capture:
    """Take what ``inst`` owes from ``method`` — once. Raises InsufficientFunds, leaving nothing."""
    fee_waived = inst.fee_fen if waive_fee else inst.fee_waived_fen
    amount = inst.principal_fen + inst.fee_fen - fee_waived + inst.late_fee_fen - inst.late_fee_waived_fen
    res = session.execute(
        sa.update(INST)
        .where(INST.c.id == inst.id, INST.c.status.in_((IS.PENDING, IS.SCHEDULED, IS.OVERDUE)))
        .values(status=IS.PAID, paid_at=at, paid_fen=amount, paid_method_id=method.id, fee_waived_fen=fee_waived,
                attempt_at=None, last_failure=None)
    )
    if res.rowcount != 1:
        raise InvalidTransition("bill.not_open", status=inst.status)
    if amount and not (gateway or GATEWAY).debit(session, method_id=method.id, amount_fen=amount):
        raise InsufficientFunds("bill.insufficient", method=method.label, balance=yuan(method.balance_fen), amount=yuan(amount))
    service_fee = bps_of(inst.principal_fen, order.platform_fee_bps)
    fees = amount - inst.principal_fen
    ledger.post(
        session, ledger=MONEY, key=f"cap:{inst.id}", kind="capture", at=at, order_id=order.id, installment_id=inst.id,
        legs=[(pm(method.id), mer(order.merchant_id), inst.principal_fen - service_fee),
              (pm(method.id), PLAT_SERVICE_FEE, service_fee),
              (pm(method.id), PLAT_FEE_INCOME, fees)],
    )
    if billed:
        credit.repay_principal(session, uid=order.shopper_id, amount=inst.principal_fen, installment_id=inst.id,
                               order_id=order.id, at=at)
    return Capture(inst.id, amount, method.id, method.label)


def capture_from_any(session: Session, *, inst: Installment, order: Order, at: datetime,
                     methods: list[PaymentMethod] | None = None) -> Capture | None:
    """Try the shopper's methods in their order; None if none could cover it."""
    need = owed(inst)
    for m in methods if methods is not None else methods_in_order(session, order.shopper_id):
        if m.balance_fen < need:
            continue
        sp = session.begin_nested()
        try:
            cap = capture(session, inst=inst, order=order, method=m, at=at)
        except InsufficientFunds:
            sp.rollback()  # the balance moved under us; try the next method
            continue
        sp.commit()
        return cap
    return None


def refresh_order_status(session: Session, *, order: Order, at: datetime) -> str:
    """After an installment changed: PAID when nothing is open, OVERDUE when anything is, else DUE."""
    statuses = [s for (s,) in session.execute(sa.select(INST.c.status).where(INST.c.order_id == order.id))]
    live = [s for s in statuses if s not in (IS.REPLACED, IS.CANCELLED)]
    if order.status not in OS.BILLED:
        return order.status
    if live and all(s == IS.PAID for s in live):
        finish_order(session, order=order, at=at)
        return OS.PAID
    new = OS.OVERDUE if IS.OVERDUE in live else OS.DUE
    if new != order.status:
        session.execute(sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status == order.status).values(status=new))
        order.status = new
    return new


# An installment that was late: it went overdue (a deduction failed on or after its due date —
# the sweep runs some seconds after the due instant, so paid_at vs due_at cannot decide this),
# or it belongs to a hardship plan.
LATE = sa.and_(INST.c.status != IS.CANCELLED,
               sa.or_(INST.c.was_overdue.is_(True), INST.c.penalized.is_(True), INST.c.plan_application_id.is_not(None)))


def finish_order(session: Session, *, order: Order, at: datetime) -> None:
    """Fully paid: close it, then reward it if every installment was paid by its due date."""
    late = session.execute(
        sa.select(sa.func.count()).select_from(INST).where(INST.c.order_id == order.id, LATE)
    ).scalar_one()
    on_time = late == 0
    res = session.execute(
        sa.update(ORD).where(ORD.c.id == order.id, ORD.c.status != OS.PAID)
        .values(status=OS.PAID, closed_at=at, on_time=on_time)
    )
    if res.rowcount != 1:
        return
    order.status = OS.PAID
    session.add(OrderEvent(order_id=order.id, at=at, step="paid", amount_fen=order.price_fen))
    notify(session, user_id=order.shopper_id, kind="paid", at=at, dedupe_key=f"paid:{order.id}", sms=False,
           product=order.product_name)
    if on_time:
        reward_on_time(session, uid=order.shopper_id, order_id=order.id, at=at)
    else:
        session.execute(sa.update(credit.CA).where(credit.CA.c.user_id == order.shopper_id).values(on_time_streak=0))


def reward_on_time(session: Session, *, uid: int, order_id: int, at: datetime) -> None:
    """+5 score per on-time order; every 3rd in a row lifts the limit one step (≤ the band's ceiling)."""
    score = credit.change_score(session, uid=uid, delta=POLICY.on_time_score_bonus, reason=credit.reason_of("cr.on_time", order=order_id), at=at)
    CA = credit.CA
    session.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=CA.c.on_time_streak + 1))
    acct = credit.fresh(session, uid)
    stepped_to = 0
    if acct.on_time_streak >= POLICY.on_time_orders_for_step:
        session.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=0))
        if acct.bnpl_status == BNPL_ACTIVE and acct.restorable_limit_fen is None:
            step = POLICY.next_step(acct.limit_fen, score)
            if step > acct.limit_fen:
                credit.set_limit(session, uid=uid, new_limit=step,
                                 reason=credit.reason_of("cr.step", n=POLICY.on_time_orders_for_step), at=at)
                stepped_to = step
    notify(session, user_id=uid, kind="reward_step" if stepped_to else "reward", at=at,
           dedupe_key=f"reward:{order_id}", sms=False, points=POLICY.on_time_score_bonus, limit=yuan(stepped_to))


def own_method(session: Session, *, uid: int, method_id: object) -> PaymentMethod:
    if isinstance(method_id, bool) or not isinstance(method_id, int):
        raise NotFound("payment method")
    m = session.get(PaymentMethod, method_id)
    if m is None or m.user_id != uid:
        raise NotFound("payment method")
    return m


# ── the batch path (the sweep) ───────────────────────────────────────────────────────────────
# The sweep charges thousands of installments per run. ``capture`` + ``notify`` +
# ``refresh_order_status`` cost ~20 ORM statements per installment; the functions below make the
# same writes for a whole batch with a handful of executemany statements. They are all or
# nothing: every guard of the per-row path (installment still open, balance still there,
# outstanding still there, order not yet paid, credit account as read) is checked, and when one
# fails they raise ``BatchRefused`` — the caller rolls back to its savepoint and takes the per-row
# path, which then does exactly what it always did (skips, falls through, or raises).

class BatchRefused(Exception):
    """A guard of the batch path did not hold: undo the batch, take the per-row path."""


def execute_many(session: Session, sql: str, rows: list[tuple]) -> int:
    """One driver-level statement (``?`` placeholders) for many parameter rows, in the session's
    transaction; returns the total rowcount. Each statement a caller checks touches at most one
    row per parameter row (by primary key), so total == len(rows) means every row went through."""
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    if conn.dialect.supports_sane_multi_rowcount:
        return conn.exec_driver_sql(sql, rows).rowcount
    return sum(conn.exec_driver_sql(sql, row).rowcount for row in rows)


_DT = INST.c.paid_at.type


def bind_time(session: Session, at: datetime):
    """``at`` as the driver wants it for our UTCDateTime columns (a string on SQLite)."""
    dialect = session.get_bind().dialect
    proc = _DT.dialect_impl(dialect).bind_processor(dialect)
    return proc(at) if proc else at


def load_time(session: Session, raw) -> datetime:
    """The inverse of ``bind_time``: a driver's value of a UTCDateTime column as an aware datetime."""
    dialect = session.get_bind().dialect
    proc = _DT.dialect_impl(dialect).result_processor(dialect, None)
    return proc(raw) if proc else raw


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # == json.dumps(…, ensure_ascii=False, default=str)


_RENDERED: dict[tuple, tuple[str, str, str, str]] = {}


def _rendered(kind: str, p: dict) -> tuple[str, str, str, str]:
    """(title, body, params_json, sms text) exactly as notify() writes them; the same notice
    (kind and parameters) recurs a lot in a sweep, so the rendering is kept."""
    key = (kind, *p.items())
    hit = _RENDERED.get(key)
    if hit is None:
        fmt = {"kind": p["kind_label"], **p} if "kind_label" in p else p
        title = render(f"n.{kind}.title", "zh", **fmt)
        body = render(f"n.{kind}.body", "zh", **fmt)
        if len(_RENDERED) >= 20_000:
            _RENDERED.clear()
        hit = _RENDERED[key] = (title[:120], body[:500], _JSON.encode(p)[:1000], f"【先用后付】{title}：{body}"[:500])
    return hit


@dataclass(frozen=True, slots=True)
class Notice:
    user_id: int
    kind: str
    dedupe_key: str
    params: dict


def notify_many(session: Session, notices: list[Notice], *, at: datetime, sms: bool, when=None) -> int:
    """``notify.notify`` for many notices: the same rendering, the same dedupe (a notice whose key
    was already used is not written again). Returns how many went in. With ``sms`` each notice
    that went in also goes to the outbox, so then all of them must go in (else BatchRefused)."""
    if not notices:
        return 0
    when = bind_time(session, at) if when is None else when
    rows, texts = [], []
    for n in notices:
        title, body, params_json, text = _rendered(n.kind, n.params)
        rows.append((n.user_id, n.kind, title, body, params_json, when, n.dedupe_key))
        texts.append(text)
    changes.touch(session, {n.user_id for n in notices}, changes.INBOX)
    went_in = execute_many(session, f"INSERT INTO {NOTE.name} (user_id, kind, title, body, params_json, created_at, "
                                    "dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
    if sms:
        if went_in != len(rows):
            raise BatchRefused("a notice was already sent")
        execute_many(session, f"INSERT INTO {OUTBOX.name} (user_id, channel, body, created_at, dedupe_key) "
                              "VALUES (?, ?, ?, ?, ?)",
                     [(n.user_id, "sms", text, when, f"sms:{n.dedupe_key}") for n, text in zip(notices, texts)])
    return went_in


@dataclass(slots=True)
class BatchCapture:
    """One installment the batch path charges: what ``capture`` would take, and from where."""

    installment_id: int
    order_id: int
    shopper_id: int
    merchant_id: int
    principal_fen: int
    fee_waived_fen: int
    amount_fen: int
    method_id: int
    platform_fee_bps: int


_yuan = lru_cache(maxsize=4096)(yuan)


def _debit_all(session: Session, gateway, debits: list[tuple[int, int]]) -> bool:
    """Every (method, amount) debit through the gateway; False as soon as one is refused. A gateway
    may offer ``debit_many`` (one round trip, True only if all went through); otherwise it is
    asked once per debit, exactly as ``capture`` asks it."""
    many = getattr(gateway, "debit_many", None)
    if many is not None:
        return many(session, debits)
    return all(gateway.debit(session, method_id=m, amount_fen=a) for m, a in debits)


def capture_many(session: Session, captures: list[BatchCapture], *, at: datetime, gateway: Gateway | None = None,
                 when=None) -> None:
    """``capture`` (billed, fee not waived) for many installments: the same guarded installment
    update, gateway debit (one per installment), money posting and limit repayment. Raises
    BatchRefused, having possibly written part of it, when a guard fails: the caller must roll
    back to its savepoint. Rows are locked in a fixed order (installments,
    then payment methods by id, then credit accounts by user)."""
    if not captures:
        return
    when = bind_time(session, at) if when is None else when
    n = execute_many(session, f"UPDATE {INST.name} SET status = ?, paid_at = ?, paid_fen = ?, paid_method_id = ?, "
                              "fee_waived_fen = ?, attempt_at = NULL, last_failure = NULL "
                              "WHERE id = ? AND status IN (?, ?, ?)",
                     [(IS.PAID, when, c.amount_fen, c.method_id, c.fee_waived_fen, c.installment_id,
                       IS.PENDING, IS.SCHEDULED, IS.OVERDUE) for c in captures])
    if n != len(captures):
        raise BatchRefused("an installment is no longer open")
    debits = sorted((c.method_id, c.amount_fen) for c in captures if c.amount_fen)
    if not _debit_all(session, gateway or GATEWAY, debits):
        raise BatchRefused("a balance moved")
    postings: list[tuple] = []
    repaid: dict[int, int] = {}
    for c in captures:
        principal, uid = c.principal_fen, c.shopper_id
        service_fee = bps_of(principal, c.platform_fee_bps)
        src, key = pm(c.method_id), f"cap:{c.installment_id}"
        for leg, (credit_acct, amount) in enumerate(((mer(c.merchant_id), principal - service_fee),
                                                     (PLAT_SERVICE_FEE, service_fee),
                                                     (PLAT_FEE_INCOME, c.amount_fen - principal))):
            if amount < 0:
                raise BatchRefused("negative leg")  # ledger.post refuses it on the per-row path
            if amount:
                postings.append((MONEY, key, leg, src, credit_acct, amount, "capture", c.order_id, c.installment_id, when))
        if principal:
            postings.append((LIMIT, f"lrp:{c.installment_id}", 0, lim(uid, "outstanding"), lim(uid, "headroom"),
                             principal, "repay", c.order_id, c.installment_id, when))
            repaid[uid] = repaid.get(uid, 0) + principal
    execute_many(session, f"INSERT INTO {POST.name} (ledger, posting_key, leg, debit_account, credit_account, "
                          "amount_fen, kind, order_id, installment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 postings)
    # Per shopper, "outstanding ≥ each amount, one after the other" holds iff outstanding ≥ their sum.
    n = execute_many(session, f"UPDATE {CA.name} SET outstanding_fen = outstanding_fen - ?, updated_at = ? "
                              "WHERE user_id = ? AND outstanding_fen >= ?",
                     [(amt, when, uid, amt) for uid, amt in sorted(repaid.items())])
    if n != len(repaid):
        raise BatchRefused("outstanding below a repayment")
    changes.touch(session, {c.shopper_id for c in captures}, changes.MONEY)
    changes.touch_merchants(session, {c.merchant_id for c in captures})


@dataclass(frozen=True, slots=True)
class Finished:
    """An order the batch just paid off (``refresh_order_status`` would call ``finish_order``)."""

    order_id: int
    shopper_id: int
    product_name: str
    price_fen: int
    on_time: bool


def finish_many(session: Session, done: list[Finished], *, at: datetime, when=None) -> None:
    """``finish_order`` (and ``reward_on_time``) for many orders, in the order given — for each
    shopper the order the per-row path would have taken. Call it after the batch's captures
    (which updated, hence on PostgreSQL locked, each shopper's credit account): the accounts are
    read once, the rewards (score, streak, limit steps with their events and postings) computed
    as reward_on_time computes them, and written back compare-and-set."""
    if not done:
        return
    when = bind_time(session, at) if when is None else when
    changes.touch(session, {f.shopper_id for f in done}, changes.ORDERS)
    n = execute_many(session, f"UPDATE {ORD.name} SET status = ?, closed_at = ?, on_time = ? WHERE id = ? AND status <> ?",
                     [(OS.PAID, when, f.on_time, f.order_id, OS.PAID) for f in sorted(done, key=lambda f: f.order_id)])
    if n != len(done):
        raise BatchRefused("an order was paid meanwhile")
    execute_many(session, f"INSERT INTO {OEV.name} (order_id, at, step, amount_fen, note) VALUES (?, ?, ?, ?, ?)",
                 [(f.order_id, when, "paid", f.price_fen, "") for f in done])
    CA_ = credit.CA
    uids = sorted({f.shopper_id for f in done})
    accts = {r.user_id: r for r in session.execute(
        sa.select(CA_.c.user_id, CA_.c.score, CA_.c.limit_fen, CA_.c.on_time_streak, CA_.c.bnpl_status,
                  CA_.c.restorable_limit_fen).where(CA_.c.user_id.in_(uids)))}
    if len(accts) != len(uids):
        raise BatchRefused("credit account missing")
    state = {u: [a.score, a.on_time_streak, a.limit_fen] for u, a in accts.items()}
    events: dict[int, list[tuple]] = {}  # uid → (kind, old, new, reason) in the order they happen
    notices: list[Notice] = []
    lo, hi = POLICY.score_min, POLICY.score_max
    for f in done:
        uid = f.shopper_id
        st = state[uid]
        notices.append(Notice(uid, "paid", f"paid:{f.order_id}", dict(product=f.product_name)))
        if not f.on_time:
            st[1] = 0
            continue
        old = st[0]
        st[0] = new = max(lo, min(hi, old + POLICY.on_time_score_bonus))
        if new != old:
            events.setdefault(uid, []).append(("score", old, new, credit.reason_of("cr.on_time", order=f.order_id)))
        st[1] += 1
        stepped_to = 0
        if st[1] >= POLICY.on_time_orders_for_step:
            st[1] = 0
            a = accts[uid]
            if a.bnpl_status == BNPL_ACTIVE and a.restorable_limit_fen is None:
                step = POLICY.next_step(st[2], new)
                if step > st[2]:
                    events.setdefault(uid, []).append(
                        ("limit", st[2], step, credit.reason_of("cr.step", n=POLICY.on_time_orders_for_step)))
                    st[2] = stepped_to = step
        notices.append(Notice(uid, "reward_step" if stepped_to else "reward", f"reward:{f.order_id}",
                              dict(points=POLICY.on_time_score_bonus, limit=_yuan(stepped_to))))
    notify_many(session, notices, at=at, sms=False, when=when)
    # change_score and set_limit set updated_at; the captures before this already set it to ``at``.
    n = execute_many(session, f"UPDATE {CA_.name} SET score = ?, on_time_streak = ?, limit_fen = ?, updated_at = ? "
                              "WHERE user_id = ? AND score = ? AND on_time_streak = ? AND limit_fen = ?",
                     [(*state[u], when, u, accts[u].score, accts[u].on_time_streak, accts[u].limit_fen) for u in uids])
    if n != len(uids):
        raise BatchRefused("a credit account changed meanwhile")
    ev_sql = f"INSERT INTO {CEV.name} (user_id, at, kind, old_value, new_value, reason) VALUES (?, ?, ?, ?, ?, ?)"
    plain = [(u, when, *e) for u, evs in events.items() if all(e[0] == "score" for e in evs) for e in evs]
    execute_many(session, ev_sql, plain)
    conn = session.connection()
    one = ev_sql + " RETURNING id"
    if conn.dialect.paramstyle != "qmark":
        one = one.replace("?", "%s")
    limit_postings = []
    for u, evs in events.items():
        if all(e[0] == "score" for e in evs):
            continue
        for kind, old, new, reason in evs:  # one at a time: a limit change's posting key is its event's id
            ev_id = conn.exec_driver_sql(one, (u, when, kind, old, new, reason)).scalar_one()
            if kind == "limit":
                limit_postings.append((LIMIT, f"limit:{ev_id}", 0, lim(u, "granted"), lim(u, "headroom"), new - old,
                                       "limit_change", None, None, when))
    execute_many(session, f"INSERT INTO {POST.name} (ledger, posting_key, leg, debit_account, credit_account, "
                          "amount_fen, kind, order_id, installment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 limit_postings)
