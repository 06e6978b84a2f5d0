"""(d) Adversarial JSON in every argument of every handler the app defines, over the socket, driven
by the table of every handler (``bnpl_app/state/handlers.py``): negative and huge numbers,
floats, NaN and ±Infinity (Python's JSON, which the server parses, allows them), null, lists,
dicts, superscript and full-width digits, and ~1 MB strings (as large as the socket's own frame
limit lets through to the app). Each handler is called by a user its class allows (so the
arguments, not the role, are what is refused): no traceback in the server log, the socket still
answers, nothing said is a success, the database unchanged. A frame over the socket's limit is
dropped by the transport before any handler: that socket is closed, the app serves on.
"""

from __future__ import annotations

import pytest
from attack import SERVER_LOG, STATES, USER_OF, answer, params, settled
from deploy import log_failures

from bench.reflex_client import EventError, event_name
from bnpl_app.models import SHOPPER
from bnpl_app.state.account import BillsState, WalletState
from bnpl_app.state.handlers import HANDLERS, Roles
from bnpl_app.state.session import SessionState

BIG = 990_000  # the socket's frame limit is 1,000,000 bytes (REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE)
HOSTILE = [-1, -10**12, 2**63, 10**400, 1.5, -0.5, float("nan"), float("inf"), float("-inf"), None, True,
           [], [1, 2], {}, {"id": 1}, "²", "３", "٣", "1e3", "-1", "", "x" * BIG, "1" * BIG]
# A password change counts a well-formed attempt against the account like a log-in (5 before a
# lock): it goes last, so no lock can stop a later test's log-in. (Log-in and sign-up are HTTP
# endpoints now, not handlers: tests/unit/test_sessions.py sends them what a hostile form may.)
LAST = ("SecurityState.change_password",)
# Actions whose fields, not arguments, decide (a hostile value in a form dict is ordinary text
# to them): what they may do with a hostile argument is refuse or ignore it.
WITH_ARGS = sorted((k for k in HANDLERS if k.split(".")[0] in STATES and not k.endswith(".setvar")
                    and params(STATES[k.split(".")[0]], k.split(".")[1])),
                   key=lambda k: (k in LAST, k))


def test_every_app_handler_with_arguments_is_covered():
    assert len(WITH_ARGS) > 30 and "BillsState.repay" in WITH_ARGS and WITH_ARGS[-1:] == list(LAST)


def caller(key: str) -> str:
    entry = HANDLERS[key]
    return USER_OF[entry.roles[0]] if isinstance(entry, Roles) else USER_OF[SHOPPER]


@pytest.mark.parametrize("key", WITH_ARGS)
def test_hostile_arguments_over_the_socket(key, attacker, unchanged):
    state_name, handler = key.split(".")
    cls = STATES[state_name]
    names = params(cls, handler)
    failures_before = len(log_failures(SERVER_LOG))

    async def attack():
        tab = await attacker.user(caller(key))
        seen: list[dict] = []
        stop = tab.listen(seen.append)
        try:
            with unchanged(f"{key} with hostile arguments"):
                for name in names:
                    for bad in HOSTILE:
                        await tab.send(event_name(cls, handler), {n: (bad if n == name else 0) for n in names})
                    await settled(tab)  # every frame processed, and the socket answers
        finally:
            stop()
        successes = [u for u in seen if (u.get("delta") or {}).get(SessionState.get_full_name(), {})
                     .get("toast_kind_rx_state_") == "success"]
        assert not successes, f"{key}: a hostile argument was answered with success"
        assert not tab.backend_errors, f"{key}: {tab.backend_errors[:2]}"
        assert tab.get(SessionState, "username") == caller(key), "the socket lost its user"

    attacker.run(attack())
    new = log_failures(SERVER_LOG)[failures_before:]
    assert not new, f"{key}: the server logged:\n" + "\n".join(new[:3])


def test_the_control_a_hostile_argument_reaches_the_handler_and_is_refused(attacker, unchanged):
    """The frames above do reach the app's handlers: a superscript id is refused in words."""
    async def attack():
        tab = await attacker.user(USER_OF[SHOPPER])
        with unchanged("repay('²')"):
            kind, text = await answer(tab, event_name(BillsState, "repay"), {"installment_id": "²", "expected_fen": 1})
        assert kind == "error" and text

    attacker.run(attack())


def test_a_frame_over_the_sockets_limit_is_dropped_before_any_handler(attacker, unchanged):
    failures_before = len(log_failures(SERVER_LOG))

    async def attack():
        tab = await attacker.anonymous("/")
        with unchanged("an oversize frame"):
            await tab.send(event_name(SessionState, "advance"), {"step": "x" * 1_100_000})
            with pytest.raises(EventError):
                await settled(tab)  # the server closed this socket
            again = await attacker.anonymous("/")  # and serves the next one
            await settled(again)

    attacker.run(attack())
    assert log_failures(SERVER_LOG)[failures_before:] == []


# Reflex's own ``setvar`` on every state calls ``set_<var_name>``: any name the browser sends.
BAD_VAR_NAMES = ["²", "", "no_such_var", "__class__", "topup_text; drop", 5, None, ["x"], {"a": 1}, "x" * 10_000]


def test_setvar_with_a_name_no_setter_has_is_refused_quietly(attacker, unchanged):
    """A hostile ``setvar`` (a name with no ``set_<name>`` handler, or not a name at all) changes
    nothing, costs the socket nothing and leaves no traceback in the server log; a good name still
    reaches its classified setter."""
    failures_before = len(log_failures(SERVER_LOG))

    async def attack():
        tab = await attacker.user(USER_OF[SHOPPER])
        with unchanged("setvar with hostile names"):
            for cls in (WalletState, SessionState):
                for bad in BAD_VAR_NAMES:
                    await tab.send(event_name(cls, "setvar"), {"var_name": bad, "value": "1"})
            await settled(tab)
        assert not tab.backend_errors, tab.backend_errors[:2]
        assert tab.get(SessionState, "username") == USER_OF[SHOPPER], "the socket lost its user"
        await tab.call(event_name(WalletState, "setvar"), {"var_name": "topup_text", "value": "12"},
                       until=tab.changed(WalletState, "topup_text"))
        assert tab.get(WalletState, "topup_text") == "12"

    attacker.run(attack())
    new = log_failures(SERVER_LOG)[failures_before:]
    assert not new, "the server logged:\n" + "\n".join(new[:3])
