"""Eligibility: ALL rules must pass, and each failing rule is named with a message and a hint
saying what the shopper can do. Each scenario below breaks exactly one rule."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from helpers import snapshot

from bnpl_app.domain.errors import NotEligible
from bnpl_app.domain.messages import has
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import BNPL_SUSPENDED, PaymentMethod
from bnpl_app.services import checkout, consent, credit, eligibility
from bnpl_app.services.checkout import get_product

PRICE = 10_000


def _check(world, uid, pid):
    with world.tx() as s:
        return eligibility.check(session=s, uid=uid, product=get_product(session=s, product_id=pid))


def _setup(world, **product_kw):
    m = world.merchant(shop_cap_fen=product_kw.pop("shop_cap_fen", POLICY.default_shop_cap_fen))
    return m, world.product(m, **({"price_fen": PRICE} | product_kw))


def _real_name(world):
    _, p = _setup(world)
    return world.shopper(verified=False), p


def _phone(world):
    _, p = _setup(world)
    return world.shopper(phone=False), p


def _payment_method(world):
    _, p = _setup(world)
    uid = world.shopper()
    # No service unbinds the wallet every sign-up gets; take it away directly.
    with world.tx() as s:
        s.execute(sa.delete(PaymentMethod.__table__).where(PaymentMethod.__table__.c.user_id == uid))
    return uid, p


def _platform_score(world):
    _, p = _setup(world, min_score=POLICY.platform_min_score)
    uid = world.shopper(score=POLICY.platform_min_score)
    with world.tx() as s:  # opened at the minimum, then the score fell below it
        credit.change_score(session=s, uid=uid, delta=-1, reason="test", at=world.clock.now())
    return uid, p


def _product_score(world):
    _, p = _setup(world, min_score=POLICY.platform_min_score + 100)
    return world.shopper(score=POLICY.platform_min_score + 99), p


def _not_opened(world):
    _, p = _setup(world)
    return world.shopper(opened=False), p


def _closed(world):
    _, p = _setup(world)
    uid = world.shopper()
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    return uid, p


def _suspended(world):
    _, p = _setup(world)
    uid = world.shopper()
    with world.tx() as s:
        credit.set_limit(session=s, uid=uid, new_limit=0, reason="test", at=world.clock.now())
        credit.set_status(session=s, uid=uid, status=BNPL_SUSPENDED, reason="test", at=world.clock.now())
    return uid, p


def _product_off(world):
    _, p = _setup(world, bnpl=False)
    return world.shopper(), p


def _limit(world):
    band = POLICY.band_for(POLICY.platform_min_score)
    _, p = _setup(world, price_fen=band.start_limit_fen + 1)
    return world.shopper(score=band.low), p


def _shop_cap(world):
    _, p = _setup(world, shop_cap_fen=PRICE - 1)
    return world.shopper(), p


def _stock(world):
    _, p = _setup(world, stock=0)
    return world.shopper(), p


SCENARIOS = {
    "real_name": (_real_name, "elig.real_name"),
    "phone": (_phone, "elig.phone"),
    "payment_method": (_payment_method, "elig.payment_method"),
    "platform_score": (_platform_score, "elig.platform_score"),
    "product_score": (_product_score, "elig.product_score"),
    "status:not_opened": (_not_opened, "elig.not_opened"),
    "status:closed": (_closed, "elig.closed"),
    "status:suspended": (_suspended, "elig.suspended"),
    "product_off": (_product_off, "elig.product_off"),
    "limit": (_limit, "elig.limit"),
    "shop_cap": (_shop_cap, "elig.shop_cap"),
    "stock": (_stock, "elig.stock"),
}


# Every scenario builds its own merchant, product and shopper, so they share one world.

def test_each_rule_failing_alone_is_named_with_a_message_and_a_hint(world, subtests):
    for name, (build, key) in SCENARIOS.items():
        with subtests.test(rule=name):
            uid, p = build(world)
            elig = _check(world, uid, p)
            rule = name.split(":")[0]
            assert not elig.eligible
            assert elig.rules == [rule]
            (failure,) = elig.failures
            assert failure.key == key and has(key) and has(key + ".hint")
            for lang in ("zh", "en"):
                msg, hint = failure.message(lang), failure.hint(lang)
                assert msg and hint and "{" not in msg + hint, (lang, msg, hint)
                assert msg in failure.text(lang) and hint in failure.text(lang)


def test_checkout_refuses_with_the_same_single_rule_and_changes_nothing(world, subtests):
    for name, (build, key) in SCENARIOS.items():
        with subtests.test(rule=name):
            uid, p = build(world)
            before = snapshot(world.engine)
            with pytest.raises(NotEligible) as e:
                with world.tx() as s:
                    checkout.checkout(session=s, uid=uid, product_id=p, plan="full", idempotency_key=uuid.uuid4().hex,
                                      clock=world.clock)
            assert [f.key for f in e.value.reasons] == [key]
            assert e.value.text("zh") == e.value.reasons[0].text("zh")
            assert snapshot(world.engine) == before


def test_refusal_messages_carry_the_numbers(world):
    uid, p = _platform_score(world)
    (f,) = _check(world, uid, p).failures
    assert f.params == {"score": POLICY.platform_min_score - 1, "min": POLICY.platform_min_score}
    uid, p = _product_score(world)
    (f,) = _check(world, uid, p).failures
    assert f.params == {"score": POLICY.platform_min_score + 99, "min": POLICY.platform_min_score + 100}
    uid, p = _limit(world)
    (f,) = _check(world, uid, p).failures
    band = POLICY.band_for(POLICY.platform_min_score)
    assert f.message("en") == f"available limit ¥{band.start_limit_fen // 100:,}.00 is less than the price " \
                              f"¥{(band.start_limit_fen + 1) // 100:,}.{(band.start_limit_fen + 1) % 100:02d}"


def test_every_rule_failing_is_named_at_once(world):
    m = world.merchant(shop_cap_fen=PRICE - 1)
    p = world.product(m, price_fen=PRICE, bnpl=False, stock=0, min_score=POLICY.platform_min_score + 100)
    uid = world.shopper(score=POLICY.platform_min_score - 1, opened=False, verified=False, phone=False)
    elig = _check(world, uid, p)
    assert set(elig.rules) == {"real_name", "phone", "platform_score", "product_score", "status", "product_off",
                               "shop_cap", "stock"}


def test_shopper_meeting_every_rule_is_eligible(world):
    _, p = _setup(world)
    band = POLICY.band_for(POLICY.platform_min_score + 100)
    uid = world.shopper(score=band.low)
    elig = _check(world, uid, p)
    assert elig.eligible and elig.failures == () and elig.rules == []
    assert elig.price_fen == PRICE and elig.available_fen == band.start_limit_fen


def test_exact_limit_and_exact_shop_cap_are_enough(world):
    band = POLICY.band_for(POLICY.platform_min_score)
    m = world.merchant(shop_cap_fen=band.start_limit_fen)
    p = world.product(m, price_fen=band.start_limit_fen, min_score=band.low)
    uid = world.shopper(score=band.low)
    assert _check(world, uid, p).eligible
    world.buy(uid, p)
    elig = _check(world, uid, p)
    assert set(elig.rules) == {"limit", "shop_cap"} and elig.available_fen == 0
    world.audit_ok()


def test_shop_cap_counts_only_this_shops_exposure(world):
    m1 = world.merchant(shop_cap_fen=PRICE)
    m2 = world.merchant(shop_cap_fen=PRICE)
    p1, p1b, p2 = world.product(m1, price_fen=PRICE), world.product(m1, price_fen=PRICE), world.product(m2, price_fen=PRICE)
    uid = world.shopper()
    world.buy(uid, p1)
    assert _check(world, uid, p1b).rules == ["shop_cap"]
    assert _check(world, uid, p2).eligible
    world.audit_ok()
