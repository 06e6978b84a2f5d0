"""A page's on_load is one event, ``SessionState.enter(route)`` (``pages/registry.py``): the page's
guard, then — only if the guard let the visitor in — the page's own loader, within the same event.
A visitor or the wrong role is turned away with the guard's message and nothing of the page is
loaded; a public page identifies whoever is there and loads; an unknown page does nothing."""

from __future__ import annotations

from helpers import run, sent

from bnpl_app import routes
from bnpl_app.domain.errors import AuthError
from bnpl_app.pages import registry  # noqa: F401  (fills the page table ``enter`` reads)


def _order_of(world, uid: int, m: int) -> int:
    return world.buy(uid, world.product(m, price_fen=19_900))


def test_every_page_of_the_table_enters_through_its_guard_and_its_own_loader():
    from bnpl_app.state.session import ENTRIES, SessionState

    assert {p.route for p in registry.PAGES} == set(ENTRIES)
    for page in registry.PAGES:
        [spec] = [page.on_load]
        assert spec.handler.fn is SessionState.enter.fn
        assert ENTRIES[page.route] == (page.role, page.state)


def test_a_shopper_page_loads_for_its_shopper_in_the_same_event(world, tab):
    from bnpl_app.state.orders import OrderState

    m, uid = world.merchant(), world.shopper()
    oid = _order_of(world, uid, m)
    t = tab(uid, path=routes.order(oid))
    assert run(t.sess.enter(routes.ORDER)) is None
    order = t.state(OrderState)
    assert (order.order.id, order.missing) == (oid, False)
    assert t.sess.role == "shopper" and t.sess._loader == OrderState.get_full_name()


def test_a_visitor_or_another_role_is_turned_away_and_the_page_loads_nothing(world, tab):
    from bnpl_app.state.orders import OrderState

    m, uid = world.merchant(), world.shopper()
    oid = _order_of(world, uid, m)
    for who, to, says in ((None, routes.LOGIN, AuthError("auth.login_required")),
                          (world.merchant_user(m), routes.MERCHANT, AuthError("auth.role_required"))):
        t = tab(who, path=routes.order(oid))
        assert sent(run(t.sess.enter(routes.ORDER)))["path"] == to
        assert t.said() == ("error", says.text(t.sess.lang))
        order = t.state(OrderState)
        assert order.order.id != oid and t.sess._loader == ""  # the loader never ran


def test_a_public_page_identifies_whoever_is_there_and_loads(world, tab):
    from bnpl_app.state.shop import CatalogState

    m = world.merchant()
    p = world.product(m, price_fen=19_900)
    uid = world.shopper()
    for who in (None, uid):
        t = tab(who, path=routes.INDEX)
        assert run(t.sess.enter(routes.INDEX)) is None
        assert p in [c.id for c in t.state(CatalogState).products]
        assert t.sess.logged_in is (who is not None)


def test_an_unknown_page_or_a_hostile_argument_does_nothing(world, tab):
    t = tab(world.shopper(), path=routes.INDEX)
    for page in ("/nowhere", "", None, 7, ["/"], {"page": "/"}):
        assert run(t.sess.enter(page)) is None
        assert t.sess._loader == "" and t.said() == ("info", "")
