"""The order is the quote: checkout places an order on exactly the terms the shopper saw
(``checkout.Terms``), stores them on the order, and otherwise refuses with ``TermsChanged`` —
naming what changed in both languages, carrying the new terms, and leaving the database as it was.
The idempotency key stands for the terms: the same key with other terms is a conflict, a replay
with the same terms returns the original order whatever the merchant changed since."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers import refused
from sqlmodel import select

from bnpl_app.domain.errors import Conflict, NotEligible, TermsChanged, ValidationError
from bnpl_app.domain.money import percent, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Installment, Order, OrderEvent, Product
from bnpl_app.services import checkout, eligibility, merchant

PRICE = 9_900
NEW_PRICE = 19_900


@pytest.fixture
def shop(world):
    m = world.merchant()
    return m, world.product(m, price_fen=PRICE, stock=5, trial_days=7, plans="full,3,6")


def _place(world, uid, pid, plan, terms, key=None):
    return lambda s: checkout.checkout(session=s, uid=uid, product_id=pid, plan=plan, terms=terms,
                                       idempotency_key=key or uuid.uuid4().hex, clock=world.clock)


def _edit(world, pid, **changes):
    """The merchant edits the product (price through edit_product, the rest through update_product)."""
    with world.tx() as s:
        p = s.get(Product, pid)
        price = changes.pop("price_fen", None)
        if price is not None:
            merchant.edit_product(session=s, merchant_id=p.merchant_id, product_id=pid, price_fen=price, clock=world.clock)
        if changes:
            merchant.update_product(session=s, merchant_id=p.merchant_id, product_id=pid, clock=world.clock, **changes)


def _counts(world) -> tuple[int, int, int]:
    with world.tx() as s:
        return tuple(s.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (Order, Installment, OrderEvent))


# ── the quote's form ─────────────────────────────────────────────────────────────────────────
def test_terms_have_exactly_the_agreed_json_form_and_read_back_equal(world, shop):
    _, p = shop
    terms = world.terms(p, "3")
    data = json.loads(terms.to_json())
    assert data == {
        "v": 1, "product_id": p, "price_fen": PRICE, "plan": "3", "trial_days": 7, "interest_free": False,
        "fee_bps": POLICY.installment_fee_bps, "late_fee_bps_per_day": POLICY.late_fee_bps_per_day,
        "late_fee_cap_bps": POLICY.late_fee_cap_bps, "grace_days": POLICY.grace_days,
        "periods": [{"seq": 1, "principal_fen": 3_300, "fee_fen": 59}, {"seq": 2, "principal_fen": 3_300, "fee_fen": 59},
                    {"seq": 3, "principal_fen": 3_300, "fee_fen": 59}],
    }
    assert terms.to_json() == json.dumps(data, sort_keys=True, separators=(",", ":"))  # sorted, compact
    assert checkout.Terms.from_json(terms.to_json()) == terms
    assert checkout.Terms.parse(data) == checkout.Terms.parse(terms) == terms


def test_an_interest_free_product_is_quoted_without_fees(world):
    m = world.merchant()
    p = world.product(m, price_fen=10_001, plans="12", interest_free=True)
    terms = world.terms(p, "12")
    assert (terms.interest_free, terms.fee_bps, terms.total_fee_fen) == (True, 0, 0)
    assert sum(x.principal_fen for x in terms.periods) == 10_001 and [x.seq for x in terms.periods] == list(range(1, 13))


@pytest.mark.parametrize("bad", [
    12, "", "not json", "[]", "{}", "x" * 5_000,
    {"v": 2}, "missing", "extra", "bool price", "float price", "negative", "plan not text", "no periods",
    "too many periods", "period key",
])
def test_malformed_terms_are_refused_before_anything_is_read(world, shop, bad):
    _, p = shop
    uid = world.shopper()
    good = world.terms(p, "3").as_dict()
    forged = {
        "missing": {k: v for k, v in good.items() if k != "grace_days"},
        "extra": {**good, "discount": 1},
        "bool price": {**good, "price_fen": True},
        "float price": {**good, "price_fen": 99.0},
        "negative": {**good, "price_fen": -1},
        "plan not text": {**good, "plan": 3},
        "no periods": {**good, "periods": []},
        "too many periods": {**good, "periods": good["periods"] * 5},
        "period key": {**good, "periods": [{"seq": 1, "principal_fen": 1}]},
    }.get(bad, bad) if isinstance(bad, str) else ({**good, **bad} if isinstance(bad, dict) else bad)
    err = refused(world, ValidationError, _place(world, uid, p, "3", forged))
    assert err.key == "checkout.bad_terms" and err.text("zh") != err.text("en")


def test_terms_of_another_product_or_plan_are_refused(world, shop):
    m, p = shop
    other = world.product(m, price_fen=PRICE, plans="full,3,6")
    uid = world.shopper()
    refused(world, ValidationError, _place(world, uid, p, "3", world.terms(other, "3")), key="checkout.bad_terms")
    refused(world, ValidationError, _place(world, uid, p, "3", world.terms(p, "6")), key="checkout.bad_terms")


# ── the order is the quote ───────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("plan", ["full", "3", "6"])
def test_the_order_stores_the_quote_it_was_confirmed_on_and_its_installments_are_the_quotes_periods(world, shop, plan):
    _, p = shop
    uid = world.shopper()
    terms = world.terms(p, plan)
    with world.tx() as s:
        oid = _place(world, uid, p, plan, terms.to_json())(s).id
    with world.tx() as s:
        o = s.get(Order, oid)
        insts = list(s.exec(select(Installment).where(Installment.order_id == oid).order_by(Installment.seq)))
    assert checkout.Terms.from_json(o.quote_json) == terms and o.quote_json == terms.to_json()
    assert (o.price_fen, o.plan, o.fee_bps, o.late_fee_bps_per_day, o.late_fee_cap_bps, o.grace_days) == (
        terms.price_fen, terms.plan, terms.fee_bps, terms.late_fee_bps_per_day, terms.late_fee_cap_bps, terms.grace_days)
    assert [(i.seq, i.principal_fen, i.fee_fen) for i in insts] == [(x.seq, x.principal_fen, x.fee_fen) for x in terms.periods]
    # the first deduction: the moment of confirming + the trial, to the second
    assert o.created_at == world.clock.now() and o.trial_end_at == o.created_at + timedelta(days=terms.trial_days)
    assert insts[0].due_at == o.trial_end_at
    world.audit_ok()


def test_an_order_placed_without_terms_stores_the_terms_on_offer(world, shop):
    _, p = shop
    uid = world.shopper()
    with world.tx() as s:
        oid = checkout.checkout(session=s, uid=uid, product_id=p, plan="6", idempotency_key=uuid.uuid4().hex,
                                clock=world.clock).id
    with world.tx() as s:
        stored = s.get(Order, oid).quote_json
    assert stored == world.terms(p, "6").to_json()


# ── changed terms: refused, told, shown the new ones, nothing made ───────────────────────────
CHANGES = {
    "price": (dict(price_fen=NEW_PRICE), "3",
              ("价格由 ¥99.00 变为 ¥199.00", "the price changed from ¥99.00 to ¥199.00")),
    "trial days": (dict(trial_days=14), "3", ("试用期由 7 天变为 14 天", "the trial changed from 7 to 14 days")),
    "interest-free": (dict(interest_free=True), "3",
                      ("现已免息", f"the fee per period changed from {percent(POLICY.installment_fee_bps)} to 0%")),
    "plan withdrawn": (dict(allowed_plans="full,6"), "3",
                       ("商家已不再提供您选择的付款方案", "the merchant no longer offers the payment plan you chose")),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_changed_terms_are_refused_naming_the_change_in_both_languages_with_the_new_terms(world, shop, what):
    edit, plan, (zh, en) = CHANGES[what]
    _, p = shop
    uid = world.shopper()
    shown = world.terms(p, plan)
    _edit(world, p, **edit)
    before = _counts(world)
    err = refused(world, TermsChanged, _place(world, uid, p, plan, shown.to_json()), key="checkout.terms_changed")
    assert isinstance(err, Conflict) and _counts(world) == before == (0, 0, 0)
    assert zh in err.text("zh") and en in err.text("en")
    assert "条款" in err.text("zh") and "terms changed" in err.text("en")
    if what == "plan withdrawn":
        assert err.terms is None
    else:
        assert err.terms == world.terms(p, plan) != shown
        # confirming the new terms orders on them
        with world.tx() as s:
            o = _place(world, uid, p, plan, err.terms)(s)
            assert o.quote_json == err.terms.to_json() and o.price_fen == err.terms.price_fen
        world.audit_ok()


def test_a_changed_late_fee_rule_is_named_with_its_new_numbers(world, shop):
    _, p = shop
    uid = world.shopper()
    with world.tx() as s:
        old_policy = dataclasses.replace(POLICY, late_fee_bps_per_day=10, late_fee_cap_bps=3_000, grace_days=5)
        shown = checkout.Terms.of(s.get(Product, p), "3", policy=old_policy)
    err = refused(world, TermsChanged, _place(world, uid, p, "3", shown))
    grace, rate, cap = POLICY.grace_days, percent(POLICY.late_fee_bps_per_day), percent(POLICY.late_fee_cap_bps)
    assert f"宽限 {grace} 天，之后按逾期本金每日 {rate}，累计不超过 {cap}" in err.text("zh")
    assert f"{grace} days' grace, then {rate} of the overdue principal per day, at most {cap}" in err.text("en")


def test_a_price_and_trial_change_together_are_both_named(world, shop):
    _, p = shop
    shown = world.terms(p, "full")
    _edit(world, p, price_fen=NEW_PRICE, trial_days=3)
    err = refused(world, TermsChanged, _place(world, world.shopper(), p, "full", shown))
    assert [k for k, _ in err.changes] == ["quote.changed.price", "quote.changed.trial_days"]
    assert err.what("en") == ["the price changed from ¥99.00 to ¥199.00", "the trial changed from 7 to 3 days"]


def test_a_forged_cheaper_price_is_refused_and_never_ordered(world, shop):
    _, p = shop
    uid = world.shopper()
    forged = dataclasses.replace(world.terms(p, "full"), price_fen=1,
                                 periods=(checkout.TermsPeriod(1, 1, 0),))
    err = refused(world, TermsChanged, _place(world, uid, p, "full", forged.as_dict()))
    assert err.terms.price_fen == PRICE and err.what("en") == ["the price changed from ¥0.01 to ¥99.00"]


def test_a_merchant_edit_committed_after_the_terms_were_read_loses_to_the_product_row(world, shop, monkeypatch):
    """On PostgreSQL a price edit can commit between checkout's read of the product and its stock
    update: the guarded update refuses, and the refusal names the change (nothing is made)."""
    _, p = shop
    uid = world.shopper()
    shown = world.terms(p, "full")
    real_check = eligibility.check

    def edit_meanwhile(*, session, uid, product):
        out = real_check(session=session, uid=uid, product=product)
        session.execute(sa.update(Product.__table__).where(Product.__table__.c.id == p).values(price_fen=NEW_PRICE))
        return out

    monkeypatch.setattr(eligibility, "check", edit_meanwhile)
    err = refused(world, TermsChanged, _place(world, uid, p, "full", shown))
    assert err.terms == dataclasses.replace(shown, price_fen=NEW_PRICE,
                                            periods=(checkout.TermsPeriod(1, NEW_PRICE, 0),))
    assert _counts(world) == (0, 0, 0)


def test_unchanged_terms_still_meet_every_other_guard(world, shop):
    _, p = shop
    uid = world.shopper(verified=False)
    err = refused(world, NotEligible, _place(world, uid, p, "3", world.terms(p, "3")))
    assert "real_name" in [r.rule for r in err.reasons]
    _edit(world, p, bnpl_enabled=False)  # not a change of terms: a rule of eligibility
    err = refused(world, NotEligible, _place(world, world.shopper(), p, "3", world.terms(p, "3")))
    assert [r.rule for r in err.reasons] == ["product_off"]


# ── the idempotency key stands for the terms ─────────────────────────────────────────────────
def test_the_same_key_with_other_terms_is_a_conflict(world, shop):
    _, p = shop
    uid = world.shopper()
    key = uuid.uuid4().hex
    first = world.terms(p, "full")
    with world.tx() as s:
        _place(world, uid, p, "full", first, key)(s)
    _edit(world, p, price_fen=NEW_PRICE)
    err = refused(world, Conflict, _place(world, uid, p, "full", world.terms(p, "full"), key))
    assert err.key == "checkout.key_reused" and not isinstance(err, TermsChanged)
    assert err.text("zh") != err.text("en")


def test_a_replay_with_the_same_terms_returns_the_original_order_even_after_the_product_changed(world, shop):
    _, p = shop
    uid = world.shopper()
    key = uuid.uuid4().hex
    terms = world.terms(p, "3")
    with world.tx() as s:
        oid = _place(world, uid, p, "3", terms, key)(s).id
    _edit(world, p, price_fen=NEW_PRICE, allowed_plans="full")
    before = _counts(world)
    with world.tx() as s:
        assert _place(world, uid, p, "3", terms.to_json(), key)(s).id == oid
    assert _counts(world) == before
    world.audit_ok()


# ── what changed, as words ───────────────────────────────────────────────────────────────────
def test_changes_between_equal_terms_are_none_and_every_difference_is_named(world, shop):
    _, p = shop
    t = world.terms(p, "3")
    assert checkout.changes(t, t) == []
    assert checkout.changes(t, dataclasses.replace(t, periods=tuple(reversed(t.periods)))) == [("quote.changed.schedule", {})]
    assert checkout.changes(t, dataclasses.replace(t, interest_free=True, fee_bps=0)) == [
        ("quote.changed.interest_free_on", {}), ("quote.changed.fee", {"old": "0.6%", "new": "0%"})]
    assert checkout.changes(t, dataclasses.replace(t, price_fen=1)) == [
        ("quote.changed.price", {"old": yuan(PRICE), "new": yuan(1)})]
