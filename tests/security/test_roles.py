"""(c) The wrong role, over the socket: every handler the table (``bnpl_app/state/handlers.py``)
gives to some roles only, called by a logged-in user of each role it does not allow (a shopper
calling the shop's and the operator's handlers, a shop calling the operator's, and the operator
or a shop calling a shopper's) with the arguments a real caller sends: refused with a message,
no database row changed."""

from __future__ import annotations

import pytest
from attack import STATES, USER_OF, answer, params, said, settled

from bench.reflex_client import EventError, event_name
from bnpl_app.models import MERCHANT, OPERATOR, SHOPPER
from bnpl_app.state import session
from bnpl_app.state.handlers import HANDLERS, Roles


def plausible(name: str, param: str):
    """What a real caller sends: an upload's files as none, ids of real demo records, a step of 1."""
    if param == "files":
        return []
    if param in ("on",):
        return False
    if param in ("form",):
        return {"product_id": 1, "trial_days": "7", "min_score": "600", "plans": "full", "cap": "100"}
    return 1


# What the attacker fills in first, through the public form handlers any tab may call, so the
# action has something to act on.
PREPARE = {
    "CreditState.submit_application": [("start_application", {"kind": "restoration"}, "applying"),
                                       ("set_statement", {"value": "please restore my credit"}, "statement")],
}
# A role that cannot fill the form at all: a shop's or the operator's cart is always empty (adding
# to a cart is the shopper's; refused), so confirming it does nothing and says nothing.
SILENT = {"CartState.confirm"}

CASES = [(key, role) for key, entry in sorted(HANDLERS.items())
         if isinstance(entry, Roles) and entry.says and key.split(".")[0] in STATES
         for role in (SHOPPER, MERCHANT, OPERATOR) if role not in entry.roles]


def test_the_wrong_role_cases_cover_every_role_pair():
    pairs = {(HANDLERS[k].roles, r) for k, r in CASES}
    assert ((SHOPPER,), MERCHANT) in pairs and ((MERCHANT,), SHOPPER) in pairs and ((OPERATOR,), SHOPPER) in pairs
    assert ((OPERATOR,), MERCHANT) in pairs
    assert len(CASES) > 40


@pytest.mark.parametrize("key, role", CASES, ids=[f"{k}-as-{r}" for k, r in CASES])
def test_a_role_not_allowed_is_refused(key, role, attacker, unchanged):
    state_name, handler = key.split(".")
    cls = STATES[state_name]
    payload = {p: plausible(handler, p) for p in params(cls, handler)}

    async def attack():
        tab = await attacker.user(USER_OF[role])
        for setter, args, var in PREPARE.get(key, ()):
            await tab.call(event_name(cls, setter), args, until=tab.changed(cls, var))
        with unchanged(f"{key} as {role}"):
            if key in SILENT:
                with pytest.raises(EventError, match="timeout"):  # no message within 3 s
                    await tab.call(event_name(cls, handler), payload, until=said, timeout=3)
                await settled(tab)  # and the socket still answers
            else:
                kind, text = await answer(tab, event_name(cls, handler), payload)
                await settled(tab)
                assert kind == "error" and text, f"{key} as {role}: {kind} {text!r}"
        assert tab.get(session.SessionState, "role") == role

    attacker.run(attack())
