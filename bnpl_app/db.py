"""Engines and transactions. SQLite gets WAL, FULL sync, a busy timeout and ``BEGIN IMMEDIATE``
for every writing transaction (a deferred BEGIN that reads then writes fails at once under
concurrent writers whatever the timeout). PostgreSQL is the same code by URL."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """Reflex's own setting (``REFLEX_DB_URL``), else a SQLite file in the project."""
    return os.environ.get("REFLEX_DB_URL") or f"sqlite:///{PROJECT_ROOT / 'bnpl.db'}"


def normalize_url(url: str) -> str:
    """``postgres://`` (the form many hosting providers hand out) and ``postgresql://`` mean
    psycopg 3, the driver installed here: SQLAlchemy refuses ``postgres://`` outright, and its
    default driver for ``postgresql://`` depends on its version (psycopg2 before 2.1)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


SQLITE_CACHE_KIB = 128 * 1024  # page cache per connection (SQLite's default: 2 MB)
# The page cache of a connection while it runs a bulk job (the sweep: ``engine.execution_options(
# bulk=True)``). A sweep transaction (up to sweep.HOLD_S of batches) dirties hundreds of thousands
# of pages; they must stay in the cache until the commit, or SQLite spills them to the WAL
# mid-transaction and writes them again; and on a database much bigger than the cache every miss is
# a read call. It is an upper bound: the cache fills only as pages are used (a small database never
# gets near it). The connection goes back to SQLITE_CACHE_KIB (freeing the rest) when it next runs
# anything else.
SQLITE_BULK_CACHE_KIB = 2 * 1024 * 1024
SQLITE_CHECKPOINT_PAGES = 50_000  # WAL pages (4 KiB each) between automatic checkpoints (default 1,000)


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = normalize_url(url or database_url())
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Durability is unchanged (FULL: every commit is on disk). These two only decide how
            # often the same pages are written: a sweep batch dirties thousands of pages spread
            # over the file; with SQLite's defaults (2 MB cache, a checkpoint every 1,000 WAL
            # pages) it spilled them mid-transaction and copied them back into the database after
            # almost every commit. The cache is per connection but filled only as pages are used.
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
            cur.close()

        waiting = _WAITING[engine] = _Waiting()
        gate = None if memory else _WriterGate(engine.dialect)
        if gate is not None:
            _GATES[engine] = gate

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            options = conn.get_execution_options()
            cache = SQLITE_BULK_CACHE_KIB if options.get("bulk") else SQLITE_CACHE_KIB
            if conn.info.get("cache_kib", SQLITE_CACHE_KIB) != cache:
                conn.exec_driver_sql(f"PRAGMA cache_size=-{cache}")
                conn.info["cache_kib"] = cache
            if options.get("readonly"):
                conn.exec_driver_sql("BEGIN")
                return
            with waiting:  # counted while it queues for SQLite's one write lock
                dbapi_conn = conn.connection.dbapi_connection
                if gate is not None:
                    gate.enter(dbapi_conn)
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                except BaseException:
                    if gate is not None:
                        gate.leave(dbapi_conn)
                    raise

        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


class _WriterGate:
    """This process's writers queue for SQLite's write lock on a Python lock, and each goes in the
    moment the one before it has committed or rolled back.

    Left to SQLite, a writer that finds the lock taken sleeps in its busy handler — 1, 2, 5, 10 …
    up to 100 ms between tries — and nobody is woken when the lock is freed: under a few dozen
    concurrent checkouts the lock stood free while every waiter slept, and a write that takes a
    few milliseconds waited seconds. Writers of other processes (the CLI, a worker) still meet
    SQLite's busy handler. A writer that cannot get the gate within SQLite's own busy timeout goes
    on to ``BEGIN IMMEDIATE`` regardless, so a thread that somehow already holds it is refused by
    SQLite as before instead of waiting here for ever."""

    TIMEOUT_S = 30.0  # as PRAGMA busy_timeout

    def __init__(self, dialect) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection inside its write transaction
        dialect.do_commit = self._then_leave(dialect.do_commit)
        dialect.do_rollback = self._then_leave(dialect.do_rollback)

    def _then_leave(self, end):
        """``end`` (the dialect's commit or rollback), then the gate given back by its holder."""
        def ended(dbapi_connection):
            try:
                end(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        return ended

    @staticmethod
    def _key(connection) -> int:
        """The DBAPI connection's identity, whether given it or the pool's proxy of it."""
        return id(getattr(connection, "dbapi_connection", None) or connection)

    def enter(self, connection) -> None:
        if self._lock.acquire(timeout=self.TIMEOUT_S):
            self._holder = self._key(connection)

    def held(self) -> bool:
        return self._lock.locked()

    def leave(self, connection) -> None:
        if self._holder is not None and self._holder == self._key(connection):
            self._holder = None
            self._lock.release()


class _Waiting:
    """How many threads of this process are inside ``BEGIN IMMEDIATE`` on one engine right now,
    i.e. queued for SQLite's write lock."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.count += 1

    def __exit__(self, *_exc) -> None:
        with self._lock:
            self.count -= 1


_WAITING: weakref.WeakKeyDictionary[Engine, _Waiting] = weakref.WeakKeyDictionary()
_GATES: weakref.WeakKeyDictionary[Engine, _WriterGate] = weakref.WeakKeyDictionary()


def writer_inside(engine: Engine) -> bool:
    """Whether a writer of this process is inside a write transaction on this SQLite engine."""
    gate = _GATES.get(engine)
    return bool(gate and gate.held())


def writers_waiting(engine: Engine) -> bool:
    """Whether a thread of this process is queued for this engine's SQLite write lock now."""
    waiting = _WAITING.get(engine)
    return bool(waiting and waiting.count)


def yield_to_writers(engine: Engine, *, at_most_s: float = 1.0) -> None:
    """Between two transactions of a long job (the sweep): let this process's queued writers in.

    SQLite hands its write lock to nobody in particular: a writer that found it taken sleeps in
    its busy handler (up to 100 ms between tries), so a job that commits and at once begins again
    wins almost every time and a shopper's checkout can wait for the whole job. Here the job waits
    (a few ms at a time, ``at_most_s`` seconds in all) until no writer of this process is queued;
    when none is, it costs nothing. Writers in other processes are not seen (a separate sweep
    worker is meant for PostgreSQL, whose row locks do not queue like this)."""
    deadline = time.monotonic() + at_most_s
    while writers_waiting(engine) and time.monotonic() < deadline:
        time.sleep(0.002)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def default_engine() -> Engine:
    return engine_for(database_url())


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """The one place that commits: everything inside succeeds together or not at all."""
    with Session(engine or default_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def reading(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only session (plain BEGIN on SQLite, so readers never queue behind writers)."""
    eng = (engine or default_engine()).execution_options(readonly=True)
    with Session(eng, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def create_schema(engine: Engine) -> None:
    """For tests on a scratch database; real databases are migrated with Alembic."""
    from sqlmodel import SQLModel

    from . import models  # noqa: F401  (registers the tables)

    SQLModel.metadata.create_all(engine)


def insert_ignore(session: Session, table, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on both SQLite and PostgreSQL; True if a row went in."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    # The row it returns, not the rowcount: psycopg reports -1 for this statement.
    return session.execute(stmt).first() is not None
