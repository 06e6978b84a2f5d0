"""The operator desk's states, driven as a tab drives them: the review queue, one application
(approve with terms, reject with a reason), the shopper look-up, risk and the audit. Only an
operator decides: a shopper, a merchant or a visitor who is not logged in gets nothing from the
desk, and a decision they send is refused with a message and changes nothing."""

from __future__ import annotations

import pytest
from helpers import PROOF, background, notes, overdue_order, restoration_pending, run, snapshot

from bnpl_app import routes
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Application, CreditAccount, InstallmentStatus as IS
from bnpl_app.services import applications as apps, bills

HARDSHIP_DAYS = POLICY.hardship_min_overdue_days


def _hardship_case(world, *, days: int = HARDSHIP_DAYS, n: int = 3, waiver: bool = False,
                   reason: str = "other") -> tuple[int, int, int]:
    """An overdue shopper's hardship application: (shopper, merchant user, application)."""
    uid, _oid, _p, m = overdue_order(world, days=days, price=10_000)
    with world.tx() as s:
        aid = apps.apply_hardship(session=s, uid=uid, reason_category=reason, statement="", proposed_installments=n,
                                  request_fee_waiver=waiver, proofs=[PROOF], clock=world.clock).id
    return uid, world.merchant_user(m), aid


def _status(world, aid: int) -> str:
    with world.tx() as s:
        return s.get(Application, aid).status


# ── who may use the desk ─────────────────────────────────────────────────────────────────────
def test_state_handlers_of_the_operator_refuse_shoppers_and_merchants(world, tab):
    from bnpl_app.state.ops import AuditState, OpsApplicationState, OpsQueueState, audit_as
    from bnpl_app.state.session import session_token

    uid, merchant_user, aid = _hardship_case(world)
    for who in (uid, merchant_user):
        t = tab(who)
        root, sess = t
        q = run(root.get_state(OpsQueueState))
        run(q.load())
        assert q.rows == []  # nothing of the queue reaches a non-operator
        st = run(root.get_state(OpsApplicationState))
        t.at(routes.ops_application(aid))  # as if the URL named it
        st.app.id, st.app.kind, st.reason = aid, "hardship", "no"
        st.installments_input = "3"
        run(st.approve())
        run(st.reject())
        a = run(root.get_state(AuditState))
        assert run(audit_as(session_token(root), sess.lang)) is None  # what the background run_audit does first
        assert a.result.ran is False
    with world.tx() as s:
        assert s.get(Application, aid).status == "PENDING"
    root, sess = tab(world.operator())
    result = run(audit_as(session_token(root), sess.lang))
    assert result is not None and result.ran and result.ok


def test_a_decision_sent_by_a_visitor_who_is_not_logged_in_is_refused_and_changes_nothing(world, tab):
    from bnpl_app.state.ops import OpsApplicationState

    _uid, _m, aid = _hardship_case(world)
    t, st = tab.open(None, OpsApplicationState, path=routes.ops_application(aid))
    assert st.app.id == 0  # the page shows nothing
    before = snapshot(world.engine)
    for decide in (st.approve, st.reject):
        st.app.id, st.app.kind, st.reason, st.installments_input = aid, "hardship", "no", "3"  # a forged screen
        run(decide())
        assert t.refused_with("auth.session_expired")
        assert st.app.id == 0  # the page read again shows nothing
    assert snapshot(world.engine) == before


# ── the queue ────────────────────────────────────────────────────────────────────────────────
def test_the_queue_lists_pending_applications_with_the_applicants_summary_and_filters_by_status(world, tab):
    from bnpl_app.state.ops import OpsQueueState

    uid, _m, aid = _hardship_case(world)
    t = tab(world.operator())
    q = t.state(OpsQueueState)
    run(q.load())
    assert [(r.id, r.kind, r.status) for r in q.rows] == [(aid, "hardship", "PENDING")]
    assert q.rows[0].shopper.user_id == uid and q.rows[0].proofs == 1 and q.rows[0].url == routes.ops_application(aid)
    run(q.set_status("APPROVED"))
    assert q.rows == [] and q.status == "APPROVED"
    run(q.set_status("anything else"))  # not a status: the pending ones
    assert q.status == "PENDING" and [r.id for r in q.rows] == [aid]
    run(q.set_status("APPROVED"))
    run(q.set_status(["APPROVED"]))  # crafted: a list where a status belongs is no status either
    assert q.status == "PENDING" and [r.id for r in q.rows] == [aid]


