"""The set-based writes of a deduction batch: what ``payments.capture``, ``phases.deduction_failed``
and ``payments.refresh_order_status`` / ``finish_order`` / ``apply_standing`` write for one
installment or order, for a whole batch in a handful of executemany statements. The decisions
are the same functions of ``domain.rules`` those call; only the reading and writing differ.

All or nothing: every guard of the per-row path (installment still open, balance still there,
outstanding still there, order not yet paid, credit account as read) is checked, and when one
fails they raise ``BatchRefused`` — the caller rolls back to its savepoint and takes the per-row
path, which then does exactly what it always did (skips, falls through, or raises). Rows are
locked in a fixed order: installments, then payment methods by id, then credit accounts by user.

Rows written below the session are not seen by the change feed's hooks, so each write names whom
it concerns (``changes.touch``) exactly as the hooks would have for the per-row path's statements:
an installment its shopper and its shop's user (money), an order both of them (orders), a credit
account, a 备用金 line or their history the shopper (credit), a notice its reader (inbox) —
``merchant_users`` maps each shop to its user (a 备用金 draw has no shop: ``shop_users``).

Every kind of order runs here as on the per-row path: a capture's legs are
``payments.capture_legs`` and the line its principal repays is ``rules.line_repaid`` (the
先用后付 limit, the 备用金 line, or none for rent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ...domain import rules
from ...domain.policy import POLICY
from ...models import CreditEvent, InstallmentStatus as IS, OrderEvent, OrderStatus as OS, Posting
from ...services import changes, credit, payments
from ...services.bulk import BatchRefused, bind_time, execute_many, load_time, select_in
from ...services.ledger import LIMIT, MONEY, cash, lim
from ...services.notify import NOTE, notify_many
from .phases import failure_notice

INST = payments.INST
ORD = payments.ORD
CA = credit.CA
CL = credit.CL
POST = Posting.__table__
OEV = OrderEvent.__table__
CEV = CreditEvent.__table__
_POSTING_SQL = (f"INSERT INTO {POST.name} (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, "
                "order_id, installment_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(slots=True)
class Charge:
    """One installment the batch charges: what ``capture`` would take, and from where."""

    installment_id: int
    order_id: int
    shopper_id: int
    merchant_id: int | None  # None: a 备用金 draw
    principal_fen: int
    fee_waived_fen: int
    amount_fen: int
    method_id: int
    platform_fee_bps: int
    kind: str = "bnpl"


def shop_users(merchant_users: dict, merchant_ids) -> set[int]:
    """The users behind these shops; a 备用金 draw (no shop) concerns nobody but its shopper."""
    return {merchant_users[m] for m in merchant_ids if m is not None}


def _debit_all(session: Session, gateway, debits: list[tuple[int, int]]) -> bool:
    """Every (method, amount) debit through the gateway; False as soon as one is refused. A gateway
    may offer ``debit_many`` (one round trip, True only if all went through); otherwise it is
    asked once per debit, exactly as ``capture`` asks it."""
    many = getattr(gateway, "debit_many", None)
    if many is not None:
        return many(session, debits)
    return all(gateway.debit(session, method_id=m, amount_fen=a) for m, a in debits)


def capture_many(session: Session, charges: list[Charge], merchant_users: dict[int, int], *, at: datetime,
                 gateway: payments.Gateway | None = None, when=None) -> None:
    """``capture`` (billed, fee not waived) for many installments: the same guarded installment
    update, gateway debit (one per installment), money posting (``rules.capture_split``) and limit
    repayment."""
    if not charges:
        return
    when = bind_time(session=session, at=at) if when is None else when
    n = execute_many(session=session, sql=f"UPDATE {INST.name} SET status = ?, paid_at = ?, paid_fen = ?, paid_method_id = ?, "
                              "fee_waived_fen = ?, attempt_at = NULL, last_failure = NULL, auto_paid = ? "
                              "WHERE id = ? AND status IN (?, ?, ?)",
                     rows=[(IS.PAID, when, c.amount_fen, c.method_id, c.fee_waived_fen, True, c.installment_id,
                       IS.PENDING, IS.SCHEDULED, IS.OVERDUE) for c in charges])
    if n != len(charges):
        raise BatchRefused("an installment is no longer open")
    debits = sorted((c.method_id, c.amount_fen) for c in charges if c.amount_fen)
    if not _debit_all(session, gateway or payments.GATEWAY, debits):
        raise BatchRefused("a balance moved")
    postings: list[tuple] = []
    repaid: dict[int, int] = {}  # 先用后付 limit: shopper → principal repaid
    repaid_cash: dict[int, int] = {}  # 备用金 line: shopper → principal repaid
    for c in charges:
        principal, uid = c.principal_fen, c.shopper_id
        key = f"cap:{c.installment_id}"
        legs = payments.capture_legs(kind=c.kind, merchant_id=c.merchant_id, method_id=c.method_id, principal_fen=principal,
                                     amount_fen=c.amount_fen, platform_fee_bps=c.platform_fee_bps)
        for leg, (debit_acct, credit_acct, amount) in enumerate(legs):
            if amount < 0:
                raise BatchRefused("negative leg")  # ledger.post refuses it on the per-row path
            if amount:
                postings.append((MONEY, key, leg, debit_acct, credit_acct, amount, "capture", c.order_id, c.installment_id,
                                 when))
        line = rules.line_repaid(c.kind)
        if principal and line == rules.LINE_LIMIT:
            postings.append((LIMIT, f"lrp:{c.installment_id}", 0, lim(uid, "outstanding"), lim(uid, "headroom"),
                             principal, "repay", c.order_id, c.installment_id, when))
            repaid[uid] = repaid.get(uid, 0) + principal
        elif principal and line == rules.LINE_CASH:
            postings.append((LIMIT, f"crp:{c.installment_id}", 0, cash(uid, "outstanding"), cash(uid, "available"),
                             principal, "repay", c.order_id, c.installment_id, when))
            repaid_cash[uid] = repaid_cash.get(uid, 0) + principal
    execute_many(session=session, sql=_POSTING_SQL, rows=postings)
    # Per shopper, "outstanding ≥ each amount, one after the other" holds iff outstanding ≥ their sum.
    n = execute_many(session=session, sql=f"UPDATE {CA.name} SET outstanding_fen = outstanding_fen - ?, updated_at = ? "
                              "WHERE user_id = ? AND outstanding_fen >= ?",
                     rows=[(amt, when, uid, amt) for uid, amt in sorted(repaid.items())])
    if n != len(repaid):
        raise BatchRefused("outstanding below a repayment")
    n = execute_many(session=session, sql=f"UPDATE {CL.name} SET outstanding_fen = outstanding_fen - ?, updated_at = ? "
                              "WHERE user_id = ? AND outstanding_fen >= ?",
                     rows=[(amt, when, uid, amt) for uid, amt in sorted(repaid_cash.items())])
    if n != len(repaid_cash):
        raise BatchRefused("备用金 outstanding below a repayment")
    shoppers = {c.shopper_id for c in charges}
    changes.touch(session=session, users=shoppers | shop_users(merchant_users, (c.merchant_id for c in charges)),
                  topic=changes.MONEY)
    changes.touch(session=session, users=set(repaid) | set(repaid_cash), topic=changes.CREDIT)


def fail_many(session: Session, fails: list[tuple], merchant_users: dict[int, int], *, at: datetime, when) -> None:
    """``phases.deduction_failed`` for many (installment, order, method named) rows: the same
    guarded updates (``rules.failed_attempt``; the failure notice announces the retry, so no other
    notice is due before it) and the same notice (``phases.failure_notice``, with its SMS), unless
    it was sent before (a second failure the same day)."""
    if not fails:
        return
    overdue, early, notices = [], [], []
    rates = payments.overdue_rates(session=session, order_ids={o.id for _r, o, _m in fails})
    for r, order, method in fails:
        due = load_time(session=session, raw=r.due_at)
        fa = rules.failed_attempt(due, at)
        row = (bind_time(session=session, at=fa.retry_at), r.id)
        (overdue if fa.overdue else early).append(row)
        notices.append((r.shopper_id, failure_notice(r._replace(due_at=due), order, now=at, retry_at=fa.retry_at,
                                                     overdue=fa.overdue, method=method,
                                                     interest_ppm=rates.get(order.id, 0))))
    guard = f"WHERE id = ? AND status IN ({', '.join('?' * len(IS.OPEN))})"
    n = execute_many(session=session, sql=f"UPDATE {INST.name} SET attempts = attempts + 1, last_failure = ?, status = ?, "
                              f"was_overdue = ?, attempt_at = ?, notices_sent = ? {guard}",
                     rows=[("insufficient_funds", IS.OVERDUE, True, t, rules.ALL_NOTICES, iid, *IS.OPEN) for t, iid in overdue])
    n += execute_many(session=session, sql=f"UPDATE {INST.name} SET attempts = attempts + 1, last_failure = ?, attempt_at = ?, "
                               f"notices_sent = ? {guard}",
                      rows=[("insufficient_funds", t, rules.ALL_NOTICES, iid, *IS.OPEN) for t, iid in early])
    if n != len(fails):
        raise BatchRefused("an installment is no longer open")
    changes.touch(session=session, users={r.shopper_id for r, _o, _m in fails}
                  | shop_users(merchant_users, (o.merchant_id for _r, o, _m in fails)), topic=changes.MONEY)
    changes.touch(session=session, users={uid for uid, _n in notices}, topic=changes.INBOX)  # as an insert that turns out a duplicate
    sent = {k for (k,) in select_in(session=session, sql=f"SELECT dedupe_key FROM {NOTE.name} WHERE dedupe_key IN ({{ids}})",
                                    ids=[n.dedupe_key for _uid, n in notices])}
    notify_many(session=session, notices=[x for x in notices if x[1].dedupe_key not in sent], at=at, sms=True, when=when)


def move_orders(session: Session, moved: list[tuple[str, int, str]], users: set[int]) -> None:
    """``refresh_order_status`` for orders that are not paid off: (new status, order, old status);
    ``users``: their shoppers and shops' users."""
    changes.touch(session=session, users=users, topic=changes.ORDERS)
    execute_many(session=session, sql=f"UPDATE {ORD.name} SET status = ? WHERE id = ? AND status = ?",
                 rows=sorted(moved, key=lambda m: m[1]))


