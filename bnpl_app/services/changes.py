"""The change feed: who a committed transaction concerns, written inside that transaction.

Open pages are kept live by push, not polling: each app process tails the ``changes`` table and
tells only the tabs of the users concerned to reload (``bnpl_app/live.py``). This module decides
*who* a transaction concerns, in one place, from what it wrote:

* ORM rows flushed by the session (new, changed or deleted) map to users through ``_CONCERNS``;
* set-based writes that bypass the ORM (the sweep's batches, guarded balance updates) call
  ``touch`` with the users they wrote for.

Before the commit the collected (user, topic) pairs become rows of ``changes`` (a user once per
transaction); on PostgreSQL a ``NOTIFY`` in the same transaction wakes the listeners when it
commits. A transaction that rolls back records nothing. No reflex import."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from ..domain.clock import SystemClock
from ..models import (
    Application, AuthSession, Change, CreditAccount, CreditEvent, Installment, Merchant, Notification, Order,
    OrderEvent, PaymentMethod, Product, ReturnRequest, SimClock,
)

CHANNEL = "bnpl_changes"  # PostgreSQL NOTIFY channel and Redis pub/sub channel
KEEP = timedelta(hours=1)  # rows older than this are pruned; a tab reconnecting later reloads anyway
EVERYONE = None  # user_id of a change that concerns every open page (a product edit, a clock move)
OPERATORS = -1  # user_id of a change that concerns every operator (the review queue)

# topics: what kind of thing changed, so a page that does not show it need not reload
MONEY, ORDERS, INBOX, CREDIT, CATALOG, CLOCK, REVIEW = "money", "orders", "inbox", "credit", "catalog", "clock", "review"

_KEY = "bnpl_changes"
_PUBLISH = "bnpl_changes_publish"
_DONE = "bnpl_changes_done"
_WALL = SystemClock()  # pruning is by wall time: the demo clock jumps, the feed must not


def touch(session: OrmSession, users: Iterable[int | None], topic: str) -> None:
    """Record that this transaction concerns ``users`` (``EVERYONE``, ``OPERATORS`` or user ids)."""
    pending = session.info.setdefault(_KEY, set())
    for uid in users:
        pending.add((uid, topic))


def touch_merchants(session: OrmSession, merchant_ids: Iterable[int], topic: str) -> None:
    """``touch`` for the users behind some merchants (a set-based write knows only the merchant ids)."""
    ids = sorted(set(merchant_ids))
    if ids:
        t = Merchant.__table__
        touch(session, session.execute(sa.select(t.c.user_id).where(t.c.id.in_(ids))).scalars(), topic)


def _merchant_user(session: OrmSession, merchant_id: int | None) -> int | None:
    if merchant_id is None:
        return None
    m = session.get(Merchant, merchant_id)
    return m.user_id if m is not None else None


def _order_users(session: OrmSession, order_id: int | None) -> list[int | None]:
    o = session.get(Order, order_id) if order_id is not None else None
    return [] if o is None else [o.shopper_id, _merchant_user(session, o.merchant_id)]


# model → (topic, users it concerns)
_CONCERNS = {
    Notification: (INBOX, lambda s, r: [r.user_id]),
    CreditAccount: (CREDIT, lambda s, r: [r.user_id]),
    CreditEvent: (CREDIT, lambda s, r: [r.user_id]),
    PaymentMethod: (MONEY, lambda s, r: [r.user_id]),
    Order: (ORDERS, lambda s, r: [r.shopper_id, _merchant_user(s, r.merchant_id)]),
    OrderEvent: (ORDERS, lambda s, r: _order_users(s, r.order_id)),
    Installment: (MONEY, lambda s, r: [r.shopper_id, *_order_users(s, r.order_id)[1:]]),
    ReturnRequest: (ORDERS, lambda s, r: [r.shopper_id, *_order_users(s, r.order_id)[1:]]),
    Application: (REVIEW, lambda s, r: [r.shopper_id, OPERATORS]),
    Product: (CATALOG, lambda s, r: [EVERYONE]),
    SimClock: (CLOCK, lambda s, r: [EVERYONE]),
}
_IGNORED = (Change, AuthSession)


@event.listens_for(OrmSession, "before_flush")
def _collect(session: OrmSession, _ctx, _instances) -> None:
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, _IGNORED):
                continue
            rule = _CONCERNS.get(type(obj))
            if rule is None:
                continue
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            topic, users = rule
            touch(session, [u for u in users(session, obj) if u is not None or topic in (CATALOG, CLOCK)], topic)


@event.listens_for(OrmSession, "before_commit")
def _record(session: OrmSession) -> None:
    # Only the outermost commit records (a savepoint's "commit" can still be rolled back with its
    # transaction); SQLAlchemy calls this again while a flush leaves the session dirty: each pair once.
    if session.get_nested_transaction() is not None:
        return
    session.flush()
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    done = session.info.setdefault(_DONE, set())
    new = pending - done
    if not new:
        return
    done |= new
    now = _WALL.now()
    session.execute(sa.insert(Change), [{"user_id": uid, "topic": topic, "created_at": now}
                                        for uid, topic in sorted(new, key=lambda p: (p[0] is None, p))])
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
    for key in (_KEY, _DONE, _PUBLISH):
        session.info.pop(key, None)


def since(session: OrmSession, after_id: int, *, limit: int = 50_000) -> list[tuple[int, int | None, str, datetime]]:
    """The changes after ``after_id``, oldest first: (id, user_id, topic, created_at)."""
    t = Change.__table__
    return [tuple(r) for r in session.execute(
        sa.select(t.c.id, t.c.user_id, t.c.topic, t.c.created_at).where(t.c.id > after_id).order_by(t.c.id)
        .limit(limit))]


def last_id(session: OrmSession) -> int:
    return session.execute(sa.select(sa.func.coalesce(sa.func.max(Change.__table__.c.id), 0))).scalar_one()


def prune(session: OrmSession) -> int:
    """Drop rows older than ``KEEP`` (by wall time). Returns how many went."""
    t = Change.__table__
    return session.execute(sa.delete(t).where(t.c.created_at < _WALL.now() - KEEP)).rowcount or 0
