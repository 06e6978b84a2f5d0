"""A shopper's checkout is not starved by a long sweep (SQLite).

SQLite's write lock goes to whoever asks first after it is released; a writer that found it taken
sleeps in its busy handler, so a sweep committing batch after batch would win the lock again and
again. ``db.yield_to_writers`` lets the writers of this process that are queued go between two
batches. Here a checkout queues behind the first batch of a sweep of many small batches and must
commit while most of the sweep is still to come."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import event

from bnpl_app.db import transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.services import checkout
from bnpl_app.services.sweep import run_sweep
from conc_support import audit_clean, populate

WAIT = 120  # seconds; only reached if something hangs


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_checkout_queued_behind_a_sweep_batch_commits_before_the_next_batches(db, world):
    pop = populate(world, shoppers=16, plans=("12", "6", "3", "3"))  # 384 installments
    m = world.merchant()
    product = world.product(m, price_fen=10_000, stock=5)
    buyer = world.shopper(score=700)

    commits: list[str] = []
    first_batch = threading.Event()

    @event.listens_for(db.engine, "commit")
    def _on_commit(conn):
        name = threading.current_thread().name
        commits.append(name)
        if name == "sweep":
            first_batch.set()

    results: dict = {}

    def sweep():
        results["sweep"] = run_sweep(engine=db.engine, clock=FixedClock(pop.sweep_at), batch_size=8)

    def buy():
        with transaction(db.engine) as s:
            results["order"] = checkout.checkout(s, uid=buyer, product_id=product, plan="full",
                                                 idempotency_key=uuid.uuid4().hex, clock=world.clock).id

    a = threading.Thread(target=sweep, name="sweep", daemon=True)
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
    sweep_commits = commits.count("sweep")
    after = len(commits) - 1 - commits.index("checkout")
    assert sweep_commits >= 40, sweep_commits  # a long sweep: many batches
    assert after >= sweep_commits // 2, f"the checkout waited for {sweep_commits - after} of {sweep_commits} batches"
    audit_clean(db.engine)
