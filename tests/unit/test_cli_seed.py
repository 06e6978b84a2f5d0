"""The admin commands, run as ``bnpl_app.cli.main([...])`` against a scratch SQLite file named by
``REFLEX_DB_URL``: migrate, the demo seed (exactly the situations of TESTIDS.md), its idempotent
``--if-empty``, moving the demo clock, and the audit's exit code.

Seeding runs 60 simulated days, so it runs once (through the CLI) and each test gets a copy of
that database under its own file name (``engine_for`` caches one engine per URL)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers import snapshot
from sqlmodel import select

from bnpl_app import cli
from bnpl_app.db import make_engine, reading, transaction
from bnpl_app.domain.clock import aware
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    BNPL_ACTIVE,
    BNPL_NOT_OPENED,
    BNPL_SUSPENDED,
    CreditAccount,
    Installment,
    InstallmentStatus as IS,
    Merchant,
    PaymentMethod,
    Product,
    SimClock,
    SweepRun,
    User,
)
from bnpl_app.services.audit import run_audit
from bnpl_app.domain.rules import days_overdue


def url_of(path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database made by ``migrate`` then ``seed-demo --if-empty``, through the CLI."""
    path = tmp_path_factory.mktemp("seed") / "template.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REFLEX_DB_URL", url_of(path))
        mp.setenv("BNPL_DEMO", "1")
        assert cli.main(["migrate"]) == 0
        assert cli.main(["seed-demo", "--if-empty"]) == 0  # an empty database gets the demo
    return path


@pytest.fixture
def db(seeded, tmp_path, monkeypatch):
    """A private copy of the seeded database; REFLEX_DB_URL points at it. Yields an engine on it."""
    path = tmp_path / "copy.db"
    src, dst = sqlite3.connect(seeded), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    monkeypatch.setenv("REFLEX_DB_URL", url_of(path))
    monkeypatch.setenv("BNPL_DEMO", "1")
    engine = make_engine(url_of(path))
    yield engine
    engine.dispose()


def people(engine) -> dict[str, tuple[User, CreditAccount | None, list[PaymentMethod]]]:
    with transaction(engine) as s:
        out = {}
        for u in s.exec(select(User)):
            acct = s.exec(select(CreditAccount).where(CreditAccount.user_id == u.id)).first()
            methods = list(s.exec(select(PaymentMethod).where(PaymentMethod.user_id == u.id)
                                  .order_by(PaymentMethod.priority)))
            out[u.username] = (u, acct, methods)
        return out


def wallet_of(methods: list[PaymentMethod]) -> int:
    return next(m.balance_fen for m in methods if m.kind == "wallet")


def run(*argv: str) -> int:
    """The exit code, also when argparse itself refuses the arguments."""
    try:
        return cli.main(list(argv))
    except SystemExit as e:
        return e.code


def sim_now(engine):
    with reading(engine) as s:
        return aware(s.execute(sa.select(SimClock.now)).scalar_one())


# ── seed-demo: the TESTIDS situations ────────────────────────────────────────────────────────
def test_seed_demo_creates_the_shoppers_of_testids(db):
    p = people(db)
    assert {n for n, (u, _, _) in p.items() if u.role == "shopper"} == {"alice", "bob", "carol", "dave", "erin", "fiona",
                                                                       "gina", "rita", "rex"}

    _, alice, methods = p["alice"]
    assert (alice.score, alice.limit_fen, alice.bnpl_status) == (720, 500_000, BNPL_ACTIVE)
    assert wallet_of(methods) == 300_000 and [m.kind for m in methods].count("card") == 1

    _, bob, methods = p["bob"]
    assert (bob.score, bob.limit_fen, bob.bnpl_status) == (580, 50_000, BNPL_ACTIVE)
    assert bob.limit_fen == POLICY.start_limit(bob.score) and wallet_of(methods) == 80_000

    _, carol, methods = p["carol"]
    assert carol.score == 640 and wallet_of(methods) == 0
    now = sim_now(db)
    with transaction(db) as s:
        overdue = list(s.exec(select(Installment).where(Installment.shopper_id == carol.user_id,
                                                        Installment.status == IS.OVERDUE)))
    assert len(overdue) == 1 and days_overdue(overdue[0].due_at, now) == 10

    _, dave, _ = p["dave"]
    assert (dave.score, dave.limit_fen, dave.bnpl_status) == (600, 0, BNPL_SUSPENDED)
    with transaction(db) as s:
        dave_insts = list(s.exec(select(Installment).where(Installment.shopper_id == dave.user_id)))
    assert dave_insts and all(i.status == IS.PAID for i in dave_insts) and dave.outstanding_fen == 0
    assert max(days_overdue(i.due_at, i.paid_at) for i in dave_insts) >= POLICY.suspend_after_days

    assert p["erin"][1].score == 510 < POLICY.platform_min_score
    _, fiona, _ = p["fiona"]
    assert (fiona.score, fiona.bnpl_status) == (690, BNPL_NOT_OPENED)

    _, gina, _ = p["gina"]  # 备用金: a line and one draw being repaid, months 1 and 2 paid
    with transaction(db) as s:
        from bnpl_app.services import cash

        line = cash.line_of(session=s, uid=gina.user_id)
        (draw, order, insts), = cash.draws_of(session=s, uid=gina.user_id)
    assert line.line_fen == POLICY.cash_line_for(gina.score) and line.outstanding_fen == 400_000
    assert [i.status for i in insts] == [IS.PAID] * 2 + [IS.SCHEDULED] * 4


