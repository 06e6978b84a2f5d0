"""The end of the tier (this file runs last): after every attack, the ledger audit of the app's
own database is clean, and the app still serves a logged-in user."""

from __future__ import annotations

from attack import settled
from sqlmodel import Session

from bnpl_app.services.audit import run_audit
from bnpl_app.state.session import SessionState


def test_the_ledger_audit_is_clean_after_the_attacks(engine):
    with Session(engine) as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())
    assert sum(c.checked for c in report.checks) > 0


def test_the_app_still_serves_its_users(attacker):
    async def visit():
        tab = await attacker.user("alice")
        await settled(tab)
        assert tab.get(SessionState, "role") == "shopper"

    attacker.run(visit())
