"""备用金: the line (apply and every refusal), the draw on exactly the quoted terms (to a card, or an
ordinary purchase in our shop), idempotency, and early repayment with interest only to the day of
repayment. Every refusal is a typed error with a message in both languages that leaves the
database as it was (``helpers.refused``)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from helpers import START, TRIAL, add_card, insts, jump, notes, refused, topup
from sqlmodel import select

from bnpl_app.domain import loans
from bnpl_app.domain.clock import UTC, FixedClock
from bnpl_app.domain.errors import (
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidTransition,
    NotEligible,
    NotFound,
    TermsChanged,
    ValidationError,
)
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY, Policy
from bnpl_app.models import (
    CashDraw,
    CashLine,
    CreditAccount,
    DrawDest,
    Installment,
    InstallmentStatus as IS,
    MethodKind,
    Order,
    OrderKind,
    OrderStatus as OS,
    PaymentMethod,
    Product,
    User,
)
from bnpl_app.services import cash, ledger

LINE_720 = POLICY.cash_line_for(720)


def _both(err: DomainError) -> None:
    """A refusal a person can read, in 中文 and in English."""
    zh, en = err.text("zh"), err.text("en")
    assert zh and en and zh != en
    assert "cash." not in zh and "cash." not in en  # no raw key on screen


def shopper(world, *, score=720, card_fen=0, wallet_fen=0, card=True, **kw) -> int:
    uid = world.shopper(score=score, wallet_fen=wallet_fen, **kw)
    if card:
        add_card(world, uid, card_fen)
    return uid


def granted(world, **kw) -> int:
    uid = shopper(world, **kw)
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
    return uid


def card_of(world, uid) -> int:
    with world.tx() as s:
        return cash.bound_cards(session=s, uid=uid)[0].id


def terms_now(world, uid, amount, term=6) -> cash.DrawTerms:
    with world.tx() as s:
        return cash.quote(session=s, uid=uid, amount_fen=amount, term=term, clock=world.clock).terms


def _draw(world, uid, amount, term=6, *, key=None, terms="now", card=None):
    shown = terms_now(world, uid, amount, term) if terms == "now" else terms
    card = card or card_of(world, uid)
    return lambda s: cash.draw(session=s, uid=uid, amount_fen=amount, term=term, dest=DrawDest.CARD, method_id=card,
                               idempotency_key=key or uuid.uuid4().hex, terms=shown, clock=world.clock)


def drawn(world, uid, amount=600_000, term=6, **kw) -> CashDraw:
    with world.tx() as s:
        row = _draw(world, uid, amount, term, **kw)(s)
        s.expunge(row)
        return row


def line(world, uid) -> CashLine:
    with world.tx() as s:
        return cash.line_of(session=s, uid=uid)


def bal(world, account: str) -> int:
    with world.tx() as s:
        return ledger.balance(session=s, account=account)


def method_balance(world, mid: int) -> int:
    with world.tx() as s:
        return s.get(PaymentMethod, mid).balance_fen


# ── the arithmetic (domain/loans.py) ─────────────────────────────────────────────────────────
def test_the_default_rate_is_0_04_percent_a_day_and_14_6_percent_a_year_under_the_cap():
    assert loans.apr_bps(POLICY.cash_daily_rate_ppm) == 1460
    assert loans.rate_percent(400) == "0.04%"
    assert loans.rate_allowed(POLICY.cash_daily_rate_ppm, POLICY.cash_apr_cap_bps)
    assert not loans.rate_allowed(658, 2400)  # 658 × 365 = 24.017 %
    assert loans.rate_allowed(657, 2400)  # 23.98 %


def test_interest_is_principal_times_daily_rate_times_days_counted_from_the_draw_day():
    assert loans.interest(600_000, 400, 30) == 7_200
    assert loans.interest(12_345, 400, 1) == 5  # 4.938 fen, rounded half-up once
    drawn_at = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)  # 23:30 in China
    assert loans.days_between(drawn_at, drawn_at + timedelta(hours=2)) == 1  # the next China day
    assert loans.days_between(drawn_at, drawn_at) == 0  # repaid on the day of the draw: no interest


def test_equal_principal_schedule_interest_on_what_is_left_each_month():
    days = loans.period_days(START, 6)
    assert days == (30, 31, 31, 28, 31, 30)  # Nov → May
    sched = loans.schedule(600_000, 400, days)
    assert [p.principal_fen for p in sched] == [100_000] * 6
    assert [p.interest_fen for p in sched] == [7_200, 6_200, 4_960, 3_360, 2_480, 1_200]
    assert [p.principal_fen for p in loans.schedule(100_001, 400, days[:3])] == [33_334, 33_334, 33_333]


# ── applying ─────────────────────────────────────────────────────────────────────────────────
def test_apply_grants_the_score_bands_line_separate_from_the_bnpl_limit(world):
    uid = shopper(world, score=720)
    with world.tx() as s:
        limit = s.execute(sa.select(CreditAccount.limit_fen).where(CreditAccount.user_id == uid)).scalar_one()
        got = cash.apply(session=s, uid=uid, clock=world.clock)
        assert got.line_fen == LINE_720 == 1_000_000
        assert got.daily_rate_ppm == POLICY.cash_daily_rate_ppm and got.outstanding_fen == 0
    assert bal(world, ledger.cash(uid, "granted")) == -LINE_720
    assert bal(world, ledger.cash(uid, "available")) == LINE_720
    with world.tx() as s:  # the 先用后付 limit is untouched
        assert s.execute(sa.select(CreditAccount.limit_fen).where(CreditAccount.user_id == uid)).scalar_one() == limit


@pytest.mark.parametrize("score, line_fen", [(600, 200_000), (649, 200_000), (650, 500_000), (750, 2_000_000)])
def test_each_band_grants_its_line(world, score, line_fen):
    assert line(world, granted(world, score=score)).line_fen == line_fen


@pytest.mark.parametrize("setup, rule", [
    (dict(verified=False), "real_name"),
    (dict(phone=False), "phone"),
    (dict(card=False), "card"),
    (dict(score=POLICY.cash_min_score - 1), "score"),
])
def test_apply_refused_names_the_rule_and_what_to_do_and_changes_nothing(world, setup, rule):
    uid = shopper(world, **setup)
    err = refused(world, NotEligible, lambda s: cash.apply(session=s, uid=uid, clock=world.clock))
    assert [f.rule for f in err.reasons] == [rule]
    assert err.reasons[0].hint("zh") and err.reasons[0].hint("en")
    _both(err)


def test_a_second_application_is_refused(world):
    uid = granted(world)
    err = refused(world, NotEligible, lambda s: cash.apply(session=s, uid=uid, clock=world.clock))
    assert [f.rule for f in err.reasons] == ["has_line"]
    _both(err)


def test_a_rate_above_the_apr_cap_is_never_lent_at(world):
    uid = shopper(world)
    dear = Policy(cash_daily_rate_ppm=700)  # 25.55 % a year
    err = refused(world, NotEligible, lambda s: cash.apply(session=s, uid=uid, clock=world.clock, policy=dear))
    assert [f.rule for f in err.reasons] == ["rate"] and "24%" in err.text("en")
    _both(err)
    # a line granted at a rate the cap no longer allows draws nothing
    uid = granted(world)
    with world.tx() as s:
        s.execute(sa.update(CashLine.__table__).where(CashLine.__table__.c.user_id == uid).values(daily_rate_ppm=700))
    err = refused(world, NotEligible, _draw(world, uid, 50_000, terms=None))
    assert [f.rule for f in err.reasons] == ["rate"]


# ── drawing to a card ────────────────────────────────────────────────────────────────────────
def test_a_draw_to_a_card_makes_the_loan_on_the_quoted_terms(world):
    uid = granted(world)
    card = card_of(world, uid)
    shown = terms_now(world, uid, 600_000, 6)
    row = drawn(world, uid, 600_000, 6, terms=shown)
    assert (row.amount_fen, row.term_months, row.dest, row.method_id) == (600_000, 6, DrawDest.CARD, card)
    assert row.interest_fen == shown.total_interest_fen == 25_400
    assert cash.DrawTerms.parse(row.quote_json) == shown
    with world.tx() as s:
        o = s.get(Order, row.order_id)
        assert (o.kind, o.merchant_id, o.product_id, o.product_name) == (OrderKind.CASH, None, None, "备用金借款")
        assert (o.price_fen, o.plan, o.periods, o.status) == (600_000, "6", 6, OS.DUE)
        assert o.trial_end_at == o.billed_at == o.created_at == START
        assert (o.fee_bps, o.platform_fee_bps) == (0, 0)
        assert (o.late_fee_bps_per_day, o.late_fee_cap_bps, o.grace_days) == (
            POLICY.late_fee_bps_per_day, POLICY.late_fee_cap_bps, POLICY.grace_days)
        assert o.quote_json == row.quote_json
    rows = insts(world, row.order_id)
    assert [i.status for i in rows] == [IS.SCHEDULED] * 6
    assert [i.merchant_id for i in rows] == [None] * 6
    assert [(i.principal_fen, i.fee_fen) for i in rows] == [(p.principal_fen, p.interest_fen) for p in shown.periods]
    assert [i.due_at for i in rows] == loans.due_dates(START, 6)
    assert rows[0].attempt_at == rows[0].due_at
    assert line(world, uid).outstanding_fen == 600_000
    assert bal(world, ledger.cash(uid, "available")) == LINE_720 - 600_000
    assert bal(world, ledger.cash(uid, "outstanding")) == 600_000
    assert bal(world, ledger.pm(card)) == 600_000 == method_balance(world, card)
    assert bal(world, ledger.PLAT_CASH_BOOK) == -600_000


@pytest.mark.parametrize("amount, rule", [(POLICY.cash_draw_min_fen - 1, "min"), (LINE_720 + 1, "available")])
def test_an_amount_below_the_minimum_or_above_available_is_refused(world, amount, rule):
    uid = granted(world)
    err = refused(world, NotEligible, _draw(world, uid, amount))
    assert [f.rule for f in err.reasons] == [rule]
    _both(err)


def test_available_is_what_the_line_has_left(world):
    uid = granted(world)
    drawn(world, uid, LINE_720 - 50_000)
    err = refused(world, NotEligible, _draw(world, uid, 50_001))
    assert [f.rule for f in err.reasons] == ["available"] and yuan(50_000) in err.text("en")
    drawn(world, uid, 50_000)
    assert line(world, uid).outstanding_fen == LINE_720


@pytest.mark.parametrize("term", [1, 4, 24, "6", True, None])
def test_a_term_not_offered_is_refused(world, term):
    uid = granted(world)
    err = refused(world, ValidationError, _draw(world, uid, 50_000, term, terms=None), key="cash.bad_term")
    _both(err)


def test_no_line_no_draw(world):
    uid = shopper(world)
    err = refused(world, InvalidTransition, _draw(world, uid, 50_000, terms=None), key="cash.no_line")
    _both(err)


def test_a_draw_goes_only_to_the_shoppers_own_bound_card(world):
    uid = granted(world, wallet_fen=1_000)
    other = shopper(world)
    refused(world, NotFound, _draw(world, uid, 50_000, card=card_of(world, other)))
    with world.tx() as s:
        wallet = s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid,
                                                    PaymentMethod.kind == MethodKind.WALLET)).one().id
    refused(world, ValidationError, _draw(world, uid, 50_000, card=wallet), key="cash.card_only")


def test_a_stale_quote_is_refused_with_what_changed(world):
    uid = granted(world)
    shown = terms_now(world, uid, 300_000, 3)
    with world.tx() as s:  # the line's rate changed since the quote was shown
        s.execute(sa.update(CashLine.__table__).where(CashLine.__table__.c.user_id == uid).values(daily_rate_ppm=300))
    err = refused(world, TermsChanged, _draw(world, uid, 300_000, 3, terms=shown))
    keys = [k for k, _ in err.changes]
    assert keys == ["cash.changed.rate", "cash.changed.interest"]
    assert "0.04%" in err.text("en") and "0.03%" in err.text("en")
    assert err.terms == terms_now(world, uid, 300_000, 3)
    zh, en = err.text("zh"), err.text("en")
    assert zh and en and zh != en


def test_a_quote_shown_one_day_and_confirmed_when_the_months_are_other_lengths_is_refused(world):
    world.clock.set(datetime(2027, 1, 30, 2, tzinfo=UTC))
    uid = granted(world)
    shown = terms_now(world, uid, 300_000, 3)  # Jan 30 → Feb 28 (29 days) …
    world.clock.advance(timedelta(days=2))  # Feb 1 → Mar 1 (28 days) …
    err = refused(world, TermsChanged, _draw(world, uid, 300_000, 3, terms=shown))
    assert [k for k, _ in err.changes] == ["cash.changed.interest"]


def test_a_replayed_key_returns_the_same_draw_and_other_terms_with_it_conflict(world):
    uid = granted(world)
    key = uuid.uuid4().hex
    shown = terms_now(world, uid, 200_000, 3)
    first = drawn(world, uid, 200_000, 3, key=key, terms=shown)
    with world.tx() as s:
        assert _draw(world, uid, 200_000, 3, key=key, terms=shown)(s).id == first.id
    assert line(world, uid).outstanding_fen == 200_000
    err = refused(world, Conflict, _draw(world, uid, 300_000, 3, key=key), key="cash.key_reused")
    _both(err)


# ── the shopper's standing ───────────────────────────────────────────────────────────────────
def test_no_draw_while_an_installment_is_past_its_grace_period(world):
    uid = granted(world)
    m = world.merchant()
    p = world.product(m, price_fen=10_000, trial_days=TRIAL)
    world.buy(uid, p)  # nothing to pay it with: the card holds ¥0
    world.advance(days=TRIAL)
    with world.tx() as s:  # overdue, but within grace: nothing would refuse a draw
        assert cash.quote(session=s, uid=uid, amount_fen=50_000, term=3, clock=world.clock).failures == ()
    jump(world, days=POLICY.grace_days)
    err = refused(world, NotEligible, _draw(world, uid, 50_000))
    assert "past_grace" in [f.rule for f in err.reasons]
    _both(err)


@pytest.mark.parametrize("column, value, rule", [("bnpl_status", "suspended", "suspended"), ("bad_debt", True, "bad_debt")])
def test_no_draw_while_suspended_or_in_bad_debt(world, column, value, rule):
    uid = granted(world)
    with world.tx() as s:
        s.execute(sa.update(CreditAccount.__table__).where(CreditAccount.__table__.c.user_id == uid)
                  .values(**{column: value}))
    err = refused(world, NotEligible, _draw(world, uid, 50_000))
    assert [f.rule for f in err.reasons] == [rule]
    _both(err)


# ── spending it in our shop ──────────────────────────────────────────────────────────────────
def test_buying_with_the_line_pays_the_merchant_at_once_less_the_platform_fee(world):
    uid = granted(world)
    m = world.merchant()
    pid = world.product(m, price_fen=45_900, stock=3, bnpl=False)
    key = uuid.uuid4().hex
    with world.tx() as s:
        product, q = cash.shop_quote(session=s, uid=uid, product_id=pid, term=3, clock=world.clock)
        row = cash.draw(session=s, uid=uid, amount_fen=None, term=3, dest=DrawDest.SHOP, product_id=pid,
                        idempotency_key=key, terms=q.terms.to_json(), clock=world.clock)
        buy = s.get(Order, row.purchase_order_id)
        assert (buy.kind, buy.status, buy.merchant_id, buy.product_id, buy.price_fen) == (
            OrderKind.BUY, OS.PAID, m, pid, 45_900)
        assert buy.closed_at == START
        assert s.exec(select(Installment).where(Installment.order_id == buy.id)).all() == []
        assert s.execute(sa.select(Product.stock).where(Product.id == pid)).scalar_one() == 2
        assert s.get(Order, row.order_id).kind == OrderKind.CASH
    fee = 45_900 * POLICY.platform_fee_bps // 10_000
    assert bal(world, ledger.mer(m)) == 45_900 - fee
    assert bal(world, ledger.PLAT_SERVICE_FEE) == fee
    assert bal(world, ledger.PLAT_CASH_BOOK) == -45_900
    assert line(world, uid).outstanding_fen == 45_900


def test_buying_with_the_line_out_of_stock_or_at_a_changed_price_is_refused(world):
    uid = granted(world)
    m = world.merchant()
    pid = world.product(m, price_fen=45_900, stock=1)
    with world.tx() as s:
        _, q = cash.shop_quote(session=s, uid=uid, product_id=pid, term=3, clock=world.clock)
    with world.tx() as s:
        s.get(Product, pid).price_fen = 49_900
    buy = lambda s: cash.draw(session=s, uid=uid, amount_fen=None, term=3, dest=DrawDest.SHOP,  # noqa: E731
                              product_id=pid, idempotency_key=uuid.uuid4().hex, terms=q.terms, clock=world.clock)
    err = refused(world, TermsChanged, buy)
    assert err.changes[0][0] == "cash.changed.amount" and yuan(49_900) in err.text("en")
    with world.tx() as s:
        s.get(Product, pid).price_fen, s.get(Product, pid).stock = 45_900, 0
    err = refused(world, NotEligible, buy)
    assert [f.rule for f in err.reasons] == ["stock"]


# ── early repayment ──────────────────────────────────────────────────────────────────────────
def _quote(world, uid, draw_id, amount):
    with world.tx() as s:
        return cash.early_quote(session=s, uid=uid, draw_id=draw_id, amount_fen=amount, clock=world.clock)


def _repay(world, uid, draw_id, amount, **kw):
    return lambda s: cash.early_repay(session=s, uid=uid, draw_id=draw_id, amount_fen=amount, clock=world.clock, **kw)


def test_early_repayment_of_everything_charges_interest_only_to_today_and_restores_the_line(world):
    uid = granted(world, wallet_fen=700_000)
    row = drawn(world, uid, 600_000, 6)
    world.advance(days=10)
    q = _quote(world, uid, row.id, 600_000)
    assert q.whole and q.interest_fen == loans.interest(600_000, 400, 10) == 2_400
    assert q.total_fen == 602_400
    assert q.saving_fen == row.interest_fen - 2_400 == 23_000
    with world.tx() as s:
        cash.early_repay(session=s, uid=uid, draw_id=row.id, amount_fen=600_000, clock=world.clock,
                         expected_total_fen=q.total_fen, expected_saving_fen=q.saving_fen)
    rows = insts(world, row.order_id)
    assert {i.status for i in rows} == {IS.PAID}
    assert sum(i.paid_fen for i in rows) == 602_400
    with world.tx() as s:
        assert s.get(Order, row.order_id).status == OS.PAID
    assert line(world, uid).outstanding_fen == 0
    assert bal(world, ledger.cash(uid, "available")) == LINE_720
    assert bal(world, ledger.PLAT_CASH_BOOK) == 0
    assert bal(world, ledger.PLAT_FEE_INCOME) == 2_400
    world.audit_ok()


def test_partial_early_repayment_shortens_the_term_from_the_last_month_and_interest_stops_today(world):
    uid = granted(world, wallet_fen=300_000)
    row = drawn(world, uid, 600_000, 6)
    world.advance(days=10)
    with world.tx() as s:
        assert cash.early_options(session=s, uid=uid, draw_id=row.id, clock=world.clock) == [
            100_000, 200_000, 300_000, 400_000, 500_000, 600_000]
    q = _quote(world, uid, row.id, 200_000)
    assert not q.whole and q.total_fen == 200_000 and q.interest_fen == 0
    with world.tx() as s:
        cash.early_repay(session=s, uid=uid, draw_id=row.id, amount_fen=200_000, clock=world.clock,
                         expected_total_fen=q.total_fen, expected_saving_fen=q.saving_fen)
    rows = insts(world, row.order_id)
    live = {i.seq: i for i in rows if i.status == IS.SCHEDULED}
    assert sorted(live) == [1, 2, 3, 4]  # months 5 and 6 paid off: the term is four months now
    assert [live[k].principal_fen for k in (1, 2, 3, 4)] == [100_000] * 4
    # month 1: 10 days on ¥6,000 + 20 days on ¥4,000; later months on what is left at their start
    owed_interest = {k: live[k].fee_fen - live[k].fee_waived_fen for k in live}
    assert owed_interest == {1: 2_400 + 3_200, 2: loans.interest(300_000, 400, 31), 3: loans.interest(200_000, 400, 31),
                             4: loans.interest(100_000, 400, 28)}
    assert q.saving_fen == row.interest_fen - sum(owed_interest.values()) == 12_480
    paid = [i for i in rows if i.status == IS.PAID]
    assert [i.seq for i in paid] == [5, 6]
    assert sum(i.paid_fen for i in paid) == 200_000 and all(i.fee_fen == i.fee_waived_fen for i in paid)
    assert line(world, uid).outstanding_fen == 400_000
    assert bal(world, ledger.cash(uid, "available")) == LINE_720 - 400_000
    world.audit_ok()


def test_repaying_the_rest_after_a_partial_repayment_charges_each_principal_for_its_own_days(world):
    uid = granted(world, wallet_fen=700_000)
    row = drawn(world, uid, 600_000, 6)
    world.advance(days=10)
    with world.tx() as s:
        _repay(world, uid, row.id, 200_000)(s)
    world.advance(days=5)
    q = _quote(world, uid, row.id, 400_000)
    assert q.whole and q.interest_fen == 2_400 + loans.interest(400_000, 400, 5)  # 10 days on all, 5 more on the rest
    with world.tx() as s:
        _repay(world, uid, row.id, 400_000)(s)
    assert line(world, uid).outstanding_fen == 0
    world.audit_ok()


def test_a_month_announced_before_a_partial_repayment_is_told_its_new_amount_before_it_is_taken(world):
    """Month 1 is announced three days before it is due; a partial repayment the day after lowers
    its interest; the shopper is told the new amount, and the sweep takes exactly that."""
    uid = granted(world, wallet_fen=300_000)
    row = drawn(world, uid, 600_000, 6)
    first = insts(world, row.order_id)[0]
    world.advance(days=(first.due_at - world.clock.now()).days - 2)  # the 3-day notice went out
    told = [n for n in notes(world, uid, "upcoming") if n.installment_id == first.id]
    assert told and json.loads(told[-1].params_json)["amount_fen"] == first.fee_fen + first.principal_fen
    with world.tx() as s:
        _repay(world, uid, row.id, 200_000)(s)
    month1 = insts(world, row.order_id)[0]
    now_owed = month1.principal_fen + month1.fee_fen - month1.fee_waived_fen
    assert now_owed < first.principal_fen + first.fee_fen
    last = [n for n in notes(world, uid, "upcoming") if n.installment_id == first.id][-1]
    assert json.loads(last.params_json)["amount_fen"] == now_owed
    assert "已更新为" in last.body or "已更新为" in last.title + last.body
    world.advance(days=4)  # past the due date: taken by the sweep
    month1 = insts(world, row.order_id)[0]
    assert month1.status == IS.PAID and month1.paid_fen == now_owed and month1.auto_paid
    world.audit_ok()


def test_a_repayment_that_is_not_whole_months_from_the_last_is_refused(world):
    uid = granted(world, wallet_fen=700_000)
    row = drawn(world, uid, 600_000, 6)
    world.advance(days=2)
    err = refused(world, ValidationError, _repay(world, uid, row.id, 250_000), key="cash.repay_months")
    _both(err)


def test_early_repayment_refusals_change_nothing(world):
    uid = granted(world, wallet_fen=100)
    row = drawn(world, uid, 600_000, 6)
    world.advance(days=3)
    err = refused(world, ValidationError, _repay(world, uid, row.id, 600_001), key="cash.repay_above")
    _both(err)
    err = refused(world, InsufficientFunds, _repay(world, uid, row.id, 600_000))  # the card holds the ¥6,000, not the interest
    _both(err)
    topup(world, uid, 700_000)
    err = refused(world, ValidationError, _repay(world, uid, row.id, 600_000, expected_total_fen=600_000),
                  key="cash.repay_changed")
    _both(err)
    other = granted(world)
    refused(world, NotFound, _repay(world, other, row.id, 100_000))


def test_early_repayment_waits_for_a_month_that_is_due(world):
    uid = granted(world)  # the card holds ¥0: the first month fails
    row = drawn(world, uid, 300_000, 3)
    jump(world, days=31)
    topup(world, uid, 400_000)
    err = refused(world, InvalidTransition, _repay(world, uid, row.id, 100_000), key="cash.due_first")
    _both(err)
