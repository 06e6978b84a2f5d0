"""The sweep: every scheduled rule, claimed from the database so a crash, a restart or a second
sweep running at the same time loses nothing and charges nothing twice. Phases run in the order
time would: trials end → reminders → return deadlines → deductions → overdue consequences.

Each phase walks its rows by id in batches; each batch is one transaction (BEGIN IMMEDIATE on
SQLite; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and every state change inside it is a guarded
update, so a row that another sweep already moved is skipped rather than processed twice."""

from __future__ import annotations

import gc
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..db import reading, transaction, writers_waiting, yield_to_writers
from ..domain.clock import china_time
from ..domain.money import bps_of, yuan
from ..domain.policy import POLICY
from ..domain.rules import days_overdue
from ..models import (
    BNPL_SUSPENDED,
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
    ReturnRequest,
    SweepRun,
)
from . import changes, credit, orders, payments
from .notify import notify

ORD = Order.__table__
INST = Installment.__table__
RET = ReturnRequest.__table__
CA = CreditAccount.__table__
DAY = timedelta(days=1)


@dataclass
class SweepReport:
    billed: int = 0
    reminders: int = 0
    auto_received: int = 0
    auto_accepted: int = 0
    captured: int = 0
    captured_fen: int = 0
    failed: int = 0
    penalized: int = 0
    late_fees: int = 0
    suspended: int = 0
    bad_debts: int = 0

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v)


class _At:
    """A clock frozen at the sweep's ``now`` for the services it calls."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


_WINDOW = 250_000  # candidate ids read per window (a few MB)
# SQLite: how long one write transaction of the sweep may keep the write lock while no writer of
# this process is waiting for it (see _batches); then it commits and leaves the lock free for
# CROSS_PROCESS_GAP_S, longer than SQLite's busy handler sleeps between two tries (100 ms), so a
# writer of another process that queued meanwhile gets it.
HOLD_S = 10.0
CROSS_PROCESS_GAP_S = 0.12


def _batches(engine: Engine, query: sa.Select, id_col, batch_size: int, owner_col=None):
    """Yield (session, ids) per batch, ids ascending.

    Candidates are read a window at a time (keyset-paginated by id, in a read-only transaction);
    each batch then claims its part inside a write transaction by re-checking the query's
    condition on just those ids — ``FOR UPDATE SKIP LOCKED`` in id order on PostgreSQL — so a row
    that another sweep holds or has already moved is skipped, never processed twice.

    On PostgreSQL every batch is its own transaction (row locks: nobody else waits for a batch
    unless they touch its rows). SQLite has one write lock for the whole file, and every commit
    writes each page the transaction dirtied — random inserts into the ledger's account indexes
    touch a large part of them in every batch — so there a transaction goes on from batch to batch
    until a writer of this process queues for the lock (it goes first: ``db.yield_to_writers``),
    ``HOLD_S`` has passed (then the lock stays free for ``CROSS_PROCESS_GAP_S``), or the window
    ends. A writer of this process thus waits for at most one batch.

    With ``owner_col`` (the shopper), a window's candidates are processed grouped by owner, then
    by id: one shopper's rows are keyed by the shopper (ledger accounts, inbox, credit account),
    so a transaction writes into a few neighbouring stretches of those indexes instead of pages
    all over them (−17% bytes written at 100k). Shoppers share no rows, so the order across them
    changes nothing; one shopper's rows keep their id order.

    Both steps keep the work linear in the backlog. Asking for one batch at a time
    (``… AND id > :last ORDER BY id LIMIT n``) made SQLite scan and sort every remaining candidate
    through the status index for every batch; so did ``<condition> AND id IN (:batch)``, which
    SQLite also plans through that index — hence, on SQLite, the batch's rows are fetched by rowid
    and the condition is evaluated per row."""
    pg = engine.dialect.name == "postgresql"
    bulk = engine.execution_options(bulk=True)  # a page cache that holds a whole batch (db.SQLITE_BULK_CACHE_KIB)
    window = max(_WINDOW, batch_size)
    last = None
    while True:
        q = query if last is None else query.where(id_col > last)
        with reading(bulk) as r:
            if owner_col is None:
                candidates = [x for (x,) in r.execute(q.order_by(id_col).limit(window))]
                last_id = candidates[-1] if candidates else None
            else:
                pairs = r.execute(q.add_columns(owner_col).order_by(id_col).limit(window)).all()
                last_id = pairs[-1][0] if pairs else None
                candidates = [x for x, _ in sorted(pairs, key=lambda p: (p[1], p[0]))]
        i = 0
        while i < len(candidates):
            held_long = False
            with transaction(bulk) as s:
                began = time.monotonic()
                while i < len(candidates):
                    chunk = candidates[i:i + batch_size]
                    i += len(chunk)
                    ids = _claim(s, query, id_col, chunk, pg)
                    if ids:
                        yield s, ids
                    if pg or writers_waiting(engine):
                        break
                    if time.monotonic() - began >= HOLD_S:
                        held_long = True
                        break
            if writers_waiting(engine):
                yield_to_writers(engine)  # a checkout queued behind this batch goes before the next one
            elif held_long and i < len(candidates):
                time.sleep(CROSS_PROCESS_GAP_S)
        if len(candidates) < window:
            return
        last = last_id


def _claim(s: Session, query: sa.Select, id_col, chunk: list[int], pg: bool) -> list[int]:
    """Those of ``chunk`` that still meet ``query``'s condition, ascending (see _batches)."""
    if pg:
        claim = query.where(id_col.in_(chunk)).order_by(id_col).with_for_update(skip_locked=True)
        return [x for (x,) in s.execute(claim)]
    check = sa.select(id_col, sa.case((query.whereclause, 1), else_=0)).where(id_col.in_(chunk))
    return [x for x, ok in s.execute(check.order_by(id_col)) if ok]