@dataclass(frozen=True, slots=True)
class Finished:
    """An order the batch just paid off (``refresh_order_status`` would call ``finish_order``)."""

    order_id: int
    shopper_id: int
    merchant_user: int | None  # None: a 备用金 draw (no shop)
    product_name: str
    price_fen: int
    on_time: bool


def finish_many(session: Session, done: list[Finished], *, at: datetime, when=None) -> None:
    """``finish_order`` (and ``apply_standing``) for many orders, in the order given — for each
    shopper the order the per-row path would have taken. Call it after the batch's captures
    (which updated, hence on PostgreSQL locked, each shopper's credit account): the accounts are
    read once, each order's ``rules.standing_after_order`` taken in turn, and the accounts written
    back compare-and-set."""
    if not done:
        return
    when = bind_time(session=session, at=at) if when is None else when
    changes.touch(session=session, users={f.shopper_id for f in done} | {f.merchant_user for f in done if f.merchant_user},
                  topic=changes.ORDERS)
    changes.touch(session=session, users={f.shopper_id for f in done}, topic=changes.CREDIT)
    n = execute_many(session=session, sql=f"UPDATE {ORD.name} SET status = ?, closed_at = ?, on_time = ? WHERE id = ? AND status <> ?",
                     rows=[(OS.PAID, when, f.on_time, f.order_id, OS.PAID) for f in sorted(done, key=lambda f: f.order_id)])
    if n != len(done):
        raise BatchRefused("an order was paid meanwhile")
    execute_many(session=session, sql=f"INSERT INTO {OEV.name} (order_id, at, step, amount_fen, note) VALUES (?, ?, ?, ?, ?)",
                 rows=[(f.order_id, when, "paid", f.price_fen, "") for f in done])
    uids = sorted({f.shopper_id for f in done})
    accts = {r[0]: r for r in select_in(session=session, sql=f"SELECT user_id, score, on_time_streak, limit_fen, bnpl_status, "
                                                 f"restorable_limit_fen FROM {CA.name} WHERE user_id IN ({{ids}})", ids=uids)}
    if len(accts) != len(uids):
        raise BatchRefused("credit account missing")
    standing = {u: rules.Standing(a[1], a[2], a[3], False) for u, a in accts.items()}  # as each order leaves it
    events: dict[int, list[tuple]] = {}  # uid → (kind, old, new, reason) in the order they happen
    notices: list[tuple[int, rules.Notice]] = []
    for f in done:
        uid = f.shopper_id
        was, a = standing[uid], accts[uid]
        notices.append((uid, rules.paid_notice(order_id=f.order_id, product=f.product_name)))
        st = standing[uid] = rules.standing_after_order(on_time=f.on_time, score=was.score, streak=was.streak,
                                                   limit_fen=was.limit_fen, bnpl_status=a[4], restorable_limit_fen=a[5])
        if not f.on_time:
            continue
        if st.score != was.score:
            events.setdefault(uid, []).append(("score", was.score, st.score,
                                               credit.reason_of("cr.on_time", order=f.order_id)))
        if st.stepped:
            events.setdefault(uid, []).append(("limit", was.limit_fen, st.limit_fen,
                                               credit.reason_of("cr.step", n=POLICY.on_time_orders_for_step)))
        notices.append((uid, rules.reward_notice(order_id=f.order_id, standing=st)))
    notify_many(session=session, notices=notices, at=at, sms=False, when=when)
    # change_score and set_limit set updated_at; the captures before this already set it to ``at``.
    n = execute_many(session=session, sql=f"UPDATE {CA.name} SET score = ?, on_time_streak = ?, limit_fen = ?, updated_at = ? "
                              "WHERE user_id = ? AND score = ? AND on_time_streak = ? AND limit_fen = ?",
                     rows=[(standing[u].score, standing[u].streak, standing[u].limit_fen, when, u, *accts[u][1:4]) for u in uids])
    if n != len(uids):
        raise BatchRefused("a credit account changed meanwhile")
    _log_changes(session, events, when)


def _log_changes(session: Session, events: dict[int, list[tuple]], when) -> None:
    """``credit.log_change`` for each event, in order: a limit change's posting key names its
    event's id, so those are inserted one at a time; score changes all at once."""
    ev_sql = f"INSERT INTO {CEV.name} (user_id, at, kind, old_value, new_value, reason) VALUES (?, ?, ?, ?, ?, ?)"
    plain = [(u, when, *e) for u, evs in events.items() if all(e[0] == "score" for e in evs) for e in evs]
    execute_many(session=session, sql=ev_sql, rows=plain)
    conn = session.connection()
    one = ev_sql + " RETURNING id"
    if conn.dialect.paramstyle != "qmark":
        one = one.replace("?", "%s")
    limit_postings = []
    for u, evs in events.items():
        if all(e[0] == "score" for e in evs):
            continue
        for kind, old, new, reason in evs:
            ev_id = conn.exec_driver_sql(one, (u, when, kind, old, new, reason)).scalar_one()
            if kind == "limit":
                limit_postings.append((LIMIT, f"limit:{ev_id}", 0, lim(u, "granted"), lim(u, "headroom"), new - old,
                                       "limit_change", None, None, when))
    execute_many(session=session, sql=_POSTING_SQL, rows=limit_postings)
