"""SQLite writers of one process queue on a Python lock and go in as soon as the one before them
ends (``db._WriterGate``), and one request reads the demo clock's row once (``jobs.clock.one_reading``)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bnpl_app import db
from bnpl_app.domain.clock import FixedClock
from bnpl_app.jobs.clock import DbClock, one_reading


@pytest.fixture()
def engine(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    db.create_schema(eng)
    yield eng
    eng.dispose()


def test_concurrent_writers_queue_on_the_gate_not_in_sqlite(engine):
    """30 writers at once, each holding the write lock 5 ms, with SQLite's busy handler switched
    off: every one of them gets in, because the gate admits one writer at a time into
    ``BEGIN IMMEDIATE``. Without the gate they would meet the lock taken and (here) fail at once;
    in the app they slept in SQLite's busy handler — 1, 2, 5 … 100 ms between tries, not woken by
    the commit — and the same 30 writes took 0.75–0.95 s instead of 0.19 s."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    engine.dispose()  # new connections, with the pragma above
    hold_s, n = 0.005, 30
    errors: list[str] = []

    def writer():
        try:
            with db.transaction(engine) as s:
                s.execute(sa.text("INSERT INTO t VALUES (1)"))
                time.sleep(hold_s)
        except sa.exc.OperationalError as err:
            errors.append(str(err.orig))

    threads = [threading.Thread(target=writer) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with db.reading(engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == n


def test_gate_is_given_back_on_commit_on_rollback_and_on_a_refused_begin(engine):
    with db.transaction(engine) as s:
        s.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert db.writer_inside(engine)
    assert not db.writer_inside(engine)
    with pytest.raises(RuntimeError):
        with db.transaction(engine) as s:
            s.execute(sa.text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("refused")
    assert not db.writer_inside(engine)
    # BEGIN IMMEDIATE refused by SQLite (another process holds the lock, no busy wait here).
    other = db.make_engine(str(engine.url))
    with other.connect() as c:
        c.exec_driver_sql("INSERT INTO t VALUES (9)")  # its BEGIN IMMEDIATE: SQLite's lock taken
        with engine.connect() as mine:
            mine.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            with pytest.raises(sa.exc.OperationalError):
                mine.begin()
        assert not db.writer_inside(engine)
        c.rollback()
    other.dispose()
    with db.reading(engine) as s:
        assert s.execute(sa.text("SELECT n FROM t")).scalars().all() == [1]


def test_readers_are_not_gated(engine):
    holding, reader_done, results = threading.Event(), threading.Event(), []

    def holder():
        with db.transaction(engine) as s:
            s.execute(sa.text("INSERT INTO t VALUES (1)"))
            holding.set()
            reader_done.wait(10)  # the write transaction stays open until the reader has read

    def reader():
        holding.wait(10)
        with db.reading(engine) as s:
            results.append(s.execute(sa.text("SELECT count(*) FROM t")).scalar_one())
        reader_done.set()

    threads = [threading.Thread(target=holder), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert results == [0]  # read while the writer was inside (WAL: the committed view)


def clock_reads(monkeypatch) -> list[int]:
    """One entry per transaction the clock opens of its own to read its row."""
    reads = []
    real = db.reading

    def counting(e=None):
        reads.append(1)
        return real(e)

    monkeypatch.setattr("bnpl_app.jobs.clock.reading", counting)
    return reads


def test_one_request_reads_the_clock_row_once(engine, monkeypatch):
    wall = FixedClock(FixedClock().now())
    clock = DbClock(engine, wall=wall)
    start = clock.set(wall.now())
    reads = clock_reads(monkeypatch)
    with one_reading():
        first = clock.now()
        wall.advance(timedelta(seconds=7))
        later = clock.now()  # still runs on at wall speed from the row read once
        assert clock.is_frozen() is False
    assert len(reads) == 1
    assert first == start and later == start + timedelta(seconds=7)
    clock.now(), clock.now()  # outside a block: every call reads
    assert len(reads) == 3


def test_a_move_inside_the_block_is_seen_by_the_rest_of_it(engine):
    wall = FixedClock(FixedClock().now())
    clock = DbClock(engine, wall=wall, frozen=True)
    start = clock.set(wall.now())
    with one_reading():
        assert clock.now() == start
        clock.set(start + timedelta(days=1))
        assert clock.now() == start + timedelta(days=1)
        assert clock.is_frozen() is True


def test_a_request_reads_the_clock_row_in_its_own_transaction_until_it_moves_the_clock(engine, monkeypatch):
    """Given the request's session, the block reads the row there — no second transaction for the
    clock — and after a move in the block reads it afresh (the session's snapshot may predate it)."""
    wall = FixedClock(FixedClock().now())
    clock = DbClock(engine, wall=wall, frozen=True)
    start = clock.set(wall.now())
    reads = clock_reads(monkeypatch)
    with db.reading(engine) as s, one_reading(s):
        assert clock.now() == start and clock.is_frozen() is True
        assert reads == []  # read in the request's own transaction
        clock.set(start + timedelta(days=1))
        assert clock.now() == start + timedelta(days=1)  # not the session's older snapshot
    assert len(reads) == 1