# Rows per batch: the unit the sweep reads, decides and writes in (a handful of executemany
# statements), and how long a writer of this process may have to wait for SQLite's write lock
# (~1 s on the benchmark machine) — how often the sweep commits is decided in _batches.
# BENCHMARKS.md has the measurements.
BATCH_SIZE = 4_000


_GC_LOCK = threading.Lock()
_GC_USERS = [0, None]  # sweeps running in this process, the collector's thresholds before the first


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """A batch allocates a few hundred thousand short-lived tuples that are freed by reference
    counting when it ends; with the default threshold (700) the cyclic collector ran thousands of
    times per sweep and took ~8% of it. While a sweep runs, the youngest generation is collected
    every 100,000 allocations instead (process-wide; put back when the last sweep ends)."""
    with _GC_LOCK:
        if _GC_USERS[0] == 0:
            _GC_USERS[1] = gc.get_threshold()
            gc.set_threshold(100_000, *_GC_USERS[1][1:])
        _GC_USERS[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS[0] -= 1
            if _GC_USERS[0] == 0:
                gc.set_threshold(*_GC_USERS[1])


def run_sweep(*, engine: Engine, clock, batch_size: int = BATCH_SIZE, record: bool = True) -> SweepReport:
    now = clock.now()
    rep = SweepReport()
    started = now
    with _fewer_gc_passes():
        _bill_trials(engine, now, rep, batch_size)
        _reminders(engine, now, rep, batch_size)
        _return_deadlines(engine, now, rep, batch_size)
        _deductions(engine, now, rep, batch_size)
        _overdue(engine, now, rep, batch_size)
    with transaction(engine) as s:
        if record and rep.summary():
            s.add(SweepRun(started_at=started, at=now, summary=rep.summary()[:300]))
        changes.prune(s)
    return rep


# ── trials end ────────────────────────────────────────────────────────────────────────────────
def _bill_trials(engine: Engine, now: datetime, rep: SweepReport, n: int) -> None:
    q = sa.select(ORD.c.id).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at <= now)
    for s, ids in _batches(engine, q, ORD.c.id, n):
        for oid in ids:
            if bill_order(s, order_id=oid, now=now):
                rep.billed += 1


def bill_order(s: Session, *, order_id: int, now: datetime) -> bool:
    order = s.get(Order, order_id)
    res = s.execute(sa.update(ORD).where(ORD.c.id == order_id, ORD.c.status.in_(OS.IN_TRIAL))
                    .values(status=OS.DUE, billed_at=now))
    if res.rowcount != 1:
        return False
    order.status = OS.DUE
    credit.bill(s, uid=order.shopper_id, amount=order.price_fen, order_id=order.id, at=now)
    # A rejected return paused the trial: if it resumed after the trial's end, the schedule moves
    # to the resumption time, so the paused days never count as late.
    shift = max(timedelta(0), (order.resumed_at or order.trial_end_at) - order.trial_end_at)
    days_before = s.execute(sa.select(CA.c.autopay_days_before).where(CA.c.user_id == order.shopper_id)).scalar_one()
    for inst in orders.installments_of(s, order.id):
        if inst.status != IS.PENDING:
            continue
        due = inst.due_at + shift
        attempt = due - timedelta(days=days_before) if inst.seq > 1 else due
        s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status == IS.PENDING)
                  .values(status=IS.SCHEDULED, due_at=due, attempt_at=max(attempt, now)))
    s.add(OrderEvent(order_id=order.id, at=now, step="captured", amount_fen=order.price_fen, note="trial ended"))
    return True


