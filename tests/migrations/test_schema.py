"""The migrations are the schema: ``python -m bnpl_app migrate`` on an empty database gives exactly
what the models in ``bnpl_app/models.py`` describe, on SQLite and on PostgreSQL, and the history
runs down to nothing and up again (with data on the way).

Two comparisons, because neither alone sees everything:
  * Alembic's own autogenerate comparison (``compare_metadata``: tables, columns, types, nullability,
    server defaults, indexes, unique constraints, foreign keys) between the migrated database and
    ``SQLModel.metadata`` must be empty: a model change without its migration fails here.
  * Alembic does not compare CHECK constraints, nor the predicate of a partial index; so the
    migrated database is also reflected and compared, fact by fact, with a database of the same
    kind made by ``create_all`` from the models.
Each comparison is also shown a deliberately wrong model and must see the difference, so an empty
result means "the same" rather than "not looked at"."""

from __future__ import annotations

import os
import pprint
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bnpl_app import migrate
from bnpl_app.db import create_schema, make_engine, reading
from bnpl_app.models import Installment, InstallmentStatus as IS, Order, OrderStatus as OS
from bnpl_app.services import merchant as merchant_service
from helpers import World

ROOT = Path(__file__).resolve().parents[2]
VERSION_TABLE = "alembic_version"


