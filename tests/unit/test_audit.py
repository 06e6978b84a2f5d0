"""The consistency audit: a world made by the real services passes; each kind of tampering with
the tables or the journal is caught, by the check that owns it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bnpl_app.domain.money import bps_of
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (CreditAccount, Installment, InstallmentStatus as IS, Merchant, Order, PaymentMethod, Posting,
                             Rental)
from bnpl_app.services import bills, ledger, orders
from bnpl_app.services.audit import run_audit
from bnpl_app.services.ledger import EXT_FUNDING, MONEY, PLAT_SERVICE_FEE, mer, pm
from helpers import acct, add_card

TRIAL = POLICY.trial_days_default
PRICE = 10_000

IDENTITY = "limit = available + frozen + outstanding, available ≥ 0, columns = journal"
ONCE = "no installment is paid twice; each payment matches its capture"
METHODS = "payment-method balances = journal"
SETTLEMENT = "merchant settlement = captured − platform fees − refunds"
QUOTES = "every order's principal, fees and schedule equal the quote confirmed for it"
ANNOUNCED = ("every automatic capture was announced ≥ 1 day(s) before, with the amount taken "
             "(or the rule that changed it)")
FAILURES = "every failed attempt has its notice (one per installment per day)"
CONSENT = "no order was created while the shopper's 先用后付 was not active"
FEE_CAP = "late fees never exceed the cap of the order's terms"
PROMISES = {QUOTES, ANNOUNCED, FAILURES, CONSENT, FEE_CAP}
POSTINGS = "every posting balances (two legs, positive amount, one ledger per key)"
REFUNDS = "every refunded order's refunds equal its captures (one ref: posting per refunded installment)"
CASH_LINES = "备用金 line = available + outstanding, available ≥ 0, columns = journal = draws"
CASH_INTEREST = "备用金 interest never above the APR cap"
RENTAL_FREEZES = "every rental freeze resolved at most once; deposits held = paid − refunded − repairs"
KINDS = {CASH_LINES, CASH_INTEREST, RENTAL_FREEZES}  # checked when there are 备用金 lines and rentals (test_kinds.py)


@pytest.fixture
def busy(world):
    """Orders in every state: paid, overdue, in trial, returned, paid during the trial, paid during
    the trial and returned (refunded)."""
    mid = world.merchant()
    p = world.product(mid, price_fen=PRICE, plans="full,3")
    payer = world.shopper(wallet_fen=5 * PRICE)
    late = world.shopper()
    world.buy(payer, p)
    world.buy(payer, p, plan="3")
    world.buy(late, p)
    world.advance(days=TRIAL + POLICY.grace_days + 1)
    trial = world.buy(payer, p)
    returned = world.buy(late, p)
    early = world.buy(payer, p)
    with world.tx() as s:
        ret = orders.request_return(session=s, uid=late, order_id=returned, tracking_no="SF00112233", clock=world.clock)
        orders.mark_received(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
        orders.accept_return(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
        orders.pay_now(session=s, uid=payer, order_id=early, clock=world.clock)
    refunded = world.buy(payer, p, plan="3")
    with world.tx() as s:
        orders.pay_now(session=s, uid=payer, order_id=refunded, clock=world.clock)
        ret = orders.request_return(session=s, uid=payer, order_id=refunded, tracking_no="SF00445566", clock=world.clock)
        orders.mark_received(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
        orders.accept_return(session=s, merchant_id=mid, return_id=ret.id, clock=world.clock)
    return dict(merchant=mid, payer=payer, late=late, trial=trial)


def failing(world) -> set[str]:
    with world.tx() as s:
        report = run_audit(session=s)
    assert report.lines()[-1] == ("audit: clean" if report.ok else "audit: VIOLATIONS FOUND")
    return {c.name for c in report.checks if not c.ok}


def check(world, name: str):
    with world.tx() as s:
        return next(c for c in run_audit(session=s).checks if c.name == name)


def unchecked(world, *sql: str) -> None:
    """Run SQL past the schema's foreign keys and CHECK constraints, as a hand-edited database could."""
    raw = world.engine.raw_connection()
    try:
        db = raw.driver_connection
        db.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction
        db.execute("PRAGMA ignore_check_constraints=ON")
        for statement in sql:
            db.execute(statement)
        db.execute("PRAGMA ignore_check_constraints=OFF")
        db.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


