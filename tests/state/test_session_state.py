"""The session state as a tab drives it: log-in through the form's HTTP endpoint (and a wrong
password refused like an unknown user), log-out ending the server-side session, the demo clock's
steps; database work of a handler runs in a worker thread, never on the event loop's thread;
log-in checks the password off the loop with no transaction open."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from helpers import TwoShops, background, order, run, sent

from bnpl_app.models import OrderStatus as OS
from bnpl_app.services import auth


def test_act_and_look_run_their_database_work_off_the_event_loop(world, tab):
    from bnpl_app.state.session import act, look
    from bnpl_app.state.shop import CatalogState

    uid = world.shopper()
    root, sess = tab(uid)
    seen = {}

    async def drive():
        st = await root.get_state(CatalogState)
        loop_thread = threading.current_thread()
        await act(st, ("shopper",), lambda s, who: seen.setdefault("act", threading.current_thread()))
        await look(st, ("shopper",), lambda s, who, lang: seen.setdefault("look", threading.current_thread()))
        return loop_thread

    loop_thread = run(drive())
    assert seen["act"] is not loop_thread and seen["look"] is not loop_thread


def test_a_password_check_holds_no_transaction_and_runs_in_its_own_thread(world, tab, monkeypatch):
    from bnpl_app import signin

    world.shopper(name="zoe")
    threads = []
    real = auth.check_password

    def spy(creds, password):
        threads.append(threading.current_thread().name)
        return real(creds, password)

    monkeypatch.setattr(auth, "check_password", spy)
    token, who = run(signin.log_in("zoe", "password123"))
    assert who.username == "zoe" and token
    assert threads and threads[0].startswith("argon2")


def test_log_in_is_not_an_event_of_the_tab():
    """Only the HTTP endpoints can set the HttpOnly cookie: no handler logs in or out."""
    from bnpl_app.state.session import SessionState

    for name in ("login", "login_as", "register", "logout"):
        assert name not in SessionState.event_handlers, name
    assert "token" not in SessionState.get_fields(), "the session token is a var of the tab"


def test_a_wrong_password_is_refused_with_the_same_message_as_an_unknown_user(world, tab):
    from bnpl_app import signin
    from bnpl_app.domain.errors import AuthError

    world.shopper(name="yan")
    for user, password in (("yan", "wrong-password"), ("nobody", "password123")):
        with pytest.raises(AuthError) as err:
            run(signin.log_in(user, password))
        assert err.value.key == "auth.bad_credentials"


def test_logging_in_through_the_form_starts_a_session_and_goes_home(world, tab):
    from bnpl_app import routes
    from bnpl_app.models import AuthSession
    from sqlmodel import select

    uid = world.shopper(name="amy")
    t = tab(None)
    response = t.submit(routes.AUTH_LOGIN, {"username": "amy", "password": "password123"})
    assert (response.status_code, response.headers["location"]) == (303, routes.INDEX)
    assert (t.sess.username, t.sess.role) == ("amy", "shopper")
    with world.tx() as s:
        assert [a.user_id for a in s.exec(select(AuthSession))] == [uid]


def test_a_wrong_password_in_the_form_is_refused_and_nobody_is_logged_in(world, tab):
    from bnpl_app import routes

    world.shopper(name="ben")
    t = tab(None)
    for form in ({"username": "ben", "password": "wrong-password"}, {"username": "nobody", "password": "x" * 12}):
        response = t.submit(routes.AUTH_LOGIN, form)
        assert "set-cookie" not in response.headers and t.sess.role == ""
        assert t.refused_with("auth.bad_credentials")


def test_logging_out_ends_the_server_side_session(world, tab):
    from helpers import cookie_set

    from bnpl_app import routes
    from bnpl_app.state.account import WalletState

    t = tab(None)
    token = tab.login(t, world.shopper())
    response = t.submit(routes.AUTH_LOGOUT, {})
    assert (response.status_code, response.headers["location"]) == (303, routes.LOGIN)
    assert cookie_set(response)[0] == "" and t.sess.role == ""
    t.cookie(token)  # the old cookie, replayed
    wallet = t.state(WalletState)
    wallet.set_topup_text("10")
    run(wallet.topup())
    assert t.refused_with("auth.session_expired")


# ── the demo clock ───────────────────────────────────────────────────────────────────────────
def test_the_demo_clock_moves_by_a_step_and_runs_what_fell_due(world, tab):
    shops = TwoShops(world)
    t = tab(shops.uid)
    start = world.clock.now()
    run(background(t.sess, "advance", "7d"))
    assert world.clock.now() == start + timedelta(days=7) and t.sess.clock_busy is False
    assert t.sess.toast_kind == "success" and t.sess.now_ts == int(world.clock.now().timestamp())
    assert order(world, shops.oa).status == OS.PAID  # the trial ended on the way: deducted


def test_an_unknown_clock_step_is_refused_and_the_clock_stays(world, tab, monkeypatch):
    from bnpl_app import runtime

    t = tab(world.shopper())
    start = world.clock.now()
    run(background(t.sess, "advance", "1y"))
    assert t.refused_with("demo_only")
    monkeypatch.setattr(runtime, "demo_mode", lambda: False)  # a real deployment: no step moves it
    run(background(t.sess, "advance", "1d"))
    assert t.refused_with("demo_only") and world.clock.now() == start


def test_a_crafted_clock_step_that_is_not_a_string_is_refused_like_any_unknown_step(world, tab):
    t = tab(world.shopper())
    start = world.clock.now()
    run(background(t.sess, "advance", ["1d"]))
    assert t.refused_with("demo_only") and world.clock.now() == start


def test_every_mutable_default_is_built_by_a_factory_never_deep_copied():
    """A new tab's hydration reads every var of every state, and the tab wipe resets them all: a
    list, dict or view declared as a plain default is deep-copied on each of those reads (Reflex
    wraps it in ``copy.deepcopy``), which cost more than half of a hydration. Declared with
    ``rx.field(default_factory=...)`` it is built fresh instead — and still equals the old default."""
    import copy
    import functools

    from reflex.state import State

    from bnpl_app.state.session import app_states

    copied, checked = [], 0
    for cls in app_states(State):
        for name, f in cls.__fields__.items():
            if getattr(f, "_owner", cls) is not cls:
                continue
            checked += 1
            factory = f.default_factory
            if isinstance(factory, functools.partial) and factory.func is copy.deepcopy:
                copied.append(f"{cls.__name__}.{name}")
            elif factory is not None:
                assert f.default_value() is not f.default_value(), f"{cls.__name__}.{name} shares one default"
    assert checked > 200
    assert copied == []


def test_every_page_loads_in_one_event_that_is_its_guard_too():
    """Reflex runs each ``on_load`` handler as an event of its own: a page's is its state's
    ``load`` alone, which turns away who the page's role excludes (``page_load``)."""
    from bnpl_app.pages.registry import PAGES
    from bnpl_app.state.session import PAGE_ROLES, is_page_load

    for page in PAGES:
        assert page.on_load == [page.state.load], page.route
        assert is_page_load(page.state.load), page.route
        assert PAGE_ROLES[page.state.get_full_name()] == page.role, page.route


