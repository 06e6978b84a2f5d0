"""The merchant console and the operator desk: settlement read from the money ledger, the CSV
export, per-product analytics, the returns desk, the operator's queue / look-up / risk buckets,
who may read an uploaded file. (The consoles' Reflex states are driven in tests/state.)"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from helpers import TwoShops, overdue_order, receive_parcel, return_parcel, session_token, snapshot
from sqlmodel import select

from bnpl_app.db import reading
from bnpl_app.domain.errors import NotFound, ValidationError
from bnpl_app.domain.money import bps_of
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Application, Order, OrderStatus as OS
from bnpl_app.services import applications as apps, auth, console, desk, merchant as merchant_svc, orders
from bnpl_app.services.uploads import StoredFile

TRIAL = POLICY.trial_days_default
DAY = timedelta(days=1)
PHOTO = ("b" * 32 + ".png", "image/png", 100)


# ── settlement ───────────────────────────────────────────────────────────────────────────────
def test_settlement_is_captured_principal_minus_the_platform_fee_by_day_and_matches_the_ledger(world):
    shops = TwoShops(world)
    world.buy(shops.uid, shops.pa)  # a second order at A, deducted the same day
    world.advance(days=TRIAL, hours=1)  # every trial ends, every deduction succeeds
    with reading(world.engine) as s:
        st = console.settlement(session=s, merchant_id=shops.a)
        other = console.settlement(session=s, merchant_id=shops.b)
    fee = bps_of(10_000, POLICY.platform_fee_bps)
    assert st.captured_fen == 20_000 and st.fees_fen == 2 * fee and st.refunds_fen == 0
    assert st.net_fen == 20_000 - 2 * fee == st.ledger_balance_fen
    assert [d.captures for d in st.days] == [2]
    assert other.captured_fen == 20_000 and other.net_fen == other.ledger_balance_fen  # B's money is B's
    world.audit_ok()


def test_settlement_of_installments_counts_principal_only_and_the_fees_go_to_the_platform(world):
    m = world.merchant()
    p = world.product(m, price_fen=30_000, plans="full,3")
    uid = world.shopper(wallet_fen=1_000_000)
    world.buy(uid, p, plan="3")
    world.advance(days=TRIAL, hours=1)
    with reading(world.engine) as s:
        st = console.settlement(session=s, merchant_id=m)
    assert st.captured_fen == 10_000  # first of three periods; its 0.6% fee is the platform's income
    assert st.fees_fen == bps_of(10_000, POLICY.platform_fee_bps)
    assert st.net_fen == st.ledger_balance_fen


def test_csv_export_has_the_daily_totals_and_defuses_spreadsheet_formulas(world):
    m = world.merchant()
    with world.tx() as s:
        pid = merchant_svc.create_product(session=s, merchant_id=m, name="=HYPERLINK(\"x\")", price_fen=12_345, stock=3,
                                          bnpl_enabled=True, clock=world.clock).id
    uid = world.shopper(wallet_fen=100_000)
    world.buy(uid, pid)
    world.advance(days=TRIAL, hours=1)
    with reading(world.engine) as s:
        text = console.settlement_csv(settlement=console.settlement(session=s, merchant_id=m), lines=console.orders(session=s, merchant_id=m), lang="en")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "captures", "captured", "platform_fee", "refunds", "net"]
    fee = bps_of(12_345, POLICY.platform_fee_bps)
    assert rows[1][1:] == ["1", "123.45", f"{fee // 100}.{fee % 100:02d}", "0.00",
                           f"{(12_345 - fee) // 100}.{(12_345 - fee) % 100:02d}"]
    order_row = next(r for r in rows if r and r[0].isdigit() and len(r) > 6)
    assert order_row[1].startswith("'=")  # a product name can never run as a formula


# ── analytics ────────────────────────────────────────────────────────────────────────────────
def test_rates_per_product_count_kept_returned_damaged_and_overdue(world):
    m = world.merchant()
    p = world.product(m, price_fen=10_000)
    rich = world.shopper(wallet_fen=1_000_000)
    broke = world.shopper(wallet_fen=0)
    kept = world.buy(rich, p)
    returned = world.buy(rich, p)
    damaged = world.buy(rich, p)
    late = world.buy(broke, p)
    r1, r2 = return_parcel(world, rich, returned), return_parcel(world, rich, damaged)
    receive_parcel(world, m, r1)
    receive_parcel(world, m, r2)
    with world.tx() as s:
        orders.accept_return(session=s, merchant_id=m, return_id=r1, clock=world.clock)
        orders.reject_return(session=s, merchant_id=m, return_id=r2, reason="进水", photos=[PHOTO], clock=world.clock)
    world.advance(days=TRIAL + 5)  # trials end: three kept (one of them unpaid → overdue)
    still = world.buy(rich, p)  # one in trial
    with reading(world.engine) as s:
        a = console.analytics(session=s, merchant_id=m, clock=world.clock)
        expo = sum(merchant_svc.shop_exposure(session=s, uid=u, merchant_id=m)
                   for u in set(s.exec(select(Order.shopper_id).where(Order.merchant_id == m))))
    r = a.total
    assert (r.orders, r.decided, r.kept, r.returned, r.inspected, r.damaged, r.overdue, r.in_trial) == (5, 4, 3, 1, 2, 1, 1, 1)
    assert r.keep == 750 and r.return_ == 250 and r.damaged_rate == 500 and r.overdue_rate == 333  # ‰
    assert console.fmt_rate(r.keep) == "75.0%" and console.fmt_rate(None) == "—"
    assert r.exposure_fen == expo == 20_000  # the overdue order's principal + the one in trial
    assert a.exposure[-1][1] == expo
    assert [pr.rates.orders for pr in a.products] == [5]
    assert sum(w.rates.orders for w in a.weeks) == 5
    assert kept and late and still


def test_rate_is_rounded_half_up_in_integers():
    assert console.rate_permille(2, 3) == 667
    assert console.rate_permille(1, 8) == 125
    assert console.rate_permille(0, 0) is None


# ── the returns desk and orders, scoped to one merchant ──────────────────────────────────────
def test_returns_desk_lists_parcels_to_inspect_first_with_their_deadline(world):
    shops = TwoShops(world)
    other = world.buy(shops.uid, shops.pa)
    r1 = return_parcel(world, shops.uid, shops.oa)
    r2 = return_parcel(world, shops.uid, other)
    receive_parcel(world, shops.a, r2)
    with reading(world.engine) as s:
        desk_a = console.returns_desk(session=s, merchant_id=shops.a)
        desk_b = console.returns_desk(session=s, merchant_id=shops.b)
        lines_a = console.orders(session=s, merchant_id=shops.a)
    assert [r.id for r in desk_a] == [r2, r1]
    assert desk_a[0].inspect_deadline_at == world.clock.now() + timedelta(days=POLICY.inspection_days)
    assert desk_b == []
    assert {o.id for o in lines_a} == {shops.oa, other}
    assert all(o.frozen_fen == 10_000 for o in lines_a)  # in trial or returning: still frozen


def test_merchant_a_cannot_change_merchant_b_products_or_returns_nothing_changes(world):
    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.ob)
    before = snapshot(world.engine)
    attempts = [
        lambda s: merchant_svc.update_product(session=s, merchant_id=shops.a, product_id=shops.pb, bnpl_enabled=False,
                                              clock=world.clock),
        lambda s: merchant_svc.edit_product(session=s, merchant_id=shops.a, product_id=shops.pb, price_fen=1, clock=world.clock),
        lambda s: orders.mark_received(session=s, merchant_id=shops.a, return_id=rid, clock=world.clock),
        lambda s: orders.accept_return(session=s, merchant_id=shops.a, return_id=rid, clock=world.clock),
        lambda s: orders.reject_return(session=s, merchant_id=shops.a, return_id=rid, reason="x", photos=[PHOTO],
                                       clock=world.clock),
        lambda s: orders.merchant_order(session=s, merchant_id=shops.a, order_id=shops.ob),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            with world.tx() as s:
                attempt(s)
    assert snapshot(world.engine) == before


def test_create_product_starts_with_bnpl_off_and_refuses_a_foreign_image_url(world):
    m = world.merchant()
    with world.tx() as s:
        p = merchant_svc.create_product(session=s, merchant_id=m, name="新品", price_fen=9_900, stock=5, clock=world.clock)
        assert (p.bnpl_enabled, p.trial_days, p.min_score, p.allowed_plans) == (
            False, POLICY.trial_days_default, POLICY.platform_min_score, "full")
    before = snapshot(world.engine)
    for bad in (dict(image="https://evil.example/x.png"), dict(image="/files/../bnpl.db"), dict(price_fen=0),
                dict(name=""), dict(stock=-1), dict(trial_days=31), dict(min_score=POLICY.platform_min_score - 1)):
        kw = dict(name="x", price_fen=100, stock=1) | bad
        with pytest.raises(ValidationError):
            with world.tx() as s:
                merchant_svc.create_product(session=s, merchant_id=m, clock=world.clock, **kw)
    assert snapshot(world.engine) == before


def test_turning_bnpl_off_leaves_the_order_in_trial_to_run_to_its_deduction(world):
    m = world.merchant()
    p = world.product(m, price_fen=10_000)
    uid = world.shopper(wallet_fen=100_000)
    oid = world.buy(uid, p)
    with world.tx() as s:
        merchant_svc.update_product(session=s, merchant_id=m, product_id=p, bnpl_enabled=False, clock=world.clock)
    world.advance(days=TRIAL, hours=1)
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.PAID


# ── the operator desk ────────────────────────────────────────────────────────────────────────
PROOF = StoredFile("c" * 32 + ".pdf", "application/pdf", 1234, "流水.pdf")
IMG = StoredFile("d" * 32 + ".png", "image/png", 99, "凭证.png")


def test_risk_buckets_split_overdue_by_days_with_amounts_and_counts(world):
    a = overdue_order(world, days=2, price=10_000).uid
    with reading(world.engine) as s:
        r = desk.risk(session=s, clock=world.clock)
    by = {b.key: b for b in r.buckets}
    assert [b.key for b in r.buckets] == ["1-3", "4-30", "31-90", "90+"]
    assert (by["1-3"].installments, by["1-3"].shoppers, by["1-3"].principal_fen) == (1, 1, 10_000)
    world.advance(days=40)
    with reading(world.engine) as s:
        r = desk.risk(session=s, clock=world.clock)
    by = {b.key: b for b in r.buckets}
    assert by["1-3"].installments == 0 and by["31-90"].installments == 1
    assert by["31-90"].owed_fen > 10_000  # late fees accrue on top of the principal
    assert r.bad_debts == []
    world.advance(days=50)
    with reading(world.engine) as s:
        r = desk.risk(session=s, clock=world.clock)
    assert {b.key: b.installments for b in r.buckets}["90+"] == 1
    assert [b.user_id for b in r.bad_debts] == [a] and r.bad_debts[0].days_overdue >= POLICY.bad_debt_after_days
    assert desk.bucket_of(3) == "1-3" and desk.bucket_of(4) == "4-30" and desk.bucket_of(30) == "4-30"
    assert desk.bucket_of(31) == "31-90" and desk.bucket_of(89) == "31-90" and desk.bucket_of(90) == "90+"


def test_review_queue_shows_the_applicant_summary_and_proofs_oldest_first(world):
    uid = overdue_order(world, days=POLICY.hardship_min_overdue_days, price=10_000).uid
    with world.tx() as s:
        apps.apply_hardship(session=s, uid=uid, reason_category="medical", statement="住院", proposed_installments=6,
                            request_fee_waiver=True, proofs=[PROOF, IMG], clock=world.clock)
    with reading(world.engine) as s:
        q = desk.review_queue(session=s, clock=world.clock)
        d = desk.application_detail(session=s, application_id=q[0].application.id, clock=world.clock)
        assert len(q) == 1 and q[0].application.kind == "hardship"
    assert q[0].shopper.max_days_overdue >= POLICY.hardship_min_overdue_days
    assert q[0].shopper.overdue_fen == q[0].shopper.owed_fen > 10_000
    assert [p.is_image for p in q[0].proofs] == [False, True]
    assert d.late_fees_fen == q[0].shopper.late_fees_fen > 0 and d.hardship_principal_fen == 10_000


def test_shopper_look_up_finds_shoppers_only_and_shows_their_postings(world):
    shops = TwoShops(world)
    with reading(world.engine) as s:
        user = s.exec(select(auth.User).where(auth.User.id == shops.uid)).one()
        found = desk.find_shoppers(session=s, query=user.username.upper())
        merchants = desk.find_shoppers(session=s, query="merchant")
        f = desk.shopper_file(session=s, uid=shops.uid, clock=world.clock)
        assert [u.id for u in found] == [shops.uid] and merchants == []
        assert {o.id for o in f.orders} == {shops.oa, shops.ob}
    assert {p.kind for p in f.postings} >= {"freeze"}
    assert f.summary.frozen_fen == 30_000
    with reading(world.engine) as s, pytest.raises(NotFound):
        desk.shopper_file(session=s, uid=world.merchant_user(shops.a), clock=world.clock)


# ── who may read an uploaded file ────────────────────────────────────────────────────────────
def test_files_are_served_only_to_the_owner_the_merchant_of_the_return_or_an_operator(world):
    from bnpl_app import files_api

    shops = TwoShops(world)
    stranger = world.shopper()
    ops = world.operator()
    rid = return_parcel(world, shops.uid, shops.oa)
    receive_parcel(world, shops.a, rid)
    with world.tx() as s:
        orders.reject_return(session=s, merchant_id=shops.a, return_id=rid, reason="进水", photos=[PHOTO], clock=world.clock)
        app = Application(shopper_id=shops.uid, kind="restoration", created_at=world.clock.now())
        s.add(app)
        s.flush()
        apps._add_proofs(s, app, [PROOF], world.clock.now())
    tok = {k: session_token(world, uid) for k, uid in (
        ("owner", shops.uid), ("stranger", stranger), ("ops", ops), ("mer_a", world.merchant_user(shops.a)),
        ("mer_b", world.merchant_user(shops.b)))}
    with reading(world.engine) as s:
        def may(name, who):
            return files_api.decide(s, stored_name=name, token=tok.get(who)) is not None

        assert [may(PHOTO[0], w) for w in ("owner", "mer_a", "ops", "stranger", "mer_b", None)] == \
            [True, True, True, False, False, False]
        assert [may(PROOF.stored_name, w) for w in ("owner", "ops", "stranger", "mer_a", None)] == \
            [True, True, False, False, False]
        assert not may("e" * 32 + ".png", "ops")  # nobody's file: same answer as a forbidden one
