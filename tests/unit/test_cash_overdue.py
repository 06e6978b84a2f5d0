"""Interest keeps running on an overdue 备用金 month (DOMAIN "备用金": "Overdue: the same grace, late
fee, score, limit and suspension rules as 先用后付; interest keeps running on unpaid principal"): at
the draw's daily rate on the month's principal for every day past its due date (from the due date,
not after grace), a running total rounded once; late fees only after grace as for every kind. The
notices before its retries say the amount may rise and by which rule; what is taken is what was
announced or what that rule made it; a hardship plan stops it (the plan replaces the schedule and
carries what was accrued); the audit holds the interest under the APR cap."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from helpers import add_card, hardship, insts, jump, notes, overdue_order, refused, topup
from sqlmodel import select

from bnpl_app.domain import loans, rules
from bnpl_app.domain.clock import UTC
from bnpl_app.domain.errors import ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import DrawDest, Installment, InstallmentStatus as IS, Posting
from bnpl_app.services import applications, audit, bills, cash, ledger, wallet
from bnpl_app.views.cash import cash_screen
from bnpl_app.views.shop import installment_view
from bnpl_app.words import WORDS

CASH_INTEREST = "备用金 interest never above the APR cap"
DAY = timedelta(days=1)


def _overdue_shopper(world, amount=600_000, term=6):
    """A shopper with a 备用金 draw to their card who then turned automatic deduction off on the card
    (the wallet, empty, is what the sweep may use): month 1 will fail on its due date."""
    uid = world.shopper(score=720)
    card = add_card(world, uid, 0)
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
        terms = cash.quote(session=s, uid=uid, amount_fen=amount, term=term, clock=world.clock).terms
        row = cash.draw(session=s, uid=uid, amount_fen=amount, term=term, dest=DrawDest.CARD, method_id=card,
                        idempotency_key=uuid.uuid4().hex, terms=terms, clock=world.clock)
        s.expunge(row)
    with world.tx() as s:
        wallet.set_method_autopay(session=s, uid=uid, method_id=card, on=False, clock=world.clock)
    return uid, row


def _first(world, row) -> Installment:
    return insts(world, row.order_id)[0]


def _to_due(world, row, extra=timedelta(minutes=5)):
    """Every sweep up to just past month 1's due date: its deduction fails, it is overdue."""
    due = _first(world, row).due_at
    world.advance(seconds=(due + extra - world.clock.now()).total_seconds())


def _checked(world, name):
    with world.tx() as s:
        return next(c for c in audit.run_audit(session=s).checks if c.name == name)


# ── the rule ─────────────────────────────────────────────────────────────────────────────────
def test_overdue_interest_is_principal_times_the_daily_rate_times_days_rounded_once():
    assert rules.overdue_interest(100_000, 400, 0) == 0
    assert rules.overdue_interest(100_000, 400, 1) == 40  # ¥1,000 × 0.04 % = ¥0.40
    assert rules.overdue_interest(100_000, 400, 10) == 400
    # a running total rounded once: a small principal accrues too, never a day's rounding times the days
    assert rules.overdue_interest(1_249, 400, 1) == 0 and rules.overdue_interest(1_249, 400, 10) == 5
    assert rules.overdue_interest(100_000, 0, 30) == 0  # any other kind: no rate, no interest
    # within the APR cap over the same days
    assert rules.overdue_interest(987_654, POLICY.cash_daily_rate_ppm, 365) <= rules.interest_cap_fen(987_654, 365)


def test_the_amount_may_rise_by_interest_during_grace_when_no_late_fee_would():
    due = datetime(2026, 11, 1, tzinfo=UTC)
    kw = dict(overdue=True, plan_application_id=None, principal_fen=100_000, late_fee_fen=0, due_at=due,
              bps_per_day=POLICY.late_fee_bps_per_day, cap_bps=POLICY.late_fee_cap_bps, grace_days=POLICY.grace_days)
    assert not rules.late_fee_may_rise(at=due + DAY, **kw)  # within grace: no late fee yet
    assert rules.late_fee_may_rise(at=due + DAY, interest_ppm=400, **kw)  # but interest runs from the due date
    assert not rules.late_fee_may_rise(at=due + DAY, interest_ppm=400, overdue_interest_fen=40, **kw)  # already accrued
    assert not rules.late_fee_may_rise(at=due + 5 * DAY, interest_ppm=400, **{**kw, "plan_application_id": 3})


