"""Returns within the trial are a right, paid or not: an order paid early (or partly paid) during
its trial may be returned; when the return is accepted — by the merchant or by the inspection
deadline — every captured amount goes back to the method it came from, in the journal, the
wallet, the inbox, the hold timeline and the merchant's settlement; the rest is cancelled; a
refund happens once; a pay-now on-time reward is taken back; a rejected return leaves a paid
order paid."""

from __future__ import annotations

from datetime import timedelta

from helpers import ODD_PRICE, TRACKING, add_card, refused
from sqlmodel import select

from bnpl_app.domain.errors import InvalidTransition
from bnpl_app.domain.messages import render
from bnpl_app.domain.money import bps_of, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    CreditEvent,
    Installment,
    InstallmentStatus as IS,
    Notification,
    Order,
    OrderStatus as OS,
    Outbox,
    PaymentMethod,
    Posting,
    Product,
    ReturnRequest,
)
from bnpl_app.services import console, credit, ledger, orders, payments, wallet
from bnpl_app.services.audit import run_audit
from bnpl_app.services.ledger import PLAT_FEE_INCOME, PLAT_SERVICE_FEE, mer, pm

TRIAL = POLICY.trial_days_default
PRICE = ODD_PRICE  # 2 % of it is not a whole fen: the service fee is rounded, and must come back exactly
DAY = timedelta(days=1)
REFUNDS = "every refunded order's refunds equal its captures (one ref: posting per refunded installment)"


class Paid:
    """A merchant, a product, a shopper with a wallet and a card, and one order in its trial."""

    def __init__(self, world, *, plan: str = "full", price: int = PRICE, uid: int | None = None, m: int | None = None):
        self.w = world
        self.m = m or world.merchant()
        self.p = world.product(self.m, price_fen=price, stock=5, trial_days=TRIAL)
        self.uid = uid or world.shopper(wallet_fen=2 * price)
        self.card = add_card(world, self.uid, balance_fen=2 * price) if uid is None else None
        self.price = price
        self.oid = world.buy(self.uid, self.p, plan=plan)

    def pay_now(self, method_id: int | None = None) -> None:
        with self.w.tx() as s:
            orders.pay_now(session=s, uid=self.uid, order_id=self.oid, method_id=method_id, clock=self.w.clock)

    def send_back(self) -> int:
        with self.w.tx() as s:
            return orders.request_return(session=s, uid=self.uid, order_id=self.oid, tracking_no=TRACKING,
                                         clock=self.w.clock).id

    def receive(self, rid: int) -> None:
        with self.w.tx() as s:
            orders.mark_received(session=s, merchant_id=self.m, return_id=rid, clock=self.w.clock)

    def accept(self, rid: int) -> None:
        with self.w.tx() as s:
            orders.accept_return(session=s, merchant_id=self.m, return_id=rid, clock=self.w.clock)

    def reject(self, rid: int) -> None:
        with self.w.tx() as s:
            orders.reject_return(session=s, merchant_id=self.m, return_id=rid, reason="屏幕碎裂",
                                 photos=[("a" * 32 + ".png", "image/png", 100)], clock=self.w.clock)

    # reads
    def order(self) -> Order:
        with self.w.tx() as s:
            return s.get(Order, self.oid)

    def insts(self) -> list[Installment]:
        with self.w.tx() as s:
            return orders.installments_of(session=s, order_id=self.oid)

    def balances(self) -> dict[int, int]:
        with self.w.tx() as s:
            return {m.id: m.balance_fen for m in s.exec(select(PaymentMethod).where(PaymentMethod.user_id == self.uid))}

    def acct(self):
        with self.w.tx() as s:
            return credit.account(session=s, uid=self.uid)

    def postings(self, prefix: str) -> list[Posting]:
        with self.w.tx() as s:
            return list(s.exec(select(Posting).where(Posting.order_id == self.oid, Posting.posting_key.startswith(prefix))
                               .order_by(Posting.id)))

    def settlement(self) -> console.Settlement:
        with self.w.tx() as s:
            return console.settlement(session=s, merchant_id=self.m)

    def notices(self, kind: str) -> list[Notification]:
        with self.w.tx() as s:
            return list(s.exec(select(Notification).where(Notification.user_id == self.uid, Notification.kind == kind)))

    def steps(self) -> list[tuple[str, int | None]]:
        with self.w.tx() as s:
            return [(e.step, e.amount_fen) for e in orders.timeline(session=s, order_id=self.oid)]

    def stock(self) -> int:
        with self.w.tx() as s:
            return s.get(Product, self.p).stock


