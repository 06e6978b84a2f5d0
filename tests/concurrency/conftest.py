"""Concurrency tier: real parallelism (threads with their own sessions, separate OS processes,
SIGKILL) against a real database file or server — never the in-memory SQLite of the unit tier.

Backends
  Every test runs on a fresh SQLite FILE database in ``tmp_path`` (WAL, BEGIN IMMEDIATE) and,
  when the environment variable ``BNPL_TEST_DATABASE_URL`` is set, again on that PostgreSQL
  server (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unset the
  PostgreSQL parameter is simply not generated; when it is set but the server cannot be
  reached, the PostgreSQL tests FAIL (they are never skipped).

  On PostgreSQL each pytest worker gets a private scratch database next to the named one
  (``<db>_conc_<worker>``, dropped and re-created per test) so that other tiers using the named
  database at the same time cannot drop tables under a running sweep. If the role may not
  create databases, the named database itself is reset instead.

No test sleeps: threads meet at ``threading.Barrier``s, child processes report progress on
their stdout pipe (read with ``select`` and a deadline) and wait for the parent's "go" on stdin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine, make_url

from bnpl_app.db import create_schema, make_engine
from conc_support import BACKENDS, SweepChild
from helpers import PG_ENV, World, file_engine, pg_url


@dataclass
class Db:
    kind: str  # sqlite | postgresql
    url: str  # with the password, for child processes
    engine: Engine


def _admin_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _private_pg(base_url: str) -> tuple[str, str | None]:
    """(url to use, private database name or None). Fails the test if the server is unreachable."""
    import psycopg

    u = make_url(base_url)
    name = f"{u.database}_conc_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        admin = psycopg.connect(_admin_conninfo(base_url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        admin, error = None, exc
    if admin is None:
        pytest.fail(f"{PG_ENV}={u.render_as_string()!r} is set but PostgreSQL is unreachable: {error}", pytrace=False)
    with admin:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.errors.InsufficientPrivilege:
            return base_url, None
    return u.set(database=name).render_as_string(hide_password=False), name


def _drop_private(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_conninfo(base_url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.pg) if b == "postgresql" else b for b in BACKENDS])
def db(request, tmp_path) -> Db:
    if request.param == "sqlite":
        path = tmp_path / "bnpl.db"
        engine = file_engine(path)
        yield Db("sqlite", f"sqlite:///{path}", engine)
        engine.dispose()
        return
    base = pg_url()
    url, private = _private_pg(base)
    engine = make_engine(url)
    with engine.begin() as conn:
        if private is None:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    create_schema(engine)
    yield Db("postgresql", url, engine)
    engine.dispose()
    if private is not None:
        _drop_private(base, private)


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
