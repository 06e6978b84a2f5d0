"""The test scaffolding every tier shares, in one place: a scratch database and a fixed clock
(``World``, the ``world`` fixture), factories that go through the real services (never
hand-written rows) — shoppers, shops, products, orders in trial, overdue orders, returns,
applications — small readers for what a test checks, ``snapshot`` and ``refused`` (a refusal
leaves the database as it was), and look-ups by demo username for the browser tiers.
Browser things (Playwright pages, log-in, toasts) are in ``browser_support.py``; driving Reflex
states under pytest is in ``state/conftest.py``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import io
import os
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, select

from bnpl_app.db import create_schema, make_engine, reading, transaction
from bnpl_app.migrate import upgrade
from bnpl_app.domain.clock import UTC, FixedClock
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    MERCHANT,
    OPERATOR,
    CreditAccount,
    Installment,
    InstallmentStatus,
    Merchant,
    Notification,
    Order,
    Product,
    User,
)
from bnpl_app.services import applications, auth, bills, checkout, consent, credit, orders, wallet
from bnpl_app.services.audit import run_audit
from bnpl_app.jobs.clock import advance
from bnpl_app.jobs.sweep import run_sweep
from bnpl_app.services.uploads import StoredFile

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
TRIAL = POLICY.trial_days_default
ODD_PRICE = 12_345  # 0.05 % of it is 6.1725 fen: the daily late fee has to be rounded
PROOF = StoredFile("0" * 32 + ".pdf", "application/pdf", 1234, "还款凭证.pdf")
TRACKING = "SF1234567890"

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
            u = auth.register(session=s, username=name or self._name("shopper"), password="password123",
                              display_name="T", clock=self.clock)
            u.real_name_verified = verified
            u.phone = "13800000000" if phone else None
            s.add(u)
            s.execute(sa.update(CreditAccount.__table__).where(CreditAccount.__table__.c.user_id == u.id).values(score=score))
            if wallet_fen:
                wallet.topup(session=s, uid=u.id, amount_fen=wallet_fen, clock=self.clock)
            if opened:
                consent.open_bnpl(session=s, uid=u.id, accept_terms=True, terms_version=POLICY.terms_version, clock=self.clock)
            return u.id

    def merchant(self, *, shop_cap_fen: int = POLICY.default_shop_cap_fen) -> int:
        """Returns the merchant id (not the user id)."""
        with transaction(self.engine) as s:
            u = auth.register(session=s, username=self._name("merchant"), password="password123", display_name="M",
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
            return auth.register(session=s, username=self._name("ops"), password="password123", display_name="O",
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

    def terms(self, product_id: int, plan: str = "full") -> checkout.Terms:
        """The quote a screen would show for ``plan`` of the product now."""
        with transaction(self.engine) as s:
            return checkout.Terms.of(s.get(Product, product_id), plan)

    def buy(self, uid: int, product_id: int, plan: str = "full", key: str | None = None) -> int:
        """Order as the confirm screen does: on the terms it shows (when the plan is offered; else
        without terms, for the refusal)."""
        with transaction(self.engine) as s:
            product = s.get(Product, product_id) if isinstance(product_id, int) else None
            terms = checkout.offered(product=product, plan=plan) if product is not None else None
            return checkout.checkout(session=s, uid=uid, product_id=product_id, plan=plan, terms=terms,
                                     idempotency_key=key or uuid.uuid4().hex, clock=self.clock).id

    def advance(self, **kw) -> None:
        advance(engine=self.engine, clock=self.clock, delta=timedelta(**kw))

    def audit_ok(self) -> None:
        with transaction(self.engine) as s:
            report = run_audit(session=s)
        assert report.ok, "\n".join(report.lines())

    def tx(self):
        return transaction(self.engine)


@pytest.fixture
def world() -> Iterator[World]:
    """A scratch platform on in-memory SQLite (the unit and state tiers import this fixture)."""
    w = World(memory_engine())
    yield w
    w.engine.dispose()


# ── a refusal changes nothing ───────────────────────────────────────────────────────────────────
def snapshot(engine: Engine, *, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, list[tuple]]:
    """Every row of every table (but the tables named in ``skip``), in primary-key order: compare
    before/after a refused action to prove it left nothing half-done."""
    out: dict[str, list[tuple]] = {}
    with engine.execution_options(readonly=True).connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out


def refused(world: World, exc_type: type[Exception], fn: Callable, *, key: str | None = None):
    """``fn(session)``, in a transaction of its own, must raise ``exc_type`` (with message ``key``
    when given) and leave the database as it was. Returns the error, for more checks."""
    before = snapshot(world.engine)
    with pytest.raises(exc_type) as e:
        with world.tx() as s:
            fn(s)
    if key is not None:
        assert e.value.key == key
    assert snapshot(world.engine) == before
    return e.value


# ── what a test reads back ──────────────────────────────────────────────────────────────────────
def acct(world: World, uid: int) -> CreditAccount:
    with world.tx() as s:
        return credit.account(session=s, uid=uid)


def insts(world: World, oid: int) -> list[Installment]:
    """An order's installments in the order they were made (a hardship plan's after the ones it replaced)."""
    with world.tx() as s:
        return list(s.exec(select(Installment).where(Installment.order_id == oid).order_by(Installment.id)))


def notes(world: World, uid: int, kind: str) -> list[Notification]:
    with world.tx() as s:
        return list(s.exec(select(Notification).where(Notification.user_id == uid, Notification.kind == kind)
                           .order_by(Notification.id)))


def order(world: World, oid: int) -> Order:
    with world.tx() as s:
        return s.get(Order, oid)


# ── what the other actors (and time) do, each in a transaction of its own ──────────────────────
def topup(world: World, uid: int, amount: int) -> None:
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=amount, clock=world.clock)


def add_card(world: World, uid: int, balance_fen: int = 0) -> int:
    with world.tx() as s:
        return wallet.add_card(session=s, uid=uid, bank="招商银行", last4="1234", balance_fen=balance_fen, clock=world.clock).id


def jump(world: World, days: float = 0, **kw) -> None:
    """Move the clock with one sweep at the end (a sweep that was down catches up). Used to cross
    stretches of days that a test is not about; ``world.advance`` runs every sweep in between."""
    world.clock.advance(timedelta(days=days, **kw))
    run_sweep(engine=world.engine, clock=world.clock)


class Bought(NamedTuple):
    uid: int  # the shopper
    oid: int  # the order
    p: int  # the product
    m: int  # the shop (merchant id)


def overdue_order(world: World, *, days: float = 0, price: int = ODD_PRICE, score: int = 700,
                  plan: str = "full") -> Bought:
    """A shopper with an empty wallet whose order has just failed its deduction at the end of the
    trial; then ``days`` more days crossed with one sweep at the end (``jump``)."""
    m = world.merchant()
    p = world.product(m, price_fen=price, trial_days=TRIAL)
    uid = world.shopper(score=score)
    oid = world.buy(uid, p, plan=plan)
    world.advance(days=TRIAL)
    if days:
        jump(world, days=days)
    return Bought(uid, oid, p, m)


def pay_off(world: World, uid: int) -> None:
    """The shopper tops up exactly what is owed and repays every open installment."""
    with world.tx() as s:
        open_ = [i for i in bills.billed_installments(session=s, uid=uid) if i.status in InstallmentStatus.OPEN]
        wallet.topup(session=s, uid=uid, amount_fen=sum(i.principal_fen + i.fee_fen + i.late_fee_fen for i in open_),
                     clock=world.clock)
        for i in open_:
            bills.repay(session=s, uid=uid, installment_id=i.id, clock=world.clock)


def return_parcel(world: World, uid: int, oid: int, tracking: str = TRACKING) -> int:
    """The shopper sends the order back; returns the return's id."""
    with world.tx() as s:
        return orders.request_return(session=s, uid=uid, order_id=oid, tracking_no=tracking, clock=world.clock).id