def journal_balanced(world) -> None:
    with world.tx() as s:
        assert sum(ledger.balances(session=s).values()) == 0


def audit_clean(world) -> None:
    with world.tx() as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())
    assert next(c for c in report.checks if c.name == REFUNDS).checked >= 1


# ── pay now, return, accepted: everything comes back ───────────────────────────────────────────
def test_pay_now_then_return_accepted_refunds_every_capture_to_its_method(world):
    o = Paid(world, plan="3")
    before = o.balances()
    limit0 = o.acct().limit_fen
    world.clock.advance(DAY)
    o.pay_now(method_id=o.card)
    assert o.balances()[o.card] == before[o.card] - PRICE
    world.clock.advance(DAY)
    rid = o.send_back()
    assert o.order().status == OS.PAID  # nothing is held or owed while it travels back
    world.clock.advance(DAY)
    o.receive(rid)
    o.accept(rid)
    now = world.clock.now()

    order, insts = o.order(), o.insts()
    assert order.status == OS.RETURNED and order.closed_at == now and order.on_time is None
    assert [i.status for i in insts] == [IS.REFUNDED] * 3
    assert all(i.refunded_fen == i.paid_fen > 0 and i.refunded_at == now for i in insts)
    assert sum(i.refunded_fen for i in insts) == PRICE
    assert o.balances() == before  # the card has its money back, the wallet was never touched
    acct = o.acct()
    assert acct.frozen_fen == acct.outstanding_fen == 0 and credit.available(acct) == acct.limit_fen == limit0
    assert o.stock() == 5

    # each refund reverses its capture's legs, to the method the capture came from
    caps, refs = o.postings("cap:"), o.postings("ref:")
    assert {p.posting_key for p in refs} == {f"ref:{i.id}" for i in insts}
    assert all(p.kind == "refund" and p.order_id == o.oid and p.installment_id is not None for p in refs)
    assert sorted((p.installment_id, p.credit_account, p.debit_account, p.amount_fen) for p in caps) == \
        sorted((p.installment_id, p.debit_account, p.credit_account, p.amount_fen) for p in refs)
    assert {p.credit_account for p in refs} == {pm(o.card)}
    assert {p.debit_account for p in refs} == {mer(o.m), PLAT_SERVICE_FEE}  # pay now waived every fee
    journal_balanced(world)
    with world.tx() as s:
        assert ledger.balance(session=s, account=mer(o.m)) == 0
        assert ledger.balance(session=s, account=pm(o.card)) == before[o.card]

    # the timeline, the inbox and the SMS say how much went back, and where
    assert o.steps()[-2:] == [("inspected", None), ("refunded", PRICE)]
    [note] = o.notices("refund")
    assert yuan(PRICE) in note.body and "****1234" in note.body
    with world.tx() as s:
        assert s.exec(select(Outbox).where(Outbox.user_id == o.uid, Outbox.dedupe_key == f"sms:refund:{o.oid}")).one()
    assert not o.notices("return_accepted")  # nothing was frozen to release

    # the merchant's settlement: captured − fees − refunds = net = the journal's balance
    st = o.settlement()
    assert (st.captured_fen, st.fees_fen, st.refunds_fen, st.net_fen) == (PRICE, 0, PRICE, 0)
    assert st.ledger_balance_fen == st.net_fen
    assert sum(d.refunds_fen for d in st.days) == PRICE
    with world.tx() as s:
        csv_text = console.settlement_csv(settlement=st, lines=console.orders(session=s, merchant_id=o.m), lang="en")
    assert f"{PRICE // 100}.{PRICE % 100:02d}" in csv_text.splitlines()[1]  # the day's row shows the refund
    audit_clean(world)