def paid_installment(world, uid: int) -> Installment:
    with world.tx() as s:
        return s.exec(select(Installment).where(Installment.shopper_id == uid, Installment.status == IS.PAID)
                      .order_by(Installment.id)).first()


def test_a_world_made_by_the_services_passes_the_audit(world, busy):
    with world.tx() as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())
    assert {c.name for c in report.checks} == {IDENTITY, ONCE, METHODS, SETTLEMENT, POSTINGS, REFUNDS} | PROMISES | KINDS
    assert all(c.checked > 0 for c in report.checks if c.name not in KINDS)


def test_an_empty_world_passes_the_audit(world):
    assert failing(world) == set()


def test_editing_frozen_credit_is_caught_by_the_limit_identity(world, busy):
    with world.tx() as s:
        s.execute(sa.update(CreditAccount.__table__).where(CreditAccount.__table__.c.user_id == busy["payer"])
                  .values(frozen_fen=CreditAccount.__table__.c.frozen_fen + 1))
    assert failing(world) == {IDENTITY}


def test_editing_a_payment_method_balance_is_caught(world, busy):
    with world.tx() as s:
        s.execute(sa.update(PaymentMethod.__table__).where(PaymentMethod.__table__.c.user_id == busy["payer"])
                  .values(balance_fen=PaymentMethod.__table__.c.balance_fen + 100))
    assert failing(world) == {METHODS}


def test_a_second_capture_of_a_paid_installment_is_caught(world, busy):
    inst = paid_installment(world, busy["payer"])
    with world.tx() as s:
        method = s.get(PaymentMethod, inst.paid_method_id)
        s.execute(sa.insert(Posting), [dict(
            ledger=MONEY, posting_key=f"cap:{inst.id}:again", leg=0, debit_account=pm(method.id),
            credit_account=mer(busy["merchant"]), amount_fen=inst.paid_fen, kind="capture", order_id=inst.order_id,
            installment_id=inst.id, created_at=world.clock.now())])
        s.execute(sa.update(PaymentMethod.__table__).where(PaymentMethod.__table__.c.id == method.id)
                  .values(balance_fen=PaymentMethod.__table__.c.balance_fen - inst.paid_fen))
    assert failing(world) == {ONCE, SETTLEMENT}  # the method's balance was kept in step: only these show it


def test_a_capture_on_an_unpaid_installment_is_caught(world, busy):
    with world.tx() as s:
        inst = s.exec(select(Installment).where(Installment.shopper_id == busy["late"],
                                                Installment.status == IS.OVERDUE)).first()
        s.execute(sa.insert(Posting), [dict(
            ledger=MONEY, posting_key=f"cap:{inst.id}", leg=0, debit_account=EXT_FUNDING,
            credit_account=PLAT_SERVICE_FEE, amount_fen=1, kind="capture", installment_id=inst.id,
            created_at=world.clock.now())])
    assert failing(world) == {ONCE}


def test_a_broken_merchant_settlement_is_caught(world, busy):
    with world.tx() as s:
        s.execute(sa.insert(Posting), [dict(
            ledger=MONEY, posting_key="skim:1", leg=0, debit_account=mer(busy["merchant"]),
            credit_account=PLAT_SERVICE_FEE, amount_fen=1, kind="adjust", created_at=world.clock.now())])
    assert failing(world) == {SETTLEMENT}


def test_a_posting_that_mixes_ledgers_is_caught(world, busy):
    with world.tx() as s:
        s.execute(sa.insert(Posting), [
            dict(ledger=MONEY, posting_key="odd:1", leg=0, debit_account=EXT_FUNDING, credit_account=PLAT_SERVICE_FEE,
                 amount_fen=5, kind="adjust", created_at=world.clock.now()),
            dict(ledger="limit", posting_key="odd:1", leg=1, debit_account=PLAT_SERVICE_FEE, credit_account=EXT_FUNDING,
                 amount_fen=5, kind="adjust", created_at=world.clock.now())])
    assert failing(world) == {POSTINGS}