# ── reminders T-3d, T-1d ─────────────────────────────────────────────────────────────────────
def _reminders(engine: Engine, now: datetime, rep: SweepReport, n: int) -> None:
    days = POLICY.reminder_days_before
    q = sa.select(ORD.c.id).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > now,
                                  ORD.c.trial_end_at <= now + timedelta(days=max(days)))
    for s, ids in _batches(engine, q, ORD.c.id, n):
        for oid in ids:
            order = s.get(Order, oid)
            due_bits = [i for i, d in enumerate(days)
                        if order.trial_end_at - timedelta(days=d) <= now
                        and order.trial_end_at - timedelta(days=d) >= order.created_at
                        and not order.reminders_sent & (1 << i)]
            if not due_bits:
                continue
            bits = order.reminders_sent
            for i in due_bits:
                bits |= 1 << i
            res = s.execute(sa.update(ORD).where(ORD.c.id == oid, ORD.c.reminders_sent == order.reminders_sent)
                            .values(reminders_sent=bits))
            if res.rowcount != 1:
                continue
            nearest = min(days[i] for i in due_bits)  # after a jump, only the most urgent one is worth sending
            first = s.execute(sa.select(INST.c.principal_fen, INST.c.fee_fen).where(INST.c.order_id == oid, INST.c.seq == 1)).first()
            if notify(s, user_id=order.shopper_id, kind="reminder", at=now, dedupe_key=f"rem:{oid}:{nearest}",
                      product=order.product_name, days=nearest, due=china_time(order.trial_end_at),
                      amount=yuan(first.principal_fen + first.fee_fen if first else order.price_fen)):
                rep.reminders += 1


# ── returns: a hold never waits on a silent merchant ─────────────────────────────────────────
def _return_deadlines(engine: Engine, now: datetime, rep: SweepReport, n: int) -> None:
    at = _At(now)
    q = sa.select(RET.c.id).where(RET.c.status == "IN_TRANSIT",
                                  RET.c.requested_at <= now - timedelta(days=POLICY.return_transit_days_max))
    for s, ids in _batches(engine, q, RET.c.id, n):
        for rid in ids:
            ret = s.get(ReturnRequest, rid)
            orders.mark_received(s, merchant_id=None, return_id=None, ret=ret, clock=at)
            rep.auto_received += 1
    q = sa.select(RET.c.id).where(RET.c.status == "RECEIVED", RET.c.inspect_deadline_at <= now)
    for s, ids in _batches(engine, q, RET.c.id, n):
        for rid in ids:
            ret = s.get(ReturnRequest, rid)
            orders.accept_return(s, merchant_id=None, return_id=None, ret=ret, clock=at, outcome="auto_accepted")
            rep.auto_accepted += 1


# ── deductions ───────────────────────────────────────────────────────────────────────────────
# Per batch: read the claimed installments, their orders, the shoppers' methods; decide in memory,
# exactly as the per-row path decides (installments by due date then id, each from the shopper's
# first method, in their order, whose balance covers it — or, when none does, a failed attempt),
# what every deduction will take and from where. Shoppers for whom that is plain — principal > 0,
# order billed — are charged (or failed) by the batch path (payments.capture_many / notify_many /
# finish_many and _fail_many, a handful of executemany statements per batch, inside a savepoint);
# everyone else (anything unusual) goes through the per-row path below, unchanged. Shoppers share no rows, so
# splitting a batch by shopper changes nothing; within a shopper the order is kept. If any guard
# of the batch path fails (a row moved under us — only possible with concurrent writers), the
# savepoint is rolled back and the whole batch takes the per-row path.
_BATCH_PATH = True  # False: every deduction takes the per-row path (the reference the batch path must equal)
PMT = PaymentMethod.__table__
_yuan = lru_cache(maxsize=8192)(yuan)
_I = namedtuple("_I", "id order_id shopper_id seq periods due_at principal_fen fee_fen fee_waived_fen late_fee_fen "
                      "late_fee_waived_fen status attempt_at")
