"""The shopper's orders and the trial cockpit of one order, driven as a tab drives them: the list,
sending the order back with a tracking number (deduction paused), paying early during the trial.
Somebody else's order is "not found" to a shopper, and a visitor who is not logged in or a
merchant reaches nothing — refused with a message, nothing changed."""

from __future__ import annotations

import pytest
from helpers import TRACKING, TwoShops, order, run, snapshot

from bnpl_app import routes
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import OrderStatus as OS, ReturnRequest
from bnpl_app.services import credit
from sqlmodel import select

PRICE = 10_000  # TwoShops: shop A's product


def test_the_orders_list_shows_the_shoppers_own_orders_newest_first(world, tab):
    from bnpl_app.state.orders import OrdersState

    shops = TwoShops(world)
    someone = world.shopper()
    world.buy(someone, shops.pa)
    st = tab(shops.uid).state(OrdersState)
    run(st.load())
    assert [o.id for o in st.orders] == [shops.ob, shops.oa]
    assert st.orders[1].url == routes.order(shops.oa) and st.orders[1].in_trial and st.orders[1].price == yuan(PRICE)


def test_the_order_page_shows_the_trial_and_what_the_shopper_can_do(world, tab):
    from bnpl_app.state.orders import OrderState

    shops = TwoShops(world)
    st = tab(shops.uid, path=routes.order(shops.oa)).state(OrderState)
    run(st.load())
    assert (st.missing, st.order.id, st.order.status) == (False, shops.oa, OS.TRIAL)
    assert st.order.in_trial and st.order.can_return and st.order.can_pay_now and st.order.frozen == yuan(PRICE)


def test_sending_the_order_back_pauses_the_deduction_and_shows_the_return(world, tab):
    from bnpl_app.state.orders import OrderState

    shops = TwoShops(world)
    t, st = tab.open(shops.uid, OrderState, path=routes.order(shops.oa))
    st.set_tracking(TRACKING)
    run(st.request_return())
    assert t.said()[0] == "success" and st.tracking == ""
    assert (st.order.status, st.order.tracking_no, st.order.can_return) == (OS.RETURN_IN_TRANSIT, TRACKING, False)
    with world.tx() as s:
        [ret] = s.exec(select(ReturnRequest).where(ReturnRequest.order_id == shops.oa)).all()
    assert (ret.status, ret.tracking_no) == ("IN_TRANSIT", TRACKING)
    world.advance(days=POLICY.trial_days_default, hours=1)
    assert order(world, shops.oa).status == OS.RETURN_IN_TRANSIT  # not deducted while on its way back


@pytest.mark.parametrize("tracking", ["", "abc", "SF12 34567890", "x" * 31])
def test_a_return_with_a_bad_tracking_number_is_refused_with_its_rule(world, tab, tracking):
    from bnpl_app.state.orders import OrderState

    shops = TwoShops(world)
    t, st = tab.open(shops.uid, OrderState, path=routes.order(shops.oa))
    before = snapshot(world.engine)
    st.set_tracking(tracking)
    run(st.request_return())
    assert t.refused_with("order.bad_tracking", field="tracking_no")
    assert snapshot(world.engine) == before and st.order.status == OS.TRIAL


def test_paying_early_during_the_trial_takes_the_price_and_frees_the_limit(world, tab):
    from bnpl_app.state.orders import OrderState

    shops = TwoShops(world)
    t, st = tab.open(shops.uid, OrderState, path=routes.order(shops.oa))
    run(st.pay_now())
    assert t.said()[0] == "success"
    # paid early, the order may still be returned while its trial runs (and would be refunded)
    assert (st.order.status, st.order.can_pay_now, st.order.can_return) == (OS.PAID, False, True)
    with world.tx() as s:
        assert credit.account(session=s, uid=shops.uid).frozen_fen == 20_000  # only B's order still holds the limit
    run(st.pay_now())  # twice: nothing more is taken
    assert t.said()[0] == "error"
    world.audit_ok()


def test_paying_early_without_the_money_is_refused_and_changes_nothing(world, tab):
    from bnpl_app.state.orders import OrderState

    m = world.merchant()
    uid = world.shopper(wallet_fen=PRICE - 1)
    oid = world.buy(uid, world.product(m, price_fen=PRICE))
    t, st = tab.open(uid, OrderState, path=routes.order(oid))
    before = snapshot(world.engine)
    run(st.pay_now())
    assert t.said()[0] == "error" and st.order.status == OS.TRIAL
    assert snapshot(world.engine) == before


def test_another_shoppers_order_is_not_found_and_nothing_can_be_done_to_it(world, tab):
    from bnpl_app.state.orders import OrderState

    shops = TwoShops(world)
    t, st = tab.open(world.shopper(wallet_fen=1_000_000), OrderState, path=routes.order(shops.oa))
    assert st.missing and st.order.id == 0
    before = snapshot(world.engine)
    st.order.id = shops.oa  # a forged screen
    st.set_tracking(TRACKING)
    run(st.request_return())
    assert t.not_found("order")
    st.order.id = shops.oa
    run(st.pay_now())
    assert t.not_found("order")
    assert snapshot(world.engine) == before


@pytest.mark.parametrize("role", ["visitor", "merchant"])
def test_a_visitor_or_a_merchant_on_an_order_page_sees_nothing_and_can_do_nothing(world, tab, role):
    from bnpl_app.state.orders import OrderState, OrdersState

    shops = TwoShops(world)
    who, key = (None, "auth.session_expired") if role == "visitor" else \
        (world.merchant_user(shops.a), "auth.role_required")
    t = tab(who, path=routes.order(shops.oa))
    listing = t.state(OrdersState)
    run(listing.load())
    assert listing.orders == []
    st = t.state(OrderState)
    run(st.load())
    assert st.missing
    before = snapshot(world.engine)
    st.order.id = shops.oa
    run(st.pay_now())
    assert t.refused_with(key)
    assert snapshot(world.engine) == before