def receive_parcel(world: World, mid: int, rid: int) -> None:
    with world.tx() as s:
        orders.mark_received(session=s, merchant_id=mid, return_id=rid, clock=world.clock)


def restoration(world: World, uid: int, proofs=(PROOF,)) -> int:
    with world.tx() as s:
        return applications.apply_restoration(session=s, uid=uid, statement="已全部还清", proofs=list(proofs),
                                              clock=world.clock).id


def restoration_pending(world: World) -> tuple[int, int, int]:
    """A shopper whose limit was cut for being overdue, who then paid everything off and applied
    for it back: (shopper, the limit before the cut, the pending application)."""
    uid = overdue_order(world, days=POLICY.grace_days).uid
    previous = acct(world, uid).restorable_limit_fen
    pay_off(world, uid)
    return uid, previous, restoration(world, uid)


def hardship(world: World, uid: int, n: int = 6) -> int:
    with world.tx() as s:
        return applications.apply_hardship(session=s, uid=uid, reason_category="medical", statement="住院",
                                           proposed_installments=n, request_fee_waiver=True, proofs=[PROOF],
                                           clock=world.clock).id


class TwoShops:
    """Shop A and shop B, a shopper with money, an order in trial at each."""

    def __init__(self, world: World):
        self.w = world
        self.a = world.merchant()
        self.b = world.merchant()
        self.pa = world.product(self.a, price_fen=10_000)
        self.pb = world.product(self.b, price_fen=20_000)
        self.uid = world.shopper(wallet_fen=1_000_000)
        self.oa = world.buy(self.uid, self.pa)
        self.ob = world.buy(self.uid, self.pb)


