"""The change feed: who a committed transaction concerns, written inside that transaction.

Open pages are kept live by push, not polling: each app process tails the ``changes`` table and
tells only the tabs of the users concerned to reload (``bnpl_app/live.py``). This module decides
*who* a transaction concerns, in one place, from what it wrote — whatever wrote it:

* rows the ORM flushes (new, changed, deleted objects) and statements run through the session
  (a guarded ``UPDATE … WHERE id = :id``, an ``INSERT`` of many rows) are mapped to users by
  their table (``note_row``): a row that names its user concerns that user; a row known only by
  its id is looked up when the transaction commits (one query per table); a product or the clock
  concerns everyone;
* the sweep's set-based batches, written below the session, name their users with ``touch``;
* one unit of a product's stock taken or put back (a checkout, a return restocked) concerns its
  shop — the merchant's list shows the count — and everyone only when the product's availability
  may have turned (the count left at 0 or 1): a shopper's pages show in or out of stock, never the
  count, so 200 checkouts of one product do not reload 200 open catalogs 200 times.

Before the commit the collected (user, topic) pairs become rows of ``changes`` (a pair once per
transaction); on PostgreSQL a ``NOTIFY`` in the same transaction wakes the listeners when it
commits, with Redis a publish after the commit does. A transaction that rolls back records
nothing. No reflex import."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from ..domain.clock import SystemClock
from ..models import Change
from .bulk import bind_time, execute_many

CHANNEL = "bnpl_changes"  # PostgreSQL NOTIFY channel and Redis pub/sub channel
KEEP = timedelta(hours=1)  # rows older than this are pruned; a tab reconnecting later reloads anyway
EVERYONE = None  # user_id of a change that concerns every open page (a product edit, a clock move)
OPERATORS = -1  # user_id of a change that concerns every operator (the review queue)

# topics: what kind of thing changed
MONEY, ORDERS, INBOX, CREDIT, CATALOG, CLOCK, REVIEW = "money", "orders", "inbox", "credit", "catalog", "clock", "review"

_PENDING = "bnpl_changes"  # session.info: {(user, topic)} not yet written
_BY_ID = "bnpl_changes_by_id"  # session.info: {table: {ids}} whose users are looked up at commit
_DONE = "bnpl_changes_done"  # session.info: pairs already written in this transaction
_PUBLISH = "bnpl_changes_publish"
_WALL = SystemClock()  # pruning is by wall time: the demo clock jumps, the feed must not

# Whom a written row concerns, by table.
_TOPIC = {
    "notifications": INBOX, "credit_accounts": CREDIT, "credit_events": CREDIT, "users": CREDIT, "cash_lines": CREDIT,
    "payment_methods": MONEY, "installments": MONEY, "orders": ORDERS, "order_events": ORDERS,
    "returns": ORDERS, "return_photos": ORDERS, "merchants": ORDERS, "applications": REVIEW,
    "application_proofs": REVIEW, "products": CATALOG, "sim_clock": CLOCK,
    "rentals": ORDERS, "rental_photos": ORDERS, "rental_listings": CATALOG,
}
_EVERYONE_TABLES = {"products", "sim_clock", "rental_listings"}
_USER_COLUMNS = ("user_id", "shopper_id")
# rows known by their parent row: table → (column naming it, parent table)
_PARENT = {"order_events": ("order_id", "orders"), "return_photos": ("return_id", "returns"),
           "application_proofs": ("application_id", "applications"), "rental_photos": ("rental_id", "rentals")}
_KEY_COLUMNS = ("id", *_USER_COLUMNS, "merchant_id", *(c for c, _t in _PARENT.values()))
# table → (two columns naming the users concerned, the rows with the ids bound to :ids); an
# integer NULL where a table names one user only (PostgreSQL types a bare NULL in a UNION as text)
_OWNERS = {
    # LEFT JOIN: a 备用金 draw's order and installments have no shop, and still concern their shopper
    "orders": ("t.shopper_id, m.user_id", "orders t LEFT JOIN merchants m ON m.id = t.merchant_id WHERE t.id IN"),
    "installments": ("t.shopper_id, m.user_id",
                     "installments t LEFT JOIN merchants m ON m.id = t.merchant_id WHERE t.id IN"),
    "cash_lines": ("t.user_id, CAST(NULL AS INTEGER)", "cash_lines t WHERE t.id IN"),
    "returns": ("t.shopper_id, m.user_id", "returns t JOIN merchants m ON m.id = t.merchant_id WHERE t.id IN"),
    "applications": ("t.shopper_id, CAST(NULL AS INTEGER)", "applications t WHERE t.id IN"),
    "rentals": ("t.shopper_id, m.user_id", "rentals t JOIN merchants m ON m.id = t.merchant_id WHERE t.id IN"),
    "payment_methods": ("t.user_id, CAST(NULL AS INTEGER)", "payment_methods t WHERE t.id IN"),
    "notifications": ("t.user_id, CAST(NULL AS INTEGER)", "notifications t WHERE t.id IN"),
    "credit_accounts": ("t.user_id, CAST(NULL AS INTEGER)", "credit_accounts t WHERE t.id IN"),
    "credit_events": ("t.user_id, CAST(NULL AS INTEGER)", "credit_events t WHERE t.id IN"),
    "merchants": ("t.user_id, CAST(NULL AS INTEGER)", "merchants t WHERE t.id IN"),
    "users": ("t.id, CAST(NULL AS INTEGER)", "users t WHERE t.id IN"),
}
_STOCK_MOVED = "products.stock"  # _BY_ID key: products whose stock a relative update moved
# the shop behind each product whose stock moved, and the count left
_OWNERS[_STOCK_MOVED] = ("m.user_id, p.stock", "products p JOIN merchants m ON m.id = p.merchant_id WHERE p.id IN")
TURNING_STOCK = 1  # a count at or below this after a move: in/out of stock may have turned


def touch(*, session: OrmSession, users: Iterable[int | None], topic: str) -> None:
    """Record that this transaction concerns ``users`` (``EVERYONE``, ``OPERATORS`` or user ids)."""
    pending = session.info.setdefault(_PENDING, set())
    for uid in users:
        pending.add((uid, topic))


def touch_merchants(*, session: OrmSession, merchant_ids: Iterable[int]) -> None:
    """``touch`` for the users behind some merchants (looked up when the transaction commits)."""
    _by_id(session, "merchants", merchant_ids)


def _ints(value) -> list[int]:
    """A key value (one id, or the list of an ``IN``) as ids."""
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _by_id(session: OrmSession, table: str, ids) -> None:
    session.info.setdefault(_BY_ID, {}).setdefault(table, set()).update(_ints(ids))


def note_row(*, session: OrmSession, table: str, values: dict) -> None:
    """Record whom a written row of ``table`` concerns; ``values``: what is known of its key columns."""
    topic = _TOPIC.get(table)
    if topic is None:
        return
    if table in _EVERYONE_TABLES:
        touch(session=session, users=[EVERYONE], topic=topic)
        return
    if topic == REVIEW:
        touch(session=session, users=[OPERATORS], topic=REVIEW)
    named = [u for c in _USER_COLUMNS for u in _ints(values.get(c))]
    if named:
        touch(session=session, users=named, topic=topic)
        if values.get("merchant_id") is not None:  # an order, installment or return: its shop too
            _by_id(session, "merchants", values["merchant_id"])
        return
    if table in _PARENT:
        column, parent = _PARENT[table]
        _by_id(session, parent, values.get(column))
    elif table in _OWNERS:
        _by_id(session, table, values.get("id"))


@lru_cache(maxsize=256)
def _lookup(tables: tuple[str, ...]) -> sa.TextClause:
    """One statement for the users behind the rows of ``tables`` known only by id: each table's
    rows tagged with its place in ``tables``, its ids bound to ``:ids_<place>``. One round trip,
    inside the writer's transaction — a checkout's order, shop and product in one."""
    parts = [f"SELECT {i} AS tag, {cols} FROM {rows} :ids_{i}"
             for i, (cols, rows) in enumerate(_OWNERS[t] for t in tables)]
    return sa.text(" UNION ALL ".join(parts)).bindparams(
        *(sa.bindparam(f"ids_{i}", expanding=True) for i in range(len(tables))))


def _resolve_ids(session: OrmSession) -> None:
    """The users behind rows known only by id, looked up inside the transaction."""
    by_id = session.info.pop(_BY_ID, None) or {}
    wanted = sorted((table, sorted(ids)) for table, ids in by_id.items() if ids)
    if not wanted:
        return
    found: dict[int, list[tuple]] = {i: [] for i in range(len(wanted))}
    for tag, first, second in session.execute(_lookup(tuple(t for t, _ids in wanted)),
                                              {f"ids_{i}": ids for i, (_t, ids) in enumerate(wanted)}):
        found[tag].append((first, second))
    for i, (table, ids) in enumerate(wanted):
        rows = found[i]
        if table == _STOCK_MOVED:
            touch(session=session, users={uid for uid, _stock in rows}, topic=CATALOG)
            if any(stock <= TURNING_STOCK for _uid, stock in rows) or len(rows) < len(ids):
                touch(session=session, users=[EVERYONE], topic=CATALOG)
            continue
        touch(session=session, users={u for row in rows for u in row if u is not None}, topic=_TOPIC[table])


@event.listens_for(OrmSession, "before_flush")
def _collect_flush(session: OrmSession, _ctx, _instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table not in _TOPIC:
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        note_row(session=session, table=table, values={c: getattr(obj, c, None) for c in _KEY_COLUMNS})


def _where_keys(where, parameters) -> dict:
    """``column: value`` for each ``key column = value`` or ``key column IN (values)`` in a WHERE."""
    found: dict = {}
    for node in visitors.iterate(where):
        if not (isinstance(node, BinaryExpression) and isinstance(node.left, sa.Column)
                and node.left.name in _KEY_COLUMNS and node.operator in (operators.eq, operators.in_op)
                and isinstance(node.right, BindParameter)):
            continue
        value = node.right.effective_value
        if value is None and isinstance(parameters, dict):
            value = parameters.get(node.right.key)
        if value is not None:
            found.setdefault(node.left.name, list(value) if isinstance(value, (list, tuple, set)) else value)
    return found


@event.listens_for(OrmSession, "do_orm_execute")
def _collect_statement(state) -> None:
    if not (state.is_update or state.is_insert or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in _TOPIC:
        return
    if state.is_insert:
        params = state.parameters
        rows = params if isinstance(params, list) else [params] if isinstance(params, dict) and params else []
        compiled_values = state.statement._values or {}
        if compiled_values:  # insert(T).values(...)
            rows.append({getattr(k, "key", k): getattr(v, "value", None) for k, v in compiled_values.items()})
        for row in rows or [{}]:
            note_row(session=state.session, table=table, values=row)
        return
    where = state.statement.whereclause
    keys = _where_keys(where, state.parameters) if where is not None else {}
    if table == "products" and _moves_stock_only(state.statement) and _ints(keys.get("id")):
        _by_id(state.session, _STOCK_MOVED, keys["id"])
        return
    note_row(session=state.session, table=table, values=keys)


def _moves_stock_only(statement) -> bool:
    """``UPDATE products SET stock = stock ± n``: a relative move of the count and nothing else
    (a merchant setting the count, or anything else on the row, concerns everyone)."""
    values = getattr(statement, "_values", None) or {}
    if [getattr(k, "key", k) for k in values] != ["stock"]:
        return False
    (value,) = values.values()
    return isinstance(value, BinaryExpression) and any(
        isinstance(node, sa.Column) and node.name == "stock" for node in visitors.iterate(value))


_INSERT = f"INSERT INTO {Change.__table__.name} (user_id, topic, created_at) VALUES (?, ?, ?)"


@event.listens_for(OrmSession, "before_commit")
def _record(session: OrmSession) -> None:
    # Only the outermost commit records (a savepoint's "commit" can still be rolled back with its
    # transaction); SQLAlchemy calls this again while a flush leaves the session dirty: each pair once.
    if session.get_nested_transaction() is not None:
        return
    session.flush()
    _resolve_ids(session)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    done = session.info.setdefault(_DONE, set())
    new = pending - done
    if not new:
        return
    done |= new
    now = _WALL.now()
    when = bind_time(session=session, at=now)
    # Driver-level: a sweep's transaction names tens of thousands of (user, topic) pairs, and
    # SQLAlchemy's per-row parameter processing cost more than the insert itself.
    execute_many(session=session, sql=_INSERT, rows=[(uid, topic, when) for uid, topic in
                                                     sorted(new, key=lambda p: (p[0] is None, p))])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": CHANNEL})
    elif os.environ.get("REDIS_URL"):
        session.info[_PUBLISH] = True


@event.listens_for(OrmSession, "after_commit")
def _publish(session: OrmSession) -> None:
    """Without PostgreSQL's NOTIFY, Redis pub/sub wakes the other processes' listeners (best effort:
    they read the feed every few seconds anyway)."""
    if session.in_transaction():
        return  # a savepoint was released; the transaction goes on
    session.info.pop(_DONE, None)
    if not session.info.pop(_PUBLISH, False):
        return
    try:
        _redis().publish(CHANNEL, b"")
    except Exception:  # noqa: BLE001 — the commit stands; the safety poll picks the change up
        pass


@lru_cache(maxsize=1)
def _redis():
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1)


@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    for key in (_PENDING, _BY_ID, _DONE, _PUBLISH):
        session.info.pop(key, None)


def since(*, session: OrmSession, after_id: int, also: Iterable[int] = (),
          limit: int = 50_000) -> list[tuple[int, int | None, str, datetime]]:
    """The changes after ``after_id`` and those of the ids in ``also``, oldest first:
    (id, user_id, topic, created_at)."""
    t = Change.__table__
    also = list(also)
    which = sa.or_(t.c.id > after_id, t.c.id.in_(also)) if also else t.c.id > after_id
    return [tuple(r) for r in session.execute(
        sa.select(t.c.id, t.c.user_id, t.c.topic, t.c.created_at).where(which).order_by(t.c.id).limit(limit))]


def last_id(*, session: OrmSession) -> int:
    return session.execute(sa.select(sa.func.coalesce(sa.func.max(Change.__table__.c.id), 0))).scalar_one()


def prune(*, session: OrmSession) -> int:
    """Drop rows older than ``KEEP`` (by wall time). Returns how many went."""
    t = Change.__table__
    return session.execute(sa.delete(t).where(t.c.created_at < _WALL.now() - KEEP)).rowcount or 0