def test_seed_demo_creates_the_merchants_and_the_operator(db):
    p = people(db)
    assert p["ops"][0].role == "operator"
    assert p["shop_fashion"][0].role == p["shop_digital"][0].role == "merchant"
    with transaction(db) as s:
        def products(username):
            m = s.exec(select(Merchant).join(User, User.id == Merchant.user_id).where(User.username == username)).one()
            return list(s.exec(select(Product).where(Product.merchant_id == m.id)))

        fashion, digital = products("shop_fashion"), products("shop_digital")
    on = [x for x in fashion if x.bnpl_enabled]
    assert len(on) > len(fashion) / 2 and all(x.trial_days == 7 for x in on)
    assert all(x.min_score == 650 and x.trial_days == 15 for x in digital)
    assert sum(not x.bnpl_enabled for x in digital) == 1


def test_the_seeded_database_passes_the_audit(db):
    with reading(db) as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())


def test_seed_demo_if_empty_is_idempotent_and_plain_seed_refuses_a_seeded_database(db, capsys):
    before = snapshot(db)
    assert cli.main(["seed-demo", "--if-empty"]) == 0
    assert "already" in capsys.readouterr().out
    assert snapshot(db) == before
    assert cli.main(["seed-demo"]) == 1
    assert snapshot(db) == before


# ── advance-clock ────────────────────────────────────────────────────────────────────────────
def test_advance_clock_moves_the_demo_clock_and_runs_the_sweep(db, capsys):
    start = sim_now(db)
    with transaction(db) as s:
        runs = s.execute(sa.select(sa.func.count()).select_from(SweepRun)).scalar_one()
        carol = s.execute(sa.select(User.id).where(User.username == "carol")).scalar_one()
        carol_before = s.exec(select(Installment).where(Installment.status == IS.OVERDUE,
                                                        Installment.shopper_id == carol)).one()
    assert cli.main(["advance-clock", "36h"]) == 0
    assert "clock now" in capsys.readouterr().out
    moved = sim_now(db) - start
    # The demo clock runs at wall speed between advances: allow the seconds this test took.
    assert timedelta(hours=36) <= moved < timedelta(hours=36, minutes=5)
    with transaction(db) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(SweepRun)).scalar_one() > runs
        carol_after = s.get(Installment, carol_before.id)
    assert carol_after.attempts > carol_before.attempts  # retried daily
    assert carol_after.late_fee_fen > carol_before.late_fee_fen  # and a day's late fee more
    with reading(db) as s:
        assert run_audit(session=s).ok


@pytest.mark.parametrize("bad", ["36", "h", "1.5h", "-1h", "10y", "99999w"])
def test_advance_clock_with_a_bad_duration_exits_2_and_changes_nothing(db, capsys, bad):
    before = snapshot(db)
    assert run("advance-clock", bad) == 2
    assert capsys.readouterr().err.strip()
    after = snapshot(db)
    # The demo clock's row may have been read (and created) but nothing moved.
    assert after == before


def test_advance_clock_outside_demo_mode_exits_2_and_changes_nothing(db, monkeypatch):
    monkeypatch.setenv("BNPL_DEMO", "0")
    before = snapshot(db)
    assert run("advance-clock", "1d") == 2
    assert snapshot(db) == before


# ── audit ────────────────────────────────────────────────────────────────────────────────────
def test_audit_exits_0_on_a_clean_database_and_1_after_tampering(db, capsys):
    assert cli.main(["audit"]) == 0
    assert "audit: clean" in capsys.readouterr().out
    with db.begin() as conn:
        conn.execute(sa.update(PaymentMethod.__table__).where(PaymentMethod.__table__.c.kind == "wallet")
                     .values(balance_fen=PaymentMethod.__table__.c.balance_fen + 1))
    assert cli.main(["audit"]) == 1
    out = capsys.readouterr().out
    assert "FAIL payment-method balances = journal" in out and "VIOLATIONS" in out


def test_migrate_is_repeatable_on_a_migrated_database(db):
    before = snapshot(db)
    assert cli.main(["migrate"]) == 0
    assert snapshot(db) == before


def test_seed_demo_has_devices_for_rent_a_renter_mid_term_and_one_overdue_enough_to_negotiate(db):
    from bnpl_app.models import FreezeState, Rental, RentalListing, RentalStatus
    from bnpl_app.services import applications, rental
    from bnpl_app.domain.clock import FixedClock

    now = sim_now(db)
    with reading(db) as s:
        shops = set(s.execute(sa.select(RentalListing.merchant_id).distinct()).scalars())
        assert len(shops) == 2  # both demo shops list devices
        by = {u: s.execute(sa.select(Rental).join(User, User.id == Rental.shopper_id).where(User.username == u))
              .scalar_one() for u in ("rita", "rex")}
        rita, rex = by["rita"], by["rex"]
        assert (rita.status, rita.freeze_state, rita.paid_deposit_fen) == (RentalStatus.RENTING, FreezeState.HELD, 0)
        rents = list(s.exec(select(Installment).where(Installment.order_id == rita.order_id)))
        assert 0 < sum(i.status == IS.PAID for i in rents) < rita.term_months  # some rent paid, mid-term
        assert rex.paid_deposit_fen > 0 and rex.waived_fen > 0  # half paid, half held
        late = [i for i in s.exec(select(Installment).where(Installment.order_id == rex.order_id))
                if i.status == IS.OVERDUE]
        assert late and days_overdue(late[0].due_at, now) >= POLICY.hardship_min_overdue_days
        assert applications.hardship_eligible(session=s, uid=rex.shopper_id, clock=FixedClock(now))
        assert rental.held_fen(session=s, uid=rita.shopper_id) == rita.waived_fen