_O = namedtuple("_O", "id shopper_id merchant_id product_name price_fen status platform_fee_bps grace_days")
_LATE_SQL: dict[str, str] = {}


def _late_sql(s: Session) -> str:
    """finish_order's "late" test (payments.LATE) as SQL for this dialect: true where it counts."""
    dialect = s.get_bind().dialect
    sql = _LATE_SQL.get(dialect.name)
    if sql is None:
        sql = _LATE_SQL[dialect.name] = str(sa.case((payments.LATE, 1), else_=0).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sql


def _deductions(engine: Engine, now: datetime, rep: SweepReport, n: int) -> None:
    q = sa.select(INST.c.id).where(INST.c.status.in_(IS.OPEN), INST.c.attempt_at <= now)
    for s, ids in _batches(engine, q, INST.c.id, n, owner_col=INST.c.shopper_id):
        _deduct_batch(s, ids, now, rep)


def _rows(s: Session, sql: str, ids) -> list[tuple]:
    """Plain driver rows for ``… IN ({ids})`` (times as the driver gives them: strings on SQLite,
    comparable with ``payments.bind_time``)."""
    ids = list(ids)
    if not ids:
        return []
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cur = conn.connection.driver_connection.cursor()  # plain tuples: no result rows to build per row
    try:
        cur.execute(sql.format(ids=",".join([mark] * len(ids))), tuple(ids))
        return cur.fetchall()
    finally:
        cur.close()


def _deduct_batch(s: Session, ids: list[int], now: datetime, rep: SweepReport) -> None:
    when = payments.bind_time(s, now)
    rows = [_I._make(r) for r in _rows(s, f"SELECT {', '.join(_I._fields)} FROM {INST.name} WHERE id IN ({{ids}}) "
                                          "ORDER BY due_at, id", ids)]
    orders_ = {o.id: o for o in map(_O._make, _rows(s, f"SELECT {', '.join(_O._fields)} FROM {ORD.name} "
                                                       "WHERE id IN ({ids})", {r.order_id for r in rows}))}
    methods: dict[int, list[list]] = {}
    for mid, uid, label, balance in _rows(s, f"SELECT id, user_id, label, balance_fen FROM {PMT.name} "
                                             "WHERE user_id IN ({ids}) ORDER BY priority, id",
                                          {r.shopper_id for r in rows}):
        methods.setdefault(uid, []).append([mid, label, balance])
    touched: set[int] = set()
    planned: list[tuple] = []  # (installment, order, method, amount) in processing order
    failing: list[tuple] = []  # (installment, order): no method covers it
    slow: set[int] = set()  # shoppers for the per-row path
    for r in rows:
        if r.status not in IS.OPEN or r.attempt_at is None or r.attempt_at > when:
            continue
        order = orders_[r.order_id]
        touched.add(order.id)
        need = payments.owed(r)
        if r.shopper_id in slow or order.status not in OS.BILLED or r.principal_fen <= 0 or need <= 0:
            slow.add(r.shopper_id)
            continue
        for m in methods.get(r.shopper_id, ()):
            if m[2] >= need:
                m[2] -= need
                planned.append((r, order, m, need))
                break
        else:
            failing.append((r, order))  # balances stay as they were: a later, smaller one may still go
    refresh = list(touched)  # the order the per-row path refreshes them in
    if not _BATCH_PATH:
        slow = {r.shopper_id for r in rows}
    fast = [p for p in planned if p[0].shopper_id not in slow]
    fails = [f for f in failing if f[0].shopper_id not in slow]
    if fast or fails:
        sp = s.begin_nested()
        try:
            taken = _deduct_fast(s, fast, fails, orders_, refresh, now, when)
        except (payments.BatchRefused, sa.exc.IntegrityError):
            sp.rollback()
            _deduct_rows(s, ids, now, rep, refresh)
            return
        sp.commit()
        rep.captured += len(fast)
        rep.captured_fen += taken
        rep.failed += len(fails)
    if slow:
        _deduct_rows(s, [r.id for r in rows if r.shopper_id in slow], now, rep, refresh)


def _deduct_fast(s: Session, fast: list[tuple], fails: list[tuple], orders_: dict, refresh: list[int],
                 now: datetime, when) -> int:
    caps, notices = [], []
    for r, order, m, amount in fast:
        caps.append(payments.BatchCapture(r.id, order.id, r.shopper_id, order.merchant_id, r.principal_fen,
                                          r.fee_waived_fen, amount, m[0], order.platform_fee_bps))
        notices.append(payments.Notice(r.shopper_id, "deducted", f"cap:{r.id}", dict(
            product=order.product_name, seq=r.seq, periods=r.periods, method=m[1], amount=_yuan(amount))))
    payments.capture_many(s, caps, at=now, when=when)
    payments.notify_many(s, notices, at=now, sms=True, when=when)
    _fail_many(s, fails, now, when)
    # refresh_order_status for each touched order of these shoppers, in the per-row path's order
    shoppers = {r.shopper_id for r, _, _, _ in fast} | {r.shopper_id for r, _ in fails}
    mine = [oid for oid in refresh if orders_[oid].shopper_id in shoppers]
    live: dict[int, list[str]] = {oid: [] for oid in mine}
    late: dict[int, int] = dict.fromkeys(mine, 0)
    for oid, status, is_late in _rows(s, f"SELECT order_id, status, {_late_sql(s)} FROM {INST.name} "
                                         "WHERE order_id IN ({ids})", mine):
        if status not in (IS.REPLACED, IS.CANCELLED):
            live[oid].append(status)
        if is_late:
            late[oid] += 1
    finished, moved = [], []
    for oid in mine:
        o = orders_[oid]
        if live[oid] and all(x == IS.PAID for x in live[oid]):
            finished.append(payments.Finished(oid, o.shopper_id, o.product_name, o.price_fen, late[oid] == 0))
        else:
            new = OS.OVERDUE if IS.OVERDUE in live[oid] else OS.DUE
            if new != o.status:
                moved.append((new, oid, o.status))
    changes.touch(s, {orders_[oid].shopper_id for _new, oid, _old in moved}, changes.ORDERS)
    payments.execute_many(s, f"UPDATE {ORD.name} SET status = ? WHERE id = ? AND status = ?", sorted(moved, key=lambda m: m[1]))
    payments.finish_many(s, finished, at=now, when=when)
    return sum(c.amount_fen for c in caps)


def _fail_many(s: Session, fails: list[tuple], now: datetime, when) -> None:
    """``_deduction_failed`` for many installments: the same guarded updates; the "failed" notice
    (with its SMS) for those already due, unless that notice was sent before (a daily retry)."""
    if not fails:
        return
    overdue, early, notices = [], [], []
    for r, order in fails:
        due = payments.load_time(s, r.due_at)
        row = (payments.bind_time(s, _retry_at(due, now)), r.id)
        if due <= now:
            overdue.append(row)
            notices.append(payments.Notice(r.shopper_id, "failed", f"fail:{r.id}", _failed_notice(r, order, due)))
        else:
            early.append(row)
    guard = f"WHERE id = ? AND status IN ({', '.join('?' * len(IS.OPEN))})"
    n = payments.execute_many(s, f"UPDATE {INST.name} SET attempts = attempts + 1, last_failure = ?, status = ?, "
                                 f"was_overdue = ?, attempt_at = ? {guard}",
                              [("insufficient_funds", IS.OVERDUE, True, at, iid, *IS.OPEN) for at, iid in overdue])
    n += payments.execute_many(s, f"UPDATE {INST.name} SET attempts = attempts + 1, last_failure = ?, attempt_at = ? "
                                  f"{guard}", [("insufficient_funds", at, iid, *IS.OPEN) for at, iid in early])
    if n != len(fails):
        raise payments.BatchRefused("an installment is no longer open")
    changes.touch(s, {r.shopper_id for r, _order in fails}, changes.MONEY)
    sent = {k for (k,) in _rows(s, f"SELECT dedupe_key FROM {payments.NOTE.name} WHERE dedupe_key IN ({{ids}})",
                                [x.dedupe_key for x in notices])}
    payments.notify_many(s, [x for x in notices if x.dedupe_key not in sent], at=now, sms=True, when=when)


def _deduct_rows(s: Session, ids: list[int], now: datetime, rep: SweepReport, refresh: list[int]) -> None:
    """The per-row path: ``capture_from_any`` per installment, then ``refresh_order_status`` per
    touched order (in the order given)."""
    insts = list(s.exec(select(Installment).where(Installment.id.in_(ids)).order_by(Installment.due_at, Installment.id)))
    order_ids = {i.order_id for i in insts}
    order_by_id = {o.id: o for o in s.exec(select(Order).where(Order.id.in_(order_ids)))}
    shoppers = {i.shopper_id for i in insts}
    methods: dict[int, list[PaymentMethod]] = {u: [] for u in shoppers}
    for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id.in_(shoppers))
                    .order_by(PaymentMethod.priority, PaymentMethod.id)):
        methods[m.user_id].append(m)
    touched: set[int] = set()
    for inst in insts:
        if inst.status not in IS.OPEN or inst.attempt_at is None or inst.attempt_at > now:
            continue
        order = order_by_id[inst.order_id]
        cap = payments.capture_from_any(s, inst=inst, order=order, at=now, methods=methods[inst.shopper_id])
        if cap is not None:
            for m in methods[inst.shopper_id]:
                if m.id == cap.method_id:
                    m.balance_fen -= cap.amount_fen
            rep.captured += 1
            rep.captured_fen += cap.amount_fen
            notify(s, user_id=inst.shopper_id, kind="deducted", at=now, dedupe_key=f"cap:{inst.id}",
                   product=order.product_name, seq=inst.seq, periods=inst.periods, method=cap.method_label,
                   amount=yuan(cap.amount_fen))
        else:
            _deduction_failed(s, inst=inst, order=order, now=now)
            rep.failed += 1
        touched.add(order.id)
    for oid in refresh:
        if oid in touched:
            payments.refresh_order_status(s, order=order_by_id[oid], at=now)


