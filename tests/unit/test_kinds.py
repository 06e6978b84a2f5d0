"""Every kind of contract on the one engine: a 备用金 draw (principal back to the cash book and the
line), rent (to the shop, no line), a repair charge (on the 先用后付 limit) — captured by hand and by
the sweep after its notices, refunded (or not), overdue (grace, score, limit, late fees,
suspension), negotiated (a hardship plan on a rent debt stops late fees), paid off on time (the
reward), shown on the bills page, and clean in the audit after each."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bnpl_app.domain import rules
from bnpl_app.domain.errors import InvalidTransition
from bnpl_app.domain.money import bps_of
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (CashLine, Installment, InstallmentStatus as IS, Order, OrderKind as OK,
                             OrderStatus as OS, Posting, Rental)
from bnpl_app.services import applications, bills, ledger, payments
from bnpl_app.services.ledger import PLAT_CASH_BOOK, PLAT_FEE_INCOME, PLAT_SERVICE_FEE, cash, lim, mer, pm
from bnpl_app.views.account import my_bills
from helpers import PROOF, acct, add_card, insts, jump, notes, order, refused
from kinds import buy_out, cash_draw, cash_line, rental, return_rental


def postings(world, key: str) -> list[tuple[str, str, int]]:
    with world.tx() as s:
        return [tuple(r) for r in s.execute(sa.select(Posting.debit_account, Posting.credit_account, Posting.amount_fen)
                                            .where(Posting.posting_key == key).order_by(Posting.leg))]


def line_outstanding(world, uid: int) -> int:
    with world.tx() as s:
        return s.execute(sa.select(CashLine.outstanding_fen).where(CashLine.user_id == uid)).scalar_one()


def balance(world, account: str) -> int:
    with world.tx() as s:
        return ledger.balance(session=s, account=account)


def repay(world, uid: int, iid: int):
    with world.tx() as s:
        return bills.repay(session=s, uid=uid, installment_id=iid, clock=world.clock)


def wallet_id(world, uid: int) -> int:
    with world.tx() as s:
        return payments.methods_in_order(session=s, uid=uid)[0].id


@pytest.fixture
def borrower(world):
    """A shopper with a wallet, a card and a ¥5,000 备用金 line, who drew ¥600 over 3 months to the card."""
    uid = world.shopper(score=720, wallet_fen=200_000)
    card = add_card(world, uid)
    cash_line(world, uid)
    oid, _draw = cash_draw(world, uid, amount=60_000, term=3, card=card)
    return uid, oid


@pytest.fixture
def renter(world):
    """A shopper renting a phone from a shop (deposit waived and frozen), the rent order made."""
    mid = world.merchant()
    uid = world.shopper(score=720, wallet_fen=200_000)
    rid, oid = rental(world, uid, mid, monthly=30_000, term=6, deposit=100_000)
    return uid, mid, rid, oid


# ── capture: legs and line by kind ───────────────────────────────────────────────────────────
def test_a_cash_installment_pays_principal_to_the_cash_book_interest_to_fee_income_and_repays_the_line(world, borrower):
    uid, oid = borrower
    first = insts(world, oid)[0]
    assert first.merchant_id is None and first.fee_fen > 0  # that month's interest
    assert line_outstanding(world, uid) == 60_000
    cap = repay(world, uid, first.id)
    w = wallet_id(world, uid)
    assert cap.amount_fen == first.principal_fen + first.fee_fen
    assert postings(world, f"cap:{first.id}") == [(pm(w), PLAT_CASH_BOOK, first.principal_fen),
                                                  (pm(w), PLAT_FEE_INCOME, first.fee_fen)]
    assert postings(world, f"crp:{first.id}") == [(cash(uid, "outstanding"), cash(uid, "available"), first.principal_fen)]
    assert postings(world, f"lrp:{first.id}") == []
    assert line_outstanding(world, uid) == 60_000 - first.principal_fen
    assert acct(world, uid).outstanding_fen == 0  # the 先用后付 limit never saw it
    world.audit_ok()


def test_a_rent_installment_pays_the_shop_less_the_service_fee_and_repays_no_line(world, renter):
    uid, mid, _rid, oid = renter
    first = insts(world, oid)[0]
    before = acct(world, uid)
    repay(world, uid, first.id)
    w, fee = wallet_id(world, uid), bps_of(30_000, POLICY.platform_fee_bps)
    assert postings(world, f"cap:{first.id}") == [(pm(w), mer(mid), 30_000 - fee), (pm(w), PLAT_SERVICE_FEE, fee)]
    assert postings(world, f"lrp:{first.id}") == postings(world, f"crp:{first.id}") == []
    after = acct(world, uid)
    assert (after.frozen_fen, after.outstanding_fen) == (before.frozen_fen, before.outstanding_fen) == (100_000, 0)
    world.audit_ok()


def test_a_repair_charge_is_owed_on_the_limit_and_its_capture_repays_it(world, renter):
    uid, mid, rid, _oid = renter
    charge = return_rental(world, rid, repair=25_000)
    a = acct(world, uid)
    assert (a.frozen_fen, a.outstanding_fen) == (0, 25_000)
    world.audit_ok()
    (inst,) = insts(world, charge)
    repay(world, uid, inst.id)
    assert postings(world, f"lrp:{inst.id}") == [(lim(uid, "outstanding"), lim(uid, "headroom"), 25_000)]
    assert acct(world, uid).outstanding_fen == 0
    assert order(world, charge).status == OS.PAID
    world.audit_ok()


def test_the_sweep_takes_cash_and_rent_installments_after_their_notices(world, borrower):
    uid, cash_oid = borrower
    mid = world.merchant()
    _rid, rent_oid = rental(world, uid, mid, monthly=20_000, term=6, deposit=0)
    world.advance(days=32)  # every sweep in between: notices 3 and 1 days before, then the deductions
    for oid in (cash_oid, rent_oid):
        first = insts(world, oid)[0]
        assert first.status == IS.PAID and first.auto_paid, first
        told = [n for n in notes(world, uid, "upcoming") if n.installment_id == first.id]
        assert told and min(n.created_at for n in told) <= first.paid_at - POLICY.min_notice
    assert line_outstanding(world, uid) == 60_000 - insts(world, cash_oid)[0].principal_fen
    world.audit_ok()


# ── refunds ──────────────────────────────────────────────────────────────────────────────────
def test_a_rent_capture_is_refunded_leg_by_leg(world, renter):
    uid, mid, _rid, oid = renter
    first = insts(world, oid)[0]
    repay(world, uid, first.id)
    with world.tx() as s:
        payments.refund(session=s, inst=s.get(Installment, first.id), at=world.clock.now())
    assert postings(world, f"ref:{first.id}") == [(b, a, x) for a, b, x in postings(world, f"cap:{first.id}")]
    assert balance(world, mer(mid)) == 0


def test_a_cash_repayment_is_not_refunded(world, borrower):
    uid, oid = borrower
    first = insts(world, oid)[0]
    repay(world, uid, first.id)
    err = refused(world, InvalidTransition, lambda s: payments.refund(session=s, inst=s.get(Installment, first.id),
                                                                     at=world.clock.now()),
                  key="engine.refund.not_refundable")
    assert err.text("zh") != err.text("en") and "备用金" in err.text("zh")


# ── overdue: the same rules for every kind ───────────────────────────────────────────────────
@pytest.mark.parametrize("kind", [OK.CASH, OK.RENT])
def test_an_unpaid_cash_or_rent_installment_goes_overdue_is_penalised_and_accrues_late_fees(world, kind):
    uid = world.shopper(score=720, wallet_fen=0)
    if kind == OK.CASH:
        card = add_card(world, uid)
        cash_line(world, uid)
        oid, _ = cash_draw(world, uid, amount=60_000, term=3, card=card)
        with world.tx() as s:  # the drawn money is spent: nothing left to take
            s.execute(sa.update(payments.PMT).where(payments.PMT.c.id == card).values(balance_fen=0))
            ledger.post(session=s, ledger=ledger.MONEY, key="spent", kind="spend", at=world.clock.now(),
                        legs=[(pm(card), ledger.EXT_FUNDING, 60_000)])
    else:
        _rid, oid = rental(world, uid, world.merchant(), monthly=30_000, term=6, deposit=0)
    limit = acct(world, uid).limit_fen
    first = insts(world, oid)[0]
    world.clock.set(first.due_at - timedelta(days=4))
    jump(world)
    world.advance(days=4 + POLICY.grace_days + 5)
    inst = insts(world, oid)[0]
    assert inst.status == IS.OVERDUE and inst.penalized
    assert inst.late_fee_fen == rules.late_fee(principal_fen=inst.principal_fen, bps_per_day=POLICY.late_fee_bps_per_day,
                                               cap_bps=POLICY.late_fee_cap_bps,
                                               days=rules.days_overdue(inst.due_at, world.clock.now()),
                                               grace_days=POLICY.grace_days)[0] > 0
    a = acct(world, uid)
    assert a.score == 720 - POLICY.overdue_score_penalty and a.limit_fen == limit // 2
    assert order(world, oid).status == OS.OVERDUE
    assert notes(world, uid, "late_fee") and notes(world, uid, "penalty")
    failed = notes(world, uid, "failed")
    assert failed and all(n.installment_id == inst.id for n in failed)
    world.advance(days=POLICY.suspend_after_days)
    assert acct(world, uid).bnpl_status == "suspended"
    world.audit_ok()


# ── hardship on a rent debt ──────────────────────────────────────────────────────────────────
def test_a_hardship_plan_on_a_rent_debt_replaces_its_installments_on_the_same_order_and_stops_late_fees(world):
    uid = world.shopper(score=720, wallet_fen=0)
    _rid, oid = rental(world, uid, world.merchant(), monthly=30_000, term=6, deposit=0)
    first = insts(world, oid)[0]
    world.clock.set(first.due_at - timedelta(days=2))
    jump(world)  # told of it
    jump(world, days=2 + POLICY.hardship_min_overdue_days + 1)  # failed, and a month overdue
    assert insts(world, oid)[0].late_fee_fen > 0
    op = world.operator()
    with world.tx() as s:
        app = applications.apply_hardship(session=s, uid=uid, reason_category="unemployment", statement="失业",
                                          proposed_installments=4, request_fee_waiver=True, proofs=[PROOF],
                                          clock=world.clock)
        applications.approve_hardship_waiving_all(session=s, operator_id=op, application_id=app.id, installments=4,
                                                  clock=world.clock)
    rows = insts(world, oid)
    plan = [i for i in rows if i.plan_application_id is not None]
    assert len(plan) == 4 and all(i.order_id == oid and i.status == IS.SCHEDULED for i in plan)
    assert all(i.status in (IS.REPLACED, IS.SCHEDULED) for i in rows if i.plan_application_id is None)
    assert sum(i.principal_fen for i in plan) == sum(i.principal_fen for i in rows if i.status == IS.REPLACED)
    world.advance(days=(plan[0].due_at - world.clock.now()).days + POLICY.grace_days + 10)
    # the plan's first payment failed (after its notices): overdue, but no late fee accrues on a plan
    assert all(i.late_fee_fen == 0 for i in insts(world, oid) if i.plan_application_id is not None)
    assert order(world, oid).status == OS.OVERDUE
    world.audit_ok()


# ── paid off on time: the same reward ────────────────────────────────────────────────────────
def test_a_cash_draw_repaid_on_time_counts_like_an_on_time_order(world, borrower):
    uid, oid = borrower
    score = acct(world, uid).score
    for i in insts(world, oid):
        repay(world, uid, i.id)
    o = order(world, oid)
    assert o.status == OS.PAID and o.on_time is True
    assert acct(world, uid).score == score + POLICY.on_time_score_bonus
    assert line_outstanding(world, uid) == 0
    world.audit_ok()


def test_a_rent_paid_off_then_bought_out_leaves_nothing_held(world, renter):
    uid, mid, rid, oid = renter
    repay(world, uid, insts(world, oid)[0].id)
    buy_out(world, rid, method_id=wallet_id(world, uid))
    a = acct(world, uid)
    assert (a.frozen_fen, a.outstanding_fen) == (0, 0)
    assert order(world, oid).status == OS.PAID
    with world.tx() as s:
        assert s.get(Rental, rid).freeze_state == "released"
    world.audit_ok()


# ── the bills page ───────────────────────────────────────────────────────────────────────────
def test_the_bills_page_shows_every_kind_labelled_and_the_dry_run_includes_them(world, borrower):
    uid, cash_oid = borrower
    _rid, rent_oid = rental(world, uid, world.merchant(), monthly=20_000, term=6, deposit=0)
    for lang, words in (("zh", ("备用金借款", "租金 · ")), ("en", ("Cash advance · ", "Rent · "))):
        with world.tx() as s:
            view, _page = my_bills(s, uid=uid, lang=lang, now=world.clock.now())
        labels = {r.product for st in view.statements for r in st.rows}
        assert any(x.startswith(words[0]) for x in labels) and any(x.startswith(words[1]) for x in labels), labels
        planned = {p.product for p in view.planned}
        assert any(x.startswith(words[0]) for x in planned) and any(x.startswith(words[1]) for x in planned)
        assert view.early == []  # 备用金 is repaid early on its own page; rent is not repaid early
    first = insts(world, rent_oid)[0]
    cap = repay(world, uid, first.id)  # the page's "pay" works for every kind
    assert cap.amount_fen == 20_000


@pytest.mark.parametrize("kind", [OK.CASH, OK.RENT])
def test_early_repayment_on_the_bills_page_is_refused_for_cash_and_rent(world, borrower, kind):
    uid, oid = borrower
    if kind == OK.RENT:
        _rid, oid = rental(world, uid, world.merchant(), monthly=20_000, term=6, deposit=0)
    key = "engine.early.elsewhere" if kind == OK.CASH else "engine.early.not_rent"
    refused(world, InvalidTransition, lambda s: bills.early_repay(session=s, uid=uid, order_id=oid, clock=world.clock),
            key=key)


def test_a_purchase_paid_from_cash_settles_to_the_shop(world):
    uid = world.shopper(score=720)
    cash_line(world, uid)
    mid = world.merchant()
    pid = world.product(mid, price_fen=50_000)
    cash_draw(world, uid, amount=50_000, term=3, shop_product=pid)
    fee = bps_of(50_000, POLICY.platform_fee_bps)
    assert balance(world, mer(mid)) == 50_000 - fee
    with world.tx() as s:
        buy = s.exec(select(Order).where(Order.kind == OK.BUY)).one()
        assert buy.status == OS.PAID and buy.merchant_id == mid
        assert s.exec(select(Installment).where(Installment.order_id == buy.id)).all() == []
    world.audit_ok()


# ── the operator's risk overview and shopper look-up ─────────────────────────────────────────
def test_the_operator_sees_cash_and_rental_exposure_platform_wide_and_per_shopper(world, borrower, renter):
    from bnpl_app.views.ops import risk_view, shopper_file

    uid, _oid = borrower
    renter_uid = renter[0]
    with world.tx() as s:
        risk = risk_view(s, now=world.clock.now(), lang="en")
        mine = shopper_file(s, uid=uid, now=world.clock.now(), lang="zh")
        theirs = shopper_file(s, uid=renter_uid, now=world.clock.now(), lang="en")
    assert (risk.cash.lines, risk.cash.line, risk.cash.outstanding) == (1, "¥5,000.00", "¥600.00")
    assert (risk.rentals.active, risk.rentals.held, risk.rentals.held_amount) == (1, 1, "¥1,000.00")
    assert mine.cash.has and mine.cash.outstanding == "¥600.00" and not mine.rentals.has
    assert any(o.product == "备用金借款" for o in mine.orders)
    assert any(p.debit.startswith(f"cash:{uid}:") or p.credit.startswith(f"cash:{uid}:") for p in mine.postings)
    assert theirs.rentals.has and theirs.rentals.held_amount == "¥1,000.00" and not theirs.cash.has


# ── the shop: settlement, orders, exposure ───────────────────────────────────────────────────
def test_the_shops_settlement_counts_rent_buy_outs_repairs_and_cash_purchases_and_equals_its_ledger(world):
    from bnpl_app.services import console, merchant

    mid = world.merchant()
    pid = world.product(mid, price_fen=30_000)
    uid = world.shopper(score=720, wallet_fen=500_000)
    w = wallet_id(world, uid)
    cash_line(world, uid)
    cash_draw(world, uid, amount=30_000, term=3, shop_product=pid)
    rid, oid = rental(world, uid, mid, monthly=20_000, deposit=40_000, waived=0, deposit_method=w)
    repay(world, uid, insts(world, oid)[0].id)
    rid2, _ = rental(world, uid, mid, monthly=10_000, deposit=0)
    return_rental(world, rid, repair=15_000)
    buy_out(world, rid2, method_id=w)
    with world.tx() as s:
        st = console.settlement_totals(session=s, merchant_id=mid)
        lines = console.orders(session=s, merchant_id=mid)
        exposure = merchant.shop_exposure(session=s, uid=uid, merchant_id=mid)
    assert st.net_fen == st.ledger_balance_fen > 0
    fee = lambda x: bps_of(x, POLICY.platform_fee_bps)  # noqa: E731
    assert st.captured_fen == 30_000 + 20_000 + 15_000 + 20_000  # purchase, a month of rent, repair, buy-out
    assert st.fees_fen == fee(30_000) + fee(20_000) + fee(20_000)  # a repair from the deposit bears no fee
    assert [line.id for line in lines] and all(line.product_id is not None for line in lines)  # the catalog order only
    assert exposure == 0  # rent is not owed on the 先用后付 limit
    world.audit_ok()