# ── the sweep ────────────────────────────────────────────────────────────────────────────────
def test_a_missed_month_accrues_interest_from_its_due_date_and_late_fees_only_after_grace(world):
    uid, row = _overdue_shopper(world)
    ppm = row.daily_rate_ppm
    _to_due(world, row)
    first = _first(world, row)
    assert first.status == IS.OVERDUE and first.overdue_interest_fen == 0 and first.late_fee_fen == 0
    for day in range(1, POLICY.grace_days + 3):
        world.advance(days=1)
        first = _first(world, row)
        assert first.status == IS.OVERDUE
        assert (first.overdue_interest_fen, first.overdue_interest_days) == (
            rules.overdue_interest(first.principal_fen, ppm, day), day)
        late, _ = rules.late_fee(principal_fen=first.principal_fen, bps_per_day=POLICY.late_fee_bps_per_day,
                                 cap_bps=POLICY.late_fee_cap_bps, days=day, grace_days=POLICY.grace_days)
        assert first.late_fee_fen == late
        assert (late > 0) == (day > POLICY.grace_days)
    # only the overdue month: the others keep their scheduled interest and accrue nothing
    assert all(i.overdue_interest_fen == 0 and i.status == IS.SCHEDULED for i in insts(world, row.order_id)[1:])
    world.audit_ok()


def test_every_other_kind_accrues_no_overdue_interest(world):
    b = overdue_order(world, days=POLICY.grace_days + 5)
    [i] = insts(world, b.oid)
    assert i.status == IS.OVERDUE and i.late_fee_fen > 0 and i.overdue_interest_fen == 0


def test_paid_later_takes_what_was_announced_or_what_the_rule_it_named_made_it(world):
    uid, row = _overdue_shopper(world)
    _to_due(world, row)
    world.advance(days=POLICY.grace_days + 2)
    failed = [n for n in notes(world, uid, "failed") if n.installment_id == _first(world, row).id]
    assert len(failed) == POLICY.grace_days + 3  # one a day
    p = json.loads(failed[-1].params_json)
    assert p["late_rule"] and p["interest_ppm"] == row.daily_rate_ppm  # the amount may rise, and by which rule
    rate = loans.rate_percent(row.daily_rate_ppm)
    assert f"利息按日利率 {rate}" in failed[-1].body
    _title, body = rules.notice_text("failed", p, "en")
    assert f"Interest keeps running at {rate}/day" in body
    topup(world, uid, 400_000)
    before = _first(world, row)
    announced = p["amount_fen"]
    world.advance(days=1)
    first = _first(world, row)
    assert first.status == IS.PAID and first.auto_paid
    owed = (first.principal_fen + first.fee_fen - first.fee_waived_fen + first.late_fee_fen
            + first.overdue_interest_fen)
    assert first.paid_fen == owed >= announced and first.overdue_interest_fen == before.overdue_interest_fen > 0
    # the overdue interest is fee income, like the interest: the cash book gets the principal back
    with world.tx() as s:
        legs = {(r.credit_account, r.amount_fen) for r in s.exec(select(Posting).where(
            Posting.posting_key == f"cap:{first.id}"))}
    assert (ledger.PLAT_CASH_BOOK, first.principal_fen) in legs
    assert (ledger.PLAT_FEE_INCOME, owed - first.principal_fen) in legs
    world.audit_ok()
    assert _checked(world, CASH_INTEREST).checked > 0


def test_repaying_by_hand_takes_the_interest_shown_and_refuses_a_stale_amount(world):
    uid, row = _overdue_shopper(world)
    _to_due(world, row)
    jump(world, days=2)
    first = _first(world, row)
    assert first.overdue_interest_fen == rules.overdue_interest(first.principal_fen, row.daily_rate_ppm, 2)
    topup(world, uid, 400_000)
    owed = first.principal_fen + first.fee_fen + first.late_fee_fen + first.overdue_interest_fen
    with world.tx() as s:
        assert bills.open_totals(session=s, uid=uid)[1] == owed  # the overdue total, as SQL (``_OWED``)
    err = refused(world, ValidationError, lambda s: bills.repay(
        session=s, uid=uid, installment_id=first.id, expected_fen=owed - first.overdue_interest_fen, clock=world.clock),
        key="bill.amount_mismatch")
    assert err.text("zh") and err.text("en")
    with world.tx() as s:
        cap = bills.repay(session=s, uid=uid, installment_id=first.id, expected_fen=owed, clock=world.clock)
    assert cap.amount_fen == owed
    world.audit_ok()


