"""(e) Anonymous demo handlers: a socket that never logged in can neither log in as the operator
nor move the demo clock (which would run everybody's deductions)."""

from __future__ import annotations

from attack import answer, scalar, settled

from bench.reflex_client import event_name
from bnpl_app.state.session import SessionState


def test_anonymous_login_as_ops_is_refused(attacker, unchanged, engine):
    async def attack():
        tab = await attacker.anonymous("/login")
        with unchanged("login_as('ops') by a visitor"):
            kind, text = await answer(tab, event_name(SessionState, "login_as"), {"username": "ops"})
            await settled(tab)
        assert kind == "error" and text
        assert not tab.get(SessionState, "role") and not tab.get(SessionState, "username")
        assert not tab.storage.get(SessionState.get_full_name() + ".token_rx_state_"), "a session cookie was issued"
        assert tab.path == "/login", f"sent on to {tab.path}"

    attacker.run(attack())


def test_anonymous_advance_is_refused_and_the_clock_stands(attacker, unchanged, engine):
    async def attack():
        tab = await attacker.anonymous("/")
        clock = scalar(engine, "SELECT now FROM sim_clock")
        with unchanged("advance('7d') by a visitor"):
            kind, text = await answer(tab, event_name(SessionState, "advance"), {"step": "7d"})
            await settled(tab)
        assert kind == "error" and text
        assert scalar(engine, "SELECT now FROM sim_clock") == clock

    attacker.run(attack())


def test_the_control_a_logged_in_user_does_log_in(attacker):
    """The control for the refusals above: the same socket protocol logs a demo shopper in."""
    async def attack():
        tab = await attacker.user("carol")
        assert tab.get(SessionState, "role") == "shopper"

    attacker.run(attack())
