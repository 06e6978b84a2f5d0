"""Migrations tier: the Alembic migrations are the schema, on both databases.

Every test runs on fresh, EMPTY SQLite files in ``tmp_path`` and, when ``BNPL_TEST_DATABASE_URL``
is set, again on private PostgreSQL scratch databases next to the named one
(``helpers.pg_scratch_url``: created afresh, dropped afterwards; set but unreachable fails, never
skips). When it is unset, the PostgreSQL parameter is simply not generated.

It shares the PostgreSQL server with the concurrency tier, so ``scripts/test.sh`` runs the two in
series."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from helpers import pg_scratch_url, pg_url

BACKENDS = ["sqlite"] + (["postgresql"] if pg_url() else [])


@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.pg) if b == "postgresql" else b for b in BACKENDS])
def empty_db(request, tmp_path):
    """``empty_db(tag)`` → the URL of an empty database of this test's backend, one per tag."""
    with ExitStack() as stack:
        urls: dict[str, str] = {}

        def _empty(tag: str) -> str:
            if tag not in urls:
                if request.param == "sqlite":
                    urls[tag] = f"sqlite:///{tmp_path / f'{tag}.db'}"
                else:
                    urls[tag] = stack.enter_context(pg_scratch_url(f"mig{tag}"))
            return urls[tag]

        _empty.backend = request.param
        yield _empty
