"""Bills: monthly statements, manual repayment and its refusals, early repayment of everything left
(fees of periods not yet started waived, exactly as quoted) and the auto-repay settings."""

from __future__ import annotations

from datetime import datetime

import pytest
from helpers import insts, refused, topup

from bnpl_app.domain.clock import UTC, add_months
from bnpl_app.domain.errors import InsufficientFunds, InvalidTransition, NotFound, ValidationError
from bnpl_app.domain.money import bps_of, split_even, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import InstallmentStatus as IS, Order, OrderStatus as OS, PaymentMethod
from bnpl_app.services import bills, credit, payments, wallet

TRIAL = POLICY.trial_days_default
PRICE = 90_001


def wallet_of(world, uid: int) -> PaymentMethod:
    with world.tx() as s:
        return wallet.wallet_of(session=s, uid=uid)


@pytest.fixture
def shop(world):
    m = world.merchant()
    return world.product(m, price_fen=PRICE, plans="full,3,6,12")


# ── statements ───────────────────────────────────────────────────────────────────────────────
def test_statements_group_billed_installments_by_month_in_china_time(world, shop):
    uid = world.shopper(wallet_fen=2 * PRICE)
    oid = world.buy(uid, shop, plan="3")
    with world.tx() as s:
        assert bills.billed_installments(session=s, uid=uid) == []  # nothing is billed during the trial
    world.advance(days=TRIAL)
    trial_end = insts(world, oid)[0].due_at
    with world.tx() as s:
        rows = bills.billed_installments(session=s, uid=uid)
        months = [bills.statement_month(i.due_at) for i in rows]
    assert [i.seq for i in rows] == [1, 2, 3]
    assert months == [bills.statement_month(add_months(trial_end, k)) for k in range(3)]
    assert len(set(months)) == 3 and months == sorted(months)
    assert trial_end.month != add_months(trial_end, 1).month
    # The month is China's: 20:00 UTC on the last day of November is already December in Beijing.
    assert bills.statement_month(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)) == "2026-12"
    assert bills.statement_month(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == "2026-11"
    world.audit_ok()


# ── manual repayment ─────────────────────────────────────────────────────────────────────────
def test_manual_repay_pays_an_overdue_installment_and_closes_the_order(world, shop):
    uid = world.shopper()
    oid = world.buy(uid, shop)
    world.advance(days=TRIAL + 1)
    [i] = insts(world, oid)
    assert i.status == IS.OVERDUE
    topup(world, uid, PRICE + 5)
    with world.tx() as s:
        cap = bills.repay(session=s, uid=uid, installment_id=i.id, expected_fen=PRICE, clock=world.clock)
    assert cap.amount_fen == PRICE
    [i] = insts(world, oid)
    assert i.status == IS.PAID and i.paid_fen == PRICE and i.paid_at == world.clock.now()
    assert wallet_of(world, uid).balance_fen == 5
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.PAID
        assert credit.account(session=s, uid=uid).outstanding_fen == 0
    world.audit_ok()


def test_manual_repay_of_a_scheduled_installment_before_its_due_date(world, shop):
    uid = world.shopper(wallet_fen=PRICE * 2)
    oid = world.buy(uid, shop, plan="3")
    world.advance(days=TRIAL + 1)
    second = insts(world, oid)[1]
    assert second.status == IS.SCHEDULED
    with world.tx() as s:
        bills.repay(session=s, uid=uid, installment_id=second.id, clock=world.clock)
    paid_at = world.clock.now()
    rows = insts(world, oid)
    assert [i.status for i in rows] == [IS.PAID, IS.PAID, IS.SCHEDULED]
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.DUE
    world.advance(days=70)  # the sweep takes the third, never the paid second again
    rows = insts(world, oid)
    assert rows[1].paid_at == paid_at and [i.status for i in rows] == [IS.PAID] * 3
    world.audit_ok()


def test_repaying_another_shoppers_installment_is_not_found_and_changes_nothing(world, shop):
    owner = world.shopper()
    other = world.shopper(wallet_fen=PRICE * 2)
    oid = world.buy(owner, shop)
    world.advance(days=TRIAL)
    [i] = insts(world, oid)
    refused(world, NotFound,
            lambda s: bills.repay(session=s, uid=other, installment_id=i.id, clock=world.clock), key="not_found")
    refused(world, NotFound,
            lambda s: bills.repay(session=s, uid=other, installment_id=10**9, clock=world.clock), key="not_found")
    refused(world, NotFound,
            lambda s: bills.repay(session=s, uid=owner, installment_id=str(i.id), clock=world.clock), key="not_found")


def test_repay_with_someone_elses_payment_method_is_not_found(world, shop):
    owner = world.shopper()
    other = world.shopper(wallet_fen=PRICE * 2)
    oid = world.buy(owner, shop)
    world.advance(days=TRIAL)
    [i] = insts(world, oid)
    theirs = wallet_of(world, other).id
    refused(world, NotFound,
            lambda s: bills.repay(session=s, uid=owner, installment_id=i.id, method_id=theirs, clock=world.clock),
            key="not_found")


def test_repay_refuses_an_amount_that_is_not_what_is_owed_and_changes_nothing(world, shop):
    uid = world.shopper()
    oid = world.buy(uid, shop)
    world.advance(days=TRIAL)
    topup(world, uid, PRICE * 3)
    [i] = insts(world, oid)
    for wrong in (PRICE + 1, PRICE - 1, 2 * PRICE):  # more than owed, less, and twice
        err = refused(world, ValidationError,
                      lambda s: bills.repay(session=s, uid=uid, installment_id=i.id, expected_fen=wrong, clock=world.clock),
                      key="bill.amount_mismatch")
        assert err.params["owed"] == yuan(PRICE)


def test_repay_with_a_stale_amount_after_a_late_fee_is_refused(world, shop):
    uid = world.shopper()
    oid = world.buy(uid, shop)
    world.advance(days=TRIAL)
    shown = PRICE  # what the bills page showed before the late fees started
    world.advance(days=POLICY.grace_days + 2)
    [i] = insts(world, oid)
    assert i.late_fee_fen > 0
    topup(world, uid, PRICE * 2)
    refused(world, ValidationError,
            lambda s: bills.repay(session=s, uid=uid, installment_id=i.id, expected_fen=shown, clock=world.clock),
            key="bill.amount_mismatch")
    with world.tx() as s:
        bills.repay(session=s, uid=uid, installment_id=i.id, expected_fen=PRICE + i.late_fee_fen, clock=world.clock)
    world.audit_ok()


def test_repay_refuses_a_paid_installment_and_a_method_that_cannot_cover_it(world, shop):
    uid = world.shopper(wallet_fen=PRICE)
    oid = world.buy(uid, shop)
    world.advance(days=TRIAL)
    [i] = insts(world, oid)
    assert i.status == IS.PAID
    refused(world, InvalidTransition,
            lambda s: bills.repay(session=s, uid=uid, installment_id=i.id, clock=world.clock), key="bill.not_open")

    poor = world.shopper()
    oid = world.buy(poor, shop)
    world.advance(days=TRIAL)
    [i] = insts(world, oid)
    topup(world, poor, PRICE - 1)
    refused(world, InsufficientFunds,
            lambda s: bills.repay(session=s, uid=poor, installment_id=i.id, clock=world.clock), key="bill.insufficient")


# ── early repayment ──────────────────────────────────────────────────────────────────────────
def test_early_repay_waives_exactly_the_fees_of_periods_not_yet_started(world, shop):
    uid = world.shopper(score=720, wallet_fen=2 * PRICE)
    oid = world.buy(uid, shop, plan="6")
    world.advance(days=TRIAL + 1)  # period 1 paid at trial end; period 2 runs from then on
    fee = bps_of(PRICE, POLICY.installment_fee_bps)
    rows = insts(world, oid)
    assert rows[0].status == IS.PAID and rows[0].paid_fen == split_even(PRICE, 6)[0] + fee
    unstarted = rows[2:]  # each period starts at the previous due date; 3..6 start in the future

    with world.tx() as s:
        quote = bills.early_quote(session=s, uid=uid, order_id=oid, clock=world.clock)
    assert quote.saving_fen == fee * len(unstarted)
    assert set(quote.unstarted_ids) == {i.id for i in unstarted}
    owed_now = sum(i.principal_fen + i.fee_fen for i in rows[1:])
    assert quote.total_fen == owed_now - quote.saving_fen

    balance = wallet_of(world, uid).balance_fen
    with world.tx() as s:
        bills.early_repay(session=s, uid=uid, order_id=oid, expected_fen=quote.total_fen, clock=world.clock)
    rows = insts(world, oid)
    assert all(i.status == IS.PAID for i in rows)
    assert rows[1].fee_waived_fen == 0 and rows[1].paid_fen == rows[1].principal_fen + fee
    assert all(i.fee_waived_fen == fee and i.paid_fen == i.principal_fen for i in rows[2:])
    assert balance - wallet_of(world, uid).balance_fen == quote.total_fen
    assert sum(i.paid_fen for i in rows[1:]) == quote.total_fen
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.PAID
        assert credit.account(session=s, uid=uid).outstanding_fen == 0
    world.audit_ok()


def test_early_repay_with_a_stale_quote_is_refused_and_changes_nothing(world, shop):
    uid = world.shopper(score=720, wallet_fen=2 * PRICE)
    oid = world.buy(uid, shop, plan="3")
    world.advance(days=TRIAL + 1)
    with world.tx() as s:
        quote = bills.early_quote(session=s, uid=uid, order_id=oid, clock=world.clock)
    refused(world, ValidationError,
            lambda s: bills.early_repay(session=s, uid=uid, order_id=oid, expected_fen=quote.total_fen + 1, clock=world.clock),
            key="bill.amount_mismatch")
    other = world.shopper(wallet_fen=2 * PRICE)
    refused(world, NotFound,
            lambda s: bills.early_repay(session=s, uid=other, order_id=oid, clock=world.clock), key="not_found")


def test_early_quote_of_an_order_in_trial_or_paid_says_nothing_is_owed(world, shop):
    uid = world.shopper(wallet_fen=2 * PRICE)
    oid = world.buy(uid, shop)
    with world.tx() as s, pytest.raises(InvalidTransition) as e:
        bills.early_quote(session=s, uid=uid, order_id=oid, clock=world.clock)
    assert e.value.key == "bill.nothing_owed"
    world.advance(days=TRIAL)
    with world.tx() as s, pytest.raises(InvalidTransition):
        bills.early_quote(session=s, uid=uid, order_id=oid, clock=world.clock)


# ── auto-repay settings ──────────────────────────────────────────────────────────────────────
@pytest.fixture
def two_methods(world):
    uid = world.shopper()
    with world.tx() as s:
        card = wallet.add_card(session=s, uid=uid, bank="招商银行", last4="1234", clock=world.clock).id
        wid = wallet.wallet_of(session=s, uid=uid).id
    return uid, wid, card


def test_set_autopay_saves_the_method_order_and_days_before(world, two_methods):
    uid, wid, card = two_methods
    with world.tx() as s:
        bills.set_autopay(session=s, uid=uid, days_before=POLICY.autopay_days_before_max, method_order=[card, wid],
                          clock=world.clock)
    with world.tx() as s:
        assert [m.id for m in payments.methods_in_order(session=s, uid=uid)] == [card, wid]
        assert credit.account(session=s, uid=uid).autopay_days_before == POLICY.autopay_days_before_max


@pytest.mark.parametrize("days", [-1, POLICY.autopay_days_before_max + 1, True, "1", 1.0, None])
def test_set_autopay_refuses_days_before_outside_the_range(world, two_methods, days):
    uid, wid, card = two_methods
    err = refused(world, ValidationError,
                  lambda s: bills.set_autopay(session=s, uid=uid, days_before=days, method_order=[wid, card], clock=world.clock),
                  key="autopay.days_range")
    assert err.params["max"] == POLICY.autopay_days_before_max


@pytest.mark.parametrize("order", ["missing", "duplicate", "foreign", "extra", "not_a_list", "strings", "bools",
                                   "mixed", "none", "nested"])
def test_set_autopay_refuses_a_method_order_that_is_not_a_permutation_of_own_methods(world, two_methods, order):
    uid, wid, card = two_methods
    theirs = wallet_of(world, world.shopper()).id
    method_order = {
        "missing": [card],
        "duplicate": [card, card],
        "foreign": [card, theirs],
        "extra": [card, wid, theirs],
        "not_a_list": f"{card},{wid}",
        "strings": [str(card), str(wid)],
        "bools": [card, True],  # True == 1 == the wallet's id here: only the type check can refuse it
        "mixed": [card, str(wid)],
        "none": [card, None],
        "nested": [card, [wid]],
    }[order]
    assert wid == 1
    refused(world, ValidationError,
            lambda s: bills.set_autopay(session=s, uid=uid, days_before=1, method_order=method_order, clock=world.clock),
            key="autopay.order")
