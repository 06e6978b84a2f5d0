"""Contracts of every kind on the screens the engine owns: a 备用金 draw and a rental of the demo
shopper alice (written on the app's database as the product services write them: tests/kinds.py)
are on her bills page, labelled by kind, and in the operator's risk overview and look-up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from browser_support import go, login
from helpers import World, add_card, merchant_of, uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.domain.money import yuan
from bnpl_app.jobs.clock import DbClock
from bnpl_app.models import CashLine
from bnpl_app.services import desk
from kinds import cash_draw, cash_line, rental

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def alice_borrows_and_rents(db):
    world = World(db, clock=DbClock(db))
    uid = uid_of(db, "alice")
    with world.tx() as s:
        if s.execute(sa.select(CashLine.id).where(CashLine.user_id == uid)).first() is not None:
            return uid  # arranged by the test before
    card = add_card(world, uid)
    cash_line(world, uid, line_fen=1_000_000)
    cash_draw(world, uid, amount=60_000, term=3, card=card)
    rental(world, uid, merchant_of(db, "shop_digital"), monthly=19_900, term=6, deposit=100_000)
    return uid


def test_alices_bills_show_her_cash_draw_and_rent_by_kind(page: Page, db, shot, alice_borrows_and_rents):
    login(page, "alice")
    go(page, routes.BILLS)
    rows = page.get_by_test_id("installment-row")
    expect(rows.filter(has_text="备用金借款").first).to_be_visible()
    expect(rows.filter(has_text="租金 · ").first).to_be_visible()
    expect(page.get_by_test_id("dry-run-row").filter(has_text="租金 · ").first).to_be_visible()
    shot(page, "bills-kinds")
    page.set_viewport_size(PHONE)
    go(page, routes.BILLS)
    expect(rows.filter(has_text="备用金借款").first).to_be_visible()
    shot(page, "bills-kinds-phone")


def test_the_operator_sees_cash_and_rental_exposure(page: Page, db, shot, alice_borrows_and_rents):
    login(page, "ops", lang="en")
    go(page, routes.OPS_RISK)
    with transaction(db) as s:  # platform-wide: alice's and the demo's borrowers and renters
        c, r = desk.cash_exposure(session=s), desk.rental_exposure(session=s)
    assert c.outstanding_fen >= 60_000 and r.held_fen >= 100_000
    expect(page.get_by_test_id("ops-risk-cash")).to_contain_text(yuan(c.outstanding_fen))
    expect(page.get_by_test_id("ops-risk-rental")).to_contain_text(yuan(r.held_fen))
    shot(page, "ops-risk-kinds")
    go(page, f"{routes.OPS_SHOPPERS}?uid={alice_borrows_and_rents}")
    expect(page.get_by_test_id("ops-shopper-cash")).to_contain_text("¥600.00")
    expect(page.get_by_test_id("ops-shopper-rental")).to_contain_text("¥1,000.00")
    page.set_viewport_size(PHONE)
    expect(page.get_by_test_id("ops-shopper-rental")).to_be_visible()
    shot(page, "ops-shopper-kinds-phone")
