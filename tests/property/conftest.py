"""Property tier: Hypothesis drives random sequences of everything shoppers, merchants, operators
and time can do, and checks the books after every step.

Determinism: with ``CI`` set (any value) or ``HYPOTHESIS_PROFILE=ci`` the stateful test runs the
``ci`` profile — ``derandomize=True`` and no example database, so every run tries the same
examples. Otherwise (``dev``) it explores randomly and remembers failures in ``.hypothesis/``.
Both: 40 examples × up to 30 steps, no deadline (database work varies with machine load).
The profiles are applied to this tier's own settings only, never loaded globally, so other
tiers' Hypothesis tests keep their defaults.

PostgreSQL: when ``BNPL_TEST_DATABASE_URL`` is set, the state machine also runs (fewer examples)
on a private scratch database ``<db>_prop_<worker>`` created next to the named one; set but
unreachable fails. When unset, that test is not generated."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

from bnpl_app.db import create_schema, make_engine
from helpers import PG_ENV, pg_url

_COMMON = dict(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)

PROFILE = "ci" if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "dev"


@pytest.fixture
def stateful_settings():
    """The active profile's settings; call with overrides (e.g. fewer examples on PostgreSQL)."""
    return lambda **overrides: settings(settings.get_profile(PROFILE), **overrides)


def _admin(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_engine():
    """A private scratch database next to the one BNPL_TEST_DATABASE_URL names (fails if unreachable)."""
    import psycopg

    base = make_url(pg_url())
    name = f"{base.database}_prop_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        admin = psycopg.connect(_admin(pg_url()), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        admin, error = None, exc
    if admin is None:
        pytest.fail(f"{PG_ENV}={base.render_as_string()!r} is set but PostgreSQL is unreachable: {error}", pytrace=False)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    create_schema(engine)
    yield engine
    engine.dispose()
    with psycopg.connect(_admin(pg_url()), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
