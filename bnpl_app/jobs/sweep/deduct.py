"""One batch of due deductions, set-based.

Read the claimed installments, their orders, the shoppers' methods; decide in memory, exactly as
the per-row path decides (installments by due date then id, each from the shopper's first
method, in their order, whose balance covers it — or, when none does, a failed attempt), what
every deduction will take and from where. Shoppers for whom that is plain — principal > 0, order
billed — are charged (or failed) here (``writes``: a handful of executemany statements per batch,
inside a savepoint); everyone else (anything unusual) goes through the per-row path
(``phases.deduct_rows``), unchanged. Shoppers share no rows, so splitting a batch by shopper
changes nothing; within a shopper the order is kept. If any guard of the set-based writes fails
(a row moved under us — only possible with concurrent writers), the savepoint is rolled back and
the whole batch takes the per-row path."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from ...domain import rules
from ...models import Merchant, OrderStatus as OS, PaymentMethod
from ...services import payments
from ...services.bulk import BatchRefused, bind_time, select_in
from ...services.notify import notify_many
from . import phases, writes
from .phases import SweepReport

INST = payments.INST
ORD = payments.ORD
PMT = PaymentMethod.__table__
MER = Merchant.__table__
_I = namedtuple("_I", "id order_id shopper_id seq periods due_at principal_fen fee_fen fee_waived_fen late_fee_fen "
                      "late_fee_waived_fen overdue_interest_fen status attempt_at noticed_at plan_application_id")
_O = namedtuple("_O", "id shopper_id merchant_id product_name price_fen status platform_fee_bps grace_days "
                      "late_fee_bps_per_day late_fee_cap_bps kind")
_LATE = ", ".join(c.name for c in payments.LATE_COLUMNS)


def deduct_batch(s: Session, ids: list[int], now: datetime, rep: SweepReport, *, batch_path: bool = True) -> None:
    """The due deductions among ``ids``. ``batch_path=False``: all of them by the per-row path (the
    reference the set-based path must equal)."""
    when = bind_time(session=s, at=now)
    told_by = bind_time(session=s, at=rules.noticed_by(now))
    rows = [_I._make(r) for r in select_in(session=s, sql=f"SELECT {', '.join(_I._fields)} FROM {INST.name} WHERE id IN ({{ids}}) "
                                              "ORDER BY due_at, id", ids=ids)]
    orders_ = {o.id: o for o in map(_O._make, select_in(session=s, sql=f"SELECT {', '.join(_O._fields)} FROM {ORD.name} "
                                                           "WHERE id IN ({ids})", ids={r.order_id for r in rows}))}
    methods: dict[int, list[list]] = {}
    # The auto-deduction methods (``payments.AUTO_METHOD``), in the order they are tried.
    for mid, uid, label, balance in select_in(session=s, sql=f"SELECT id, user_id, label, balance_fen FROM {PMT.name} "
                                                 "WHERE user_id IN ({ids}) AND removed_at IS NULL AND autopay "
                                                 "ORDER BY priority, id",
                                              ids={r.shopper_id for r in rows}):
        methods.setdefault(uid, []).append([mid, label, balance])
    touched: set[int] = set()
    planned: list[tuple] = []  # (installment, order, method, amount) in processing order
    failing: list[tuple] = []  # (installment, order, method named): no method covers it
    slow: set[int] = set()  # shoppers for the per-row path
    for r in rows:
        if not rules.deduction_due(r.status, r.attempt_at, r.noticed_at, when, told_by):
            continue
        order = orders_[r.order_id]
        touched.add(order.id)
        need = payments.owed(r)
        if r.shopper_id in slow or order.status not in OS.BILLED or r.principal_fen <= 0 or need <= 0:
            slow.add(r.shopper_id)
            continue
        mine = methods.get(r.shopper_id, ())
        i = rules.first_covering([m[2] for m in mine], need)
        if i is None:  # balances stay as they were: a later, smaller one may still go
            named = rules.named_method([m[2] for m in mine], need)
            failing.append((r, order, mine[named][1] if named is not None else "—"))
        else:
            mine[i][2] -= need
            planned.append((r, order, mine[i], need))
    refresh = list(touched)  # the order the per-row path refreshes them in
    if not batch_path:
        slow = {r.shopper_id for r in rows}
    fast = [p for p in planned if p[0].shopper_id not in slow]
    fails = [f for f in failing if f[0].shopper_id not in slow]
    if fast or fails:
        sp = s.begin_nested()
        try:
            taken = _charge(s, fast, fails, orders_, refresh, now, when)
        except (BatchRefused, sa.exc.IntegrityError):
            sp.rollback()
            phases.deduct_rows(s, ids, now, rep, refresh)
            return
        sp.commit()
        rep.captured += len(fast)
        rep.captured_fen += taken
        rep.failed += len(fails)
    if slow:
        phases.deduct_rows(s, [r.id for r in rows if r.shopper_id in slow], now, rep, refresh)


def _charge(s: Session, fast: list[tuple], fails: list[tuple], orders_: dict, refresh: list[int],
            now: datetime, when) -> int:
    """The planned captures and failures, their notices, then each touched order's new status
    (``rules.order_status_after``) in the per-row path's order. Returns the fen taken."""
    charges, notices = [], []
    for r, order, m, amount in fast:
        charges.append(writes.Charge(r.id, order.id, r.shopper_id, order.merchant_id, r.principal_fen, r.fee_waived_fen,
                                     amount, m[0], order.platform_fee_bps, order.kind))
        notices.append((r.shopper_id, rules.deducted_notice(installment_id=r.id, product=order.product_name, seq=r.seq,
                                                            periods=r.periods, method=m[1], amount_fen=amount)))
    # A 备用金 draw has no merchant: ``merchant_users[None]`` is None, a user nobody is (``writes.shop_users``).
    merchant_users = {None: None, **dict(select_in(session=s, sql=f"SELECT id, user_id FROM {MER.name} WHERE id IN ({{ids}})",
                                                   ids={o.merchant_id for o in orders_.values() if o.merchant_id is not None}))}
    writes.capture_many(s, charges, merchant_users, at=now, when=when)
    notify_many(session=s, notices=notices, at=now, sms=True, when=when)
    writes.fail_many(s, fails, merchant_users, at=now, when=when)
    shoppers = {r.shopper_id for r, _, _, _ in fast} | {r.shopper_id for r, _, _ in fails}
    mine = [oid for oid in refresh if orders_[oid].shopper_id in shoppers]
    insts: dict[int, list[tuple]] = {oid: [] for oid in mine}
    for oid, *late_columns in select_in(session=s, sql=f"SELECT order_id, {_LATE} FROM {INST.name} WHERE order_id IN ({{ids}})",
                                        ids=mine):
        insts[oid].append(late_columns)  # (status, was_overdue, penalized, plan_application_id)
    finished, moved = [], []
    for oid in mine:
        o = orders_[oid]
        new = rules.order_status_after(o.status, [x[0] for x in insts[oid]])
        if new == OS.PAID:
            on_time = not any(rules.installment_was_late(*x) for x in insts[oid])
            finished.append(writes.Finished(oid, o.shopper_id, merchant_users[o.merchant_id], o.product_name, o.price_fen,
                                            on_time))
        elif new != o.status:
            moved.append((new, oid, o.status))
    moved_orders = [orders_[oid] for _new, oid, _old in moved]
    writes.move_orders(s, moved, {o.shopper_id for o in moved_orders}
                       | writes.shop_users(merchant_users, (o.merchant_id for o in moved_orders)))
    writes.finish_many(s, finished, at=now, when=when)
    return sum(c.amount_fen for c in charges)
