"""The end of the tier (this file runs last): after every attack, the ledger audit of the app's
own database is clean, and the app still serves a logged-in user."""

from __future__ import annotations

from attack import SERVER_LOG, settled
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


def test_hostile_arguments_are_not_copied_into_the_server_log():
    """~1 MB strings went to every handler argument: none of them may land in the log (a handler
    whose argument Reflex itself converts logs the whole value it could not convert)."""
    assert SERVER_LOG.stat().st_size < 512 * 1024, f"{SERVER_LOG} grew to {SERVER_LOG.stat().st_size} bytes"
