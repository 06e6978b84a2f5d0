"""Checkout under concurrent submission: threads, each with its own session and transaction,
released together by a ``threading.Barrier``.

Runs on a SQLite file and, when ``BNPL_TEST_DATABASE_URL`` is set, on PostgreSQL too (see
conftest.py; set-but-unreachable fails)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bnpl_app.db import transaction
from bnpl_app.domain.errors import DomainError, InsufficientLimit, NotEligible
from bnpl_app.models import Order, Posting, Product
from bnpl_app.services import checkout, credit
from conc_support import audit_clean

P = Posting.__table__


def _freezes(s, order_id: int) -> int:
    return s.execute(sa.select(sa.func.count(sa.distinct(P.c.posting_key)))
                     .where(P.c.kind == "freeze", P.c.order_id == order_id)).scalar_one()


def _submit(world, barrier: threading.Barrier | None, uid: int, product_id: int, key: str):
    """One browser tab confirming: its own session, its own transaction. Returns the order id or
    the domain error; anything else is re-raised (a crash, not a refusal)."""
    if barrier is not None:
        barrier.wait(timeout=60)
    try:
        with transaction(world.engine) as s:
            return checkout.checkout(session=s, uid=uid, product_id=product_id, plan="full", idempotency_key=key,
                                     clock=world.clock).id
    except DomainError as exc:
        return exc


def test_same_checkout_submitted_twice_sequentially_is_one_order_one_freeze(world):
    m = world.merchant()
    price = 12_300
    p = world.product(m, price_fen=price, stock=5)
    uid = world.shopper(score=700)
    key = uuid.uuid4().hex

    first = world.buy(uid, p, key=key)
    second = world.buy(uid, p, key=key)

    assert first == second
    with world.tx() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one() == 1
        assert _freezes(s, first) == 1
        assert credit.account(session=s, uid=uid).frozen_fen == price
        assert s.get(Product, p).stock == 4
    audit_clean(world.engine)


def test_same_checkout_from_two_threads_at_once_is_one_order_one_freeze(world):
    m = world.merchant()
    price = 9_900
    rounds = 12
    p = world.product(m, price_fen=price, stock=rounds)
    uid = world.shopper(score=750)  # ¥10,000: room for every round
    ids = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(rounds):
            key = uuid.uuid4().hex
            barrier = threading.Barrier(2)
            a, b = pool.map(lambda _i: _submit(world, barrier, uid, p, key), range(2))
            assert isinstance(a, int) and a == b, (a, b)
            ids.append(a)

    assert len(set(ids)) == rounds
    with world.tx() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one() == rounds
        assert all(_freezes(s, oid) == 1 for oid in ids)
        assert credit.account(session=s, uid=uid).frozen_fen == rounds * price
        assert s.get(Product, p).stock == 0
    audit_clean(world.engine)


def test_eight_parallel_checkouts_near_the_limit_never_over_freeze(world):
    m = world.merchant()
    uid = world.shopper(score=560)  # the ¥500 band
    with world.tx() as s:
        limit = credit.account(session=s, uid=uid).limit_fen
    # Bring the shopper near the limit first, then race 8 tabs for what is left.
    world.buy(uid, world.product(m, price_fen=limit * 2 // 5))
    price = limit // 7 + 13
    p = world.product(m, price_fen=price, stock=100)
    with world.tx() as s:
        before = credit.account(session=s, uid=uid)
        room = credit.available(before)
    expected = room // price
    assert 0 < expected < 8

    barrier = threading.Barrier(8)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _i: _submit(world, barrier, uid, p, uuid.uuid4().hex), range(8)))

    orders = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if not isinstance(r, int)]
    assert len(orders) == expected == len(set(orders)), results
    for r in refusals:
        assert isinstance(r, (InsufficientLimit, NotEligible)), repr(r)
        if isinstance(r, NotEligible):
            assert [f.rule for f in r.reasons] == ["limit"], r.reasons
    with world.tx() as s:
        acct = credit.account(session=s, uid=uid)
        assert acct.frozen_fen == before.frozen_fen + expected * price
        assert acct.frozen_fen <= acct.limit_fen == limit
        assert credit.available(acct) == room - expected * price
        assert s.get(Product, p).stock == 100 - expected
    audit_clean(world.engine)