def test_bad_legs_are_caught_and_listed_by_posting_key(world, busy):
    leg = ("INSERT INTO postings (ledger, posting_key, leg, debit_account, credit_account, amount_fen, kind, created_at)"
           " VALUES ('money', '{key}', 0, '{debit}', '{credit}', {amount}, 'adjust', '2026-11-01')")
    unchecked(world, leg.format(key="bad:2", debit=EXT_FUNDING, credit=PLAT_SERVICE_FEE, amount=0),
              leg.format(key="bad:1", debit=EXT_FUNDING, credit=EXT_FUNDING, amount=5))
    assert failing(world) == {POSTINGS}  # neither leg moves any account's balance
    assert check(world, POSTINGS).violations == ["posting bad:1: 1 bad leg(s), 1 ledgers",
                                                 "posting bad:2: 1 bad leg(s), 1 ledgers"]


def test_deleting_a_paid_order_is_caught_by_the_settlement(world, busy):
    inst = paid_installment(world, busy["payer"])
    unchecked(world, f"DELETE FROM orders WHERE id = {inst.order_id}")
    assert failing(world) == {SETTLEMENT}  # its installments still count as paid, but settle to no one


def test_deleting_a_journal_row_is_caught(world, busy):
    with world.tx() as s:
        s.execute(sa.delete(Posting.__table__).where(Posting.__table__.c.posting_key == f"frz:{busy['trial']}"))
    assert IDENTITY in failing(world)


def test_changing_a_shop_setting_is_not_a_money_violation(world, busy):
    with world.tx() as s:
        s.execute(sa.update(Merchant.__table__).values(shop_cap_fen=1))  # settings are not money
    assert failing(world) == set()


# ── the promises to the shopper ──────────────────────────────────────────────────────────────────
def auto_paid(world, uid: int) -> Installment:
    with world.tx() as s:
        return s.exec(select(Installment).where(Installment.shopper_id == uid, Installment.auto_paid.is_(True))
                      .order_by(Installment.id)).first()


def test_an_installment_not_as_quoted_is_caught(world, busy):
    inst = auto_paid(world, busy["payer"])
    unchecked(world, f"UPDATE installments SET fee_fen = fee_fen + 1 WHERE id = {inst.id}")
    assert QUOTES in failing(world)
    assert f"order {inst.order_id}: schedule" in check(world, QUOTES).violations[0]


def test_an_order_priced_other_than_its_quote_is_caught(world, busy):
    unchecked(world, f"UPDATE orders SET quote_json = replace(quote_json, '\"price_fen\":{PRICE}', "
                     f"'\"price_fen\":{PRICE - 100}') WHERE id = {busy['trial']}")
    assert failing(world) == {QUOTES}
    assert check(world, QUOTES).violations[0].startswith(f"order {busy['trial']}: terms")


def test_a_trial_longer_than_quoted_is_caught(world, busy):
    with world.tx() as s:
        o = s.get(Order, busy["trial"])
        o.trial_end_at += timedelta(seconds=30)  # the deduction time moved after the shopper saw it
    assert failing(world) == {QUOTES}


def test_orders_made_before_quotes_were_stored_are_counted_not_judged(world, busy):
    unchecked(world, f"UPDATE orders SET quote_json = NULL WHERE id = {busy['trial']}")
    assert failing(world) == set()
    assert check(world, QUOTES).note == "1 older order(s) made before quotes were stored, not compared"


def test_a_capture_without_its_notice_is_caught(world, busy):
    inst = auto_paid(world, busy["payer"])
    unchecked(world, f"DELETE FROM notifications WHERE installment_id = {inst.id} AND kind = 'reminder'")
    assert failing(world) == {ANNOUNCED}
    assert check(world, ANNOUNCED).violations[0].startswith(f"installment {inst.id}: taken at")


def test_a_notice_sent_too_late_is_caught(world, busy):
    inst = auto_paid(world, busy["payer"])
    unchecked(world, f"UPDATE notifications SET created_at = '{inst.paid_at.replace(tzinfo=None) - timedelta(hours=2)}'"
                     f" WHERE installment_id = {inst.id} AND kind = 'reminder'",
              f"UPDATE installments SET noticed_at = NULL WHERE id = {inst.id}")
    assert failing(world) == {ANNOUNCED}