def _retry_at(due: datetime, now: datetime) -> datetime:
    """When a failed attempt is tried again: tomorrow; an early auto-repay attempt (``due`` still
    ahead) at the latest on the due date. The installment is overdue iff ``due <= now``."""
    return now + POLICY.retry_every if due <= now else min(now + POLICY.retry_every, due)


def _failed_notice(inst, order, due: datetime) -> dict:
    """The "failed" notice's parameters (``inst``/``order``: model rows or the batch path's tuples)."""
    return dict(product=order.product_name, seq=inst.seq, periods=inst.periods, amount=yuan(payments.owed(inst)),
                grace_end=china_time(due + timedelta(days=order.grace_days)))


def _deduction_failed(s: Session, *, inst: Installment, order: Order, now: datetime) -> None:
    overdue = inst.due_at <= now
    values = dict(status=IS.OVERDUE, was_overdue=True) if overdue else {}
    s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.status.in_(IS.OPEN))
              .values(attempts=INST.c.attempts + 1, last_failure="insufficient_funds",
                      attempt_at=_retry_at(inst.due_at, now), **values))
    if overdue:
        notify(s, user_id=inst.shopper_id, kind="failed", at=now, dedupe_key=f"fail:{inst.id}",
               **_failed_notice(inst, order, inst.due_at))


