"""Limit restoration (seed 002) and hardship negotiation (seed 003): who may apply, with what, and
what an operator's approval or rejection does to limits, schedules and late fees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import (
    PROOF,
    acct,
    hardship,
    insts,
    jump,
    notes,
    overdue_order,
    pay_off,
    refused,
    restoration,
    restoration_pending,
)
from sqlmodel import select

from bnpl_app.domain.clock import add_months
from bnpl_app.domain.errors import InvalidTransition, NotFound, ValidationError
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.domain.status import BNPL_STATUS_CODE
from bnpl_app.models import (
    BNPL_ACTIVE,
    BNPL_CLOSED,
    BNPL_SUSPENDED,
    Application,
    ApplicationProof,
    CreditEvent,
    InstallmentStatus as IS,
    Order,
    OrderStatus as OS,
    Product,
)
from bnpl_app.services import applications as apps, consent, credit, eligibility, wallet

TRIAL = POLICY.trial_days_default
PRICE = 12_345


@pytest.fixture
def ops(world) -> int:
    return world.operator()


# ── restoration: who may apply ───────────────────────────────────────────────────────────────
def test_restoration_is_not_needed_when_the_limit_was_never_cut(world):
    uid = world.shopper()
    refused(world, InvalidTransition,
            lambda s: apps.apply_restoration(session=s, uid=uid, statement="", proofs=[PROOF], clock=world.clock),
            key="app.not_needed")


def test_restoration_is_refused_while_anything_is_overdue(world):
    uid, *_ = overdue_order(world, days=POLICY.grace_days)
    assert acct(world, uid).restorable_limit_fen is not None
    err = refused(world, InvalidTransition,
                  lambda s: apps.apply_restoration(session=s, uid=uid, statement="", proofs=[PROOF], clock=world.clock),
                  key="app.still_owing")
    assert err.params["owed"] == yuan(PRICE)


def test_restoration_needs_at_least_one_proof(world):
    uid, *_ = overdue_order(world, days=POLICY.grace_days)
    pay_off(world, uid)
    refused(world, ValidationError,
            lambda s: apps.apply_restoration(session=s, uid=uid, statement="", proofs=[], clock=world.clock),
            key="app.proof_required")


def test_only_one_restoration_application_may_be_pending(world, ops):
    uid, _previous, app_id = restoration_pending(world)
    with world.tx() as s:
        assert s.get(Application, app_id).status == "PENDING"
        assert len(s.exec(select(ApplicationProof).where(ApplicationProof.application_id == app_id)).all()) == 1
    refused(world, InvalidTransition,
            lambda s: apps.apply_restoration(session=s, uid=uid, statement="", proofs=[PROOF], clock=world.clock),
            key="app.pending_exists")
    with world.tx() as s:
        apps.reject(session=s, operator_id=ops, application_id=app_id, reason="凭证不清晰", clock=world.clock)
    restoration(world, uid)  # once decided, a new one may be filed


# ── restoration: the operator's decision ─────────────────────────────────────────────────────
def test_approved_restoration_gives_back_the_previous_limit_and_reactivates_bnpl(world, ops):
    uid, _, product, _m = overdue_order(world, days=POLICY.suspend_after_days)
    previous = acct(world, uid).restorable_limit_fen
    assert previous == POLICY.start_limit(700)
    pay_off(world, uid)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0
    app_id = restoration(world, uid)
    with world.tx() as s:
        apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=previous, clock=world.clock)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_ACTIVE and a.limit_fen == previous and a.restorable_limit_fen is None
    with world.tx() as s:
        app = s.get(Application, app_id)
        assert (app.status, app.approved_limit_fen, app.decided_by) == ("APPROVED", previous, ops)
    [note] = notes(world, uid, "app_approved")
    assert yuan(previous) in note.body
    world.buy(uid, product)  # 先用后付 works again
    world.audit_ok()


def test_restoration_of_a_shopper_who_closed_bnpl_restores_the_limit_but_keeps_it_closed(world, ops):
    uid, _, product, _m = overdue_order(world, days=POLICY.suspend_after_days)
    previous = acct(world, uid).restorable_limit_fen
    pay_off(world, uid)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)  # closed while suspended
    app_id = restoration(world, uid)
    with world.tx() as s:
        apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=previous, clock=world.clock)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_CLOSED and a.limit_fen == previous and a.restorable_limit_fen is None
    assert a.terms_accepted_at < world.clock.now()  # nobody accepted anything for the shopper
    with world.tx() as s:
        assert eligibility.check(session=s, uid=uid, product=s.get(Product, product)).eligible is False
    world.clock.advance(timedelta(hours=1))
    with world.tx() as s:  # the shopper turns it back on, with the terms
        consent.open_bnpl(session=s, uid=uid, accept_terms=True, terms_version=POLICY.terms_version, clock=world.clock)
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_ACTIVE and a.limit_fen == previous and a.terms_accepted_at == world.clock.now()
    world.buy(uid, product)
    world.audit_ok()


def test_restoring_a_suspended_shopper_writes_the_status_event(world, ops):
    uid, previous, app_id = restoration_pending(world)
    with world.tx() as s:
        credit.set_status(session=s, uid=uid, status=BNPL_SUSPENDED, reason="test", at=world.clock.now())
        apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=previous, clock=world.clock)
    with world.tx() as s:
        ev = s.exec(select(CreditEvent).where(CreditEvent.user_id == uid, CreditEvent.kind == "status")
                    .order_by(CreditEvent.id.desc())).first()
    assert (ev.old_value, ev.new_value) == (BNPL_STATUS_CODE[BNPL_SUSPENDED], BNPL_STATUS_CODE[BNPL_ACTIVE])
    assert ev.reason.startswith("cr.restored") and acct(world, uid).bnpl_status == BNPL_ACTIVE


def test_restoration_may_be_approved_for_less_than_the_previous_limit(world, ops):
    uid, previous, app_id = restoration_pending(world)
    with world.tx() as s:
        apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=previous - 100, clock=world.clock)
    assert acct(world, uid).limit_fen == previous - 100
    world.audit_ok()


def test_restoration_above_the_previous_limit_or_not_an_amount_is_refused(world, ops):
    uid, previous, app_id = restoration_pending(world)
    for limit in (previous + 1, 0, -1, float(previous), str(previous), True):
        err = refused(world, ValidationError,
                      lambda s: apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=limit,
                                                         clock=world.clock), key="app.limit_range")
        assert err.params["max"] == yuan(previous)


def test_rejection_needs_a_reason_and_the_shopper_sees_it(world, ops):
    uid, _previous, app_id = restoration_pending(world)
    for blank in ("", "   ", None):
        refused(world, ValidationError,
                lambda s: apps.reject(session=s, operator_id=ops, application_id=app_id, reason=blank, clock=world.clock),
                key="app.reason_required")
    with world.tx() as s:
        apps.reject(session=s, operator_id=ops, application_id=app_id, reason="还款凭证无法核实", clock=world.clock)
    with world.tx() as s:
        app = s.get(Application, app_id)
        assert (app.status, app.decision_reason) == ("REJECTED", "还款凭证无法核实")
    [note] = notes(world, uid, "app_rejected")
    assert "还款凭证无法核实" in note.body
    assert "额度恢复" in note.body and "{" not in note.body  # the kind of application, rendered
    assert acct(world, uid).restorable_limit_fen is not None  # nothing restored


def test_an_application_cannot_be_decided_twice(world, ops):
    uid, previous, rejected = restoration_pending(world)
    with world.tx() as s:
        apps.reject(session=s, operator_id=ops, application_id=rejected, reason="no", clock=world.clock)
    refused(world, InvalidTransition,
            lambda s: apps.approve_restoration(session=s, operator_id=ops, application_id=rejected, limit_fen=previous,
                                               clock=world.clock), key="app.already_decided")
    approved = restoration(world, uid)
    with world.tx() as s:
        apps.approve_restoration(session=s, operator_id=ops, application_id=approved, limit_fen=previous, clock=world.clock)
    refused(world, InvalidTransition,
            lambda s: apps.reject(session=s, operator_id=ops, application_id=approved, reason="changed my mind",
                                  clock=world.clock), key="app.already_decided")


def test_deciding_an_unknown_application_is_not_found(world, ops):
    refused(world, NotFound,
            lambda s: apps.reject(session=s, operator_id=ops, application_id=999, reason="x", clock=world.clock),
            key="not_found")


# ── hardship ─────────────────────────────────────────────────────────────────────────────────
def test_hardship_is_open_only_with_an_installment_overdue_long_enough(world):
    uid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days - 1)
    err = refused(world, InvalidTransition,
                  lambda s: apps.apply_hardship(session=s, uid=uid, reason_category="medical", statement="",
                                                proposed_installments=6, request_fee_waiver=True, proofs=[PROOF],
                                                clock=world.clock), key="app.hardship_not_needed")
    assert err.params["days"] == POLICY.hardship_min_overdue_days
    jump(world, 1)
    hardship(world, uid)
    refused(world, InvalidTransition,
            lambda s: apps.apply_hardship(session=s, uid=uid, reason_category="other", statement="", proposed_installments=3,
                                          request_fee_waiver=False, proofs=[PROOF], clock=world.clock),
            key="app.pending_exists")


def test_hardship_application_is_validated(world):
    uid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    good = dict(reason_category="medical", statement="", proposed_installments=6, request_fee_waiver=True, proofs=[PROOF])
    for bad, key in [({"reason_category": "lazy"}, "bad_choice"),
                     ({"proposed_installments": 0}, "app.installments_range"),
                     ({"proposed_installments": POLICY.hardship_max_installments + 1}, "app.installments_range"),
                     ({"proposed_installments": "6"}, "app.installments_range"),
                     ({"proofs": []}, "app.proof_required"),
                     ({"statement": "x" * 1001}, "bad_text")]:
        refused(world, ValidationError,
                lambda s: apps.apply_hardship(session=s, uid=uid, clock=world.clock, **{**good, **bad}), key=key)


@pytest.mark.parametrize("waive", ["all", "part", "none"])
def test_approved_hardship_plan_replaces_the_overdue_schedule(world, ops, waive):
    n = 4
    uid, oid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days + 5, plan="3")
    old = [i for i in insts(world, oid) if i.status in IS.OPEN]
    assert old and any(i.status == IS.OVERDUE for i in old)
    principal = sum(i.principal_fen for i in old)
    late = sum(i.late_fee_fen for i in old)
    assert late > 0
    waived = {"all": late, "part": late // 3, "none": 0}[waive]
    app_id = hardship(world, uid, n=n)
    with world.tx() as s:
        apps.approve_hardship(session=s, operator_id=ops, application_id=app_id, waive_fen=waived, installments=n,
                              clock=world.clock)
    now = world.clock.now()
    rows = insts(world, oid)
    assert all(r.status == IS.REPLACED for r in rows if r.id in {i.id for i in old})
    new = [r for r in rows if r.plan_application_id == app_id]
    assert len(new) == n and all(r.status == IS.SCHEDULED for r in new)
    assert [r.due_at for r in new] == [add_months(now, k + 1) for k in range(n)]
    assert sum(r.principal_fen for r in new) == principal
    assert sum(r.late_fee_fen for r in new) == late - waived
    assert sum(r.late_fee_waived_fen for r in rows if r.status == IS.REPLACED) == waived
    with world.tx() as s:
        assert s.get(Order, oid).status == OS.DUE
        assert credit.account(session=s, uid=uid).outstanding_fen == principal
    [note] = notes(world, uid, "app_approved")
    assert yuan(waived) in note.body
    world.audit_ok()


def _on_a_two_part_plan(world, ops) -> tuple[int, int, int]:
    """An overdue shopper whose hardship plan of two installments (no waiver) was just approved:
    (shopper, order, application)."""
    uid, oid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    app_id = hardship(world, uid, n=2)
    with world.tx() as s:
        apps.approve_hardship(session=s, operator_id=ops, application_id=app_id, waive_fen=0, installments=2, clock=world.clock)
    return uid, oid, app_id


def test_late_fees_stop_accruing_on_a_hardship_plan(world, ops):
    uid, oid, app_id = _on_a_two_part_plan(world, ops)
    plan_before = [(r.id, r.late_fee_fen) for r in insts(world, oid) if r.plan_application_id == app_id]
    late_notes = len(notes(world, uid, "late_fee"))

    world.advance(days=30)
    assert [(r.id, r.late_fee_fen) for r in insts(world, oid) if r.plan_application_id == app_id] == plan_before
    # Even once a plan installment itself goes unpaid past grace, it carries no new late fee.
    jump(world, 40)
    rows = [r for r in insts(world, oid) if r.plan_application_id == app_id]
    assert rows[0].status == IS.OVERDUE
    assert [(r.id, r.late_fee_fen) for r in rows] == plan_before
    assert len(notes(world, uid, "late_fee")) == late_notes
    world.audit_ok()


def test_hardship_plan_is_paid_off_by_the_sweep(world, ops):
    uid, oid, app_id = _on_a_two_part_plan(world, ops)
    with world.tx() as s:
        wallet.topup(session=s, uid=uid, amount_fen=2 * PRICE, clock=world.clock)
    world.advance(days=65)
    rows = [r for r in insts(world, oid) if r.plan_application_id == app_id]
    assert all(r.status == IS.PAID for r in rows)
    with world.tx() as s:
        o = s.get(Order, oid)
        assert o.status == OS.PAID and o.on_time is False
    world.audit_ok()


def test_hardship_approval_terms_are_validated(world, ops):
    uid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    app_id = hardship(world, uid)
    for bad, key in [({"waive_fen": -1}, "app.waive_range"), ({"waive_fen": "all"}, "app.waive_range"),
                     ({"installments": 0}, "app.installments_range"),
                     ({"installments": POLICY.hardship_max_installments + 1}, "app.installments_range")]:
        refused(world, ValidationError,
                lambda s: apps.approve_hardship(session=s, operator_id=ops, application_id=app_id, clock=world.clock,
                                                **{"waive_fen": 0, "installments": 6, **bad}), key=key)


def test_hardship_waiver_above_the_late_fees_is_refused(world, ops):
    uid, oid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    late = sum(i.late_fee_fen for i in insts(world, oid))
    app_id = hardship(world, uid)
    err = refused(world, ValidationError,
                  lambda s: apps.approve_hardship(session=s, operator_id=ops, application_id=app_id, waive_fen=late + 1,
                                                  installments=6, clock=world.clock), key="app.waive_range")
    assert err.params["max"] == yuan(late)


def test_a_hardship_application_cannot_be_approved_as_a_restoration(world, ops):
    uid, *_ = overdue_order(world, days=POLICY.hardship_min_overdue_days)
    app_id = hardship(world, uid)
    refused(world, NotFound,
            lambda s: apps.approve_restoration(session=s, operator_id=ops, application_id=app_id, limit_fen=100,
                                               clock=world.clock), key="not_found")