def test_settlement_nets_the_refunded_service_fee_against_the_fees_of_kept_orders(world):
    kept = Paid(world)
    returned = Paid(world, m=kept.m, uid=kept.uid)
    kept.pay_now()
    returned.pay_now()
    st = kept.settlement()
    fee = bps_of(PRICE, POLICY.platform_fee_bps)
    assert (st.captured_fen, st.fees_fen, st.refunds_fen) == (2 * PRICE, 2 * fee, 0)
    rid = returned.send_back()
    returned.receive(rid)
    returned.accept(rid)
    st = kept.settlement()
    assert (st.captured_fen, st.fees_fen, st.refunds_fen, st.net_fen) == (2 * PRICE, fee, PRICE, PRICE - fee)
    assert st.ledger_balance_fen == st.net_fen
    audit_clean(world)


def test_the_refund_shows_in_the_shoppers_money_movements(world):
    o = Paid(world)
    o.pay_now()
    rid = o.send_back()
    o.receive(rid)
    world.clock.advance(DAY)
    o.accept(rid)
    with world.tx() as s:
        moves = wallet.movements(session=s, uid=o.uid, limit=3)
        wallet_id = wallet.wallet_of(session=s, uid=o.uid).id
    assert [(mv.kind, mv.amount_fen, mv.method_id) for mv in moves[:2]] == [
        ("refund", PRICE, wallet_id), ("capture", -PRICE, wallet_id)]
    assert moves[0].at == world.clock.now() and moves[0].order_id == o.oid


def test_a_partly_paid_order_refunds_what_was_paid_cancels_the_rest_and_releases_the_hold(world):
    """Some installments paid during the trial (here the first, taken from the card while the
    order is in its trial: the price stays frozen until the trial ends)."""
    o = Paid(world, plan="3")
    before = o.balances()
    first = o.insts()[0]
    with world.tx() as s:
        payments.capture(session=s, inst=s.get(Installment, first.id), order=s.get(Order, o.oid),
                         method=s.get(PaymentMethod, o.card), at=world.clock.now(), waive_fee=True, billed=False)
    world.audit_ok()
    assert o.order().status == OS.TRIAL and o.acct().frozen_fen == PRICE
    rid = o.send_back()
    assert o.order().status == OS.RETURN_IN_TRANSIT  # deduction paused
    o.receive(rid)
    o.accept(rid)
    insts = o.insts()
    assert [i.status for i in insts] == [IS.REFUNDED, IS.CANCELLED, IS.CANCELLED]
    assert insts[0].refunded_fen == insts[0].paid_fen == first.principal_fen
    assert all(i.fee_waived_fen == i.fee_fen > 0 for i in insts[1:])  # fees of periods never started: waived
    assert o.balances() == before
    acct = o.acct()
    assert acct.frozen_fen == 0 and credit.available(acct) == acct.limit_fen
    assert ("released", PRICE) in o.steps() and ("refunded", first.principal_fen) in o.steps()
    assert o.notices("return_accepted") and o.notices("refund")
    world.advance(days=TRIAL * 2)  # nothing is ever deducted for it again
    assert o.balances() == before
    audit_clean(world)


def test_the_inspection_deadline_accepts_a_paid_return_and_refunds_it_too(world):
    o = Paid(world)
    o.pay_now()
    rid = o.send_back()
    o.receive(rid)
    before = o.balances()
    world.advance(days=POLICY.inspection_days, minutes=1)
    with world.tx() as s:
        ret = s.get(ReturnRequest, rid)
    assert (ret.status, ret.outcome) == ("ACCEPTED", "auto_accepted")
    assert o.order().status == OS.RETURNED and [i.status for i in o.insts()] == [IS.REFUNDED]
    wallet_id = next(iter(set(before) - {o.card}))
    assert o.balances()[wallet_id] == before[wallet_id] + PRICE
    assert o.notices("refund")
    audit_clean(world)


# ── once ─────────────────────────────────────────────────────────────────────────────────────
def test_refunding_twice_is_refused_with_a_typed_error_and_changes_nothing(world):
    o = Paid(world)
    o.pay_now()
    rid = o.send_back()
    o.receive(rid)
    o.accept(rid)
    [inst] = o.insts()
    err = refused(world, InvalidTransition, lambda s: payments.refund(session=s, inst=s.get(Installment, inst.id),
                                                                      at=world.clock.now()), key="refund.already")
    zh, en = err.text("zh"), err.text("en")
    assert zh != en and str(inst.id) in zh and str(inst.id) in en and "{" not in zh + en
    err = refused(world, InvalidTransition, lambda s: orders.accept_return(
        session=s, merchant_id=o.m, return_id=rid, clock=world.clock), key="return.bad_state")
    assert err.text("zh") != err.text("en")
    assert len(o.postings("ref:")) == 2  # the refund's two legs, once
    audit_clean(world)


