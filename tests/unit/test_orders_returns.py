"""An order after checkout: paying early during the trial, and returns — request with a tracking
number (deduction paused), merchant receives and inspects (intact → released at once; damaged →
rejected with photos, trial resumes), the inspection and transit deadlines, the credit-hold
timeline, and every transition that must be refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers import refused
from sqlmodel import select

from bnpl_app.domain.errors import InsufficientFunds, InvalidTransition, NotFound, ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    Installment,
    InstallmentStatus as IS,
    Notification,
    Order,
    OrderStatus as OS,
    Outbox,
    PaymentMethod,
    Product,
    ReturnPhoto,
    ReturnRequest,
)
from bnpl_app.jobs import sweep
from bnpl_app.services import credit, merchant, orders, uploads

PRICE = 29_900
TRIAL = POLICY.trial_days_default
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DAY = timedelta(days=1)


# ── helpers ──────────────────────────────────────────────────────────────────────────────────


class Shop:
    """One merchant, one product, one shopper with an order in trial."""

    def __init__(self, world, *, wallet_fen: int = PRICE, plan: str = "full", stock: int = 5):
        self.w = world
        self.m = world.merchant()
        self.p = world.product(self.m, price_fen=PRICE, stock=stock, trial_days=TRIAL)
        self.uid = world.shopper(wallet_fen=wallet_fen)
        with world.tx() as s:
            self.score0 = credit.account(session=s, uid=self.uid).score
            self.limit0 = credit.account(session=s, uid=self.uid).limit_fen
        self.oid = world.buy(self.uid, self.p, plan=plan)
        with world.tx() as s:
            self.trial_end = s.get(Order, self.oid).trial_end_at

    # shopper and merchant actions, each in its own transaction
    def request_return(self, tracking="SF1234567890") -> int:
        with self.w.tx() as s:
            return orders.request_return(session=s, uid=self.uid, order_id=self.oid, tracking_no=tracking, clock=self.w.clock).id

    def receive(self, rid: int) -> None:
        with self.w.tx() as s:
            orders.mark_received(session=s, merchant_id=self.m, return_id=rid, clock=self.w.clock)

    def accept(self, rid: int) -> None:
        with self.w.tx() as s:
            orders.accept_return(session=s, merchant_id=self.m, return_id=rid, clock=self.w.clock)

    def reject(self, rid: int, reason="外包装进水，屏幕碎裂", photos=None) -> None:
        with self.w.tx() as s:
            orders.reject_return(session=s, merchant_id=self.m, return_id=rid, reason=reason,
                                 photos=photos if photos is not None else [("a" * 32 + ".png", "image/png", len(PNG))],
                                 clock=self.w.clock)

    def pay_now(self, **kw) -> None:
        with self.w.tx() as s:
            orders.pay_now(session=s, uid=self.uid, order_id=self.oid, clock=self.w.clock, **kw)

    # reads
    def order(self) -> Order:
        with self.w.tx() as s:
            return s.get(Order, self.oid)

    def ret(self, rid: int) -> ReturnRequest:
        with self.w.tx() as s:
            return s.get(ReturnRequest, rid)

    def acct(self):
        with self.w.tx() as s:
            return credit.account(session=s, uid=self.uid)

    def insts(self) -> list[Installment]:
        with self.w.tx() as s:
            return orders.installments_of(session=s, order_id=self.oid)

    def wallet(self) -> int:
        with self.w.tx() as s:
            return s.exec(select(PaymentMethod.balance_fen).where(PaymentMethod.user_id == self.uid)).one()

    def stock(self) -> int:
        with self.w.tx() as s:
            return s.get(Product, self.p).stock

    def exposure(self) -> int:
        with self.w.tx() as s:
            return merchant.shop_exposure(session=s, uid=self.uid, merchant_id=self.m)

    def notices(self, kind: str) -> list[Notification]:
        with self.w.tx() as s:
            return list(s.exec(select(Notification).where(Notification.user_id == self.uid, Notification.kind == kind)))

    def timeline(self) -> list[tuple]:
        with self.w.tx() as s:
            return [(e.step, e.at, e.amount_fen) for e in orders.timeline(session=s, order_id=self.oid)]


# ── pay now during the trial ─────────────────────────────────────────────────────────────────


def test_pay_now_during_trial_pays_the_order_releases_the_limit_and_rewards_on_time(world):
    shop = Shop(world, plan="3")
    assert any(i.fee_fen for i in shop.insts())  # the plan has fees; none are due when paid early
    world.clock.advance(DAY)
    shop.pay_now()
    o, acct = shop.order(), shop.acct()
    assert o.status == OS.PAID and o.on_time is True and o.closed_at == world.clock.now()
    assert acct.frozen_fen == 0 and acct.outstanding_fen == 0 and credit.available(acct) == shop.limit0
    assert acct.score == shop.score0 + POLICY.on_time_score_bonus
    insts = shop.insts()
    assert all(i.status == IS.PAID for i in insts)
    assert sum(i.paid_fen for i in insts) == PRICE and all(i.fee_waived_fen == i.fee_fen for i in insts)
    assert shop.wallet() == 0 and shop.exposure() == 0
    assert [st for st, _, _ in shop.timeline()] == ["frozen", "captured", "paid"]
    world.advance(days=TRIAL)  # nothing more is taken at trial end
    assert shop.wallet() == 0 and shop.order().status == OS.PAID
    world.audit_ok()


def test_pay_now_with_insufficient_funds_is_refused_and_nothing_changes(world):
    shop = Shop(world, wallet_fen=PRICE - 1)
    err = refused(world, InsufficientFunds, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=shop.oid,
                                                                       clock=world.clock))
    assert err.key == "bill.insufficient" and err.hint
    assert shop.order().status == OS.TRIAL and shop.acct().frozen_fen == PRICE
    world.audit_ok()


def test_pay_now_twice_is_refused(world):
    shop = Shop(world)
    shop.pay_now()
    err = refused(world, InvalidTransition, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=shop.oid,
                                                                       clock=world.clock))
    assert err.key == "order.already_paid"


def test_pay_now_after_the_trial_was_billed_is_refused(world):
    shop = Shop(world, wallet_fen=0)
    world.advance(days=TRIAL)
    assert shop.order().status in OS.BILLED
    err = refused(world, InvalidTransition, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=shop.oid,
                                                                       clock=world.clock))
    assert err.key == "order.not_in_trial"


def test_pay_now_while_the_return_is_under_way_is_refused(world):
    shop = Shop(world)
    shop.request_return()
    refused(world, InvalidTransition, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=shop.oid, clock=world.clock))


def test_pay_now_with_another_shoppers_method_is_not_found(world):
    shop = Shop(world)
    other = world.shopper(wallet_fen=PRICE)
    with world.tx() as s:
        their_wallet = s.exec(select(PaymentMethod.id).where(PaymentMethod.user_id == other)).one()
    refused(world, NotFound, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=shop.oid, method_id=their_wallet,
                                                        clock=world.clock))


# ── another shopper's order, bad ids ─────────────────────────────────────────────────────────


@pytest.mark.parametrize("action", ["pay_now", "request_return"])
def test_another_shoppers_order_is_not_found(world, action):
    shop = Shop(world)
    other = world.shopper(wallet_fen=PRICE)

    def act(s):
        if action == "pay_now":
            orders.pay_now(session=s, uid=other, order_id=shop.oid, clock=world.clock)
        else:
            orders.request_return(session=s, uid=other, order_id=shop.oid, tracking_no="SF1234567890", clock=world.clock)

    err = refused(world, NotFound, act)
    assert err.params["what"] == "order"


def test_unknown_or_non_int_order_id_is_not_found(world, subtests):
    shop = Shop(world)
    for oid in [0, -1, 999_999, "1", None, True, 1.0]:
        with subtests.test(order_id=oid):
            refused(world, NotFound, lambda s: orders.pay_now(session=s, uid=shop.uid, order_id=oid, clock=world.clock))


# ── requesting a return ──────────────────────────────────────────────────────────────────────


def test_return_needs_a_valid_tracking_number(world, subtests):
    shop = Shop(world)
    for tracking in ["", "12345", "x" * 31, "SF-123456", "顺丰123456789", "SF 123456", "SF12\n3456", None, 12345678]:
        with subtests.test(tracking=tracking):
            err = refused(world, ValidationError, lambda s: orders.request_return(
                session=s, uid=shop.uid, order_id=shop.oid, tracking_no=tracking, clock=world.clock))
            assert err.key == "order.bad_tracking" and err.field == "tracking_no"


def test_tracking_number_is_trimmed(world):
    shop = Shop(world)
    rid = shop.request_return("  SF1234567890 ")
    assert shop.ret(rid).tracking_no == "SF1234567890"


def test_deduction_is_paused_while_the_return_is_under_way_even_past_trial_end(world):
    shop = Shop(world)
    world.advance(days=1)
    shop.request_return()
    assert shop.order().status == OS.RETURN_IN_TRANSIT
    world.advance(days=TRIAL + 1)  # past the trial's end, before the transit deadline
    assert world.clock.now() > shop.trial_end
    assert shop.order().status == OS.RETURN_IN_TRANSIT
    assert all(i.status == IS.PENDING for i in shop.insts())
    assert shop.wallet() == PRICE and shop.acct().frozen_fen == PRICE and shop.acct().outstanding_fen == 0
    world.audit_ok()


def test_returning_twice_is_refused(world):
    shop = Shop(world)
    shop.request_return()
    err = refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=shop.uid, order_id=shop.oid, tracking_no="YT9876543210", clock=world.clock))
    assert err.key == "order.not_in_trial"


def test_returning_again_after_a_rejected_return_is_refused(world):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    shop.reject(rid)
    refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=shop.uid, order_id=shop.oid, tracking_no="YT9876543210", clock=world.clock))


def test_returning_after_the_trial_ended_is_refused(world):
    shop = Shop(world, wallet_fen=0)
    world.clock.advance(timedelta(days=TRIAL))  # trial over, the sweep has not run yet
    err = refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=shop.uid, order_id=shop.oid, tracking_no="SF1234567890", clock=world.clock))
    assert err.key == "order.trial_over"
    world.advance(minutes=1)  # now billed
    assert shop.order().status in OS.BILLED
    err = refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=shop.uid, order_id=shop.oid, tracking_no="SF1234567890", clock=world.clock))
    assert err.key == "order.not_in_trial"


def test_returning_an_order_paid_early_is_refused_once_its_trial_ended(world):
    """Paying early keeps the return right for the trial (tests/unit/test_refunds.py), not after it."""
    shop = Shop(world)
    shop.pay_now()
    world.clock.advance(timedelta(days=TRIAL))
    err = refused(world, InvalidTransition, lambda s: orders.request_return(
        session=s, uid=shop.uid, order_id=shop.oid, tracking_no="SF1234567890", clock=world.clock))
    assert err.key == "order.trial_over"


# ── intact: released at once ─────────────────────────────────────────────────────────────────


def test_intact_return_releases_the_hold_at_once_restocks_and_cancels_installments(world):
    shop = Shop(world, plan="6")
    assert shop.stock() == 4
    rid = shop.request_return()
    world.advance(days=2)
    shop.receive(rid)
    assert shop.order().status == OS.RETURN_RECEIVED
    assert shop.ret(rid).inspect_deadline_at == world.clock.now() + timedelta(days=POLICY.inspection_days)
    assert shop.notices("return_received")
    world.advance(hours=5)
    shop.accept(rid)
    o, r, acct = shop.order(), shop.ret(rid), shop.acct()
    assert o.status == OS.RETURNED and o.closed_at == world.clock.now()
    assert r.status == "ACCEPTED" and r.outcome == "intact" and r.inspected_at == world.clock.now()
    assert acct.frozen_fen == 0 and credit.available(acct) == shop.limit0
    assert shop.stock() == 5 and shop.exposure() == 0
    assert [i.status for i in shop.insts()] == [IS.CANCELLED] * 6
    assert shop.notices("return_accepted")
    world.advance(days=TRIAL * 2)  # nothing is ever deducted for a returned order
    assert shop.wallet() == PRICE and shop.order().status == OS.RETURNED
    world.audit_ok()


def test_accepting_before_the_parcel_is_received_is_refused(world):
    shop = Shop(world)
    rid = shop.request_return()
    err = refused(world, InvalidTransition, lambda s: orders.accept_return(session=s, merchant_id=shop.m, return_id=rid,
                                                                             clock=world.clock))
    assert err.key == "return.bad_state"


def test_receiving_twice_is_refused(world):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    refused(world, InvalidTransition, lambda s: orders.mark_received(session=s, merchant_id=shop.m, return_id=rid,
                                                                       clock=world.clock))


@pytest.mark.parametrize("first, second", [("accept", "accept"), ("accept", "reject"), ("reject", "accept"),
                                           ("reject", "reject")])
def test_inspecting_twice_is_refused(world, first, second):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    getattr(shop, first)(rid)

    def again(s):
        if second == "accept":
            orders.accept_return(session=s, merchant_id=shop.m, return_id=rid, clock=world.clock)
        else:
            orders.reject_return(session=s, merchant_id=shop.m, return_id=rid, reason="again",
                                 photos=[("b" * 32 + ".png", "image/png", 10)], clock=world.clock)

    err = refused(world, InvalidTransition, again)
    assert err.key == "return.bad_state"
    world.audit_ok()


@pytest.mark.parametrize("action", ["receive", "accept", "reject"])
def test_another_merchants_return_is_not_found(world, action):
    shop = Shop(world)
    rid = shop.request_return()
    if action != "receive":
        shop.receive(rid)
    other = world.merchant()

    def act(s):
        if action == "receive":
            orders.mark_received(session=s, merchant_id=other, return_id=rid, clock=world.clock)
        elif action == "accept":
            orders.accept_return(session=s, merchant_id=other, return_id=rid, clock=world.clock)
        else:
            orders.reject_return(session=s, merchant_id=other, return_id=rid, reason="x",
                                 photos=[("c" * 32 + ".png", "image/png", 10)], clock=world.clock)

    err = refused(world, NotFound, act)
    assert err.params["what"] == "return"


def test_unknown_return_id_is_not_found(world, subtests):
    shop = Shop(world)
    shop.request_return()
    for rid in [0, -5, 999_999, "1", None]:
        with subtests.test(return_id=rid):
            refused(world, NotFound, lambda s: orders.mark_received(session=s, merchant_id=shop.m, return_id=rid,
                                                                      clock=world.clock))


# ── damaged: rejected with photos, trial resumes ─────────────────────────────────────────────


def test_return_of_damaged_parcel_keeps_limit_frozen_and_the_trial_resumes(world, tmp_path, monkeypatch):
    monkeypatch.setenv("BNPL_UPLOAD_DIR", str(tmp_path))
    photos = uploads.store_many([("water.png", PNG)], allowed=uploads.IMAGE_TYPES)
    shop = Shop(world)
    rid = shop.request_return()
    world.advance(days=1)
    shop.receive(rid)
    world.advance(hours=3)
    reason = "外包装进水，屏幕碎裂"
    shop.reject(rid, reason=reason, photos=[(f.stored_name, f.content_type, f.size) for f in photos])
    o, r, acct = shop.order(), shop.ret(rid), shop.acct()
    assert o.status == OS.RETURN_REJECTED and o.resumed_at == world.clock.now()
    assert r.status == "REJECTED" and r.outcome == "damaged" and r.reason == reason
    assert acct.frozen_fen == PRICE and shop.stock() == 4
    with world.tx() as s:
        stored = list(s.exec(select(ReturnPhoto).where(ReturnPhoto.return_id == rid)))
        sms = list(s.exec(select(Outbox).where(Outbox.user_id == shop.uid)))
    assert [(p.stored_name, p.content_type, p.size) for p in stored] == \
        [(photos[0].stored_name, "image/png", len(PNG))]
    (notice,) = shop.notices("return_rejected")
    assert reason in notice.body and any(reason in m.body for m in sms)
    # the trial resumes: at its end the price is deducted as usual
    world.advance(days=TRIAL)
    assert shop.order().status == OS.PAID and shop.wallet() == 0
    world.audit_ok()


def test_rejecting_needs_a_reason_and_at_least_one_photo(world, subtests):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    photo = [("a" * 32 + ".png", "image/png", 10)]
    for reason, photos, key in [
        ("", photo, "return.reason_required"),
        ("   ", photo, "return.reason_required"),
        (None, photo, "return.reason_required"),
        ("x" * 301, photo, "bad_text"),
        ("box broken", [], "return.photo_required"),
        ("box broken", None, "return.photo_required"),
    ]:
        with subtests.test(reason=reason, photos=photos):
            err = refused(world, ValidationError, lambda s: orders.reject_return(
                session=s, merchant_id=shop.m, return_id=rid, reason=reason, photos=photos, clock=world.clock))
            assert err.key == key
    assert shop.ret(rid).status == "RECEIVED"


def _rejected_long_after_trial_end(world, *, wallet_fen: int) -> tuple[Shop, object]:
    """Return shipped on day 1, received on day 10, rejected just before the inspection deadline:
    the trial (7 days) ended during the return, and the pause past it outlasts the grace period."""
    shop = Shop(world, wallet_fen=wallet_fen)
    world.advance(days=1)
    rid = shop.request_return()
    world.advance(days=POLICY.return_transit_days_max - 1)
    shop.receive(rid)
    world.advance(days=POLICY.inspection_days, minutes=-1)
    shop.reject(rid)
    rejected_at = world.clock.now()
    assert rejected_at - shop.trial_end > timedelta(days=POLICY.grace_days)
    assert shop.order().status == OS.RETURN_REJECTED  # not billed at the rejection itself
    return shop, rejected_at


def test_rejected_return_after_trial_end_is_announced_at_the_next_sweep_and_deducted_a_day_later_without_late_fee(world):
    shop, rejected_at = _rejected_long_after_trial_end(world, wallet_fen=PRICE)
    world.advance(minutes=1)  # billed; the reminders named the old time, so it is announced afresh
    (inst,) = shop.insts()
    [told] = shop.notices("upcoming")
    assert inst.status == IS.SCHEDULED and told.installment_id == inst.id
    assert inst.attempt_at == told.created_at + POLICY.min_notice == rejected_at + POLICY.min_notice  # swept at once
    assert json.loads(told.params_json)["at"] == inst.attempt_at.isoformat()
    world.advance(days=1)
    o, (inst,) = shop.order(), shop.insts()
    assert o.status == OS.PAID and inst.paid_at == told.created_at + POLICY.min_notice
    assert inst.due_at == rejected_at and inst.late_fee_fen == 0 and not inst.penalized
    assert inst.paid_fen == PRICE and shop.wallet() == 0
    assert shop.acct().score >= shop.score0
    world.audit_ok()


def test_rejected_return_after_trial_end_unpaid_counts_overdue_from_the_rejection_only(world):
    shop, rejected_at = _rejected_long_after_trial_end(world, wallet_fen=0)
    world.advance(minutes=1)  # the next sweep bills it and announces the deduction …
    world.advance(days=1)  # … which fails a day later
    (inst,) = shop.insts()
    assert inst.due_at == rejected_at and inst.status == IS.OVERDUE and shop.order().status == OS.OVERDUE
    grace_end = rejected_at + timedelta(days=POLICY.grace_days)
    world.advance(seconds=(grace_end - world.clock.now()).total_seconds() - 60)  # inside grace counted from rejection
    (inst,) = shop.insts()
    assert inst.late_fee_fen == 0 and not inst.penalized
    acct = shop.acct()
    assert acct.score == shop.score0 and acct.limit_fen == shop.limit0
    world.advance(minutes=1)  # grace over: only now do the overdue consequences start
    (inst,) = shop.insts()
    assert inst.penalized and shop.acct().score == shop.score0 - POLICY.overdue_score_penalty
    world.audit_ok()


def test_rejected_return_deducted_at_the_next_sweep_is_still_on_time(world):
    shop, _ = _rejected_long_after_trial_end(world, wallet_fen=PRICE)
    world.advance(minutes=1)
    world.advance(days=1)  # announced at the next sweep, deducted a day later
    assert shop.order().on_time is True
    assert shop.acct().score == shop.score0 + POLICY.on_time_score_bonus


def test_deduction_by_the_first_sweep_after_trial_end_is_on_time(world):
    shop = Shop(world)
    world.advance(days=TRIAL - 1)  # the reminders went out
    world.clock.set(shop.trial_end + timedelta(seconds=POLICY.sweep_interval_seconds))
    sweep.run_sweep(engine=world.engine, clock=world.clock)
    assert shop.order().status == OS.PAID
    assert shop.order().on_time is True


def test_trial_in_progress_gets_the_reminders_before_deduction(world):
    shop = Shop(world)
    world.advance(days=TRIAL, minutes=-1)
    assert sorted(json.loads(n.params_json)["days"] for n in shop.notices("reminder")) == \
        sorted(POLICY.reminder_days_before)


def test_trial_resumed_after_a_rejected_return_still_gets_the_reminders(world):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    shop.reject(rid)
    world.advance(days=TRIAL, minutes=-1)
    assert shop.order().status == OS.RETURN_REJECTED
    assert sorted(json.loads(n.params_json)["days"] for n in shop.notices("reminder")) == \
        sorted(POLICY.reminder_days_before)


# ── deadlines: a hold never waits on a silent merchant ───────────────────────────────────────


def test_uninspected_return_is_accepted_by_the_sweep_at_the_inspection_deadline(world):
    shop = Shop(world)
    rid = shop.request_return()
    shop.receive(rid)
    deadline = shop.ret(rid).inspect_deadline_at
    world.advance(days=POLICY.inspection_days, minutes=-1)
    assert shop.ret(rid).status == "RECEIVED" and shop.acct().frozen_fen == PRICE
    world.advance(minutes=1)
    r, o, acct = shop.ret(rid), shop.order(), shop.acct()
    assert r.status == "ACCEPTED" and r.outcome == "auto_accepted" and r.inspected_at == deadline
    assert o.status == OS.RETURNED and acct.frozen_fen == 0 and credit.available(acct) == shop.limit0
    assert [i.status for i in shop.insts()] == [IS.CANCELLED] and shop.stock() == 5
    assert shop.wallet() == PRICE
    world.audit_ok()


def test_return_in_transit_too_long_is_taken_as_received_then_auto_accepted(world):
    shop = Shop(world)
    rid = shop.request_return()
    requested = shop.ret(rid).requested_at
    world.advance(days=POLICY.return_transit_days_max, minutes=-1)
    assert shop.ret(rid).status == "IN_TRANSIT"
    world.advance(minutes=1)
    r = shop.ret(rid)
    assert r.status == "RECEIVED" and r.received_at == requested + timedelta(days=POLICY.return_transit_days_max)
    assert shop.order().status == OS.RETURN_RECEIVED
    world.advance(days=POLICY.inspection_days)
    assert shop.ret(rid).outcome == "auto_accepted" and shop.order().status == OS.RETURNED
    assert shop.acct().frozen_fen == 0 and shop.wallet() == PRICE
    world.audit_ok()


# ── the credit-hold timeline ─────────────────────────────────────────────────────────────────


def test_credit_hold_timeline_of_an_accepted_return_lists_each_step_with_its_time(world):
    shop = Shop(world)
    t0 = world.clock.now()
    world.advance(hours=10)
    rid = shop.request_return()
    t1 = world.clock.now()
    world.advance(days=2)
    shop.receive(rid)
    t2 = world.clock.now()
    world.advance(days=1)
    shop.accept(rid)
    t3 = world.clock.now()
    assert shop.timeline() == [("frozen", t0, PRICE), ("return_shipped", t1, None), ("received", t2, None),
                               ("inspected", t3, None), ("released", t3, PRICE)]


def test_credit_hold_timeline_of_a_rejected_return_ends_captured_and_paid(world):
    shop = Shop(world)
    rid = shop.request_return()
    world.advance(days=1)
    shop.receive(rid)
    world.advance(days=1)
    shop.reject(rid)
    t_reject = world.clock.now()
    world.advance(days=TRIAL)
    steps = shop.timeline()
    assert [st for st, _, _ in steps] == ["frozen", "return_shipped", "received", "inspected", "return_rejected",
                                          "captured", "paid"]
    assert [at for _, at, _ in steps] == sorted(at for _, at, _ in steps)
    assert steps[3][1] == steps[4][1] == t_reject
    assert steps[5] == ("captured", shop.trial_end, PRICE)
    world.audit_ok()
