"""Keyset paging: the primitive (ties, cursor round trip, forged cursors, the last page, the size
bound) and every paged list service — each page at most the page size, next/previous together
covering every row exactly once in the list's order, search, and totals that cover every row.

Runs on in-memory SQLite and, when BNPL_TEST_DATABASE_URL is set, again on a private
PostgreSQL database (the SQL differs: row comparisons, the China-day expression)."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import PG_ENV, World, memory_engine, pg_url
from sqlalchemy.engine import make_url

from bnpl_app.db import create_schema, make_engine, reading
from bnpl_app.domain.clock import CST, UTC
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Notification, Posting, Product
from bnpl_app.services import applications as apps, bills, catalog, console, desk, inbox, orders, paging, payments
from bnpl_app.services.notify import notify
from bnpl_app.services.paging import Key, Keyset, Page
from bnpl_app.services.uploads import StoredFile

PROD = Product.__table__
PROOF = StoredFile("c" * 32 + ".pdf", "application/pdf", 1234, "proof.pdf")
BACKENDS = ["sqlite"] + ([pytest.param("postgresql", marks=pytest.mark.pg)] if pg_url() else [])


# ── a world on each backend ──────────────────────────────────────────────────────────────────
def _pg_engine():
    """A private scratch database next to the configured one (other tiers may be using that one)."""
    import psycopg

    base = make_url(pg_url())
    name = f"{base.database}_paging_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    create_schema(engine)

    def drop():
        engine.dispose()
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return engine, drop


@pytest.fixture(params=BACKENDS)
def world(request):
    if request.param == "sqlite":
        w = World(memory_engine())
        yield w
        w.engine.dispose()
        return
    engine, drop = _pg_engine()
    yield World(engine)
    drop()


def walk(read, size: int) -> list[Page]:
    """Every page from the first by following next cursors; checks each page's shape on the way."""
    pages, cursor = [], ""
    for _ in range(10_000):
        page = read(cursor)
        assert page.cursor == cursor
        assert len(page.items) <= size
        pages.append(page)
        if not page.next_cursor:
            break
        assert len(page.items) == size  # only the last page is short
        cursor = page.next_cursor
    assert pages[-1].items or len(pages) == 1, "a next cursor must never lead to an empty page"
    return pages


