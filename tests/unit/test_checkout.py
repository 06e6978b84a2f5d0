"""Checkout: ¥0 now, the price frozen, stock reserved, the previewed schedule stored exactly; one
order per idempotency key; every refusal leaves the database as it was."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers import START, refused, snapshot
from sqlmodel import select

from bnpl_app.domain.errors import Conflict, InsufficientLimit, NotEligible, NotFound, ValidationError
from bnpl_app.domain.money import bps_of, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
    OrderStatus as OS,
    PaymentMethod,
    Product,
)
from bnpl_app.services import checkout, credit, eligibility, merchant, schedule

PRICE = 29_900


def _checkout(world, uid, pid, plan="full", key=None):
    return lambda s: checkout.checkout(session=s, uid=uid, product_id=pid, plan=plan, idempotency_key=key or uuid.uuid4().hex,
                                       clock=world.clock)


def _installments(s, oid):
    return list(s.exec(select(Installment).where(Installment.order_id == oid).order_by(Installment.seq)))


@pytest.fixture
def shop(world):
    m = world.merchant()
    return m, world.product(m, price_fen=PRICE, stock=5, trial_days=POLICY.trial_days_default)


# ── the happy path ───────────────────────────────────────────────────────────────────────────


def test_checkout_costs_nothing_now_freezes_the_price_and_reserves_stock(world, shop):
    m, p = shop
    uid = world.shopper(wallet_fen=1_000)
    with world.tx() as s:
        limit = credit.account(session=s, uid=uid).limit_fen
        wallet_before = s.exec(select(PaymentMethod.balance_fen).where(PaymentMethod.user_id == uid)).one()
    oid = world.buy(uid, p)
    with world.tx() as s:
        order = s.get(Order, oid)
        acct = credit.account(session=s, uid=uid)
        assert order.status == OS.TRIAL and order.price_fen == PRICE and order.merchant_id == m
        assert order.created_at == world.clock.now()
        assert order.trial_end_at == world.clock.now() + timedelta(days=POLICY.trial_days_default)
        assert acct.frozen_fen == PRICE and acct.outstanding_fen == 0 and credit.available(acct) == limit - PRICE
        assert s.get(Product, p).stock == 4
        assert s.exec(select(PaymentMethod.balance_fen).where(PaymentMethod.user_id == uid)).one() == wallet_before
        assert merchant.shop_exposure(session=s, uid=uid, merchant_id=m) == PRICE
        assert [(e.step, e.amount_fen, e.at) for e in s.exec(select(OrderEvent).where(OrderEvent.order_id == oid))] == \
            [("frozen", PRICE, world.clock.now())]
    world.audit_ok()


def test_order_keeps_the_terms_it_was_made_with(world, shop):
    _, p = shop
    uid = world.shopper()
    oid = world.buy(uid, p, plan="3")
    with world.tx() as s:
        o = s.get(Order, oid)
    assert (o.fee_bps, o.late_fee_bps_per_day, o.late_fee_cap_bps, o.grace_days, o.platform_fee_bps) == (
        POLICY.installment_fee_bps, POLICY.late_fee_bps_per_day, POLICY.late_fee_cap_bps, POLICY.grace_days,
        POLICY.platform_fee_bps)


def test_stored_schedule_is_exactly_the_preview(world, subtests):
    m = world.merchant()
    uid = world.shopper()
    for interest_free in (False, True):
        p = world.product(m, price_fen=PRICE, trial_days=POLICY.trial_days_default, interest_free=interest_free)
        for plan in POLICY.plans:
            with subtests.test(plan=plan, interest_free=interest_free):
                with world.tx() as s:
                    _, preview = checkout.preview(session=s, uid=uid, product_id=p, plan=plan, clock=world.clock)
                oid = world.buy(uid, p, plan=plan)
                with world.tx() as s:
                    order = s.get(Order, oid)
                    stored = _installments(s, oid)
                assert [(i.seq, i.due_at, i.principal_fen, i.fee_fen) for i in stored] == \
                    [(q.seq, q.due_at, q.principal_fen, q.fee_fen) for q in preview.periods]
                n = POLICY.periods_of(plan)
                assert order.periods == n and all(i.periods == n for i in stored)
                assert all(i.status == IS.PENDING for i in stored)
                assert sum(i.principal_fen for i in stored) == PRICE
                assert stored[0].due_at == order.trial_end_at
                want_fee = 0 if plan == "full" or interest_free else bps_of(PRICE, POLICY.installment_fee_bps)
                assert all(i.fee_fen == want_fee for i in stored)
                assert preview.total_fee_fen == want_fee * n and preview.total_fen == PRICE + want_fee * n
                assert order.fee_bps == (0 if plan == "full" or interest_free else POLICY.installment_fee_bps)
    world.audit_ok()


def test_installment_fee_is_the_policy_rate_of_the_principal_each_period():
    sched = schedule.build(price_fen=100_000, plan="12", trial_end=START, interest_free=False)
    assert [p.fee_fen for p in sched.periods] == [bps_of(100_000, POLICY.installment_fee_bps)] * 12
    assert [p.due_at.month for p in sched.periods] == [11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert sched.first.total_fen == sched.periods[0].principal_fen + sched.periods[0].fee_fen


# ── idempotency ──────────────────────────────────────────────────────────────────────────────


def test_same_key_twice_makes_one_order_and_the_replay_returns_it(world, shop):
    _, p = shop
    uid = world.shopper()
    key = uuid.uuid4().hex
    first = world.buy(uid, p, key=key)
    before = snapshot(world.engine)
    second = world.buy(uid, p, key=key)
    assert second == first
    assert snapshot(world.engine) == before
    with world.tx() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one() == 1
        assert credit.account(session=s, uid=uid).frozen_fen == PRICE
    world.audit_ok()


def test_replay_returns_the_order_even_when_the_shopper_is_no_longer_eligible(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, stock=1)
    uid = world.shopper()
    key = uuid.uuid4().hex
    first = world.buy(uid, p, key=key)
    assert world.buy(uid, p, key=key) == first  # stock is now 0, yet the replay succeeds


@pytest.mark.parametrize("change", ["product", "plan", "shopper"])
def test_same_key_with_different_parameters_is_a_conflict(world, shop, change):
    m, p = shop
    other_p = world.product(m, price_fen=PRICE)
    uid = world.shopper()
    key = uuid.uuid4().hex
    world.buy(uid, p, plan="full", key=key)
    other_uid = world.shopper() if change == "shopper" else uid
    err = refused(world, Conflict, _checkout(world, other_uid, other_p if change == "product" else p,
                                              "3" if change == "plan" else "full", key))
    assert err.key == "checkout.key_reused"


def test_malformed_idempotency_keys_are_refused(world, shop, subtests):
    _, p = shop
    uid = world.shopper()
    for key in ["", "short", "x" * 65, "has space!", "../../etc", "键" * 10, "abcdefgh\n", None, 12345678, b"abcdefgh"]:
        with subtests.test(key=key):
            err = refused(world, ValidationError, lambda s: checkout.checkout(
                session=s, uid=uid, product_id=p, plan="full", idempotency_key=key, clock=world.clock))
            assert err.key == "checkout.bad_key"


# ── refusals ─────────────────────────────────────────────────────────────────────────────────


def test_plan_the_merchant_does_not_allow_is_refused(world):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    uid = world.shopper()
    err = refused(world, NotEligible, _checkout(world, uid, p, plan="12"))
    assert [f.rule for f in err.reasons] == ["plan"] and "12" in err.reasons[0].message("en")
    err = refused(world, ValidationError, lambda s: checkout.preview(session=s, uid=uid, product_id=p, plan="12",
                                                                       clock=world.clock))
    assert err.key == "elig.plan"


def test_plan_that_does_not_exist_is_refused(world, shop, subtests):
    _, p = shop
    uid = world.shopper()
    for plan in ["24", "", None, "FULL", 3, "full,3"]:
        with subtests.test(plan=plan):
            err = refused(world, ValidationError, _checkout(world, uid, p, plan=plan))
            assert err.key == "bad_choice" and err.field == "plan"


def test_unknown_or_non_int_product_id_is_not_found(world, shop, subtests):
    uid = world.shopper()
    for pid in [999_999, 0, -1, "1", 1.0, None, True, [1]]:
        with subtests.test(product_id=pid):
            err = refused(world, NotFound, _checkout(world, uid, pid))
            assert err.params["what"] == "product"


def test_refused_checkout_leaves_limit_stock_and_orders_untouched(world):
    m = world.merchant()
    band = POLICY.band_for(POLICY.platform_min_score)
    p = world.product(m, price_fen=band.start_limit_fen + 1)
    uid = world.shopper(score=band.low)
    refused(world, NotEligible, _checkout(world, uid, p))
    world.audit_ok()


# The database guards have the last word: if eligibility passed on a stale read, the guarded
# updates refuse and the whole checkout rolls back.

def _stale_eligibility(monkeypatch):
    def always_eligible(session, *, uid, product):
        return eligibility.Eligibility((), 10**9, product.price_fen)
    monkeypatch.setattr(eligibility, "check", always_eligible)


def test_stock_guard_refuses_when_the_last_item_went_meanwhile(world, monkeypatch):
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, stock=0)
    uid = world.shopper()
    _stale_eligibility(monkeypatch)
    err = refused(world, NotEligible, _checkout(world, uid, p))
    assert [f.rule for f in err.reasons] == ["stock"]


def test_shop_cap_guard_refuses_and_says_what_is_in_use(world, monkeypatch):
    cheap = 1_000
    m = world.merchant(shop_cap_fen=PRICE + cheap - 1)
    p, p_cheap = world.product(m, price_fen=PRICE), world.product(m, price_fen=cheap)
    uid = world.shopper()
    world.buy(uid, p_cheap)
    _stale_eligibility(monkeypatch)
    err = refused(world, NotEligible, _checkout(world, uid, p))
    (f,) = err.reasons
    assert f.rule == "shop_cap"
    assert f.params == {"cap": yuan(PRICE + cheap - 1), "used": yuan(cheap)}


def test_limit_guard_refuses_when_the_limit_was_used_meanwhile(world, monkeypatch):
    band = POLICY.band_for(POLICY.platform_min_score)
    m = world.merchant()
    p = world.product(m, price_fen=band.start_limit_fen + 1)
    uid = world.shopper(score=band.low)
    _stale_eligibility(monkeypatch)
    err = refused(world, InsufficientLimit, _checkout(world, uid, p))
    assert err.key == "checkout.limit_race"
