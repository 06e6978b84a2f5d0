"""The sweep across OS processes: two sweeps at once, and a sweep killed with SIGKILL half-way.

Runs on a SQLite file and, when ``BNPL_TEST_DATABASE_URL`` is set, on PostgreSQL too (see
conftest.py; set-but-unreachable fails). On PostgreSQL the two sweeps share the work through
``FOR UPDATE SKIP LOCKED``: the test checks that both children issued such claims, both
charged installments, and their charging overlapped in time."""

from __future__ import annotations

import json
import os
import signal

import sqlalchemy as sa

from bnpl_app.db import transaction
from bnpl_app.models import Installment, InstallmentStatus as IS, Notification, Order, OrderStatus as OS
from bnpl_app.jobs.sweep import run_sweep
from conc_support import assert_exactly_once, captured_count, fixed_clock, populate

INST = Installment.__table__


def _report(child) -> dict:
    return json.loads(child.expect("report", timeout=240).split(" ", 1)[1])


def test_two_sweep_processes_charge_every_due_installment_exactly_once(db, world, spawn):
    pop = populate(world, shoppers=80)
    total = len(pop.installment_ids)
    assert total == 2_000

    a = spawn(db.url, pop.sweep_at, batch=50)
    b = spawn(db.url, pop.sweep_at, batch=50)
    a.expect("ready")
    b.expect("ready")
    a.go()
    b.go()
    ra, rb = _report(a), _report(b)
    assert a.proc.wait() == 0 and b.proc.wait() == 0, a.stderr() + b.stderr()

    assert ra["billed"] + rb["billed"] == 0, (ra, rb)  # every order was billed (once) by the sweep that announced it
    assert ra["captured"] + rb["captured"] == total, (ra, rb)
    assert ra["debits"] + rb["debits"] == total, (ra, rb)  # the gateway was asked once per installment
    assert ra["failed"] == rb["failed"] == 0, (ra, rb)
    assert_exactly_once(db.engine, pop)
    with transaction(db.engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Notification)
                         .where(Notification.kind == "deducted")).scalar_one() == total
        assert set(s.execute(sa.select(Order.status).distinct()).scalars()) == {OS.PAID}

    if db.kind == "postgresql":
        assert ra["skip_locked"] > 0 and rb["skip_locked"] > 0, "batches are not claimed FOR UPDATE SKIP LOCKED"
        assert ra["captured"] > 0 and rb["captured"] > 0, f"one sweep did all the work: {ra} {rb}"
        assert ra["first"] < rb["last"] and rb["first"] < ra["last"], f"the sweeps did not overlap: {ra} {rb}"


def test_sweep_killed_half_way_then_rerun_charges_everything_exactly_once(db, world, spawn):
    pop = populate(world, shoppers=40)
    total = len(pop.installment_ids)
    assert total == 1_000
    block_after = 275  # inside the 6th deduction batch of 50

    # hold=0: on SQLite too, every batch commits on its own, so the kill lands between commits
    child = spawn(db.url, pop.sweep_at, batch=50, block_after=block_after, hold=0)
    child.expect("ready")
    child.go()
    child.expect("blocked")  # the child is now inside an open transaction, mid-batch
    committed = captured_count(db.engine)
    assert 0 < committed < block_after, f"{committed} captures committed before the kill"

    os.kill(child.proc.pid, signal.SIGKILL)
    assert child.proc.wait() == -signal.SIGKILL

    # Wait (blocking, no polling) until the dead transaction's locks are gone: on PostgreSQL the
    # server rolls it back when it sees the socket close, and a sweep started before that would
    # skip (SKIP LOCKED) the rows it held — they would only be picked up by the next sweep.
    with transaction(db.engine) as s:
        s.execute(sa.select(INST.c.id).where(INST.c.status.in_(IS.OPEN)).with_for_update()).all()
    assert captured_count(db.engine) == committed, "the killed transaction left captures behind"
    with transaction(db.engine) as s:
        paid = s.execute(sa.select(sa.func.count()).select_from(INST).where(INST.c.status == IS.PAID)).scalar_one()
    assert paid == committed

    rerun = run_sweep(engine=db.engine, clock=fixed_clock(pop.sweep_at), batch_size=50)
    assert rerun.captured == total - committed
    assert rerun.failed == 0
    assert_exactly_once(db.engine, pop)

    again = run_sweep(engine=db.engine, clock=fixed_clock(pop.sweep_at), batch_size=50)
    assert (again.captured, again.failed, again.billed) == (0, 0, 0)
    assert_exactly_once(db.engine, pop)
