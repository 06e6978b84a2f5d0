"""(a) Sessions bound to the HttpOnly cookie, attacked over the socket: a real tab's token replayed
with no cookie (hydrating or not) acts as nobody and is shown nothing of the victim's; the same
token with another user's cookie acts as that cookie's user only; expired sessions (past their
ttl, or idle — rows put in the database as they would be after the time went by) act as nobody;
"end all sessions" and a password change end the other socket's session at its next event. Each
refusal changes no row."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta

from attack import answer, scalar, settled
from sqlmodel import Session

from bench.reflex_client import event_name
from bnpl_app import routes
from bnpl_app.domain.clock import UTC
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import AuthSession
from bnpl_app.services import auth
from bnpl_app.state.account import WalletState
from bnpl_app.state.security import SecurityState
from bnpl_app.state.session import SessionState

SET_TOPUP = event_name(WalletState, "set_topup_text")
TOPUP = event_name(WalletState, "topup")


def wallet_of(engine, username: str) -> int:
    return scalar(engine, "SELECT m.balance_fen FROM payment_methods m JOIN users u ON u.id = m.user_id "
                          "WHERE u.username = :name AND m.kind = 'wallet'", name=username)


async def top_up(tab, yuan: str = "10") -> tuple[str, str]:
    await tab.call(SET_TOPUP, {"value": yuan}, until=tab.changed(WalletState, "topup_text"))
    return await answer(tab, TOPUP)


async def closed_tab_of(attacker, username: str) -> str:
    """A real tab of ``username``: logged in, its wallet shown, then closed (its state lives on)."""
    victim = await attacker.log_in(username)
    await victim.navigate(routes.WALLET)
    assert victim.get(WalletState, "view", {}).get("methods"), "the victim's wallet did not load"
    token = victim.token
    await victim.close()
    return token


def test_a_tab_token_replayed_without_the_cookie_acts_as_nobody_and_sees_nothing(attacker, unchanged, engine):
    async def attack():
        token = await closed_tab_of(attacker, "bob")
        balance = wallet_of(engine, "bob")
        for hydrate in (False, True):
            seen: list[dict] = []
            thief = await attacker.anonymous(routes.WALLET, token=token, hydrate=hydrate)
            stop = thief.listen(seen.append)
            with unchanged(f"bob's tab token, no cookie, hydrate={hydrate}"):
                kind, text = await top_up(thief)
                await settled(thief)
            stop()
            assert kind == "error" and text, (hydrate, kind, text)
            assert not thief.get(SessionState, "username") and not thief.get(SessionState, "role")
            shown = json.dumps(seen, ensure_ascii=False)
            assert "Bob 李" not in shown and '"bob"' not in shown, "the thief was shown bob's tab"
            assert not thief.get(WalletState, "view", {}).get("methods"), "the thief was shown bob's wallet"
            await thief.close()
        assert wallet_of(engine, "bob") == balance

    attacker.run(attack())


def test_a_stolen_tab_token_with_another_users_cookie_acts_as_that_user_only(attacker, engine):
    async def attack():
        token = await closed_tab_of(attacker, "bob")
        fiona = await attacker.log_in("fiona")
        bob_before, fiona_before = wallet_of(engine, "bob"), wallet_of(engine, "fiona")
        thief = await attacker.anonymous(routes.WALLET, token=token, cookie=fiona.cookie)
        kind, _text = await top_up(thief)
        assert kind == "success"
        assert thief.get(SessionState, "username") == "fiona"
        assert wallet_of(engine, "bob") == bob_before and wallet_of(engine, "fiona") == fiona_before + 1000
        await thief.close()

    attacker.run(attack())


def _plant_session(engine, username: str, *, started: datetime, seen: datetime) -> str:
    """A session row of ``username`` as it stands once the time went by (the app's sessions run on
    the wall clock); returns its token."""
    token = secrets.token_urlsafe(32)
    uid = scalar(engine, "SELECT id FROM users WHERE username = :name", name=username)
    with Session(engine) as s:
        s.add(AuthSession(token_hash=auth._token_hash(token), user_id=uid, created_at=started, last_seen_at=seen,
                          expires_at=started + POLICY.session_ttl, address="203.0.113.9", user_agent="planted"))
        s.commit()
    return token


def test_expired_and_idle_sessions_act_as_nobody(attacker, unchanged, engine):
    now = datetime.now(UTC)
    past_ttl = _plant_session(engine, "bob", started=now - POLICY.session_ttl - timedelta(minutes=1),
                              seen=now - timedelta(minutes=2))
    idle = _plant_session(engine, "bob", started=now - timedelta(hours=1),
                          seen=now - POLICY.session_idle - timedelta(minutes=1))
    live = _plant_session(engine, "bob", started=now - timedelta(hours=1), seen=now - timedelta(minutes=2))

    async def attack():
        for name, token in (("past its ttl", past_ttl), ("idle", idle)):
            tab = await attacker.anonymous(routes.WALLET, cookie=token)
            assert tab.path == routes.LOGIN, f"{name}: the wallet page opened"
            with unchanged(f"a session {name}"):
                kind, _ = await top_up(tab)
            assert kind == "error" and not tab.get(SessionState, "role"), name
            await tab.close()
        control = await attacker.anonymous(routes.WALLET, cookie=live)  # the same row, still in time
        assert control.get(SessionState, "username") == "bob" and control.path == routes.WALLET
        seen = scalar(engine, "SELECT last_seen_at FROM auth_sessions WHERE token_hash = :h", h=auth._token_hash(live))
        assert str(seen) > str(now - timedelta(minutes=1))[:19], "using the session did not touch it"
        await control.close()

    attacker.run(attack())


async def _fresh_shopper(attacker, password: str):
    """A new shopper signed up over HTTP (the demo's passwords stay as they are): (name, its tab)."""
    name = f"sec_{uuid.uuid4().hex[:10]}"
    tab = await attacker.anonymous(routes.REGISTER)
    await tab.log_in(name, password, path=routes.AUTH_REGISTER,
                     form={"username": name, "password": password, "display_name": "Sec"})
    assert tab.get(SessionState, "username") == name
    return name, tab


def test_end_all_sessions_ends_the_other_socket_at_its_next_event(attacker, unchanged, engine):
    async def attack():
        name, here = await _fresh_shopper(attacker, "first-pass-1")
        other = await attacker.log_in(name, "first-pass-1")
        await other.navigate(routes.WALLET)
        await here.navigate(routes.SECURITY)
        rows = here.get(SecurityState, "rows", [])
        assert [r["current"] for r in rows] == [True, False], rows
        kind, _ = await answer(here, event_name(SecurityState, "end_others"))
        assert kind == "success" and len(here.get(SecurityState, "rows")) == 1
        with unchanged("the ended socket's top-up"):
            kind, _ = await top_up(other)
        assert kind == "error" and not other.get(SessionState, "role")
        await here.navigate(routes.WALLET)
        assert (await top_up(here))[0] == "success"

    attacker.run(attack())


def test_a_password_change_ends_the_other_sessions(attacker, unchanged, engine):
    async def attack():
        name, here = await _fresh_shopper(attacker, "first-pass-2")
        other = await attacker.log_in(name, "first-pass-2")
        await other.navigate(routes.WALLET)
        await here.navigate(routes.SECURITY)
        kind, text = await answer(here, event_name(SecurityState, "change_password"),
                                  {"form": {"current": "first-pass-2", "new": "second-pass-2"}})
        assert kind == "success", text
        with unchanged("the other socket after the password change"):
            kind, _ = await top_up(other)
        assert kind == "error"
        status, where = await other.post_form(routes.AUTH_LOGIN, {"username": name, "password": "first-pass-2"})
        assert (status, where) == (303, routes.LOGIN + "?e=bad")
        again = await attacker.log_in(name, "second-pass-2")
        assert again.get(SessionState, "username") == name

    attacker.run(attack())


def test_no_var_of_any_tab_holds_the_session_token(attacker):
    """What the server sends a logged-in tab never contains its cookie's token."""
    async def attack():
        seen: list[dict] = []
        tab = await attacker.anonymous("/login")
        tab.listen(seen.append)
        await tab.log_in("erin", "demo1234")
        await tab.navigate(routes.SECURITY)
        assert tab.cookie and tab.cookie not in json.dumps(seen) and tab.cookie not in json.dumps(tab.state)
        assert "token" not in json.dumps(tab.state.get(SessionState.get_full_name(), {}))

    attacker.run(attack())
