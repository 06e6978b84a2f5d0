"""The change feed: every committed change records whom it concerns, in the same transaction;
a rolled-back one records nothing; the live listener maps the rows to the open tabs concerned."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from bnpl_app import live
from bnpl_app.domain.errors import DomainError
from bnpl_app.models import Change
from bnpl_app.services import changes, merchant, orders
from bnpl_app.jobs.clock import DbClock, advance
from tests.helpers import receive_parcel, return_parcel


def feed(world, after: int = 0) -> set[tuple[int | None, str]]:
    with world.tx() as s:
        return {(uid, topic) for _id, uid, topic, _at in changes.since(session=s, after_id=after)}


def last(world) -> int:
    with world.tx() as s:
        return changes.last_id(session=s)


def test_a_checkout_concerns_the_shopper_and_the_merchant(world):
    mid = world.merchant()
    pid = world.product(mid)
    uid = world.shopper()
    before = last(world)
    world.buy(uid, pid)
    got = feed(world, before)
    assert (uid, changes.ORDERS) in got
    assert (world.merchant_user(mid), changes.ORDERS) in got
    assert all(u in (uid, world.merchant_user(mid), changes.EVERYONE) for u, _t in got), got


def test_a_refused_action_records_nothing(world):
    mid = world.merchant()
    pid = world.product(mid, min_score=800)
    uid = world.shopper(score=700)  # below the product's minimum: checkout refuses
    before = last(world)
    with pytest.raises(DomainError):
        world.buy(uid, pid)
    assert feed(world, before) == set()


def test_one_row_per_user_and_topic_per_transaction(world):
    mid = world.merchant()
    pid = world.product(mid)
    uid = world.shopper()
    before = last(world)
    world.buy(uid, pid)
    with world.tx() as s:
        rows = changes.since(session=s, after_id=before)
    pairs = [(u, t) for _i, u, t, _at in rows]
    assert len(pairs) == len(set(pairs))


def test_a_product_edit_concerns_everyone_on_the_catalog(world):
    mid = world.merchant()
    pid = world.product(mid)
    before = last(world)
    with world.tx() as s:
        merchant.update_product(session=s, merchant_id=mid, product_id=pid, stock=3, clock=world.clock)
    assert (changes.EVERYONE, changes.CATALOG) in feed(world, before)


def test_a_unit_sold_from_a_stocked_product_concerns_its_shop_not_every_open_page(world):
    # A shopper's pages show in or out of stock, never the count: 200 checkouts of one product must
    # not reload every open catalog 200 times. The merchant's product list shows the count.
    mid = world.merchant()
    pid = world.product(mid, stock=5)
    uid = world.shopper()
    before = last(world)
    world.buy(uid, pid)
    got = feed(world, before)
    assert (world.merchant_user(mid), changes.CATALOG) in got
    assert (changes.EVERYONE, changes.CATALOG) not in got, got


@pytest.mark.parametrize("stock", [1, 2])
def test_a_unit_sold_that_may_turn_availability_concerns_everyone(world, stock):
    mid = world.merchant()
    pid = world.product(mid, stock=stock)
    before = last(world)
    world.buy(world.shopper(), pid)  # leaves 0 (sold out) or 1 (the next one sells it out)
    assert (changes.EVERYONE, changes.CATALOG) in feed(world, before)


def test_a_unit_restocked_into_a_sold_out_product_concerns_everyone(world):
    mid = world.merchant()
    pid = world.product(mid, stock=1)
    uid = world.shopper()
    oid = world.buy(uid, pid)  # the last one: sold out
    rid = return_parcel(world, uid, oid)
    receive_parcel(world, mid, rid)
    before = last(world)
    with world.tx() as s:
        orders.accept_return(session=s, merchant_id=mid, return_id=rid, clock=world.clock)
    with world.tx() as s:
        assert s.execute(sa.text("SELECT stock FROM products WHERE id = :p"), {"p": pid}).scalar_one() == 1
    assert (changes.EVERYONE, changes.CATALOG) in feed(world, before)


def test_a_merchant_setting_the_count_concerns_everyone(world):
    mid = world.merchant()
    pid = world.product(mid, stock=50)
    before = last(world)
    with world.tx() as s:
        merchant.update_product(session=s, merchant_id=mid, product_id=pid, stock=40, clock=world.clock)
    assert (changes.EVERYONE, changes.CATALOG) in feed(world, before)


def test_the_sweeps_batch_deduction_concerns_shopper_and_merchant(world):
    mid = world.merchant()
    pid = world.product(mid, trial_days=7)
    uid = world.shopper(wallet_fen=1_000_000)
    world.buy(uid, pid)
    before = last(world)
    world.advance(days=8)  # the trial ends; the sweep bills and deducts in its batch path
    got = feed(world, before)
    assert (uid, changes.MONEY) in got
    assert (world.merchant_user(mid), changes.MONEY) in got
    assert (uid, changes.INBOX) in got


def test_moving_the_demo_clock_concerns_every_open_page(tmp_path):
    from helpers import file_engine

    engine = file_engine(tmp_path / "c.db")
    clock = DbClock(engine, frozen=True)
    clock.now()
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(Change.__table__.c.id), 0))).scalar_one()
    from datetime import timedelta

    advance(engine=engine, clock=clock, delta=timedelta(hours=1))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Change.__table__.c.user_id, Change.__table__.c.topic)
                            .where(Change.__table__.c.id > before)).all()
    assert (None, changes.CLOCK) in {tuple(r) for r in rows}
    engine.dispose()


def test_prune_drops_only_old_rows(world):
    mid = world.merchant()
    world.product(mid)
    with world.tx() as s:
        s.execute(sa.update(Change.__table__).values(created_at=changes._WALL.now() - changes.KEEP * 2))
        n_old = s.execute(sa.select(sa.func.count()).select_from(Change)).scalar_one()
    assert n_old > 0
    world.product(mid)  # a fresh change
    fresh = feed(world, last(world) - 1)
    with world.tx() as s:
        assert changes.prune(session=s) == n_old
    assert feed(world) == fresh


def test_targets_are_the_tabs_of_the_users_concerned():
    live._tabs.clear()
    live.seen("t-alice", user_id=1, role="shopper")
    live.seen("t-alice-2", user_id=1, role="shopper")
    live.seen("t-bob", user_id=2, role="shopper")
    live.seen("t-ops", user_id=9, role="operator")
    live.seen("t-visitor")
    try:
        assert live.targets([(1, 1, changes.MONEY)]) == {"t-alice", "t-alice-2"}
        assert live.targets([(1, changes.OPERATORS, changes.REVIEW)]) == {"t-ops"}
        assert live.targets([(1, 2, changes.ORDERS), (2, changes.OPERATORS, changes.REVIEW)]) == {"t-bob", "t-ops"}
        assert live.targets([(1, changes.EVERYONE, changes.CATALOG)]) == {
            "t-alice", "t-alice-2", "t-bob", "t-ops", "t-visitor"}
        assert live.targets([(1, 7, changes.MONEY)]) == set()
        live.seen("t-alice-2")  # a page load says nothing of who is there
        assert live.targets([(1, 1, changes.MONEY)]) == {"t-alice", "t-alice-2"}
        live.seen("t-alice", user_id=None)  # logged out in that tab
        assert live.targets([(1, 1, changes.MONEY)]) == {"t-alice-2"}
    finally:
        live._tabs.clear()


class _Table:
    """The change feed as the listener reads it: ``read`` answers a ``_Feed.query()``."""

    def __init__(self, rows):
        self.rows = list(rows)

    def read(self, after, also):
        rows = sorted((r for r in self.rows if r[0] > after or r[0] in also), key=lambda r: r[0])
        return rows, max((r[0] for r in self.rows), default=0)


def test_the_feed_reader_sees_a_row_committed_after_a_higher_one():
    a, b, c = (datetime(2026, 12, 2, 8, 0, i) for i in range(3))
    table = _Table([(9, 1, "money", a), (10, 1, "money", a)])
    feed = live._Feed(table.rows, 10, now=0.0)
    assert feed.query() == (10, [])  # only what is new: not the rows already handled
    table.rows += [(11, 1, "money", b), (13, 2, "money", b)]  # id 12's transaction has not committed
    assert feed.new(*table.read(*feed.query()), now=1.0) == [(11, 1, "money"), (13, 2, "money")]
    assert feed.query() == (13, [12])  # the gap is asked for again
    assert feed.new(*table.read(*feed.query()), now=2.0) == []
    table.rows.append((12, 3, "money", c))  # it commits late: found once
    assert feed.new(*table.read(*feed.query()), now=3.0) == [(12, 3, "money")]
    assert feed.query() == (13, [])
    assert feed.new(*table.read(*feed.query()), now=4.0) == []


def test_a_gap_that_never_fills_is_given_up_after_a_while():
    a = datetime(2026, 12, 2, 8, 0, 0)
    table = _Table([(1, 1, "money", a), (3, 1, "money", a)])  # id 2 was rolled back
    feed = live._Feed(table.rows[:1], 1, now=0.0)
    assert feed.new(*table.read(*feed.query()), now=0.0) == [(3, 1, "money")]
    assert feed.query() == (3, [2])
    feed.new(*table.read(*feed.query()), now=live._Feed.WAIT_S - 1)
    assert feed.query() == (3, [2])
    feed.new(*table.read(*feed.query()), now=live._Feed.WAIT_S + 1)
    assert feed.query() == (3, [])


def test_the_feed_reader_starts_from_the_newest_rows_and_waits_only_for_recent_gaps():
    a = datetime(2026, 12, 2, 8, 0, 0)
    # ids below 500 were pruned; 503 has not committed yet
    existing = [(i, 1, "money", a) for i in (500, 501, 502, 504)]
    feed = live._Feed(existing, 504, now=0.0)
    assert feed.query() == (504, [503])


def test_the_feed_reader_follows_a_database_restored_from_an_older_copy():
    a, b = datetime(2026, 12, 2, 8, 0, 0), datetime(2026, 12, 2, 9, 0, 0)
    table = _Table([(1, 1, "money", a)])
    feed = live._Feed(table.rows, 1, now=0.0)
    table.rows += [(2, 1, "money", a), (3, 2, "money", a)]
    assert feed.new(*table.read(*feed.query()), now=1.0) == [(2, 1, "money"), (3, 2, "money")]
    # the table is put back to its state at id 1; ids 2 and 3 are handed out again, later
    table.rows = [(1, 1, "money", a), (2, 5, "orders", b)]
    assert feed.new(*table.read(*feed.query()), now=2.0) == []  # the highest id went down: read back
    assert feed.new(*table.read(*feed.query()), now=3.0) == [(2, 5, "orders")]
    assert feed.query() == (2, [])
    table.rows.append((3, 6, "orders", b))
    assert feed.new(*table.read(*feed.query()), now=4.0) == [(3, 6, "orders")]


def _only_users(world, before: int) -> set:
    return {u for u, _t in feed(world, before)}


def test_statements_that_bypass_the_orm_are_recorded_for_their_users(world):
    """Guarded UPDATEs by id or by user (wallet, autopay, inbox, shop cap, self cap): each is
    recorded for the user it concerns and nobody else."""
    from bnpl_app.services import bills, consent, inbox, payments, wallet

    mid = world.merchant()
    pid = world.product(mid)
    uid, other = world.shopper(), world.shopper()
    world.buy(uid, pid)

    before = last(world)
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=5_000, clock=world.clock)
    assert _only_users(world, before) == {uid}

    before = last(world)
    with world.tx() as s:
        order = [m.id for m in payments.methods_in_order(session=s, uid=uid)]
        bills.set_autopay(session=s, uid=uid, days_before=1, method_order=order, clock=world.clock)
    assert _only_users(world, before) == {uid}

    before = last(world)
    with world.tx() as s:
        inbox.mark_all_read(session=s, uid=uid, clock=world.clock)
    assert _only_users(world, before) <= {uid}

    before = last(world)
    with world.tx() as s:
        consent.set_self_cap(session=s, uid=other, cap_fen=100_000, clock=world.clock)
    assert _only_users(world, before) == {other}

    before = last(world)
    with world.tx() as s:
        merchant.set_shop_cap(session=s, merchant_id=mid, cap_fen=500_000)
    assert _only_users(world, before) == {world.merchant_user(mid)}


def test_a_statement_naming_rows_by_id_is_traced_to_their_owners(world):
    """An UPDATE … WHERE id IN (…) on orders concerns each order's shopper and its shop."""
    from bnpl_app.models import Order

    mid = world.merchant()
    pid = world.product(mid)
    a, b = world.shopper(), world.shopper()
    oa, ob = world.buy(a, pid), world.buy(b, pid)
    before = last(world)
    with world.tx() as s:
        s.execute(sa.update(Order.__table__).where(Order.__table__.c.id.in_([oa, ob])).values(on_time=True))
    assert feed(world, before) == {(a, changes.ORDERS), (b, changes.ORDERS), (world.merchant_user(mid), changes.ORDERS)}
