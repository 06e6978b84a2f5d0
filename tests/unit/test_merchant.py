"""Merchant settings: product 先用后付 settings are validated and only the owner may change them;
turning 先用后付 off stops new checkouts but not orders already in trial; the shop's cap per
shopper is enforced at checkout."""

from __future__ import annotations

import pytest
from helpers import refused, snapshot
from sqlmodel import select

from bnpl_app.domain.errors import NotEligible, NotFound, ValidationError
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Installment, InstallmentStatus as IS, Order, OrderStatus as OS, Product
from bnpl_app.services import merchant, orders

TRIAL = POLICY.trial_days_default
PRICE = 10_000


def product(world, pid: int) -> Product:
    with world.tx() as s:
        return s.get(Product, pid)


def update(world, mid: int, pid: int, **kw) -> Product:
    with world.tx() as s:
        return merchant.update_product(session=s, merchant_id=mid, product_id=pid, clock=world.clock, **kw)


@pytest.fixture
def shop(world):
    mid = world.merchant()
    return mid, world.product(mid, price_fen=PRICE, plans="full")


# ── update_product ───────────────────────────────────────────────────────────────────────────
def test_merchant_updates_the_bnpl_settings_of_a_product(world, shop):
    mid, pid = shop
    update(world, mid, pid, bnpl_enabled=False, trial_days=POLICY.trial_days_max, min_score=POLICY.score_max,
           allowed_plans=["12", "full", "3"], interest_free=True, stock=0)
    p = product(world, pid)
    assert (p.bnpl_enabled, p.trial_days, p.min_score, p.allowed_plans, p.interest_free, p.stock) == (
        False, POLICY.trial_days_max, POLICY.score_max, "full,3,12", True, 0)
    update(world, mid, pid, allowed_plans="6, full")
    assert product(world, pid).allowed_plans == "full,6"


@pytest.mark.parametrize("field,value,key", [
    ("trial_days", POLICY.trial_days_min - 1, "merchant.trial_days"),
    ("trial_days", POLICY.trial_days_max + 1, "merchant.trial_days"),
    ("trial_days", True, "merchant.trial_days"),
    ("trial_days", "7", "merchant.trial_days"),
    ("min_score", POLICY.platform_min_score - 1, "merchant.min_score"),
    ("min_score", POLICY.score_max + 1, "merchant.min_score"),
    ("min_score", 600.0, "merchant.min_score"),
    ("allowed_plans", "", "merchant.plans"),
    ("allowed_plans", "2", "merchant.plans"),
    ("allowed_plans", ["full", "24"], "merchant.plans"),
    ("allowed_plans", 3, "merchant.plans"),
    ("stock", -1, "merchant.stock"),
    ("stock", 100_001, "merchant.stock"),
    ("stock", "5", "merchant.stock"),
    ("bnpl_enabled", "false", "bad_choice"),  # what a browser may send: bool("false") would be True
    ("interest_free", "no", "bad_choice"),
    ("interest_free", 1, "bad_choice"),
])
def test_update_product_refuses_invalid_settings_and_changes_nothing(world, shop, field, value, key):
    mid, pid = shop
    # A valid change in the same call must not be half-applied either.
    kw = {"bnpl_enabled": False, "trial_days": POLICY.trial_days_max, field: value}
    refused(world, ValidationError,
            lambda s: merchant.update_product(session=s, merchant_id=mid, product_id=pid, clock=world.clock, **kw), key=key)
    assert product(world, pid).bnpl_enabled and product(world, pid).trial_days == TRIAL


def test_a_merchant_cannot_change_another_merchants_product(world, shop):
    _, pid = shop
    rival = world.merchant()
    for target in (pid, 10**6, str(pid), True):
        refused(world, NotFound,
                lambda s: merchant.update_product(session=s, merchant_id=rival, product_id=target, bnpl_enabled=False,
                                                  clock=world.clock), key="not_found")


# ── turning 先用后付 off ───────────────────────────────────────────────────────────────────────
def test_turning_bnpl_off_refuses_new_checkouts_but_the_order_in_trial_runs_to_its_deduction(world, shop):
    mid, pid = shop
    uid = world.shopper(wallet_fen=PRICE)
    oid = world.buy(uid, pid)
    update(world, mid, pid, bnpl_enabled=False, trial_days=POLICY.trial_days_max)

    before = snapshot(world.engine)
    with pytest.raises(NotEligible) as e:
        world.buy(uid, pid)
    assert [f.rule for f in e.value.reasons] == ["product_off"]
    assert snapshot(world.engine) == before

    world.advance(days=TRIAL)  # the order keeps the trial it was made with
    with world.tx() as s:
        o = s.get(Order, oid)
        [i] = s.exec(select(Installment).where(Installment.order_id == oid)).all()
    assert o.status == OS.PAID and i.status == IS.PAID and i.paid_fen == PRICE
    world.audit_ok()


