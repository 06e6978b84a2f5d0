"""Property tier: Hypothesis drives random sequences of everything shoppers, merchants, operators
and time can do, and checks the books after every step.

Determinism: with ``CI`` set (any value) or ``HYPOTHESIS_PROFILE=ci`` the stateful test runs the
``ci`` profile — ``derandomize=True`` and no example database, so every run tries the same
examples. Otherwise (``dev``) it explores randomly and remembers failures in ``.hypothesis/``.
Both: 40 examples × up to 30 steps, no deadline (database work varies with machine load).
The profiles are applied to this tier's own settings only, never loaded globally, so other
tiers' Hypothesis tests keep their defaults.

Deep: ``BNPL_DEEP_STEPS=10000`` (any number) also generates ``test_deep_random_lives``: fresh random
lives — a seed drawn now and printed (``BNPL_DEEP_SEED`` replays one) — until at least that many
steps have run, up to 50 steps a life, with the audit after every step. Run it before resolving a
change to the rules: ``BNPL_DEEP_STEPS=10000 python -m pytest -s tests/property -k deep``.

PostgreSQL: when ``BNPL_TEST_DATABASE_URL`` is set, the state machine also runs (fewer examples)
on a private scratch database (``helpers.pg_scratch_engine("prop")``) created next to the named
one, its schema made by the Alembic migrations; set but unreachable fails. When unset, that test
is not generated. In-memory SQLite keeps ``create_all`` (tests/migrations proves they agree)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from helpers import pg_scratch_engine

_COMMON = dict(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)

settings.register_profile("deep", **{**_COMMON, "stateful_step_count": 50, "max_examples": 100},
                          database=None, print_blob=True)

PROFILE = "ci" if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "dev"


@pytest.fixture
def stateful_settings():
    """The active profile's settings; call with overrides (e.g. fewer examples on PostgreSQL)."""
    return lambda **overrides: settings(settings.get_profile(PROFILE), **overrides)


@pytest.fixture
def deep_settings():
    """The deep profile's settings (a fresh seed is forced by the test, not drawn by Hypothesis)."""
    return lambda **overrides: settings(settings.get_profile("deep"), **overrides)


@pytest.fixture
def pg_engine():
    """A private scratch database next to the one BNPL_TEST_DATABASE_URL names, migrated (fails if
    unreachable)."""
    with pg_scratch_engine("prop") as engine:
        yield engine