def test_an_unpaid_installment_cannot_be_refunded(world):
    o = Paid(world)
    [inst] = o.insts()
    refused(world, InvalidTransition, lambda s: payments.refund(session=s, inst=s.get(Installment, inst.id),
                                                                at=world.clock.now()), key="refund.not_paid")


# ── rejected, or too late ────────────────────────────────────────────────────────────────────
def test_a_rejected_return_of_a_paid_order_keeps_it_paid_and_refunds_nothing(world):
    o = Paid(world)
    o.pay_now()
    paid_balances, settled = o.balances(), o.settlement()
    rid = o.send_back()
    o.receive(rid)
    o.reject(rid)
    order = o.order()
    assert order.status == OS.PAID and order.on_time is True and order.resumed_at is None
    assert [i.status for i in o.insts()] == [IS.PAID] and o.postings("ref:") == []
    assert o.balances() == paid_balances and o.settlement().net_fen == settled.net_fen
    assert o.notices("return_rejected") and not o.notices("refund")
    err = refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=o.uid, order_id=o.oid, tracking_no="YT9876543210", clock=world.clock), key="order.returned_before")
    assert err.text("zh") != err.text("en")
    world.audit_ok()


def test_a_paid_order_can_be_returned_until_the_trial_ends(world):
    o = Paid(world)
    o.pay_now()
    with world.tx() as s:
        trial_end = s.get(Order, o.oid).trial_end_at
    world.clock.advance(trial_end - world.clock.now() - timedelta(seconds=1))
    o.send_back()  # one second left: still the shopper's right


# ── the on-time reward of an order paid now and returned ─────────────────────────────────────
def test_a_returned_pay_now_order_gives_back_its_on_time_reward(world):
    o = Paid(world)
    score0 = o.acct().score
    o.pay_now()
    a = o.acct()
    assert (a.score, a.on_time_streak) == (score0 + POLICY.on_time_score_bonus, 1)
    rid = o.send_back()
    o.receive(rid)
    o.accept(rid)
    a = o.acct()
    assert (a.score, a.on_time_streak) == (score0, 0)
    with world.tx() as s:
        [ev] = s.exec(select(CreditEvent).where(CreditEvent.user_id == o.uid, CreditEvent.kind == "score",
                                                CreditEvent.reason.startswith("cr.reward_back"))).all()
    assert (ev.old_value, ev.new_value) == (score0 + POLICY.on_time_score_bonus, score0)
    assert render("cr.reward_back", "en", order=o.oid) != render("cr.reward_back", "zh", order=o.oid)
    audit_clean(world)


def test_a_limit_step_earned_by_a_returned_pay_now_order_is_undone(world):
    first = Paid(world)
    first.pay_now()
    for _ in range(POLICY.on_time_orders_for_step - 2):
        Paid(world, m=first.m, uid=first.uid).pay_now()
    start = first.acct().limit_fen
    last = Paid(world, m=first.m, uid=first.uid)
    last.pay_now()
    stepped = last.acct()
    assert stepped.limit_fen > start and stepped.on_time_streak == 0
    rid = last.send_back()
    last.receive(rid)
    last.accept(rid)
    a = last.acct()
    assert a.limit_fen == start and a.score == stepped.score - POLICY.on_time_score_bonus
    audit_clean(world)


# ── the audit sees a refund that is not what it should be ─────────────────────────────────────
def test_the_audit_catches_a_refunded_installment_without_its_refund_posting(world):
    o = Paid(world)
    o.pay_now()
    rid = o.send_back()
    o.receive(rid)
    o.accept(rid)
    with world.tx() as s:
        s.execute(Posting.__table__.delete().where(Posting.__table__.c.posting_key.startswith("ref:")))
        # keep the method's balance in step, so only the refund checks can see it
        [inst] = orders.installments_of(session=s, order_id=o.oid)
        s.execute(PaymentMethod.__table__.update().where(PaymentMethod.__table__.c.id == inst.paid_method_id)
                  .values(balance_fen=PaymentMethod.__table__.c.balance_fen - inst.paid_fen))
    with world.tx() as s:
        failing = {c.name for c in run_audit(session=s).checks if not c.ok}
    assert failing == {REFUNDS, "merchant settlement = captured − platform fees − refunds"}


