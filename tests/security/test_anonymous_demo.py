"""(e) Anonymous demo handlers: a socket that never logged in can neither log in as the operator
nor move the demo clock (which would run everybody's deductions)."""

from __future__ import annotations

from attack import answer, scalar, settled

from bench.reflex_client import event_name
from bnpl_app import routes
from bnpl_app.state.session import SessionState


def test_anonymous_login_as_ops_is_refused(attacker, unchanged, engine):
    """The demo's "log in as" is the HTTP endpoint now (the only code that sets the cookie)."""
    async def attack():
        tab = await attacker.anonymous("/login")
        with unchanged("log in as 'ops' by a visitor"):
            status, where = await tab.post_form(routes.AUTH_DEMO, {"username": "ops"})
            await settled(tab)
        assert (status, where) == (303, routes.LOGIN + "?e=demo_ops"), (status, where)
        assert tab.cookie is None, "a session cookie was issued"
        await tab.reload(where)  # the page it was sent to says why, and nobody is logged in
        assert tab.get(SessionState, "toast_kind") == "error" and tab.get(SessionState, "toast_text")
        assert not tab.get(SessionState, "role") and not tab.get(SessionState, "username")
        assert "login_as" not in SessionState.event_handlers  # no socket event logs anybody in

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
