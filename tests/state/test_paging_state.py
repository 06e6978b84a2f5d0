"""The paged states, driven the way a browser tab drives them: a catalog of 1,000 products sends
one page, next/previous walk it, a live reload keeps the page on screen, a search or filter goes
back to page 1, a forged or foreign position means page 1, and the merchant's order list pages
and searches only the acting merchant's orders."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import run as _run

from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Product
from bnpl_app.services.catalog import KEYSET as CATALOG

PROD = Product.__table__
N = 1000


def _catalog(world, n: int = N) -> int:
    m = world.merchant()
    with world.tx() as s:
        s.execute(sa.insert(PROD), [dict(merchant_id=m, name=f"商品 {i:04d} " + "很好的东西" * 4, category="杂货",
                                         description="x" * 200, image=f"/products/p{i}.svg", price_fen=100 + i,
                                         stock=5, bnpl_enabled=i % 2 == 0, trial_days=7, min_score=550,
                                         allowed_plans="full", interest_free=False, created_at=world.clock.now())
                                    for i in range(n)])
    return m


def _delta_bytes(root) -> int:
    from reflex.utils.format import json_dumps

    return len(json_dumps(_run(root._get_resolved_delta())).encode())


def test_a_catalog_of_1000_products_sends_one_page(world, tab):
    from bnpl_app.state.shop import CatalogState

    _catalog(world)
    root, _sess = tab()
    st = _run(root.get_state(CatalogState))
    root._clean()
    _run(st.load())
    assert len(st.products) == POLICY.page_size
    assert (st.total, st.page_no, st.page_count, st.has_next) == (N, 1, -(-N // POLICY.page_size), True)
    sent = _delta_bytes(root)
    # What the whole catalog as cards would have been: the size of every page's cards together.
    from reflex.utils.format import json_dumps

    from bnpl_app.views import shop as views
    from bnpl_app.db import reading

    whole, cursor = 0, ""
    with reading(world.engine) as s:
        while True:
            page = views.product_cards(s, cursor=cursor)
            whole += len(json_dumps(page.items).encode())
            if not (cursor := page.next_cursor):
                break
    assert whole > 150_000  # the 220 KB-class event this replaces
    assert sent < whole * 2 / (N // POLICY.page_size)  # one page's worth (and the pager's few numbers)
    # The backend keeps the page and its position, never the table.
    assert len(st._back) == 0 and len(st._cursor) == 0 and len(st._next_cursor) < 200


def test_next_and_previous_walk_the_catalog_and_a_reload_keeps_the_page(world, tab):
    from bnpl_app.state.shop import CatalogState

    _catalog(world, 45)
    _tab, st = tab.open(None, CatalogState)
    first = [p.id for p in st.products]
    _run(st.next_page())
    second = [p.id for p in st.products]
    _run(st.next_page())
    third = [p.id for p in st.products]
    assert (st.page_no, st.has_next, len(third)) == (3, False, 5)
    assert len(set(first + second + third)) == 45
    _run(st.next_page())  # nothing after the last page
    assert [p.id for p in st.products] == third and st.page_no == 3
    _run(st.load())  # the live reload: the same page, fresh
    assert [p.id for p in st.products] == third and st.page_no == 3
    with world.tx() as s:
        s.execute(sa.update(PROD).where(PROD.c.id == third[0]).values(name="renamed"))
    _run(st.load())
    assert st.products[0].name == "renamed" and st.page_no == 3
    _run(st.prev_page())
    assert [p.id for p in st.products] == second and st.page_no == 2
    _run(st.prev_page())
    _run(st.prev_page())  # nothing before the first page
    assert [p.id for p in st.products] == first and st.page_no == 1


def test_a_search_or_the_filter_starts_again_at_page_one(world, tab):
    from bnpl_app.state.shop import CatalogState

    _catalog(world, 45)
    _tab, st = tab.open(None, CatalogState)
    _run(st.next_page())
    _run(st.set_query("商品 003"))
    assert st.page_no == 1 and [p.name[:7] for p in st.products] == [f"商品 003{i}" for i in range(10)]
    assert st.total == 10 and not st.has_next and not st.paged
    _run(st.set_query(""))
    _run(st.next_page())
    _run(st.set_bnpl_only(True))
    assert st.page_no == 1 and st.total == 23 and all(p.bnpl for p in st.products)


def test_a_forged_position_or_another_login_in_the_tab_means_page_one(world, tab):
    from bnpl_app.state.shop import CatalogState

    _catalog(world, 45)
    t, st = tab.open(None, CatalogState)
    first = [p.id for p in st.products]
    for forged in ("garbage", CATALOG.encode((1, 10**12))[:-3] + "zzz", "e30"):
        _run(st.next_page())
        st._cursor = forged
        _run(st.load())
        assert ([p.id for p in st.products], st.page_no, st._back) == (first, 1, [])
    _run(st.next_page())
    assert st.page_no == 2
    tab.login(t, world.shopper())  # another login in the same tab: the positions are not theirs
    _run(st.load())
    assert st.page_no == 1 and [p.id for p in st.products] == first


def test_a_page_whose_rows_are_gone_falls_back_to_the_page_before(world, tab):
    from bnpl_app.state.shop import CatalogState

    _catalog(world, 45)
    _tab, st = tab.open(None, CatalogState)
    _run(st.next_page())
    second = [p.id for p in st.products]
    _run(st.next_page())
    with world.tx() as s:  # the last page's products go (another shop's products after them stay out)
        s.execute(sa.update(PROD).where(PROD.c.id > second[-1]).values(bnpl_enabled=False))
    st.bnpl_only = True
    _run(st.load())
    assert st.page_no == 2 and st.products and not st.has_next


def test_the_merchant_orders_state_pages_and_searches_only_this_shops_orders(world, tab):
    from bnpl_app.state.merchant import MerchantOrdersState

    m, other = world.merchant(), world.merchant()
    p, q = world.product(m, price_fen=1_000), world.product(other, price_fen=1_000)
    buyer = world.shopper(name="buyer_x")
    mine = [world.buy(buyer, p) for _ in range(POLICY.page_size + 3)]
    theirs = world.buy(buyer, q)
    root, sess = tab(world.merchant_user(m))
    st = _run(root.get_state(MerchantOrdersState))
    _run(st.load())
    assert [o.id for o in st.orders] == sorted(mine, reverse=True)[:POLICY.page_size] and st.has_next
    _run(st.next_page())
    assert [o.id for o in st.orders] == sorted(mine, reverse=True)[POLICY.page_size:] and st.page_no == 2
    _run(st.set_query(f"#{theirs}"))
    assert st.orders == [] and st.total == 0 and st.page_no == 1  # another shop's order is not found
    _run(st.set_query(str(mine[4])))
    assert [o.id for o in st.orders] == [mine[4]]
    _run(st.set_query("BUYER_X"))
    assert st.total == len(mine)


# ── every paged screen's state, with a small page so a few rows make several pages ───────────
SMALL = 3


@pytest.fixture
def small_pages(monkeypatch):
    from dataclasses import replace

    from bnpl_app.services import paging

    monkeypatch.setattr(paging, "POLICY", replace(POLICY, page_size=SMALL))


def _walk_state(st, rows) -> list:
    """load, next to the end, then previous to the start: every row once, in pages of SMALL.
    ``rows(st)`` is the ids the screen shows."""
    _run(st.load())
    pages = [rows(st)]
    assert len(pages[0]) == SMALL and st.has_next and st.paged
    while st.has_next:
        _run(st.next_page())
        pages.append(rows(st))
        assert 0 < len(pages[-1]) <= SMALL and st.page_no == len(pages)
    flat = [x for p in pages for x in p]
    assert len(flat) == len(set(flat)) == st.total and st.page_count == len(pages)
    for expected in reversed(pages[:-1]):
        _run(st.prev_page())
        assert rows(st) == expected
    assert st.page_no == 1
    return flat


def test_the_shoppers_orders_bills_and_inbox_states_page(world, tab, small_pages):
    from bnpl_app.state.account import BillsState, InboxState
    from bnpl_app.state.orders import OrdersState

    m = world.merchant()
    p = world.product(m, price_fen=12_000, plans="full,3,6,12")
    uid = world.shopper(wallet_fen=10_000_000)
    placed = [world.buy(uid, p, plan=plan) for plan in ("3", "6", "full", "full", "full")]
    world.advance(days=POLICY.trial_days_default, hours=1)  # billed and partly deducted: notices, statements
    root, _sess = tab(uid)

    orders = _walk_state(_run(root.get_state(OrdersState)), lambda st: [o.id for o in st.orders])
    assert orders == sorted(placed, reverse=True)

    bills = _run(root.get_state(BillsState))
    rows = _walk_state(bills, lambda st: [r.id for sv in st.view.statements for r in sv.rows])
    assert len(rows) == 3 + 6 + 3
    _run(bills.load())
    assert bills.view.open_total not in ("", "¥0.00") and bills.view.methods and bills.first_method
    # A statement split across pages shows the whole month's figures on each, and says so.
    seen: dict[str, list] = {}
    while True:
        for sv in bills.view.statements:
            seen.setdefault(sv.month, []).append(((sv.total, sv.paid, sv.owed, sv.count), len(sv.rows)))
        if not bills.has_next:
            break
        _run(bills.next_page())
    split = {m: parts for m, parts in seen.items() if len(parts) > 1}
    assert split
    for parts in seen.values():
        assert len({figures for figures, _n in parts}) == 1  # the same figures wherever the month shows
        assert sum(n for _f, n in parts) == parts[0][0][3]  # its rows, over the pages, are all of it

    inbox = _run(root.get_state(InboxState))
    notices = _walk_state(inbox, lambda st: [n.id for n in st.notices])
    assert len(notices) > SMALL and inbox.unread_here == len(notices)  # none read yet, counted on every page


def test_the_merchant_and_operator_states_page(world, tab, small_pages):
    from bnpl_app.services import applications as apps, orders
    from bnpl_app.services.uploads import StoredFile
    from bnpl_app.state.merchant import MerchantReturnsState, SettlementState
    from bnpl_app.state.ops import OpsQueueState, OpsShoppersState

    m = world.merchant()
    p = world.product(m, price_fen=1_000, trial_days=1)
    payer = world.shopper(wallet_fen=10_000_000, name="payer")
    for _ in range(4):  # a capture on each of four days
        world.buy(payer, p)
        world.advance(days=1, hours=1)
    late = [world.shopper(wallet_fen=0, name=f"late{k}") for k in range(4)]
    held = [world.buy(u, p) for u in late]
    for u, oid in zip(late[:2], held[:2], strict=True):  # two of them send it back
        with world.tx() as s:
            orders.request_return(session=s, uid=u, order_id=oid, tracking_no="SF0001112223", clock=world.clock)
    returned = [world.buy(payer, p) for _ in range(3)]
    for oid in returned:
        with world.tx() as s:
            rid = orders.request_return(session=s, uid=payer, order_id=oid, tracking_no="SF0001112224", clock=world.clock).id
            orders.mark_received(session=s, merchant_id=m, return_id=rid, clock=world.clock)
    world.advance(days=1, hours=1)  # the others' trials end unpaid …
    world.advance(days=POLICY.hardship_min_overdue_days, minutes=1)  # … and are long overdue
    for u in late[2:]:
        with world.tx() as s:
            apps.apply_hardship(session=s, uid=u, reason_category="other", statement="", proposed_installments=3,
                                request_fee_waiver=False, clock=world.clock,
                                proofs=[StoredFile("c" * 32 + ".pdf", "application/pdf", 9, "p.pdf")])
    world.shopper(name="late9")  # a sixth shopper for the look-up

    root, _sess = tab(world.merchant_user(m))
    desk = _run(root.get_state(MerchantReturnsState))
    _walk_state(desk, lambda st: [r.id for r in st.returns])
    assert desk.total == 5 and desk.waiting == 0  # received ones were decided by the deadline by now
    settlement = _run(root.get_state(SettlementState))
    days = _walk_state(settlement, lambda st: [d.day for d in st.view.days])
    assert days == sorted(days, reverse=True) and settlement.view.captured not in ("", "¥0.00")

    root, _sess = tab(world.operator())
    queue = _run(root.get_state(OpsQueueState))
    _run(queue.load())
    assert queue.total == 2 and not queue.paged
    _run(queue.set_query("LATE3"))
    assert [r.shopper.username for r in queue.rows] == ["late3"]
    look_up = _run(root.get_state(OpsShoppersState))
    hits = _walk_state(look_up, lambda st: [h.id for h in st.hits])
    assert len(hits) == 6
    _run(look_up.search({"q": "payer"}))  # one match: its file opens
    assert look_up.total == 1 and look_up.file.found and look_up.file.summary.username == "payer"


def test_a_reload_that_reads_the_same_cards_sends_none_of_them(world, tab):
    """A live reload of an unchanged catalog page (a change elsewhere reached every open catalog)
    sends no cards: the browser would draw every card again for nothing."""
    from bnpl_app.state.shop import CatalogState

    _catalog(world, 45)
    t, st = tab.open(None, CatalogState)
    cards = "products_rx_state_"  # the var's name in a delta
    t.root._clean()
    _run(st.load())
    assert cards not in _run(t.root._get_resolved_delta()).get(CatalogState.get_full_name(), {})
    with world.tx() as s:
        s.execute(sa.update(PROD).where(PROD.c.id == st.products[0].id).values(name="renamed"))
    t.root._clean()
    _run(st.load())
    assert _run(t.root._get_resolved_delta())[CatalogState.get_full_name()][cards][0].name == "renamed"