def test_the_bills_row_shows_the_overdue_interest_in_both_languages(world):
    uid, row = _overdue_shopper(world)
    _to_due(world, row)
    jump(world, days=3)
    first = _first(world, row)
    v = installment_view(first, "备用金", "en", world.clock.now())
    assert v.overdue_interest_fen == first.overdue_interest_fen > 0
    assert v.owed_fen == first.principal_fen + first.fee_fen + first.late_fee_fen + first.overdue_interest_fen
    zh, en = WORDS["interest.overdue"]
    assert zh == "逾期利息" and en == "Overdue interest"
    with world.tx() as s:
        screen = cash_screen(s, uid=uid, lang="zh", now=world.clock.now())
    [period] = [p for d in screen.draws for p in d.periods if p.seq == 1]
    assert period.overdue_interest_fen == first.overdue_interest_fen


# ── a hardship plan stops it ────────────────────────────────────────────────────────────────
def test_an_approved_hardship_plan_carries_the_interest_accrued_and_stops_it(world):
    uid, row = _overdue_shopper(world)
    _to_due(world, row)
    jump(world, days=POLICY.hardship_min_overdue_days + 1)
    first = _first(world, row)
    accrued = first.overdue_interest_fen
    assert accrued == rules.overdue_interest(first.principal_fen, row.daily_rate_ppm,
                                             POLICY.hardship_min_overdue_days + 1)
    app_id = hardship(world, uid, n=3)
    ops = world.operator()
    with world.tx() as s:
        applications.approve_hardship_waiving_all(session=s, operator_id=ops, application_id=app_id, installments=3,
                                                  clock=world.clock)
    plan = [i for i in insts(world, row.order_id) if i.plan_application_id == app_id]
    assert len(plan) == 3 and sum(i.overdue_interest_fen for i in plan) == accrued
    assert all(i.late_fee_fen == 0 for i in plan)  # waived
    # no more interest, not even when a plan payment is itself missed
    jump(world, days=45)
    jump(world, days=10)
    after = [i for i in insts(world, row.order_id) if i.plan_application_id == app_id]
    assert any(i.status == IS.OVERDUE for i in after)
    assert [i.overdue_interest_fen for i in after] == [i.overdue_interest_fen for i in plan]
    world.audit_ok()


# ── the audit ────────────────────────────────────────────────────────────────────────────────
def test_the_audit_finds_overdue_interest_above_the_cap_or_counted_past_the_payment(world):
    uid, row = _overdue_shopper(world)
    _to_due(world, row)
    jump(world, days=5)
    world.audit_ok()
    first = _first(world, row)
    I = Installment.__table__
    with world.tx() as s:
        s.execute(sa.update(I).where(I.c.id == first.id).values(
            overdue_interest_fen=rules.interest_cap_fen(first.principal_fen, first.overdue_interest_days) + 1))
    c = _checked(world, CASH_INTEREST)
    assert not c.ok and any(f"installment {first.id}: overdue interest" in m for m in c.violations)
    with world.tx() as s:
        s.execute(sa.update(I).where(I.c.id == first.id).values(overdue_interest_fen=first.overdue_interest_fen))
    world.audit_ok()
    topup(world, uid, 400_000)
    jump(world, days=1)
    paid = _first(world, row)
    assert paid.status == IS.PAID
    world.audit_ok()
    with world.tx() as s:  # a paid month that claims more days than it was late
        s.execute(sa.update(I).where(I.c.id == paid.id).values(overdue_interest_days=paid.overdue_interest_days + 30))
    c = _checked(world, CASH_INTEREST)
    assert not c.ok and any("counted" in m for m in c.violations)


def test_the_draws_quote_names_the_overdue_interest_rule_in_both_languages(world):
    uid, _row = _overdue_shopper(world)
    from bnpl_app.views.cash import quote_view
    with world.tx() as s:
        q = cash.quote(session=s, uid=uid, amount_fen=100_000, term=3, clock=world.clock)
    rate = loans.rate_percent(q.terms.daily_rate_ppm)
    assert f"interest keeps running at {rate}/day" in quote_view(q, "en").late_rule
    assert f"按日利率 {rate} 继续计息" in quote_view(q, "zh").late_rule