# ── overdue: grace, penalty, late fees, suspension, bad debt ─────────────────────────────────
def _overdue(engine: Engine, now: datetime, rep: SweepReport, n: int) -> None:
    q = sa.select(INST.c.id).where(INST.c.status == IS.OVERDUE)
    for s, ids in _batches(engine, q, INST.c.id, n):
        for inst in s.exec(select(Installment).where(Installment.id.in_(ids)).order_by(Installment.id)):
            order = s.get(Order, inst.order_id)
            apply_overdue_rules(s, inst=inst, order=order, now=now, rep=rep)


def apply_overdue_rules(s: Session, *, inst: Installment, order: Order, now: datetime, rep: SweepReport) -> None:
    days = days_overdue(inst.due_at, now)
    uid = inst.shopper_id
    if days >= order.grace_days and not inst.penalized:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.penalized.is_(False)).values(penalized=True)).rowcount:
            credit.change_score(s, uid=uid, delta=-POLICY.overdue_score_penalty,
                                reason=credit.reason_of("cr.grace", inst=inst.id), at=now)
            acct = credit.fresh(s, uid)
            _remember_restorable(s, acct)
            new_limit = acct.limit_fen // POLICY.overdue_limit_divisor
            credit.set_limit(s, uid=uid, new_limit=new_limit, reason=credit.reason_of("cr.grace", inst=inst.id), at=now)
            s.execute(sa.update(CA).where(CA.c.user_id == uid).values(on_time_streak=0))
            notify(s, user_id=uid, kind="penalty", at=now, dedupe_key=f"pen:{inst.id}",
                   points=POLICY.overdue_score_penalty, limit=yuan(new_limit))
            rep.penalized += 1
    if inst.plan_application_id is None:
        fee_days = max(0, days - order.grace_days)
        per_day = bps_of(inst.principal_fen, order.late_fee_bps_per_day)
        cap = bps_of(inst.principal_fen, order.late_fee_cap_bps)
        total = min(cap, per_day * fee_days)
        if total > inst.late_fee_fen:
            s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.late_fee_fen < total)
                      .values(late_fee_fen=total, late_fee_days=fee_days))
            inst.late_fee_fen = total
            notify(s, user_id=uid, kind="late_fee", at=now, dedupe_key=f"late:{inst.id}:{fee_days}",
                   product=order.product_name, seq=inst.seq, periods=inst.periods, days=days, total=yuan(total))
            rep.late_fees += 1
    if days >= POLICY.suspend_after_days and not inst.suspended_applied:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.suspended_applied.is_(False))
                     .values(suspended_applied=True)).rowcount:
            acct = credit.fresh(s, uid)
            if acct.bnpl_status != BNPL_SUSPENDED:
                _remember_restorable(s, acct)
                credit.set_limit(s, uid=uid, new_limit=0, reason=credit.reason_of("cr.suspended", days=days), at=now)
                credit.set_status(s, uid=uid, status=BNPL_SUSPENDED, reason=credit.reason_of("cr.suspended", days=days), at=now)
                notify(s, user_id=uid, kind="suspended", at=now, dedupe_key=f"susp:{inst.id}", days=days)
                rep.suspended += 1
    if days >= POLICY.bad_debt_after_days and not inst.bad_debt_applied:
        if s.execute(sa.update(INST).where(INST.c.id == inst.id, INST.c.bad_debt_applied.is_(False))
                     .values(bad_debt_applied=True)).rowcount:
            s.execute(sa.update(CA).where(CA.c.user_id == uid).values(bad_debt=True))
            notify(s, user_id=uid, kind="bad_debt", at=now, dedupe_key=f"bad:{inst.id}", days=days)
            rep.bad_debts += 1