# ── how the schema is made and compared ────────────────────────────────────────────────────────
def cli_migrate(url: str) -> None:
    """``python -m bnpl_app migrate`` in a child process, exactly as a deployer runs it."""
    env = {**os.environ, "REFLEX_DB_URL": url}
    proc = subprocess.run([sys.executable, "-m", "bnpl_app", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"migrate exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def head() -> str:
    return ScriptDirectory.from_config(migrate.config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def model_diff(engine: Engine, metadata: sa.MetaData | None = None) -> list:
    """Alembic's autogenerate comparison of the database with the models (empty = no migration
    is missing)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(ctx, metadata if metadata is not None else SQLModel.metadata)


def _norm(text) -> str | None:
    return None if text is None else re.sub(r"\s+", " ", str(text)).strip()


def schema_facts(engine: Engine) -> dict[str, dict[str, list]]:
    """Everything reflection tells about each table, in a comparable form (sorted, whitespace
    normalised): columns with type, nullability and server default; primary key; foreign keys;
    unique constraints; indexes with their partial-index predicate; CHECK constraints."""
    insp = sa.inspect(engine)
    facts: dict[str, dict[str, list]] = {}
    for table in sorted(insp.get_table_names()):
        if table == VERSION_TABLE:
            continue
        facts[table] = {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], _norm(c["default"]))
                              for c in insp.get_columns(table)),
            "primary key": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
            "foreign keys": sorted((fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"],
                                    tuple(fk["referred_columns"]), repr(sorted(fk.get("options", {}).items())))
                                   for fk in insp.get_foreign_keys(table)),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]),
                               repr(sorted((k, _norm(v)) for k, v in ix.get("dialect_options", {}).items()
                                           if k.endswith("_where"))))
                              for ix in insp.get_indexes(table)),
            "checks": sorted((ck["name"] or "", _norm(ck["sqltext"])) for ck in insp.get_check_constraints(table)),
        }
    return facts


def facts_diff(got: dict, want: dict) -> list[str]:
    out = [f"table {t}: only in the migrated database" for t in sorted(got.keys() - want.keys())]
    out += [f"table {t}: missing from the migrated database" for t in sorted(want.keys() - got.keys())]
    for t in sorted(got.keys() & want.keys()):
        for kind in want[t]:
            extra = [x for x in got[t][kind] if x not in want[t][kind]]
            missing = [x for x in want[t][kind] if x not in got[t][kind]]
            out += [f"{t} {kind}: migrations have {x!r}, models do not" for x in extra]
            out += [f"{t} {kind}: models have {x!r}, migrations do not" for x in missing]
    return out


def assert_same_as_models(engine: Engine, reference: Engine) -> None:
    diff = model_diff(engine)
    assert diff == [], ("the migrated schema differs from the models (alembic compare_metadata):\n"
                        + pprint.pformat(diff))
    fdiff = facts_diff(schema_facts(engine), schema_facts(reference))
    assert fdiff == [], "the migrated schema differs from create_all of the models:\n" + "\n".join(fdiff)


def reference_engine(empty_db) -> Engine:
    """The models as ``create_all`` makes them, on an empty database of the same kind."""
    engine = make_engine(empty_db("reference"))
    create_schema(engine)
    return engine


def wrong_models() -> sa.MetaData:
    """A copy of the models with one of each kind of difference the comparisons must see."""
    md = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(md)
    inst, outbox, credit, orders = (md.tables[n] for n in ("installments", "outbox", "credit_accounts", "orders"))
    inst.c.was_overdue.server_default = None  # a server default
    orders.c.product_name.type = sa.String(81)  # a type
    orders.c.request_hash.nullable = True  # nullability
    inst.indexes.discard(next(ix for ix in inst.indexes if ix.name == "ix_inst_status_due"))  # an index
    inst.constraints.discard(next(fk for fk in inst.foreign_key_constraints  # a foreign key
                                  if fk.referred_table.name == "payment_methods"))
    sa.Table("not_migrated", md, sa.Column("id", sa.Integer, primary_key=True))  # a table
    # Seen by the reflected comparison only: a CHECK constraint and a partial-index predicate.
    credit.constraints.discard(next(c for c in credit.constraints if c.name == "ck_credit_autopay"))
    outbox.indexes.discard(next(ix for ix in outbox.indexes if ix.name == "ix_outbox_unsent"))
    sa.Index("ix_outbox_unsent", outbox.c.id, sqlite_where=sa.text("sent_at IS NOT NULL"),
             postgresql_where=sa.text("sent_at IS NOT NULL"))
    return md


# ── the tests ──────────────────────────────────────────────────────────────────────────────────
def test_one_linear_history():
    """One base, one head, no branches merged: ``migrate`` has one way to go."""
    script = ScriptDirectory.from_config(migrate.config("sqlite://"))
    assert script.get_bases() == ["0001"]
    assert script.get_heads() == [head()]
    revisions = list(script.walk_revisions())
    assert not [r.revision for r in revisions if r.is_merge_point or r.is_branch_point]
    assert len(revisions) == len(list(Path(script.versions).glob("[0-9]*.py")))


def test_migrate_from_empty_is_the_models_schema(empty_db):
    url = empty_db("migrated")
    cli_migrate(url)
    engine = make_engine(url)
    reference = reference_engine(empty_db)
    try:
        assert current_revision(engine) == head()
        assert_same_as_models(engine, reference)
        migrate.upgrade(url)  # start.sh migrates on every start: a second run changes nothing
        assert current_revision(engine) == head()
        assert model_diff(engine) == []
    finally:
        engine.dispose()
        reference.dispose()


def test_the_comparisons_see_a_difference(empty_db):
    """The same two comparisons against a deliberately wrong model: each difference is reported."""
    url = empty_db("migrated")
    migrate.upgrade(url)
    engine = make_engine(url)
    wrong = make_engine(empty_db("wrong"))
    md = wrong_models()
    try:
        diff = model_diff(engine, md)
        kinds = {(d[0][0] if isinstance(d, list) else d[0]) for d in diff}
        want = {"modify_default", "modify_type", "modify_nullable", "remove_index", "remove_fk", "add_table"}
        assert want <= kinds, pprint.pformat(diff)
        md.create_all(wrong)
        fdiff = "\n".join(facts_diff(schema_facts(engine), schema_facts(wrong)))
        for seen in ("ck_credit_autopay", "ix_outbox_unsent", "ix_inst_status_due", "not_migrated",
                     "was_overdue", "product_name", "request_hash", "payment_methods"):
            assert seen in fdiff, f"{seen} not reported:\n{fdiff}"
    finally:
        engine.dispose()
        wrong.dispose()


def _count(engine: Engine, model, where) -> int:
    with reading(engine) as s:
        return s.execute(sa.select(sa.func.count()).select_from(model).where(where)).scalar_one()


def _exposures(engine: Engine, shoppers: list[int], merchants: list[int]) -> dict[tuple[int, int], int]:
    with reading(engine) as s:
        got = {(u, m): merchant_service.shop_exposure(session=s, uid=u, merchant_id=m) for u in shoppers for m in merchants}
    return {k: v for k, v in got.items() if v}


def test_down_to_base_and_up_again(empty_db):
    """Upgrade, put orders in (held and billed), step down to 0001: its ``shop_exposure`` counters
    are rebuilt from those orders; back to head: the books are intact; down to base: nothing is
    left but Alembic's version table; up again: the models' schema."""
    url = empty_db("roundtrip")
    migrate.upgrade(url)
    engine = make_engine(url)
    world = World(engine)
    m1, m2 = world.merchant(), world.merchant()
    p1, p2 = world.product(m1, price_fen=30_000), world.product(m2, price_fen=12_000)
    shoppers = [world.shopper(wallet_fen=1_000_000), world.shopper()]
    world.buy(shoppers[0], p1, plan="3")
    world.buy(shoppers[1], p2, plan="6")
    world.advance(days=8)  # those trials end: billed in installments
    world.buy(shoppers[0], p2)
    world.buy(shoppers[1], p1, plan="3")  # these two are still in their trial
    assert _count(engine, Order, Order.status.in_(OS.HOLDING)) == 2
    assert _count(engine, Installment, Installment.status.in_(IS.OPEN)) >= 2
    want = _exposures(engine, shoppers, [m1, m2])
    assert len(want) == 4, want
    engine.dispose()

    command.downgrade(migrate.config(url), "0001")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT shopper_id, merchant_id, exposure_fen FROM shop_exposure")).all()
    assert {(u, m): e for u, m, e in rows if e} == want
    engine.dispose()

    migrate.upgrade(url)
    assert current_revision(engine) == head()
    assert _exposures(engine, shoppers, [m1, m2]) == want
    world.audit_ok()
    engine.dispose()

    command.downgrade(migrate.config(url), "base")
    assert sa.inspect(engine).get_table_names() == [VERSION_TABLE]
    assert current_revision(engine) is None
    engine.dispose()

    migrate.upgrade(url)
    reference = reference_engine(empty_db)
    try:
        assert current_revision(engine) == head()
        assert_same_as_models(engine, reference)
    finally:
        engine.dispose()
        reference.dispose()
