"""The quote on screen, driven as a tab drives it: the product page and the confirm step show the
whole quote, a merchant's edit reaches them (their reload says what changed and shows the new
terms), confirming orders on exactly the terms on screen or is refused and shows the new ones —
and a cart never orders a line twice, whichever of its lines fail."""

from __future__ import annotations

from datetime import timedelta

from helpers import run, sent
from sqlmodel import select

from bnpl_app import routes
from bnpl_app.domain.money import percent, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Order, Product
from bnpl_app.services import checkout, merchant

PRICE = 9_900
NEW_PRICE = 19_900


def _orders(world, uid: int) -> list[Order]:
    with world.tx() as s:
        return list(s.exec(select(Order).where(Order.shopper_id == uid).order_by(Order.id)))


def _reprice(world, pid: int, price: int) -> None:
    with world.tx() as s:
        merchant.edit_product(session=s, merchant_id=s.get(Product, pid).merchant_id, product_id=pid, price_fen=price,
                              clock=world.clock)


def _update(world, pid: int, **changes) -> None:
    with world.tx() as s:
        merchant.update_product(session=s, merchant_id=s.get(Product, pid).merchant_id, product_id=pid,
                                clock=world.clock, **changes)


def _confirm_screen(world, tab, uid, pid, plan="full"):
    """A shopper who pressed "buy" on the product page: the confirm screen is open."""
    from bnpl_app.state.shop import CartState, ProductState

    t, product = tab.open(uid, ProductState, path=routes.product(pid))
    product.choose_plan(plan)
    assert sent(run(product.buy_bnpl()))["path"] == routes.CHECKOUT
    cart = t.state(CartState)
    t.at(routes.CHECKOUT)
    run(cart.load())
    return t, product, cart


# ── the quote on screen ──────────────────────────────────────────────────────────────────────
def test_the_product_page_shows_the_whole_quote_of_the_chosen_plan(world, tab):
    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, trial_days=7, plans="full,3")
    uid = world.shopper(wallet_fen=50_000)
    t, st = tab.open(uid, ProductState, path=routes.product(p))
    t.sess.lang = "en"
    run(st.load())
    st.choose_plan("3")
    q = st.selected
    terms = world.terms(p, "3")
    assert [(x.seq, x.principal, x.fee, x.months) for x in q.periods] == [
        (x.seq, yuan(x.principal_fen), yuan(x.fee_fen), x.seq - 1) for x in terms.periods]
    assert q.deduct_after == "7 days after you confirm" and q.offset_s == 7 * 86_400
    assert f"Grace period {POLICY.grace_days} days" in q.late_rule
    assert percent(POLICY.late_fee_bps_per_day) in q.late_rule and percent(POLICY.late_fee_cap_bps) in q.late_rule
    assert q.method == "Wallet"  # the wallet covers the first period
    assert st.detail.changed == []


def test_the_confirm_screen_shows_the_quote_and_keeps_its_key_while_the_terms_stay(world, tab):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, trial_days=7, plans="full,6")
    uid = world.shopper()
    t, _product, cart = _confirm_screen(world, tab, uid, p, "6")
    [line] = cart.lines
    terms = world.terms(p, "6")
    assert (line.price, line.plan, line.offset_s, line.changed, line.error) == (yuan(PRICE), "6", 7 * 86_400, [], "")
    assert [x.total for x in line.periods] == [yuan(x.principal_fen + x.fee_fen) for x in terms.periods]
    assert line.total_fee == yuan(terms.total_fee_fen) and "7" in line.deduct_after and line.late_rule
    key, shown = cart._lines[0]["key"], cart._lines[0]["terms"]
    assert shown == terms.to_json()  # what the product page showed is what the line holds
    world.clock.advance(timedelta(minutes=5))
    run(cart.load())  # a reload (the clock moved, an unrelated change): the same terms, the same key
    assert cart._lines[0]["key"] == key and cart.lines[0].changed == []


