"""The shopper's way to an order, driven as a tab drives it: the catalog, the product page (its
eligibility and plans), the cart and the confirm step. ¥0 now, one order per confirm screen
however often it is clicked; a visitor who is not logged in, a merchant, or a product the
shopper may not buy with 先用后付 is refused with a message and nothing is ordered."""

from __future__ import annotations

from helpers import TwoShops, run, sent, snapshot
from sqlmodel import select

from bnpl_app import routes
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Order, OrderStatus as OS, Product
from bnpl_app.services import credit

PRICE = 29_900


def _orders_of(world, uid: int) -> list[Order]:
    with world.tx() as s:
        return list(s.exec(select(Order).where(Order.shopper_id == uid).order_by(Order.id)))


# ── catalog and product page ─────────────────────────────────────────────────────────────────
def test_the_catalog_shows_every_shop_to_a_visitor_and_the_filter_keeps_bnpl_products(world, tab):
    from bnpl_app.state.shop import CatalogState

    m = world.merchant()
    on, off = world.product(m, price_fen=PRICE), world.product(m, bnpl=False)
    st = tab().state(CatalogState)
    run(st.load())
    assert {(c.id, c.bnpl, c.url) for c in st.products} == {(on, True, routes.product(on)),
                                                            (off, False, routes.product(off))}
    assert next(c for c in st.products if c.id == on).price == yuan(PRICE)
    run(st.set_bnpl_only(True))
    assert [c.id for c in st.products] == [on]
    run(st.set_bnpl_only("yes"))  # only a real true turns the filter on
    assert st.bnpl_only is False and len(st.products) == 2


def test_the_product_page_checks_the_shopper_and_lists_the_merchants_plans(world, tab):
    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    t, st = tab.open(world.shopper(), ProductState, path=routes.product(p))
    assert (st.missing, st.detail.id, st.detail.checked, st.detail.eligible) == (False, p, True, True)
    assert [v.plan for v in st.detail.plans] == ["full", "3"] and st.plan == "full"
    st.choose_plan("3")
    assert st.plan == "3" and st.selected.plan == "3" and len(st.selected.periods) == 3
    for forged in ("24", 3, None, ["3"]):  # not a plan: the choice stays
        st.choose_plan(forged)
        assert st.plan == "3"


def test_the_product_page_names_each_rule_a_shopper_fails(world, tab):
    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m, min_score=650)
    t, st = tab.open(world.shopper(score=600, verified=False), ProductState, path=routes.product(p))
    assert st.detail.checked and not st.detail.eligible
    assert {r.rule for r in st.detail.reasons} >= {"real_name", "product_score"}


def test_a_visitor_sees_the_product_unchecked_and_a_missing_product_says_so(world, tab):
    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m)
    t, st = tab.open(None, ProductState, path=routes.product(p))
    assert st.detail.id == p and not st.detail.checked and st.detail.plans
    t.at(routes.product(10**6))
    run(st.load())
    assert st.missing and st.detail.id == 0


# ── cart and confirm ─────────────────────────────────────────────────────────────────────────
def test_buying_places_one_order_for_nothing_now_however_often_confirm_is_clicked(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, stock=5)
    uid = world.shopper()
    t, st = tab.open(uid, ProductState, path=routes.product(p))
    assert sent(run(st.buy_bnpl())) == {"path": routes.CHECKOUT, "external": False, "popup": False,
                                        "replace": False}
    cart = t.state(CartState)
    run(cart.load())  # the confirm screen opens: its idempotency key is made now
    [line] = cart.lines
    assert (line.product_id, line.plan, line.due_now, line.problem) == (p, "full", yuan(0), "")
    out = sent(run(cart.confirm()))
    [order] = _orders_of(world, uid)
    assert out["path"] == routes.order(order.id) and t.said()[0] == "success"
    assert (order.status, order.price_fen, order.product_id) == (OS.TRIAL, PRICE, p)
    cart.lines = [line]  # a second click of the same screen, before the page changed
    run(cart.confirm())
    assert [o.id for o in _orders_of(world, uid)] == [order.id]  # the same key: the same order
    with world.tx() as s:
        assert credit.account(session=s, uid=uid).frozen_fen == PRICE and s.get(Product, p).stock == 4
    world.audit_ok()