def test_the_audit_catches_a_returned_order_that_kept_its_money(world):
    o = Paid(world)
    o.pay_now()
    with world.tx() as s:
        s.execute(Order.__table__.update().where(Order.__table__.c.id == o.oid).values(status=OS.RETURNED))
    with world.tx() as s:
        check = next(c for c in run_audit(session=s).checks if c.name == REFUNDS)
    assert not check.ok and f"order {o.oid}" in check.violations[0]


def test_refund_legs_cover_fee_income_of_a_plan_paid_after_billing(world):
    """Whatever a capture's legs were (fee income included), its refund reverses each of them."""
    o = Paid(world, plan="3")
    world.advance(days=TRIAL)  # billed; the first installment (with its fee) is taken at trial end
    first = o.insts()[0]
    assert first.status == IS.PAID and first.paid_fen > first.principal_fen
    with world.tx() as s:
        refund = payments.refund(session=s, inst=s.get(Installment, first.id), at=world.clock.now())
        legs = {p.debit_account: p.amount_fen for p in s.exec(select(Posting).where(Posting.posting_key == f"ref:{first.id}"))}
    assert refund.amount_fen == first.paid_fen and sum(legs.values()) == first.paid_fen
    assert legs[PLAT_FEE_INCOME] == first.paid_fen - first.principal_fen


# ── the rules, as pure functions ─────────────────────────────────────────────────────────────
def test_may_return_while_the_trial_runs_paid_or_not_and_only_once():
    from datetime import datetime, timezone

    from bnpl_app.domain import rules

    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    ahead, past = now + DAY, now - DAY
    assert rules.may_return(status=OS.TRIAL, trial_end_at=ahead, now=now, returned_before=False)
    assert rules.may_return(status=OS.PAID, trial_end_at=ahead, now=now, returned_before=False)
    assert not rules.may_return(status=OS.PAID, trial_end_at=past, now=now, returned_before=False)
    assert not rules.may_return(status=OS.PAID, trial_end_at=now, now=now, returned_before=False)
    assert not rules.may_return(status=OS.PAID, trial_end_at=ahead, now=now, returned_before=True)
    for status in (OS.DUE, OS.OVERDUE, OS.RETURNED, OS.RETURN_REJECTED, *OS.RETURNING):
        assert not rules.may_return(status=status, trial_end_at=ahead, now=now, returned_before=False)


def test_reward_taken_back_undoes_the_step_only_while_the_limit_is_the_stepped_one():
    from bnpl_app.domain import rules

    st = rules.reward_taken_back(score=705, streak=0, limit_fen=200_000, points=5, step=(100_000, 200_000))
    assert (st.score, st.streak, st.limit_fen) == (700, 0, 100_000)
    st = rules.reward_taken_back(score=705, streak=2, limit_fen=50_000, points=5, step=(100_000, 200_000))
    assert (st.score, st.streak, st.limit_fen) == (700, 1, 50_000)  # cut since: the cut stands
    st = rules.reward_taken_back(score=POLICY.score_min, streak=1, limit_fen=1, points=5, step=None)
    assert st.score == POLICY.score_min


def test_bnpl_status_after_keeps_the_shoppers_choice():
    from bnpl_app.domain import rules
    from bnpl_app.domain.status import BnplStatus as BS

    assert rules.bnpl_status_after(BS.ACTIVE, BS.SUSPENDED) == BS.SUSPENDED
    assert rules.bnpl_status_after(BS.CLOSED, BS.SUSPENDED) == BS.CLOSED
    assert rules.bnpl_status_after(BS.SUSPENDED, BS.ACTIVE) == BS.ACTIVE
    assert rules.bnpl_status_after(BS.CLOSED, BS.ACTIVE) == BS.CLOSED
    assert rules.bnpl_status_after(BS.NOT_OPENED, BS.ACTIVE) == BS.NOT_OPENED
