"""The database URL forms a deployer is likely to paste reach psycopg 3 (SQLAlchemy refuses
``postgres://``; psycopg2 is not installed).
The connecting case runs when ``BNPL_TEST_DATABASE_URL`` is set (see conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bnpl_app.db import make_engine, normalize_url
from conc_support import BACKENDS


@pytest.mark.parametrize("given, want", [
    ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
    ("sqlite://", "sqlite://"),
])
def test_postgres_urls_mean_psycopg3(given, want):
    assert normalize_url(given) == want


if "postgresql" in BACKENDS:
    @pytest.mark.pg
    @pytest.mark.parametrize("db", ["postgresql"], indirect=True)
    @pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
    def test_plain_postgres_url_connects(db, scheme):
        plain = make_url(db.url).render_as_string(hide_password=False).replace("postgresql+psycopg://", f"{scheme}://")
        engine = make_engine(plain)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            engine.dispose()
