"""The account's security page as a tab drives it, and the tab bound to its cookie: the handlers act
for the cookie of the event's own connection (a tab token without it acts as nobody, another
user's cookie acts as that user only), a tab whose events come with another cookie is wiped
first, the devices listed (this one marked), "end all" ends the others at their next event, the
password change (throttled like a log-in) ends them too."""

from __future__ import annotations

from datetime import timedelta

from helpers import background, run, snapshot

from bnpl_app.domain.policy import POLICY
from bnpl_app.state.account import WalletState
from bnpl_app.state.security import SecurityState
from bnpl_app.state.session import TabBinding, app_states

SKIP = frozenset({"auth_sessions", "login_throttles"})


def _topup(t, amount="10"):
    wallet = t.state(WalletState)
    wallet.set_topup_text(amount)
    run(wallet.topup())
    return t.said()


def _balance(world, uid) -> int:
    from bnpl_app.models import MethodKind, PaymentMethod
    from sqlmodel import select

    with world.tx() as s:
        return s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid,
                                                  PaymentMethod.kind == MethodKind.WALLET)).one().balance_fen


def test_a_tab_token_without_the_cookie_acts_as_nobody(world, tab):
    bob = world.shopper(name="bob_x", wallet_fen=0)
    t = tab(bob)
    assert _topup(t)[0] == "success" and _balance(world, bob) == 1000
    t.cookie(None)  # the same tab state, an event on a connection that presents no cookie
    before = snapshot(world.engine, skip=SKIP)
    kind, _ = _topup(t)
    assert kind == "error" and snapshot(world.engine, skip=SKIP) == before and t.sess.role == ""


def test_a_stolen_tab_with_another_users_cookie_acts_as_that_user_only(world, tab):
    bob, eve = world.shopper(name="bob_y"), world.shopper(name="eve_y")
    t = tab(bob)
    tab.login(t, eve)  # eve's cookie on a connection that presents bob's tab token
    assert _topup(t)[0] == "success"
    assert (_balance(world, bob), _balance(world, eve)) == (0, 1000)


def test_a_tab_whose_events_come_with_another_cookie_is_wiped_first(world, tab):
    import reflex as rx

    bob = world.shopper(name="bob_z", wallet_fen=12_345)
    t = tab(bob)
    binding = TabBinding(app_states(rx.State))
    run(binding.preprocess(None, t.root, None))  # the first event of bob's connection (its hydration)
    run(t.sess.identify())  # then the page's loader, which learns who is there first
    t.sess.lang = "en"
    wallet = t.state(WalletState)
    run(wallet.load())
    run(binding.preprocess(None, t.root, None))  # bob's next event: nothing changes
    assert wallet.view.methods and t.sess.username == "bob_z"
    t.cookie(None)  # an event on a connection with bob's tab token and no cookie
    run(binding.preprocess(None, t.root, None))
    assert not wallet.view.methods and t.sess.username == "" and t.sess.lang == "en"


def test_the_wipe_marks_changed_only_the_vars_that_held_something(world, tab):
    """Every var it sets is recomputed and resent: a var already at its default is left alone."""
    import reflex as rx

    from bnpl_app.state.shop import CartState

    bob = world.shopper(name="bob_w", wallet_fen=12_345)
    t = tab(bob)
    states = app_states(rx.State)
    binding = TabBinding(states)
    run(binding.preprocess(None, t.root, None))
    run(t.sess.identify())
    wallet = t.state(WalletState)
    run(wallet.load())
    cart = t.state(CartState)
    t.root._clean()
    t.cookie(None)
    run(binding.preprocess(None, t.root, None))
    dirty = {cls.__name__: t.state(cls).dirty_vars for cls in states}
    assert "view" in dirty["WalletState"] and "username" in dirty["SessionState"]
    assert not dirty["CartState"] and not cart.lines  # it held nothing: not marked
    assert {name for name, held in dirty.items() if held} <= {"WalletState", "SessionState", "State"}


def test_the_page_lists_this_device_first_and_end_all_ends_the_others_at_their_next_event(world, tab):
    uid = world.shopper(name="amy_s")
    other = tab(uid)  # another device of amy's
    here = tab(uid)
    page = here.state(SecurityState)
    run(page.load())
    assert [r.current for r in page.rows] == [True, False] and page.others == 1
    run(page.end_others())
    assert here.said()[0] == "success" and [r.current for r in page.rows] == [True]
    assert _topup(other)[0] == "error" and other.sess.role == ""  # its next event: nobody
    assert _topup(here)[0] == "success"


def test_the_page_sends_a_visitor_to_log_in(world, tab):
    t = tab(None)
    page = t.state(SecurityState)
    run(page.load())
    assert t.refused_with("auth.login_required") and page.rows == []


def test_a_password_change_ends_the_other_sessions_and_a_wrong_current_password_changes_nothing(world, tab):
    uid = world.shopper(name="cat_s")
    other, here = tab(uid), tab(uid)
    page = here.state(SecurityState)
    before = snapshot(world.engine, skip=SKIP)
    run(background(page, "change_password", {"current": "wrong-password", "new": "brand-new-pass"}))
    assert here.refused_with("sessions.current_password_wrong")
    run(background(page, "change_password", {"current": "password123", "new": "short"}))
    assert here.refused_with("auth.weak_password", min=POLICY.password_min_len)
    assert snapshot(world.engine, skip=SKIP) == before
    run(background(page, "change_password", {"current": "password123", "new": "brand-new-pass"}))
    assert here.said()[0] == "success"
    assert _topup(other)[0] == "error" and _topup(here)[0] == "success"


def test_guessing_the_current_password_is_throttled_like_a_log_in(world, tab):
    uid = world.shopper(name="dan_s")
    here = tab(uid)
    page = here.state(SecurityState)
    for _ in range(POLICY.login_attempts_per_account):
        run(background(page, "change_password", {"current": "guess-guess", "new": "brand-new-pass"}))
    here.said()
    run(background(page, "change_password", {"current": "password123", "new": "brand-new-pass"}))
    kind, text = here.said()
    assert kind == "error" and str(int(POLICY.login_lock_first / timedelta(minutes=1))) in text