def _remember_restorable(s: Session, acct: CreditAccount) -> None:
    """The limit before the first cut is what an operator may restore up to."""
    if acct.restorable_limit_fen is None and acct.limit_fen > 0:
        s.execute(sa.update(CA).where(CA.c.user_id == acct.user_id, CA.c.restorable_limit_fen.is_(None))
                  .values(restorable_limit_fen=acct.limit_fen))
        acct.restorable_limit_fen = acct.limit_fen


# ── when is the next thing due? (drives the demo clock) ──────────────────────────────────────
def next_event_after(s: Session, t: datetime) -> datetime | None:
    """The earliest moment after ``t`` at which the sweep would have something to do."""
    from ..domain.clock import aware

    def first(q, offset: timedelta = timedelta(0)) -> list[datetime]:
        v = s.execute(q).scalar()
        return [aware(v) + offset] if v is not None else []

    cands = first(sa.select(sa.func.min(ORD.c.trial_end_at)).where(ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > t))
    for d in POLICY.reminder_days_before:
        cands += first(sa.select(sa.func.min(ORD.c.trial_end_at)).where(
            ORD.c.status.in_(OS.IN_TRIAL), ORD.c.trial_end_at > t + timedelta(days=d)), -timedelta(days=d))
    cands += first(sa.select(sa.func.min(INST.c.attempt_at)).where(INST.c.status.in_(IS.OPEN), INST.c.attempt_at > t))
    cands += first(sa.select(sa.func.min(RET.c.inspect_deadline_at)).where(
        RET.c.status == "RECEIVED", RET.c.inspect_deadline_at > t))
    transit = timedelta(days=POLICY.return_transit_days_max)
    cands += first(sa.select(sa.func.min(RET.c.requested_at)).where(
        RET.c.status == "IN_TRANSIT", RET.c.requested_at > t - transit), transit)
    # The daily ticks of overdue installments (grace end, late fees, suspension, bad debt).
    for (due,) in s.execute(sa.select(INST.c.due_at).where(INST.c.status == IS.OVERDUE)):
        due = aware(due)
        k = (t - due) // DAY + 1
        if k <= POLICY.bad_debt_after_days:
            cands.append(due + k * DAY)
    return min(cands) if cands else None