def covers(read, size: int, expected: list) -> list[Page]:
    """Next from the first page to the last, then previous back to the first (re-reading each
    page at the cursor it was read from, as the screen's stack does): every row once, in order.
    ``read(cursor)`` returns a page of comparable keys (ids), read inside its session."""
    pages = walk(read, size)
    forward = [x for p in pages for x in p.items]
    assert forward == expected
    assert len(set(forward)) == len(forward)
    for p in reversed(pages):  # "previous" re-reads the kept positions
        assert read(p.cursor).items == p.items
    assert all(p.total == len(expected) for p in pages)
    assert pages[0].pages == max(1, -(-len(expected) // size))
    return pages


# ── the primitive ────────────────────────────────────────────────────────────────────────────
PRICE_DESC = Keyset("test_price", (Key(PROD.c.price_fen, int, desc=True), Key(PROD.c.id, int)))


def _products(world, prices: list[int]) -> list[int]:
    m = world.merchant()
    return [world.product(m, price_fen=p) for p in prices]


def test_ties_on_the_sort_key_never_split_or_repeat_across_pages(world):
    prices = [500, 300, 300, 300, 300, 300, 300, 100, 300, 500]  # seven ties, across page boundaries
    ids = _products(world, prices)
    expected = [i for _p, i in sorted(zip(prices, ids, strict=True), key=lambda x: (-x[0], x[1]))]

    def read(cursor):
        with reading(world.engine) as s:
            return paging.fetch(session=s, stmt=sa.select(PROD.c.id), keyset=PRICE_DESC, cursor=cursor, size=3)

    pages = covers(read, 3, expected)
    assert len(pages) == 4 and len(pages[-1].items) == 1


def test_a_list_that_fills_its_last_page_exactly_has_no_next_page(world):
    ids = _products(world, [100] * 6)

    def read(cursor):
        with reading(world.engine) as s:
            return paging.fetch(session=s, stmt=sa.select(PROD.c.id), keyset=PRICE_DESC, cursor=cursor, size=3)

    pages = covers(read, 3, ids)
    assert len(pages) == 2 and pages[-1].next_cursor == ""
    with reading(world.engine) as s:
        empty = paging.fetch(session=s, stmt=sa.select(PROD.c.id).where(PROD.c.id < 0), keyset=PRICE_DESC, size=3)
    assert empty.items == [] and empty.next_cursor == "" and empty.total == 0 and empty.pages == 1


def test_cursor_round_trip_keeps_every_value_and_its_type():
    at = datetime(2026, 11, 3, 4, 5, 6, 789_012, tzinfo=UTC)
    ks = Keyset("t", (Key(sa.column("a"), datetime, desc=True), Key(sa.column("b"), str), Key(sa.column("c"), int)))
    cursor = ks.encode((at, "纯棉T恤 \"x\"", 2**40))
    assert ks.decode(cursor) == (at, "纯棉T恤 \"x\"", 2**40)
    assert all(c.isalnum() or c in "-_" for c in cursor)  # safe anywhere: no padding, no + or /
    other = Keyset("u", ks.keys)
    assert other.decode(cursor) is None  # another list's cursor is not this list's


def _b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


FORGED = [
    None, 5, ["x"], "", "%%%", "not base64 at all!", "A" * 5000, _b64({"tag": "test_price"}),
    _b64(["test_price", 100]), _b64(["test_price", 100, 1, 2]), _b64(["other", 100, 1]),
    _b64(["test_price", True, 1]), _b64(["test_price", "100", 1]), _b64(["test_price", 100, 1.5]),
    _b64(["test_price", 100, 2**70]), _b64(["test_price", None, 1]), _b64(["test_price", 100, "1 OR 1=1"]),
    base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
]


@pytest.mark.parametrize("cursor", FORGED)
def test_a_bad_or_forged_cursor_means_the_first_page_never_an_error(world, cursor):
    ids = _products(world, [100] * 5)
    with reading(world.engine) as s:
        page = paging.fetch(session=s, stmt=sa.select(PROD.c.id), keyset=PRICE_DESC, cursor=cursor, size=2)
    assert page.items == ids[:2] and page.cursor == ""


def test_a_cursor_with_a_naive_or_garbled_time_is_refused():
    ks = Keyset("t", (Key(sa.column("a"), datetime), Key(sa.column("id"), int)))
    assert ks.decode(_b64(["t", "2026-11-01T00:00:00", 1])) is None  # stored times are aware
    assert ks.decode(_b64(["t", "yesterday", 1])) is None
    assert ks.decode(_b64(["t", "2026-11-01T00:00:00+00:00", 1])) == (datetime(2026, 11, 1, tzinfo=UTC), 1)


def test_page_size_comes_from_the_policy_and_is_bounded():
    assert paging.page_size() == POLICY.page_size
    assert paging.page_size(10_000) == POLICY.page_size_max
    assert paging.page_size(0) == 1 and paging.page_size(-3) == 1
    assert paging.page_size(True) == POLICY.page_size and paging.page_size("50") == POLICY.page_size  # type: ignore[arg-type]


def test_a_search_for_like_wildcards_matches_them_literally(world):
    m = world.merchant()
    with world.tx() as s:
        for name in ("100% cotton", "cotton", "a_b", "ab"):
            s.add(Product(merchant_id=m, name=name, price_fen=100, stock=1, created_at=world.clock.now()))
    with reading(world.engine) as s:
        assert [c.name for c in catalog.product_page(session=s, query="%").items] == ["100% cotton"]
        assert [c.name for c in catalog.product_page(session=s, query="_").items] == ["a_b"]
        assert [c.name for c in catalog.product_page(session=s, query="COTTON").items] == ["100% cotton", "cotton"]


# ── the catalog ──────────────────────────────────────────────────────────────────────────────
def test_catalog_pages_cover_every_product_once_shop_by_shop_and_search_and_filter_restart(world):
    a, b = world.merchant(), world.merchant()
    made = [(m, world.product(m, bnpl=(i % 3 != 0))) for i, m in enumerate([b, a, b, a, a, b, a, b, a, a, b])]
    expected = [pid for _m, pid in sorted(made)]

    def read(cursor, **kw):
        with reading(world.engine) as s:
            return catalog.product_page(session=s, cursor=cursor, size=4, **kw)

    covers(lambda c: read(c).map(lambda x: x.id), 4, expected)
    bnpl_ids = [pid for i, (m, pid) in sorted(enumerate(made), key=lambda x: x[1]) if i % 3 != 0]
    covers(lambda c: read(c, bnpl_only=True).map(lambda x: (x.id, x.bnpl)), 4, [(i, True) for i in bnpl_ids])
    with world.tx() as s:
        s.execute(sa.update(PROD).where(PROD.c.id == made[4][1]).values(name="羊绒围巾", category="配饰"))
    assert [c.id for c in read("", query="围巾").items] == [made[4][1]]
    assert [c.id for c in read("", query="配饰").items] == [made[4][1]]


def test_a_catalog_of_1000_products_reads_one_page(world):
    m = world.merchant()
    with world.tx() as s:
        s.execute(sa.insert(PROD), [dict(merchant_id=m, name=f"P{i:04d}", category="c", description="", image="",
                                         price_fen=100 + i, stock=1, bnpl_enabled=True, trial_days=7, min_score=550,
                                         allowed_plans="full", interest_free=False, created_at=world.clock.now())
                                    for i in range(1000)])
    with reading(world.engine) as s:
        page = catalog.product_page(session=s)
        size_cap = catalog.product_page(session=s, size=10**6)
    assert len(page.items) == POLICY.page_size and page.total == 1000 and page.next_cursor
    assert page.pages == -(-1000 // POLICY.page_size)
    assert len(size_cap.items) == POLICY.page_size_max


# ── the shopper's orders, bills and inbox ───────────────────────────────────────────────────
def test_shopper_orders_page_newest_first_and_only_their_own(world):
    m = world.merchant()
    p = world.product(m, price_fen=1_000)
    uid, other = world.shopper(), world.shopper()
    mine = [world.buy(uid, p) for _ in range(7)]
    world.buy(other, p)

    def read(cursor):
        with reading(world.engine) as s:
            return orders.orders_page(session=s, uid=uid, cursor=cursor, size=3).map(lambda o: o.id)

    covers(read, 3, sorted(mine, reverse=True))


def test_bills_page_latest_due_first_with_statement_figures_of_the_whole_month(world):
    m = world.merchant()
    p = world.product(m, price_fen=12_000, plans="full,3,6,12")
    uid = world.shopper(wallet_fen=0)
    for plan in ("12", "6", "3", "full"):
        world.buy(uid, p, plan=plan)
    world.advance(days=POLICY.trial_days_default, hours=1)  # billed; no money, so the first ones go overdue

    with reading(world.engine) as s:
        name = s.get(Product, p).name
        every = [(i.id, i.due_at, i.status, i.paid_fen, payments.owed(i)) for i in bills.billed_installments(session=s, uid=uid)]
    expected = [(i, name) for i, due, *_ in sorted(every, key=lambda r: (r[1], r[0]), reverse=True)]

    def read(cursor):
        with reading(world.engine) as s:
            return bills.installments_page(session=s, uid=uid, cursor=cursor, size=5).map(lambda r: (r[0].id, r[1]))

    pages = covers(read, 5, expected)
    assert pages[0].total == len(every) > 20
    # A month's figures cover all its installments, also those on another page.
    months = sorted({bills.statement_month(due) for _i, due, *_ in every})
    with reading(world.engine) as s:
        sums = bills.statement_sums(session=s, uid=uid, months=months)
        open_total, overdue_total = bills.open_totals(session=s, uid=uid)
    for month in months:
        rows = [r for r in every if bills.statement_month(r[1]) == month]
        paid = sum(r[3] for r in rows if r[2] == "PAID")
        owed = sum(r[4] for r in rows if r[2] != "PAID")
        assert sums[month] == bills.MonthSums(paid + owed, paid, owed, len(rows))
    assert open_total == sum(r[4] for r in every if r[2] in ("SCHEDULED", "OVERDUE"))
    assert overdue_total == sum(r[4] for r in every if r[2] == "OVERDUE") > 0


def test_statement_months_are_china_months():
    start, after = bills.month_bounds("2026-12")
    assert start == datetime(2026, 12, 1, tzinfo=CST) and after == datetime(2027, 1, 1, tzinfo=CST)
    assert bills.statement_month(start - timedelta(microseconds=1)) == "2026-11"


def test_inbox_pages_newest_first_with_ties_on_the_time(world):
    uid, other = world.shopper(), world.shopper()
    at = world.clock.now()
    with world.tx() as s:
        for k in range(9):  # three at each instant
            notify(session=s, user_id=uid, kind="reminder", at=at + timedelta(hours=k // 3), sms=False,
                   product="x", amount="¥1.00", time="", days=1)
        notify(session=s, user_id=other, kind="reminder", at=at, sms=False, product="x", amount="¥1.00", time="", days=1)
    with reading(world.engine) as s:
        mine = list(s.execute(sa.select(Notification.id, Notification.created_at).where(Notification.user_id == uid)))
    expected = [i for i, _at in sorted(mine, key=lambda r: (r[1], r[0]), reverse=True)]

    def read(cursor):
        with reading(world.engine) as s:
            return inbox.page_for(session=s, uid=uid, cursor=cursor, size=4).map(lambda n: n.id)

    covers(read, 4, expected)


# ── the merchant console ─────────────────────────────────────────────────────────────────────
def _shop_with_orders(world, n: int, *, shoppers: int = 2):
    m, other = world.merchant(), world.merchant()
    p, q = world.product(m, price_fen=1_000), world.product(other, price_fen=1_000)
    uids = [world.shopper(name=f"buyer{k}", wallet_fen=100_000) for k in range(shoppers)]
    oids = [world.buy(uids[k % shoppers], p) for k in range(n)]
    world.buy(uids[0], q)  # another shop's order never shows
    return m, p, uids, oids


def test_merchant_orders_page_newest_first_filter_and_search_by_number_or_shopper(world):
    m, _p, uids, oids = _shop_with_orders(world, 9)

    def read(cursor, **kw):
        with reading(world.engine) as s:
            return console.orders_page(session=s, merchant_id=m, cursor=cursor, size=4, **kw)

    covers(lambda c: read(c).map(lambda o: o.id), 4, sorted(oids, reverse=True))
    assert [o.id for o in read("", query=f"#{oids[3]}").items] == [oids[3]]
    assert [o.id for o in read("", query=str(oids[5])).items] == [oids[5]]
    buyer1 = [o for k, o in enumerate(oids) if k % 2 == 1]
    covers(lambda c: read(c, query="BUYER1").map(lambda o: o.id), 4, sorted(buyer1, reverse=True))
    with world.tx() as s:
        orders.pay_now(session=s, uid=uids[0], order_id=oids[0], clock=world.clock)
    assert [o.id for o in read("", status="PAID").items] == [oids[0]]
    assert read("", query="nobody").items == [] and read("", query="nobody").total == 0


def test_returns_desk_pages_keep_the_work_first_order_and_search_by_order_or_tracking(world):
    m, _p, uids, oids = _shop_with_orders(world, 8)
    rids = []
    for k, oid in enumerate(oids):
        with world.tx() as s:
            rids.append(orders.request_return(session=s, uid=uids[k % 2], order_id=oid, tracking_no=f"SF{1000 + k}XYZ",
                                              clock=world.clock).id)
        world.clock.advance(timedelta(minutes=5))
    for k in (1, 2, 5, 6):  # received at different times: different inspection deadlines
        with world.tx() as s:
            orders.mark_received(session=s, merchant_id=m, return_id=rids[k], clock=world.clock)
        world.clock.advance(timedelta(hours=3 - k % 3))
    for k in (5, 6):
        with world.tx() as s:
            orders.accept_return(session=s, merchant_id=m, return_id=rids[k], clock=world.clock)
    with reading(world.engine) as s:
        desk_order = [r.id for r in console.returns_desk(session=s, merchant_id=m)]
        waiting = console.returns_waiting(session=s, merchant_id=m)

    def read(cursor, **kw):
        with reading(world.engine) as s:
            return console.returns_page(session=s, merchant_id=m, cursor=cursor, size=3, **kw)

    pages = covers(lambda c: read(c).map(lambda r: r.id), 3, desk_order)
    rows = [r for p in pages for r in read(p.cursor).items]
    assert [r.status for r in rows][:2] == ["RECEIVED", "RECEIVED"] and waiting == 2
    assert rows[0].inspect_deadline_at <= rows[1].inspect_deadline_at  # nearest deadline first
    assert [r.status for r in rows][-2:] == ["ACCEPTED", "ACCEPTED"]
    assert [r.id for r in read("", query="sf1003xyz").items] == [rids[3]]
    assert [r.id for r in read("", query=f"#{oids[4]}").items] == [rids[4]]


def test_settlement_days_page_newest_first_and_totals_cover_every_day(world):
    m = world.merchant()
    p = world.product(m, price_fen=10_000, trial_days=1)
    uid = world.shopper(wallet_fen=10_000_000)
    world.clock.advance(timedelta(hours=15))  # 17:00 UTC: already tomorrow in China
    for _ in range(7):
        world.buy(uid, p)
        world.advance(days=1, hours=1)  # yesterday's order is deducted today: one capture a day
    with reading(world.engine) as s:
        full = console.settlement(session=s, merchant_id=m)
        totals = console.settlement_totals(session=s, merchant_id=m)

    def read(cursor):
        with reading(world.engine) as s:
            return console.settlement_days_page(session=s, merchant_id=m, cursor=cursor, size=3)

    covers(lambda c: read(c).map(lambda d: d.day), 3, [d.day for d in full.days])
    days = [d for pg in walk(read, 3) for d in pg.items]
    assert days == sorted(days, key=lambda d: d.day, reverse=True) and len(days) >= 7
    assert sum(d.captured_fen for d in days) == totals.captured_fen == full.captured_fen == 70_000
    assert sum(d.net_fen for d in days) == totals.net_fen == totals.ledger_balance_fen
    assert sum(d.captures for d in days) == 7
    # Each capture sits on its China day (the sweep time + 8 hours), whatever UTC says.
    with reading(world.engine) as s:
        at = [r for (r,) in s.execute(sa.select(Posting.created_at).where(Posting.kind == "capture",
                                                                          Posting.credit_account == f"mer:{m}"))]
    assert {d.day for d in days} == {console.day_of(t) for t in at}
    assert all(console.day_of(t) != t.date() for t in at)  # the China day, not the UTC one


# ── the operator desk ────────────────────────────────────────────────────────────────────────
def test_review_queue_pages_oldest_pending_first_and_searches_by_username(world):
    m = world.merchant()
    p = world.product(m, price_fen=10_000)
    uids = [world.shopper(wallet_fen=0, name=f"late{k}") for k in range(7)]
    for uid in uids:
        world.buy(uid, p)
    world.advance(days=POLICY.trial_days_default)
    world.advance(days=POLICY.hardship_min_overdue_days, minutes=1)
    aids = []
    for k, uid in enumerate(uids):
        with world.tx() as s:
            aids.append(apps.apply_hardship(session=s, uid=uid, reason_category="other", statement="", proposed_installments=3,
                                            request_fee_waiver=False, proofs=[PROOF], clock=world.clock).id)
        if k % 3 == 2:
            world.clock.advance(timedelta(minutes=1))  # ties on the time within each group of three
    ops = world.operator()

    def read(cursor, **kw):
        with reading(world.engine) as s:
            return desk.review_page(session=s, clock=world.clock, cursor=cursor, size=kw.pop("size", 3), **kw).map(
                lambda i: i.application.id)

    covers(read, 3, aids)
    assert read("", query="LATE4").items == [aids[4]]
    for aid in (aids[2], aids[0], aids[5]):
        with world.tx() as s:
            apps.reject(session=s, operator_id=ops, application_id=aid, reason="no", clock=world.clock)
        world.clock.advance(timedelta(minutes=1))
    covers(lambda c: read(c, status="REJECTED", size=2), 2, [aids[5], aids[0], aids[2]])
    with reading(world.engine) as s:
        assert [i.application.id for i in desk.review_queue(session=s, clock=world.clock, status="REJECTED")] == [aids[5], aids[0], aids[2]]


def test_shopper_look_up_pages_the_matches_by_id(world):
    uids = [world.shopper(name=f"zz{k}") for k in range(5)] + [world.shopper(name="other")]
    world.merchant()

    def read(cursor, query=""):
        with reading(world.engine) as s:
            return desk.shoppers_page(session=s, query=query, cursor=cursor, size=2).map(lambda u: u.id)

    covers(read, 2, uids)
    covers(lambda c: read(c, "ZZ"), 2, uids[:5])
    assert read("", str(uids[5])).items == [uids[5]]


def test_every_paged_list_uses_its_own_cursor_tag():
    tags = [k.tag for k in (catalog.KEYSET, orders.MY_ORDERS, bills.BILLS, inbox.INBOX, console.SHOP_ORDERS,
                            console.RETURNS_DESK, console.SETTLEMENT_DAYS, desk.PENDING_QUEUE, desk.DECIDED_QUEUE,
                            desk.SHOPPERS)]
    assert len(set(tags)) == len(tags)
