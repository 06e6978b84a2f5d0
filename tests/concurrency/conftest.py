"""Concurrency tier: real parallelism (threads with their own sessions, separate OS processes,
SIGKILL) against a real database file or server — never the in-memory SQLite of the unit tier.

Backends
  Every test runs on a fresh SQLite FILE database in ``tmp_path`` (WAL, BEGIN IMMEDIATE) and,
  when the environment variable ``BNPL_TEST_DATABASE_URL`` is set, again on that PostgreSQL
  server (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unset the
  PostgreSQL parameter is simply not generated; when it is set but the server cannot be
  reached, the PostgreSQL tests FAIL (they are never skipped).

  On PostgreSQL each pytest worker gets a private scratch database next to the named one
  (``helpers.pg_scratch_url("conc")``, dropped and re-created per test) so that other tiers using
  the server at the same time cannot drop tables under a running sweep. If the role may not
  create databases, the named database itself is reset instead.

  Both backends get the schema from the Alembic migrations (``helpers.migrated_engine``, what
  ``python -m bnpl_app migrate`` runs), not ``create_all``.

No test sleeps: threads meet at ``threading.Barrier``s, child processes report progress on
their stdout pipe (read with ``select`` and a deadline) and wait for the parent's "go" on stdin.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from conc_support import BACKENDS, SweepChild
from helpers import World, file_engine, migrated_engine, pg_scratch_url


@dataclass
class Db:
    kind: str  # sqlite | postgresql
    url: str  # with the password, for child processes
    engine: Engine


@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.pg) if b == "postgresql" else b for b in BACKENDS])
def db(request, tmp_path) -> Db:
    if request.param == "sqlite":
        path = tmp_path / "bnpl.db"
        engine = file_engine(path)
        yield Db("sqlite", f"sqlite:///{path}", engine)
        engine.dispose()
        return
    with pg_scratch_url("conc") as url:
        engine = migrated_engine(url)
        yield Db("postgresql", url, engine)
        engine.dispose()


@pytest.fixture
def world(db) -> World:
    return World(db.engine)


@pytest.fixture
def spawn(tmp_path):
    children: list[SweepChild] = []

    def _spawn(url: str, now, **kw) -> SweepChild:
        child = SweepChild(url, now, log=tmp_path / f"child{len(children)}.stderr", **kw)
        children.append(child)
        return child

    yield _spawn
    for c in children:
        c.close()
