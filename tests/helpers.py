"""Builders shared by the unit, property and concurrency tiers: a scratch database, a fixed
clock and small factories that go through the real services (never hand-written rows)."""

from __future__ import annotations

import functools
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bnpl_app.db import create_schema, make_engine, transaction
from bnpl_app.migrate import upgrade
from bnpl_app.domain.clock import UTC, FixedClock
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import MERCHANT, OPERATOR, CreditAccount, Merchant, Product, User
from bnpl_app.services import auth, checkout, consent, wallet
from bnpl_app.services.audit import run_audit
from bnpl_app.services.clock import advance

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)

# Argon2 is slow on purpose (~0.15 s a hash). Factories create many users with one password, so
# the tests hash it once; login tests still verify against real Argon2 hashes.
auth.hash_password = functools.lru_cache(maxsize=8)(auth.hash_password)
PG_ENV = "BNPL_TEST_DATABASE_URL"


def memory_engine() -> Engine:
    """In-memory SQLite for the unit and property tiers: ``create_all`` (fast; the migrations tier
    proves that the migrated schema and the models agree)."""
    engine = make_engine("sqlite://")
    create_schema(engine)
    return engine


def migrated_engine(url: str) -> Engine:
    """The schema the app runs on: the Alembic upgrade to head that ``python -m bnpl_app migrate``
    runs (``bnpl_app.migrate.upgrade``), then an engine on it."""
    upgrade(url)
    return make_engine(url)


def file_engine(path) -> Engine:
    """A SQLite file database, migrated."""
    return migrated_engine(f"sqlite:///{path}")


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


# ── PostgreSQL scratch databases ───────────────────────────────────────────────────────────────
# Tiers that run on PostgreSQL never use the database BNPL_TEST_DATABASE_URL names: each gets a
# private one next to it, so tiers (and pytest workers) running at the same time cannot drop
# tables under each other. Its name is ``<db>_<tag>_<checkout>_<xdist worker>``: <checkout> is a
# short hash of this checkout's path, so two checkouts testing against one server at once do not
# collide either, while reruns from one checkout reuse (drop and re-create) the same names.
_CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:6]


def _admin_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_admin(base_url: str):
    """An autocommit psycopg connection to the named database; FAILS the test if unreachable."""
    import psycopg

    try:
        return psycopg.connect(_admin_conninfo(base_url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        error = exc
    pytest.fail(f"{PG_ENV}={make_url(base_url).render_as_string()!r} is set but PostgreSQL is unreachable: "
                f"{error}", pytrace=False)


def pg_scratch_name(base_url: str, tag: str) -> str:
    suffix = f"_{tag}_{_CHECKOUT}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    return f"{make_url(base_url).database[:63 - len(suffix)]}{suffix}"  # PostgreSQL names: 63 bytes


@contextmanager
def pg_scratch_url(tag: str) -> Iterator[str]:
    """The URL of an EMPTY private PostgreSQL database next to the one BNPL_TEST_DATABASE_URL
    names (see above), dropped afterwards. If the role may not create databases, the named
    database's ``public`` schema is reset instead. Fails loudly (never skips) when the variable is
    unset or the server unreachable."""
    import psycopg

    base = pg_url()
    if not base:
        pytest.fail(f"{PG_ENV} is not set", pytrace=False)
    name = pg_scratch_name(base, tag)
    with _pg_admin(base) as admin:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.errors.InsufficientPrivilege:
            name = None
            admin.execute("DROP SCHEMA IF EXISTS public CASCADE")
            admin.execute("CREATE SCHEMA public")
    if name is None:
        yield base
        return
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with _pg_admin(base) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pg_scratch_engine(tag: str) -> Iterator[Engine]:
    """A private PostgreSQL database (``pg_scratch_url``) with the migrated schema."""
    with pg_scratch_url(tag) as url:
        engine = migrated_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@dataclass
class World:
    """A scratch platform with a clock that only moves when told."""

    engine: Engine
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    _n: int = 0

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def shopper(self, *, score: int = 700, wallet_fen: int = 0, opened: bool = True, verified: bool = True,
                phone: bool = True, name: str | None = None) -> int:
        with transaction(self.engine) as s:
            u = auth.register(s, username=name or self._name("shopper"), password="password123",
                              display_name="T", clock=self.clock)
            u.real_name_verified = verified
            u.phone = "13800000000" if phone else None
            s.add(u)
            s.execute(sa.update(CreditAccount.__table__).where(CreditAccount.__table__.c.user_id == u.id).values(score=score))
            if wallet_fen:
                wallet.topup(s, uid=u.id, amount_fen=wallet_fen, clock=self.clock)
            if opened:
                consent.open_bnpl(s, uid=u.id, accept_terms=True, terms_version=POLICY.terms_version, clock=self.clock)
            return u.id

    def merchant(self, *, shop_cap_fen: int = POLICY.default_shop_cap_fen) -> int:
        """Returns the merchant id (not the user id)."""
        with transaction(self.engine) as s:
            u = auth.register(s, username=self._name("merchant"), password="password123", display_name="M",
                              clock=self.clock, role=MERCHANT)
            m = Merchant(user_id=u.id, name="Shop", shop_cap_fen=shop_cap_fen)
            s.add(m)
            s.flush()
            return m.id

    def merchant_user(self, merchant_id: int) -> int:
        with transaction(self.engine) as s:
            return s.get(Merchant, merchant_id).user_id

    def operator(self) -> int:
        with transaction(self.engine) as s:
            return auth.register(s, username=self._name("ops"), password="password123", display_name="O",
                                 clock=self.clock, role=OPERATOR).id

    def product(self, merchant_id: int, *, price_fen: int = 10_000, stock: int = 100, bnpl: bool = True,
                trial_days: int = 7, min_score: int = POLICY.platform_min_score, plans: str = "full,3,6,12",
                interest_free: bool = False) -> int:
        with transaction(self.engine) as s:
            p = Product(merchant_id=merchant_id, name=self._name("Product "), price_fen=price_fen, stock=stock,
                        bnpl_enabled=bnpl, trial_days=trial_days, min_score=min_score, allowed_plans=plans,
                        interest_free=interest_free, created_at=self.clock.now())
            s.add(p)
            s.flush()
            return p.id

    def buy(self, uid: int, product_id: int, plan: str = "full", key: str | None = None) -> int:
        with transaction(self.engine) as s:
            return checkout.checkout(s, uid=uid, product_id=product_id, plan=plan,
                                     idempotency_key=key or uuid.uuid4().hex, clock=self.clock).id

    def advance(self, **kw) -> None:
        advance(engine=self.engine, clock=self.clock, delta=timedelta(**kw))

    def audit_ok(self) -> None:
        with transaction(self.engine) as s:
            report = run_audit(s)
        assert report.ok, "\n".join(report.lines())

    def tx(self):
        return transaction(self.engine)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: compare before/after a refused action to
    prove it left nothing half-done."""
    from sqlmodel import SQLModel

    out: dict[str, list[tuple]] = {}
    with engine.execution_options(readonly=True).connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out