def test_an_order_in_trial_can_still_be_returned_after_bnpl_is_turned_off(world, shop):
    mid, pid = shop
    uid = world.shopper()
    oid = world.buy(uid, pid)
    update(world, mid, pid, bnpl_enabled=False)
    with world.tx() as s:
        ret = orders.request_return(session=s, uid=uid, order_id=oid, tracking_no="SF12345678", clock=world.clock)
        orders.mark_received(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
        orders.accept_return(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.RETURNED
    world.audit_ok()


# ── the shop's cap per shopper ───────────────────────────────────────────────────────────────
def test_shop_cap_per_shopper_is_enforced_at_checkout(world):
    first = PRICE * 6 // 10
    mid = world.merchant(shop_cap_fen=PRICE + first - 1)
    cheap = world.product(mid, price_fen=first)
    pid = world.product(mid, price_fen=PRICE)
    elsewhere = world.product(world.merchant(), price_fen=PRICE)
    uid = world.shopper(score=720)
    world.buy(uid, cheap)

    before = snapshot(world.engine)
    with pytest.raises(NotEligible) as e:
        world.buy(uid, pid)
    [fail] = e.value.reasons
    assert fail.rule == "shop_cap"
    assert (fail.params["cap"], fail.params["used"]) == (yuan(PRICE + first - 1), yuan(first))
    assert snapshot(world.engine) == before

    world.buy(uid, elsewhere)  # another shop has its own cap
    world.buy(world.shopper(score=720), pid)  # and the cap is per shopper
    world.audit_ok()


def test_shop_cap_refused_by_the_guarded_update_reports_what_is_in_use(world, monkeypatch):
    from bnpl_app.services import eligibility

    first = PRICE * 6 // 10
    mid = world.merchant(shop_cap_fen=PRICE + first - 1)
    cheap = world.product(mid, price_fen=first)
    pid = world.product(mid, price_fen=PRICE)
    uid = world.shopper(score=720)
    world.buy(uid, cheap)
    real = eligibility.check

    def stale(session, *, uid, product):  # as if the first order had not been seen yet
        e = real(session=session, uid=uid, product=product)
        return eligibility.Eligibility(tuple(f for f in e.failures if f.rule != "shop_cap"), e.available_fen,
                                       e.price_fen)

    monkeypatch.setattr(eligibility, "check", stale)
    before = snapshot(world.engine)
    with pytest.raises(NotEligible) as e:
        world.buy(uid, pid)
    assert snapshot(world.engine) == before
    [fail] = e.value.reasons
    assert fail.rule == "shop_cap" and fail.params["used"] == yuan(first)


def test_raising_the_shop_cap_lets_the_shopper_order_again(world):
    mid = world.merchant(shop_cap_fen=PRICE)
    pid = world.product(mid, price_fen=PRICE)
    uid = world.shopper(score=720)
    world.buy(uid, pid)
    with pytest.raises(NotEligible):
        world.buy(uid, pid)
    with world.tx() as s:
        merchant.set_shop_cap(session=s, merchant_id=mid, cap_fen=PRICE * 2)
        assert merchant.shop_cap(session=s, merchant_id=mid) == PRICE * 2
    world.buy(uid, pid)
    world.audit_ok()


def test_shop_cap_counts_what_is_still_owed_after_the_trial(world):
    mid = world.merchant(shop_cap_fen=PRICE)
    pid = world.product(mid, price_fen=PRICE)
    uid = world.shopper(score=720)
    world.buy(uid, pid)
    world.advance(days=TRIAL)  # not paid: outstanding at this shop
    with pytest.raises(NotEligible) as e:
        world.buy(uid, pid)
    assert "shop_cap" in [f.rule for f in e.value.reasons]
    world.audit_ok()


@pytest.mark.parametrize("cap", [-1, "100", 1.5, True])
def test_shop_cap_must_be_an_amount(world, cap):
    mid = world.merchant()
    before = snapshot(world.engine)
    with pytest.raises(ValidationError), world.tx() as s:
        merchant.set_shop_cap(session=s, merchant_id=mid, cap_fen=cap)
    assert snapshot(world.engine) == before
