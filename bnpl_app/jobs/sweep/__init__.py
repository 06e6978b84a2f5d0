"""The sweep: every scheduled rule, claimed from the database so a crash, a restart or a second
sweep running at the same time loses nothing and charges nothing twice. Phases run in the order
time would: trials end → reminders → return deadlines → notices before deductions → deductions →
overdue consequences.

Each phase walks its rows by id in batches; each batch is one transaction (BEGIN IMMEDIATE on
SQLite; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and every state change inside it is a guarded
update, so a row that another sweep already moved is skipped rather than processed twice.

This module runs the phases and holds the knobs (read at every run, so the tests, the worker and
the bench may set them). The parts: ``batches`` (claiming batches, the collector), ``phases``
(each phase row by row, and ``next_event_after``), ``deduct`` and ``writes`` (the deductions,
set-based). What any of them decides is ``domain.rules``'."""

from __future__ import annotations

from functools import partial

from sqlalchemy.engine import Engine

from ...db import transaction
from ...models import SweepRun
from ...services import changes, rental
from . import deduct, phases
from .batches import fewer_gc_passes, walk
from .phases import SweepReport, apply_overdue_rules, bill_order, next_event_after

__all__ = ["BATCH_SIZE", "CROSS_PROCESS_GAP_S", "HOLD_S", "SweepReport", "apply_overdue_rules", "bill_order",
           "next_event_after", "run_sweep"]

# Rows per batch: the unit the sweep reads, decides and writes in (a handful of executemany
# statements), and how long a writer of this process may have to wait for SQLite's write lock
# (~1 s on the benchmark machine) — how often the sweep commits is decided in batches.walk.
# BENCHMARKS.md has the measurements.
BATCH_SIZE = 4_000
# SQLite: how long one write transaction of the sweep may keep the write lock while no writer of
# this process is waiting for it (see batches.walk); then it commits and leaves the lock free for
# CROSS_PROCESS_GAP_S, longer than SQLite's busy handler sleeps between two tries (100 ms), so a
# writer of another process that queued meanwhile gets it.
HOLD_S = 10.0
CROSS_PROCESS_GAP_S = 0.12
# False: every deduction takes the per-row path (the reference the set-based path must equal).
_BATCH_PATH = True


def run_sweep(*, engine: Engine, clock, batch_size: int = BATCH_SIZE, record: bool = True) -> SweepReport:
    now = clock.now()
    rep = SweepReport()
    batches = partial(walk, engine, batch_size=batch_size, hold_s=HOLD_S, gap_s=CROSS_PROCESS_GAP_S)
    with fewer_gc_passes():
        phases.bill_trials(batches, now, rep)
        phases.reminders(batches, now, rep)
        phases.return_deadlines(batches, now, rep)
        with transaction(engine) as s:  # 信用分租机: a return the merchant did not inspect in time is accepted
            rental.auto_accept_due(session=s, now=now)
        phases.notices(batches, now, rep)
        for s, ids in batches(phases.deductions_due(now), phases.INST.c.id, owner_col=phases.INST.c.shopper_id):
            _deduct_batch(s, ids, now, rep)
        phases.overdue(batches, now, rep)
    with transaction(engine) as s:
        if record and rep.summary():
            s.add(SweepRun(started_at=now, at=now, summary=rep.summary()[:300]))
        changes.prune(session=s)
    return rep


def _deduct_batch(s, ids: list[int], now, rep: SweepReport) -> None:
    deduct.deduct_batch(s, ids, now, rep, batch_path=_BATCH_PATH)
