"""The sweep's plumbing: walking the rows a phase has to do in claimed batches (one write
transaction spanning batches on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and fewer
passes of the cyclic garbage collector while a sweep runs. How long a transaction may hold
SQLite's write lock is the caller's (``sweep.HOLD_S``, ``sweep.CROSS_PROCESS_GAP_S``)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ...db import reading, transaction, writers_waiting, yield_to_writers

_WINDOW = 250_000  # candidate ids read per window (a few MB)


def walk(engine: Engine, query: sa.Select, id_col, owner_col=None, *, batch_size: int, hold_s: float,
         gap_s: float) -> Iterator[tuple[Session, list[int]]]:
    """Yield (session, ids) per batch, ids ascending.

    Candidates are read a window at a time (keyset-paginated by id, in a read-only transaction);
    each batch then claims its part inside a write transaction by re-checking the query's
    condition on just those ids — ``FOR UPDATE SKIP LOCKED`` in id order on PostgreSQL — so a row
    that another sweep holds or has already moved is skipped, never processed twice.

    On PostgreSQL every batch is its own transaction (row locks: nobody else waits for a batch
    unless they touch its rows). SQLite has one write lock for the whole file, and every commit
    writes each page the transaction dirtied — random inserts into the ledger's account indexes
    touch a large part of them in every batch — so there a transaction goes on from batch to batch
    until a writer of this process queues for the lock (it goes first: ``db.yield_to_writers``),
    ``hold_s`` has passed (then the lock stays free for ``gap_s``, longer than SQLite's busy
    handler sleeps between two tries (100 ms), so a writer of another process that queued
    meanwhile gets it), or the window ends. A writer of this process thus waits for at most one
    batch.

    With ``owner_col`` (the shopper), a window's candidates are processed grouped by owner, then
    by id: one shopper's rows are keyed by the shopper (ledger accounts, inbox, credit account),
    so a transaction writes into a few neighbouring stretches of those indexes instead of pages
    all over them (−17% bytes written at 100k). Shoppers share no rows, so the order across them
    changes nothing; one shopper's rows keep their id order.

    Both steps keep the work linear in the backlog. Asking for one batch at a time
    (``… AND id > :last ORDER BY id LIMIT n``) made SQLite scan and sort every remaining candidate
    through the status index for every batch; so did ``<condition> AND id IN (:batch)``, which
    SQLite also plans through that index — hence, on SQLite, the batch's rows are fetched by rowid
    and the condition is evaluated per row."""
    pg = engine.dialect.name == "postgresql"
    bulk = engine.execution_options(bulk=True)  # a page cache that holds a whole batch (db.SQLITE_BULK_CACHE_KIB)
    window = max(_WINDOW, batch_size)
    last = None
    while True:
        q = query if last is None else query.where(id_col > last)
        with reading(bulk) as r:
            if owner_col is None:
                candidates = [x for (x,) in r.execute(q.order_by(id_col).limit(window))]
                last_id = candidates[-1] if candidates else None
            else:
                pairs = r.execute(q.add_columns(owner_col).order_by(id_col).limit(window)).all()
                last_id = pairs[-1][0] if pairs else None
                candidates = [x for x, _ in sorted(pairs, key=lambda p: (p[1], p[0]))]
        i = 0
        while i < len(candidates):
            held_long = False
            with transaction(bulk) as s:
                began = time.monotonic()
                while i < len(candidates):
                    chunk = candidates[i:i + batch_size]
                    i += len(chunk)
                    ids = _claim(s, query, id_col, chunk, pg)
                    if ids:
                        yield s, ids
                    if pg or writers_waiting(engine):
                        break
                    if time.monotonic() - began >= hold_s:
                        held_long = True
                        break
            if writers_waiting(engine):
                yield_to_writers(engine)  # a checkout queued behind this batch goes before the next one
            elif held_long and i < len(candidates):
                time.sleep(gap_s)
        if len(candidates) < window:
            return
        last = last_id


def _claim(s: Session, query: sa.Select, id_col, chunk: list[int], pg: bool) -> list[int]:
    """Those of ``chunk`` that still meet ``query``'s condition, ascending (see walk)."""
    if pg:
        claim = query.where(id_col.in_(chunk)).order_by(id_col).with_for_update(skip_locked=True)
        return [x for (x,) in s.execute(claim)]
    check = sa.select(id_col, sa.case((query.whereclause, 1), else_=0)).where(id_col.in_(chunk))
    return [x for x, ok in s.execute(check.order_by(id_col)) if ok]


_GC_LOCK = threading.Lock()
_GC_USERS = [0, None]  # sweeps running in this process, the collector's thresholds before the first


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """A batch allocates a few hundred thousand short-lived tuples that are freed by reference
    counting when it ends; with the default threshold (700) the cyclic collector ran thousands of
    times per sweep and took ~8% of it. While a sweep runs, the youngest generation is collected
    every 100,000 allocations instead (process-wide; put back when the last sweep ends)."""
    with _GC_LOCK:
        if _GC_USERS[0] == 0:
            _GC_USERS[1] = gc.get_threshold()
            gc.set_threshold(100_000, *_GC_USERS[1][1:])
        _GC_USERS[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS[0] -= 1
            if _GC_USERS[0] == 0:
                gc.set_threshold(*_GC_USERS[1])