# ── one application ──────────────────────────────────────────────────────────────────────────
def test_state_handler_operator_approves_a_hardship_plan_waiving_all_late_fees(world, tab):
    from bnpl_app.state.ops import OpsApplicationState

    uid, _m, aid = _hardship_case(world, days=HARDSHIP_DAYS + 2, n=4, waiver=True, reason="medical")
    with world.tx() as s:
        late = apps.hardship_late_fees(session=s, uid=uid)
    assert late > 0
    t = tab(world.operator())
    root, sess = t
    st = run(root.get_state(OpsApplicationState))
    t.at(routes.ops_application(aid))
    run(st.load())
    assert (st.app.id, st.waive_mode, st.installments_input) == (aid, "all", "4")
    run(st.approve())
    assert sess.toast_kind == "success", sess.toast_text
    with world.tx() as s:
        a = s.get(Application, aid)
        assert (a.status, a.waived_fen, a.plan_installments) == ("APPROVED", late, 4)
        open_ = [i for i in bills.billed_installments(session=s, uid=uid) if i.status in IS.OPEN]
        assert len(open_) == 4 and all(i.late_fee_fen == 0 for i in open_)
    world.advance(days=5)
    with world.tx() as s:  # late fees stopped
        assert all(i.late_fee_fen == 0 for i in bills.billed_installments(session=s, uid=uid) if i.status in IS.OPEN)
    world.audit_ok()


def test_approving_a_restoration_sets_the_limit_the_operator_typed(world, tab):
    from bnpl_app.state.ops import OpsApplicationState

    uid, _previous, aid = restoration_pending(world)
    t, st = tab.open(world.operator(), OpsApplicationState, path=routes.ops_application(aid))
    assert st.app.kind == "restoration" and st.limit_input == st.app.restorable_input != ""
    st.set_limit_input("300.00")
    run(st.approve())
    assert t.said()[0] == "success", t.said()
    assert st.app.status == "APPROVED" and not st.app.pending  # the page reloaded
    with world.tx() as s:
        a = s.get(Application, aid)
        acct = s.exec(CreditAccount.__table__.select().where(CreditAccount.__table__.c.user_id == uid)).one()
    assert (a.status, a.approved_limit_fen, acct.limit_fen) == ("APPROVED", 30_000, 30_000)
    world.audit_ok()


def test_a_limit_that_is_not_money_or_an_unknown_plan_length_is_refused_with_its_rule(world, tab):
    from bnpl_app.state.ops import OpsApplicationState

    _uid, _previous, restore_id = restoration_pending(world)
    _uid2, _m, hardship_id = _hardship_case(world)
    ops = world.operator()
    t, t2 = tab(ops, path=routes.ops_application(restore_id)), tab(ops, path=routes.ops_application(hardship_id))
    before = snapshot(world.engine)
    st = t.state(OpsApplicationState)
    run(st.load())
    st.set_limit_input("lots")
    run(st.approve())
    assert t.said()[0] == "error"
    t, st = t2, t2.state(OpsApplicationState)
    run(st.load())
    for bad in ("0", str(POLICY.hardship_max_installments + 1), "x"):
        st.set_installments_input(bad)
        run(st.approve())
        assert t.refused_with("app.installments_range", field="installments", max=POLICY.hardship_max_installments)
    assert snapshot(world.engine) == before
    assert (_status(world, restore_id), _status(world, hardship_id)) == ("PENDING", "PENDING")