def test_opening_a_page_takes_one_trip_that_also_brings_who_is_here_their_unread_count_and_the_clock(
        world, tab, monkeypatch):
    import asyncio

    from helpers import session_token

    from bnpl_app.models import Notification
    from bnpl_app.state.account import WalletState

    uid = world.shopper(name="una", wallet_fen=500)
    with world.tx() as s:
        s.add(Notification(user_id=uid, kind="info", title="t", body="b", created_at=world.clock.now()))
    t = tab()  # a new tab: nothing known yet
    t.cookie(session_token(world, uid))
    trips = []
    real = asyncio.to_thread

    def counting(fn, *args, **kw):
        trips.append(getattr(fn, "__name__", fn))
        return real(fn, *args, **kw)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    wallet = t.state(WalletState)
    assert run(wallet.load()) is None  # she stays
    assert len(trips) == 1, trips
    assert (t.sess.username, t.sess.role, t.sess.unread) == ("una", "shopper", 1)
    assert t.sess.now_ts == int(world.clock.now().timestamp())
    assert wallet.view.balance == "¥5.00" and wallet.view.methods


@pytest.mark.parametrize("who", ["visitor", "merchant"])
@pytest.mark.parametrize("table", ["filled", "not imported yet"])
def test_a_page_turns_away_whoever_its_role_excludes_and_shows_them_nothing(world, tab, who, table, monkeypatch):
    from bnpl_app import routes
    from bnpl_app.state import session
    from bnpl_app.state.account import WalletState

    if table == "not imported yet":  # a process that imported the states, not the table of pages
        monkeypatch.setattr(session, "PAGE_ROLES", {})

    world.shopper(name="wen", wallet_fen=700)
    t = tab(world.merchant_user(world.merchant()) if who == "merchant" else None)
    wallet = t.state(WalletState)
    went = sent(run(wallet.load()))
    if who == "visitor":
        assert went["path"] == routes.LOGIN and t.refused_with("auth.login_required")
    else:
        assert went["path"] == routes.HOME_OF_ROLE["merchant"] and t.said()[0] == "error"
    assert wallet.view.balance == "" and not wallet.view.methods