# ── a merchant's edit reaches an open screen ────────────────────────────────────────────────
def test_a_price_edit_reaches_the_open_product_page_which_says_so_and_buys_on_the_new_terms(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper()
    t, st = tab.open(uid, ProductState, path=routes.product(p))
    _reprice(world, p, NEW_PRICE)
    run(st.load())  # what the change feed's refresh runs
    assert st.detail.price == yuan(NEW_PRICE)
    assert st.detail.changed == ["价格由 ¥99.00 变为 ¥199.00"]
    t.sess.lang = "en"
    run(st.load())  # the language switch reloads the page: the notice stays, in English
    assert st.detail.changed == ["the price changed from ¥99.00 to ¥199.00"]
    run(st.buy_bnpl())
    assert st.detail.changed == []  # the shopper acted on what the page shows now
    cart = t.state(CartState)
    assert checkout.Terms.from_json(cart._lines[0]["terms"]).price_fen == NEW_PRICE


def test_switching_bnpl_off_and_dropping_a_plan_are_told_on_the_product_page(world, tab):
    from bnpl_app.state.shop import ProductState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    t, st = tab.open(world.shopper(), ProductState, path=routes.product(p))
    t.sess.lang = "en"
    st.choose_plan("3")
    _update(world, p, allowed_plans="full")
    run(st.load())
    assert st.detail.changed == ["the merchant no longer offers the payment plan you chose"] and st.plan == "full"
    _update(world, p, bnpl_enabled=False)
    run(st.load())
    assert st.detail.changed == ["the merchant turned 先用后付 off for this product"] and not st.detail.bnpl


def test_a_price_edit_reaches_the_open_confirm_screen_which_then_orders_at_the_shown_price(world, tab):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper()
    t, _product, cart = _confirm_screen(world, tab, uid, p)
    old_key = cart._lines[0]["key"]
    _reprice(world, p, NEW_PRICE)
    run(cart.load())  # the refresh the change feed sends
    [line] = cart.lines
    assert line.price == yuan(NEW_PRICE) and line.deduction_amount == yuan(NEW_PRICE)
    assert line.changed == ["价格由 ¥99.00 变为 ¥199.00"]
    assert cart._lines[0]["key"] != old_key  # other terms, another request
    out = sent(run(cart.confirm()))
    [order] = _orders(world, uid)
    assert out["path"] == routes.order(order.id) and order.price_fen == NEW_PRICE
    assert order.quote_json == world.terms(p, "full").to_json() and cart._lines == []


def test_a_price_edit_just_before_confirm_is_refused_shown_and_the_second_confirm_orders_it(world, tab):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    uid = world.shopper()
    t, _product, cart = _confirm_screen(world, tab, uid, p, "3")
    t.sess.lang = "en"
    _reprice(world, p, NEW_PRICE)  # no refresh reached the tab before the click
    assert run(cart.confirm()) is None
    kind, said = t.said()
    assert kind == "error" and "the price changed from ¥99.00 to ¥199.00" in said and "nothing was ordered" in said
    assert _orders(world, uid) == []
    [line] = cart.lines
    assert line.price == yuan(NEW_PRICE) and line.changed == ["the price changed from ¥99.00 to ¥199.00"]
    assert sent(run(cart.confirm()))["path"].startswith("/orders/")
    [order] = _orders(world, uid)
    assert (order.price_fen, order.plan) == (NEW_PRICE, "3")
    run(cart.confirm())  # a stale second click: nothing left to order
    assert len(_orders(world, uid)) == 1
    world.audit_ok()


def test_a_plan_withdrawn_under_the_confirm_screen_is_told_and_never_ordered(world, tab):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    uid = world.shopper()
    t, _product, cart = _confirm_screen(world, tab, uid, p, "3")
    t.sess.lang = "en"
    _update(world, p, allowed_plans="full")
    run(cart.load())
    [line] = cart.lines
    assert not line.quoted and line.changed == ["the merchant no longer offers the payment plan you chose"]
    assert run(cart.confirm()) is None and t.said()[0] == "error" and _orders(world, uid) == []


# ── the cart never re-orders ────────────────────────────────────────────────────────────────
def test_a_cart_with_a_failing_line_then_a_good_line_confirmed_twice_orders_each_line_once(world, tab):
    from bnpl_app.state.shop import CartState, ProductState

    m = world.merchant()
    scarce = world.product(m, price_fen=PRICE, stock=1)
    plenty = world.product(m, price_fen=5_000)
    uid = world.shopper()
    t = tab(uid)
    product, cart = t.state(ProductState), t.state(CartState)
    for pid in (scarce, plenty):
        t.at(routes.product(pid))
        run(product.load())
        run(product.add_to_cart())
    t.at(routes.CHECKOUT)
    run(cart.load())
    world.buy(world.shopper(), scarce)  # someone else takes the last one
    keys = [ln["key"] for ln in cart._lines]

    assert run(cart.confirm()) is None  # one ordered, one not: the shopper stays to see which
    assert t.said() == ("info", "已下单 1 件；未能下单的商品仍在购物车中，原因见下方")
    [placed] = _orders(world, uid)
    assert placed.product_id == plenty
    [left] = cart.lines
    assert left.product_id == scarce and "库存不足" in left.error
    assert [ln["key"] for ln in cart._lines] == keys[:1]  # the refused line keeps its key

    assert run(cart.confirm()) is None  # again: the failing line fails again, the good one is not re-ordered
    assert [o.product_id for o in _orders(world, uid)] == [plenty]
    assert t.said()[0] == "error"

    _update(world, scarce, stock=3)  # back in stock: the line is ordered, once
    assert sent(run(cart.confirm()))["path"].startswith("/orders/")
    assert sorted(o.product_id for o in _orders(world, uid)) == sorted([plenty, scarce]) and cart._lines == []
    run(cart.confirm())
    assert len(_orders(world, uid)) == 2
    world.audit_ok()


def test_confirming_before_the_screen_showed_the_terms_shows_them_and_orders_nothing(world, tab):
    from bnpl_app.state.shop import CartState

    m = world.merchant()
    p = world.product(m, price_fen=PRICE)
    uid = world.shopper()
    t = tab(uid)
    cart = t.state(CartState)
    cart._lines = [{"pid": p, "plan": "full", "terms": "", "name": "", "key": "k" * 32, "changes": [], "error": None}]
    assert run(cart.confirm()) is None and _orders(world, uid) == []
    assert cart.lines[0].price == yuan(PRICE) and cart._lines[0]["terms"] == world.terms(p).to_json()