def test_a_capture_of_another_amount_than_announced_is_caught(world, busy):
    inst = auto_paid(world, busy["payer"])
    unchecked(world, f"UPDATE notifications SET params_json = replace(params_json, '\"amount_fen\": {inst.paid_fen}', "
                     f"'\"amount_fen\": {inst.paid_fen - 1}') WHERE installment_id = {inst.id}")
    assert failing(world) == {ANNOUNCED}
    assert check(world, ANNOUNCED).violations == [
        f"installment {inst.id}: took {inst.paid_fen}, the last notice named {inst.paid_fen - 1}"]


def test_a_failed_attempt_never_told_is_caught(world, busy):
    with world.tx() as s:
        inst = s.exec(select(Installment).where(Installment.shopper_id == busy["late"],
                                                Installment.status == IS.OVERDUE)).first()
    assert inst.attempts >= 1
    unchecked(world, f"DELETE FROM notifications WHERE id = (SELECT max(id) FROM notifications "
                     f"WHERE installment_id = {inst.id} AND kind = 'failed')")
    assert failing(world) == {FAILURES}


def test_an_order_made_while_closed_is_caught(world, busy):
    unchecked(world, f"DELETE FROM credit_events WHERE user_id = {busy['late']} AND kind = 'status'")
    assert failing(world) == {CONSENT}  # no record that this shopper ever turned 先用后付 on


def test_late_fees_above_the_cap_are_caught(world, busy):
    with world.tx() as s:
        inst = s.exec(select(Installment).where(Installment.shopper_id == busy["late"],
                                                Installment.status == IS.OVERDUE)).first()
        o = s.get(Order, inst.order_id)
    unchecked(world, f"UPDATE installments SET late_fee_fen = {bps_of(inst.principal_fen, o.late_fee_cap_bps) + 1} "
                     f"WHERE id = {inst.id}")
    assert FEE_CAP in failing(world)


# ── 备用金 lines and rentals (rows written by the key contract: tests/kinds.py) ─────────────────
@pytest.fixture
def kinds_world(world):
    """A borrower who drew twice (to a card, and on a purchase) and repaid one installment; a renter
    whose deposit was waived (held), one who paid a deposit and returned the device damaged (a
    repair from the deposit, then from the freeze: a charge order), one who bought the device out."""
    from kinds import buy_out, cash_draw, cash_line, rental, return_rental

    mid = world.merchant()
    pid = world.product(mid, price_fen=30_000)
    borrower = world.shopper(score=720, wallet_fen=500_000)
    card = add_card(world, borrower)
    cash_line(world, borrower)
    cash_oid, _ = cash_draw(world, borrower, amount=90_000, term=6, card=card)
    cash_draw(world, borrower, amount=30_000, term=3, shop_product=pid)
    with world.tx() as s:
        first = s.exec(select(Installment).where(Installment.order_id == cash_oid).order_by(Installment.seq)).first()
        bills.repay(session=s, uid=borrower, installment_id=first.id, clock=world.clock)
    held_uid = world.shopper(score=720)
    held, _ = rental(world, held_uid, mid, deposit=80_000)
    damaged_uid = world.shopper(score=650, wallet_fen=100_000)
    with world.tx() as s:
        w = s.exec(select(PaymentMethod).where(PaymentMethod.user_id == damaged_uid)).first().id
    damaged, _ = rental(world, damaged_uid, mid, deposit=80_000, waived=40_000, deposit_method=w)
    return_rental(world, damaged, repair=60_000)
    buyer = world.shopper(score=720, wallet_fen=200_000)
    with world.tx() as s:
        bw = s.exec(select(PaymentMethod).where(PaymentMethod.user_id == buyer)).first().id
    bought, _ = rental(world, buyer, mid, deposit=50_000)
    buy_out(world, bought, method_id=bw)
    return dict(borrower=borrower, cash_oid=cash_oid, held=held, held_uid=held_uid, damaged=damaged, bought=bought,
                merchant=mid)


def test_a_world_with_cash_lines_and_rentals_passes_every_check(world, kinds_world):
    with world.tx() as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())
    assert all(c.checked > 0 for c in report.checks if c.name in KINDS)
    assert acct(world, kinds_world["held_uid"]).frozen_fen == 80_000  # the waived deposit, held on the limit


