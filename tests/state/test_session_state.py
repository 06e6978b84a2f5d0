"""The session state as a tab drives it: database work of a handler runs in a worker thread, never
on the event loop's thread; log-in checks the password off the loop with no transaction open."""

from __future__ import annotations

import threading

from helpers import run

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
    from bnpl_app.state import session as session_mod

    world.shopper(name="zoe")
    threads = []
    real = auth.check_password

    def spy(creds, password):
        threads.append(threading.current_thread().name)
        return real(creds, password)

    monkeypatch.setattr(auth, "check_password", spy)
    token, who, _unread = run(session_mod._check_login("zoe", "password123"))
    assert who.username == "zoe" and token
    assert threads and threads[0].startswith("argon2")


def test_log_in_is_a_background_event():
    from bnpl_app.state.session import SessionState

    for name in ("login", "login_as", "register"):
        assert SessionState.event_handlers[name].is_background, name


def test_a_wrong_password_is_refused_with_the_same_message_as_an_unknown_user(world, tab):
    from bnpl_app.domain.errors import AuthError
    from bnpl_app.state import session as session_mod
    import pytest

    world.shopper(name="yan")
    for user, password in (("yan", "wrong-password"), ("nobody", "password123")):
        with pytest.raises(AuthError) as err:
            run(session_mod._check_login(user, password))
        assert err.value.key == "auth.bad_credentials"