def test_rejecting_needs_a_reason_and_then_tells_the_shopper(world, tab):
    from bnpl_app.state.ops import OpsApplicationState

    uid, _m, aid = _hardship_case(world)
    t, st = tab.open(world.operator(), OpsApplicationState, path=routes.ops_application(aid))
    before = snapshot(world.engine)
    st.set_reason("   ")
    run(st.reject())
    assert t.said()[0] == "error" and snapshot(world.engine) == before
    st.set_reason("请补充证明")
    run(st.reject())
    assert t.said()[0] == "success" and st.reason == "" and st.app.status == "REJECTED"
    with world.tx() as s:
        a = s.get(Application, aid)
        assert (a.status, a.decision_reason) == ("REJECTED", "请补充证明")
    assert len(notes(world, uid, "app_rejected")) == 1


def test_a_decision_on_another_application_than_the_one_on_screen_is_refused(world, tab):
    """The screen loaded one application; the URL now names another (a crafted event, a stale
    tab): the decision is refused, neither application changes."""
    from bnpl_app.state.ops import OpsApplicationState

    _uid, _m, first = _hardship_case(world)
    _uid2, _m2, second = _hardship_case(world)
    t, st = tab.open(world.operator(), OpsApplicationState, path=routes.ops_application(first))
    t.at(routes.ops_application(second))
    before = snapshot(world.engine)
    run(st.approve())
    assert t.said()[0] == "error"
    st.set_reason("no")
    run(st.reject())
    assert t.said()[0] == "error"
    assert snapshot(world.engine) == before
    t.at(routes.ops_application(10**6))  # no such application
    run(st.load())
    assert st.missing and st.app.id == 0


# ── the shopper look-up ──────────────────────────────────────────────────────────────────────
def test_looking_up_a_shopper_opens_their_file_and_a_merchants_id_is_not_found(world, tab):
    from bnpl_app.state.ops import OpsShoppersState

    zoe = world.shopper(name="zoe")
    world.shopper(name="zed")
    m = world.merchant()
    t, st = tab.open(world.operator(), OpsShoppersState)
    assert st.total == 2 and st.file.found is False
    run(st.search({"q": "ZOE"}))  # one match: its file opens
    assert [h.id for h in st.hits] == [zoe] and st.selected == zoe and st.file.summary.username == "zoe"
    run(st.search({"q": "z"}))
    assert st.total == 2 and st.selected == 0 and not st.file.found
    run(st.open(zoe))
    assert st.file.found and st.file.summary.user_id == zoe
    run(st.open(world.merchant_user(m)))
    assert not st.file.found and t.said()[0] == "error"
    run(st.search("not a form"))
    assert st.query == "" and st.total == 2


def test_a_shopper_looking_up_shoppers_sees_nobody(world, tab):
    from bnpl_app.state.ops import OpsShoppersState

    other = world.shopper(name="other")
    t = tab(world.shopper(name="nosy"))
    st = t.state(OpsShoppersState)
    run(st.search({"q": "other"}))
    assert st.hits == [] and st.total == 0
    run(st.open(other))
    assert not st.file.found and st.file.summary.username == ""


# ── risk and the audit ───────────────────────────────────────────────────────────────────────
def test_risk_shows_overdue_money_by_days_late(world, tab):
    from bnpl_app.state.ops import RiskState

    overdue_order(world, days=2, price=10_000)
    t, st = tab.open(world.operator(), RiskState)
    by = {b.key: b for b in st.view.buckets}
    assert (by["1-3"].installments, by["1-3"].shoppers, by["1-3"].principal) == (1, 1, yuan(10_000))
    shopper = tab(world.shopper()).state(RiskState)
    run(shopper.load())
    assert shopper.view.buckets == []


@pytest.mark.parametrize("role", ["operator", "shopper"])
def test_the_audit_runs_for_an_operator_only(world, tab, role):
    from bnpl_app.state.ops import AuditState

    overdue_order(world, days=1)
    t = tab(world.operator() if role == "operator" else world.shopper())
    st = t.state(AuditState)
    run(background(st, "run_audit"))  # a background event: it runs with no state lock held
    assert st.running is False
    if role == "operator":
        assert st.result.ran and st.result.ok and st.result.checks
        assert t.said() == ("success", st.result.summary)
    else:
        assert st.result.ran is False and t.refused_with("auth.role_required")