def test_a_cash_line_out_of_step_with_its_draws_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE cash_lines SET outstanding_fen = outstanding_fen - 1 WHERE user_id = {kinds_world['borrower']}")
    assert failing(world) == {CASH_LINES}


def test_a_cash_repayment_missing_from_the_journal_is_caught(world, kinds_world):
    unchecked(world, "DELETE FROM postings WHERE posting_key LIKE 'crp:%'")
    assert failing(world) == {CASH_LINES}


def test_a_line_granted_beyond_the_journal_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE cash_lines SET line_fen = line_fen + 100 WHERE user_id = {kinds_world['borrower']}")
    assert failing(world) == {CASH_LINES}


def test_interest_above_the_apr_cap_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE installments SET fee_fen = fee_fen * 3 WHERE order_id = {kinds_world['cash_oid']} AND seq = 2")
    assert CASH_INTEREST in failing(world)
    assert any("period 2" in v for v in check(world, CASH_INTEREST).violations)


def test_a_daily_rate_above_the_apr_cap_is_caught(world, kinds_world):
    ppm = POLICY.cash_apr_cap_bps * 100 // 365 + 1
    unchecked(world, f"UPDATE cash_draws SET daily_rate_ppm = {ppm}")
    assert failing(world) == {CASH_INTEREST}


def test_a_rental_freeze_released_twice_is_caught(world, kinds_world):
    rid, uid = kinds_world["bought"], None
    with world.tx() as s:
        uid = s.get(Rental, rid).shopper_id
        ledger.post(session=s, ledger=ledger.LIMIT, key=f"rrel:{rid}", kind="release", at=world.clock.now(),
                    legs=[(ledger.lim(uid, "granted"), ledger.lim(uid, "headroom"), 0), (ledger.lim(uid, "frozen"),
                                                                                           ledger.lim(uid, "headroom"), 1)])
    assert RENTAL_FREEZES in failing(world)
    assert any(f"rental {rid}" in v for v in check(world, RENTAL_FREEZES).violations)


def test_a_rental_ended_with_its_freeze_still_held_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE rentals SET status = 'RETURNED' WHERE id = {kinds_world['held']}")
    assert failing(world) == {RENTAL_FREEZES}


def test_a_freeze_marked_released_without_its_posting_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE rentals SET freeze_state = 'released' WHERE id = {kinds_world['held']}")
    assert failing(world) == {RENTAL_FREEZES, IDENTITY}


def test_a_deposit_refund_the_journal_does_not_show_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE rentals SET deposit_refunded_fen = deposit_refunded_fen + 100 WHERE id = {kinds_world['damaged']}")
    assert failing(world) == {RENTAL_FREEZES}


def test_a_buy_out_paid_to_the_shop_other_than_its_row_says_is_caught(world, kinds_world):
    unchecked(world, f"UPDATE rentals SET buyout_paid_fen = buyout_paid_fen + 100 WHERE id = {kinds_world['bought']}")
    assert failing(world) == {SETTLEMENT}


def test_a_purchase_paid_from_cash_to_another_shop_is_caught(world, kinds_world):
    other = world.merchant()
    unchecked(world, f"UPDATE postings SET credit_account = 'mer:{other}' WHERE posting_key LIKE 'drawpay:%' "
                     f"AND credit_account = 'mer:{kinds_world['merchant']}'")
    assert failing(world) == {SETTLEMENT}


def test_the_quote_check_judges_a_rent_schedule_by_its_contract(world, kinds_world):
    unchecked(world, "UPDATE installments SET principal_fen = principal_fen + 1 WHERE order_id IN "
                     f"(SELECT order_id FROM rentals WHERE id = {kinds_world['held']}) AND seq = 1")
    assert QUOTES in failing(world)


def test_every_check_has_its_words_on_the_operator_page(world):
    """The operator reads each check in their language: a new check without words fails here."""
    from bnpl_app.views.ops import audit_result

    with world.tx() as s:
        report = run_audit(session=s)
    for lang in ("zh", "en"):
        names = [c.name for c in audit_result(report, now=world.clock.now(), lang=lang).checks]
        assert len(names) == len(report.checks)
        assert not set(names) & {c.name for c in report.checks}, f"untranslated in {lang}: {names}"