def test_putting_a_product_in_the_cart_only_reads_so_it_never_queues_for_the_write_lock(world, tab):
    """The cart lives in the tab's state: its check (sold on that plan, eligible to buy at once)
    runs in a read-only transaction, not behind every checkout waiting for SQLite's write lock."""
    import sqlalchemy as sa

    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, stock=5)
    t, st = tab.open(world.shopper(), ProductState, path=routes.product(p))
    began: list[str] = []

    def seen(conn, cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            began.append(statement)

    sa.event.listen(world.engine, "before_cursor_execute", seen)
    try:
        run(st.add_to_cart())
        assert t.said()[0] == "success"
        assert sent(run(st.buy_bnpl()))["path"] == routes.CHECKOUT
    finally:
        sa.event.remove(world.engine, "before_cursor_execute", seen)
    assert began and "BEGIN IMMEDIATE" not in began


def test_the_cart_collects_lines_and_remove_takes_only_a_real_index(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    shops = TwoShops(world)
    t = tab(world.shopper())
    product, cart = t.state(ProductState), t.state(CartState)
    for pid in (shops.pa, shops.pb):
        t.at(routes.product(pid))
        run(product.load())
        run(product.add_to_cart())
        assert t.said()[0] == "success"
    run(product.add_to_cart())  # the same line again: once in the cart
    run(cart.load())
    assert [ln.product_id for ln in cart.lines] == [shops.pa, shops.pb]
    for junk in ("0", True, -1, 2, 1.0):
        run(cart.remove(junk))
        assert len(cart.lines) == 2
    run(cart.remove(0))
    assert [ln.product_id for ln in cart.lines] == [shops.pb]


def test_putting_a_line_in_the_cart_is_one_read_transaction_and_no_write(world, tab, monkeypatch):
    """A check (``attempt(writes=False)``) reads who is there and checks the line in one read
    transaction: it never takes SQLite's write lock, nor opens a second transaction to learn who."""
    from bnpl_app.state import session as session_module
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, stock=5)
    uid = world.shopper()
    t, st = tab.open(uid, ProductState, path=routes.product(p))
    opened = []
    for name in ("reading", "transaction"):
        real = getattr(session_module, name)
        monkeypatch.setattr(session_module, name, lambda engine, _real=real, _name=name: (opened.append(_name), _real(engine))[1])
    assert sent(run(st.buy_bnpl()))["path"] == routes.CHECKOUT
    assert opened == ["reading"]
    assert [ln["pid"] for ln in t.state(CartState)._lines] == [p]
    # a session last used longer ago than ``session_touch_every``: the check starts its idle timeout
    # over, in a write of its own after the read (the session's own clock is the wall clock)
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from bnpl_app.models import AuthSession

    long_ago = datetime.now(timezone.utc) - POLICY.session_touch_every * 2
    with world.tx() as s:
        s.execute(sa.update(AuthSession).where(AuthSession.user_id == uid).values(last_seen_at=long_ago))
    opened.clear()
    run(st.buy_bnpl())
    assert opened == ["reading", "transaction"]
    with world.tx() as s:
        [seen] = s.exec(select(AuthSession.last_seen_at).where(AuthSession.user_id == uid)).all()
    assert seen.replace(tzinfo=timezone.utc) > long_ago + POLICY.session_touch_every


def test_a_visitor_or_a_merchant_cannot_buy_and_nothing_is_ordered(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    p = world.product(m)
    for who, key in ((None, "auth.session_expired"), (world.merchant_user(m), "auth.role_required")):
        t = tab(who, path=routes.product(p))
        st = t.state(ProductState)
        run(st.load())
        before = snapshot(world.engine)
        assert run(st.buy_bnpl()) is None
        assert t.refused_with(key)
        cart = t.state(CartState)
        run(cart.load())
        assert cart.lines == [] and run(cart.confirm()) is None
        assert snapshot(world.engine) == before


def test_a_product_without_bnpl_or_beyond_the_limit_is_refused_at_the_product_page(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    off = world.product(m, bnpl=False)
    dear = world.product(m, price_fen=POLICY.bands[-1].ceiling_fen + 1)
    t = tab(world.shopper())
    st, cart = t.state(ProductState), t.state(CartState)
    before = snapshot(world.engine)
    t.at(routes.product(off))
    run(st.load())
    assert run(st.buy_bnpl()) is None and t.refused_with("elig.plan", plan="full")
    t.at(routes.product(dear))
    run(st.load())
    assert not st.detail.eligible
    assert run(st.buy_bnpl()) is None and t.refused_with("not_eligible")
    run(cart.load())
    assert cart.lines == [] and snapshot(world.engine) == before


def test_a_line_that_became_unbuyable_in_the_cart_is_refused_at_confirm_with_its_reason(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper()
    t = tab(uid, path=routes.product(p))
    st, cart = t.state(ProductState), t.state(CartState)
    run(st.load())
    run(st.add_to_cart())
    run(cart.load())
    with world.tx() as s:  # the merchant turns 先用后付 off meanwhile
        s.get(Product, p).bnpl_enabled = False
    before = snapshot(world.engine)
    assert run(cart.confirm()) is None
    assert t.said()[0] == "error" and snapshot(world.engine) == before and _orders_of(world, uid) == []
