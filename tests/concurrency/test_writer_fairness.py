"""Writers are not starved by a long sweep (SQLite).

SQLite's write lock goes to whoever asks first after it is released; a writer that found it taken
sleeps in its busy handler (up to 100 ms between tries), so a sweep that commits and begins again
at once would win the lock again and again. The sweep keeps one transaction going from batch to
batch only while nobody waits: a writer of this process that queues gets the lock after the
current batch (``db.writers_waiting`` / ``db.yield_to_writers``); for writers of other processes,
which it cannot see, it commits every ``sweep.HOLD_S`` and leaves the lock free for
``sweep.CROSS_PROCESS_GAP_S``, longer than their busy handler sleeps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
from sqlalchemy import event

from bnpl_app.db import transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.jobs import sweep
from bnpl_app.services import checkout
from bnpl_app.jobs.sweep import run_sweep
from conc_support import audit_clean, populate

WAIT = 120  # seconds; only reached if something hangs


def _count_batches(monkeypatch, on_batch=None) -> list[float]:
    """Record the wall time at which each deduction batch starts."""
    starts: list[float] = []
    real = sweep._deduct_batch

    def counted(s, ids, now, rep):
        starts.append(time.time())
        if on_batch:
            on_batch(len(starts))
        return real(s, ids, now, rep)

    monkeypatch.setattr(sweep, "_deduct_batch", counted)
    return starts


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_checkout_queued_behind_a_sweep_batch_commits_before_the_next_batches(db, world, monkeypatch):
    pop = populate(world, shoppers=16, plans=("12", "6", "3", "3"))  # 384 installments
    m = world.merchant()
    product = world.product(m, price_fen=10_000, stock=5)
    buyer = world.shopper(score=700)

    first_batch = threading.Event()
    batches = _count_batches(monkeypatch, lambda k: first_batch.set())
    committed: dict[str, float] = {}

    @event.listens_for(db.engine, "commit")
    def _on_commit(conn):
        committed.setdefault(threading.current_thread().name, time.time())

    results: dict = {}

    def sweep_all():
        results["sweep"] = run_sweep(engine=db.engine, clock=FixedClock(pop.sweep_at), batch_size=8)

    def buy():
        with transaction(db.engine) as s:
            results["order"] = checkout.checkout(session=s, uid=buyer, product_id=product, plan="full",
                                                 idempotency_key=uuid.uuid4().hex, clock=world.clock).id

    a = threading.Thread(target=sweep_all, name="sweep", daemon=True)
    a.start()
    assert first_batch.wait(WAIT)
    b = threading.Thread(target=buy, name="checkout", daemon=True)
    b.start()
    b.join(WAIT)
    a.join(WAIT)
    event.remove(db.engine, "commit", _on_commit)
    assert not a.is_alive() and not b.is_alive(), "a thread is still blocked"

    assert results.get("order"), results
    assert results["sweep"].captured == len(pop.installment_ids)
    after = sum(1 for t in batches if t > committed["checkout"])
    assert len(batches) >= 40, len(batches)  # a long sweep: many batches
    assert after >= len(batches) // 2, f"the checkout waited for {len(batches) - after} of {len(batches)} batches"
    audit_clean(db.engine)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_without_waiting_writers_one_transaction_spans_several_batches(db, world):
    pop = populate(world, shoppers=8, plans=("6", "3", "3"))  # 96 installments
    commits: list[str] = []

    @event.listens_for(db.engine, "commit")
    def _on_commit(conn):
        commits.append("commit")

    rep = run_sweep(engine=db.engine, clock=FixedClock(pop.sweep_at), batch_size=4, record=False)
    event.remove(db.engine, "commit", _on_commit)
    assert rep.captured == len(pop.installment_ids)
    # deduct (24 batches of 4; the trials were billed and the deductions announced a day before): one commit
    assert len(commits) <= 3, len(commits)
    audit_clean(db.engine)


CHILD = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
    print("ready", flush=True)
    sys.stdin.readline()
    con.execute("BEGIN IMMEDIATE")
    con.execute("COMMIT")
    print("committed", time.time(), flush=True)
""")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_writer_of_another_process_gets_the_lock_while_a_long_sweep_goes_on(db, world, monkeypatch):
    pop = populate(world, shoppers=16, plans=("6", "3"))  # 144 installments
    path = db.url.removeprefix("sqlite:///")
    child = subprocess.Popen([sys.executable, "-c", CHILD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready"

        def release_child(k: int) -> None:
            if k == 1:  # it queues for the lock while the sweep holds it
                child.stdin.write("go\n")
                child.stdin.flush()

        batches = _count_batches(monkeypatch, release_child)
        monkeypatch.setattr(sweep, "HOLD_S", 0.0)  # commit after every batch, then leave the gap
        rep = run_sweep(engine=db.engine, clock=FixedClock(pop.sweep_at), batch_size=8)
        out = child.communicate(timeout=WAIT)[0].split()
    finally:
        if child.poll() is None:
            child.kill()
    assert rep.captured == len(pop.installment_ids) and len(batches) == 18
    assert out[0] == "committed", out
    after = sum(1 for t in batches if t > float(out[1]))
    assert after >= len(batches) // 2, f"the other process waited for {len(batches) - after} of {len(batches)} batches"
    audit_clean(db.engine)