# ── sessions, handlers and uploads, as a tab has them (the state tier; tests/state/conftest.py) ────
class _Wall:
    """Sessions expire by the wall clock, whatever the business clock says (as in the app)."""

    def now(self):
        from bnpl_app import runtime

        return runtime.WALL.now()


def session_token(world: World, uid: int) -> str:
    """A logged-in session of ``uid``, started without a password check (Argon2 is slow on purpose)."""
    with world.tx() as s:
        return auth.start_session(session=s, user=s.get(User, uid), clock=_Wall())


def post_auth(path: str, form: dict | list, *, address: str = "10.9.0.1", cookie: str | None = None,
              origin: str | None = "http://testserver", headers: dict | None = None):
    """A form posted to the app's HTTP log-in endpoints (``bnpl_app/auth_api.py``) as a browser at
    ``address`` posts it (``cookie``: the session cookie it holds); the answer is not followed."""
    import httpx

    from bnpl_app import auth_api

    sent = {"origin": origin} if origin else {}
    if cookie:
        sent["cookie"] = f"{auth.COOKIE}={cookie}"
    sent.update(headers or {})

    async def go():
        transport = httpx.ASGITransport(app=auth_api.api, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if isinstance(form, list):  # the same field twice, as a crafted body may send it
                from urllib.parse import urlencode

                return await client.post(path, content=urlencode(form).encode(), headers={
                    **sent, "content-type": "application/x-www-form-urlencoded"})
            return await client.post(path, data=form, headers=sent)

    return run(go())


def cookie_set(response) -> tuple[str | None, list[str]]:
    """The session cookie a response sets (None: none, "" when it clears it) and its attributes."""
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = [p.strip() for p in header.split(";")]
        name, _, value = first.partition("=")
        if name == auth.COOKIE:
            return value.strip('"'), [a.lower() for a in attrs]
    return None, []


def run(awaitable):
    """A coroutine (a state's handler, say) on an event loop of its own, in a worker thread:
    Playwright's sync API may have left a loop on the main thread. An async generator (a
    background handler that yields events) is run to its end; the events come back as a list."""
    async def drain():
        if hasattr(awaitable, "__anext__"):
            return [event async for event in awaitable]
        return await awaitable

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, drain()).result()


def background(state, handler: str, *args):
    """A background event as the app starts it: the handler's own function on the state (a direct
    call is refused by Reflex). Under pytest ``async with self`` holds no lock; pass it to ``run``."""
    return type(state).event_handlers[handler].fn(state, *args)


@pytest.fixture
def updir(tmp_path, monkeypatch) -> Path:
    """Uploaded files go to a scratch directory."""
    d = tmp_path / "uploads"
    monkeypatch.setenv("BNPL_UPLOAD_DIR", str(d))
    return d


def stored_files(updir: Path) -> list[str]:
    return sorted(p.name for p in updir.iterdir()) if updir.exists() else []


def upload(name: str, data: bytes):
    """A file as a browser's upload hands it to a handler."""
    import reflex as rx

    return rx.UploadFile(file=io.BytesIO(data), path=Path(name), size=len(data))


def png(width: int = 24, height: int = 16, rgb=(40, 90, 200)) -> bytes:
    """A real (decodable) PNG, so a browser can show it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sent(spec) -> dict:
    """What an event a handler returned tells the browser: ``rx.redirect`` → {"path": ...},
    ``rx.download`` → {"url": ..., "filename": ...}; {} for None."""
    if spec is None:
        return {}
    return {str(name._js_expr): getattr(value, "_var_value", value) for name, value in spec.args}


# ── the seeded demo, by username (the browser tiers) ───────────────────────────────────────────
def uid_of(engine: Engine, username: str) -> int:
    with reading(engine) as s:
        return s.execute(sa.select(User.id).where(User.username == username)).scalar_one()


def merchant_of(engine: Engine, username: str) -> int:
    """The merchant id of the shop whose user is ``username``."""
    with reading(engine) as s:
        return s.execute(sa.select(Merchant.id).join(User, User.id == Merchant.user_id)
                         .where(User.username == username)).scalar_one()
