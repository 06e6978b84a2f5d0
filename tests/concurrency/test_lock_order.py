"""Row-lock order between a checkout and the sweep, on PostgreSQL (generated only when
``BNPL_TEST_DATABASE_URL`` is set; see conftest.py). SQLite's BEGIN IMMEDIATE serialises whole
write transactions, so there the two can never interleave and this cannot happen.

The interleaving is forced, not hoped for: statement hooks hold the checkout just before its
credit-account update until the sweep has updated that same credit account, then both go on."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from bnpl_app.db import transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.domain.errors import DomainError
from bnpl_app.models import Installment, InstallmentStatus as IS, Order
from bnpl_app.services import checkout, wallet
from bnpl_app.jobs.sweep import run_sweep
from conc_support import BACKENDS, audit_clean

WAIT = 30  # seconds; only reached if the forced interleaving itself is broken


def _run(results: dict, name: str, fn) -> threading.Thread:
    def target():
        try:
            results[name] = fn()
        except BaseException as exc:  # noqa: BLE001 — reported by the assertions below
            results[name] = exc

    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    return t


if "postgresql" in BACKENDS:
    @pytest.mark.pg
    @pytest.mark.parametrize("db", ["postgresql"], indirect=True)
    def test_checkout_racing_a_deduction_of_the_same_shopper_and_shop_does_not_deadlock(db, world):
        m = world.merchant()
        billed_product, new_product = world.product(m, price_fen=30_000), world.product(m, price_fen=20_000)
        uid = world.shopper(score=700)
        world.buy(uid, billed_product)
        world.advance(days=7)  # trial over, deduction fails (empty wallet): OVERDUE, retried tomorrow
        with world.tx() as s:
            (iid,) = s.execute(sa.select(Installment.id).where(Installment.status == IS.OVERDUE)).one()
            wallet.topup(session=s, uid=uid, amount_fen=100_000, clock=world.clock)
        sweep_clock = FixedClock(world.clock.now() + timedelta(days=1))

        checkout_reached_credit = threading.Event()
        sweep_holds_credit = threading.Event()

        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            if threading.current_thread().name == "checkout" and statement.startswith("UPDATE credit_accounts"):
                checkout_reached_credit.set()
                sweep_holds_credit.wait(WAIT)

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            if threading.current_thread().name == "sweep" and statement.startswith("UPDATE credit_accounts"):
                sweep_holds_credit.set()

        def buy():
            with transaction(db.engine) as s:
                return checkout.checkout(session=s, uid=uid, product_id=new_product, plan="full",
                                         idempotency_key="race-checkout-0001", clock=world.clock).id

        results: dict = {}
        a = _run(results, "checkout", buy)
        assert checkout_reached_credit.wait(WAIT), results
        b = _run(results, "sweep", lambda: run_sweep(engine=db.engine, clock=sweep_clock))
        a.join(WAIT)
        b.join(WAIT)
        event.remove(db.engine, "before_cursor_execute", _before)
        event.remove(db.engine, "after_cursor_execute", _after)
        assert not a.is_alive() and not b.is_alive(), "threads still blocked"

        assert isinstance(results["checkout"], (int, DomainError)), repr(results["checkout"])
        assert not isinstance(results["sweep"], BaseException), repr(results["sweep"])
        with world.tx() as s:
            assert s.get(Installment, iid).status == IS.PAID
            assert s.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one() == 2
        audit_clean(db.engine)
