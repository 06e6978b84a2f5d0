"""The shopper's account screens, driven as a tab drives them: bills (statements, repaying one
installment, repaying an order early, auto-repay), credit (opening 先用后付 after the terms, the
self-set cap, identity checks, restoration and hardship applications with proofs), the wallet
(top-up, a card) and the inbox. Every id the browser sends is checked: somebody else's record
is "not found", junk is refused, and a visitor who is not logged in or a merchant reaches
nothing — each refusal with a message, nothing changed."""

from __future__ import annotations

import pytest
from helpers import (
    acct,
    add_card,
    insts,
    notes,
    order,
    overdue_order,
    pay_off,
    run,
    sent,
    snapshot,
    stored_files,
    upload,
)
from sqlmodel import select

from bnpl_app import routes
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    BNPL_ACTIVE,
    BNPL_CLOSED,
    BNPL_NOT_OPENED,
    BNPL_SUSPENDED,
    Application,
    ApplicationProof,
    InstallmentStatus as IS,
    OrderStatus as OS,
    PaymentMethod,
    User,
)
from bnpl_app.services import payments, wallet

TRIAL = POLICY.trial_days_default
PRICE = 30_000
PDF = b"%PDF-1.7\n" + b"\x00" * 32
HARDSHIP_DAYS = POLICY.hardship_min_overdue_days


def _wallet_fen(world, uid: int) -> int:
    with world.tx() as s:
        return wallet.wallet_of(session=s, uid=uid).balance_fen


def _billed(world, *, plan: str = "3", wallet_fen: int = 10 * PRICE) -> tuple[int, int]:
    """A shopper whose order on three installments is past its trial: the first deducted."""
    m = world.merchant()
    p = world.product(m, price_fen=PRICE, plans="full,3")
    uid = world.shopper(wallet_fen=wallet_fen)
    oid = world.buy(uid, p, plan=plan)
    world.advance(days=TRIAL, hours=1)
    return uid, oid


def _rows(st) -> list:
    return [r for sv in st.view.statements for r in sv.rows]


# ── bills ────────────────────────────────────────────────────────────────────────────────────
def test_the_bills_screen_groups_installments_by_month_with_the_months_figures(world, tab):
    from bnpl_app.state.account import BillsState

    uid, oid = _billed(world)
    st = tab(uid).state(BillsState)
    run(st.load())
    rows = _rows(st)
    assert sorted(r.seq for r in rows) == [1, 2, 3] and all(r.order_id == oid for r in rows)
    assert [r.status for r in sorted(rows, key=lambda r: r.seq)] == [IS.PAID, IS.SCHEDULED, IS.SCHEDULED]
    for sv in st.view.statements:
        assert {r.month for r in sv.rows} == {sv.month} and sv.count == len(sv.rows)
    assert sum(sv.count for sv in st.view.statements) == 3
    assert st.view.open_total == yuan(sum(i.principal_fen + i.fee_fen for i in insts(world, oid)[1:]))
    assert st.first_method == str(st.view.methods[0].id) and st.days_before == "0"


def test_repaying_an_installment_with_the_amount_on_screen_pays_it(world, tab):
    from bnpl_app.state.account import BillsState

    uid, oid = _billed(world)
    t, st = tab.open(uid, BillsState)
    second = next(r for r in _rows(st) if r.seq == 2)
    before = _wallet_fen(world, uid)
    run(st.repay(second.id, second.owed_fen))
    assert t.said()[0] == "success"
    assert next(r for r in _rows(st) if r.seq == 2).status == IS.PAID  # the screen reloaded
    assert [i.status for i in insts(world, oid)] == [IS.PAID, IS.PAID, IS.SCHEDULED]
    assert _wallet_fen(world, uid) == before - second.owed_fen
    world.audit_ok()


def test_repaying_with_a_stale_amount_or_junk_is_refused_and_changes_nothing(world, tab):
    from bnpl_app.state.account import BillsState

    uid, _oid = _billed(world)
    t, st = tab.open(uid, BillsState)
    second = next(r for r in _rows(st) if r.seq == 2)
    before = snapshot(world.engine)
    run(st.repay(second.id, second.owed_fen + 1))
    assert t.refused_with("bill.amount_mismatch", owed=yuan(second.owed_fen))
    for iid, amount in (("abc", second.owed_fen), (True, second.owed_fen), (-1, 0), (1.5, 0), (second.id, "lots")):
        run(st.repay(iid, amount))
        assert t.refused_with("bad_id")
    assert snapshot(world.engine) == before


def test_somebody_elses_installment_or_order_is_not_found(world, tab):
    from bnpl_app.state.account import BillsState

    owner, oid = _billed(world)
    [_first, second, _third] = insts(world, oid)
    t, st = tab.open(world.shopper(wallet_fen=10 * PRICE), BillsState)
    assert st.view.statements == []
    before = snapshot(world.engine)
    run(st.repay(second.id, second.principal_fen + second.fee_fen))
    assert t.not_found("installment")
    run(st.early_repay(oid, 2 * PRICE))
    assert t.said()[0] == "error"
    assert snapshot(world.engine) == before and order(world, oid).status == OS.DUE


def test_repaying_an_order_early_pays_every_installment_left_at_the_quoted_amount(world, tab):
    from bnpl_app.state.account import BillsState

    uid, oid = _billed(world)
    t, st = tab.open(uid, BillsState)
    [early] = st.view.early
    assert (early.order_id, early.open_count) == (oid, 2)
    before = _wallet_fen(world, uid)
    run(st.early_repay(str(oid), early.total_fen + 1))  # not what was quoted
    assert t.said()[0] == "error" and _wallet_fen(world, uid) == before
    run(st.early_repay(oid, early.total_fen))
    assert t.said()[0] == "success" and st.view.early == []
    assert order(world, oid).status == OS.PAID and _wallet_fen(world, uid) == before - early.total_fen
    world.audit_ok()


def test_auto_repay_settings_take_only_the_shoppers_own_methods_and_a_day_count_in_range(world, tab):
    from bnpl_app.state.account import BillsState

    uid = world.shopper()
    card = add_card(world, uid)
    theirs = add_card(world, world.shopper())
    t, st = tab.open(uid, BillsState)
    shown = (st.first_method, st.days_before)
    st.set_first_method(str(theirs))  # not on this screen: ignored
    st.set_days_before(str(POLICY.autopay_days_before_max + 1))  # out of range: ignored
    assert (st.first_method, st.days_before) == shown
    st.set_first_method(str(card))
    st.set_days_before("2")
    run(st.save_autopay())
    assert t.said()[0] == "success" and (st.first_method, st.days_before) == (str(card), "2")
    with world.tx() as s:
        assert payments.methods_in_order(session=s, uid=uid)[0].id == card
    assert acct(world, uid).autopay_days_before == 2
    st.first_method = str(theirs)  # a forged form
    before = snapshot(world.engine)
    run(st.save_autopay())
    assert t.refused_with("autopay.order") and snapshot(world.engine) == before


# ── credit ───────────────────────────────────────────────────────────────────────────────────
def test_opening_bnpl_needs_the_terms_accepted_first(world, tab):
    from bnpl_app.state.account import CreditState

    uid = world.shopper(opened=False)
    t, st = tab.open(uid, CreditState)
    assert st.view.status == BNPL_NOT_OPENED and st.terms
    before = snapshot(world.engine)
    run(st.open_bnpl())
    assert t.refused_with("consent.terms_required") and snapshot(world.engine) == before
    st.set_terms_ok("true")  # only a real true ticks the box
    assert st.terms_ok is False
    st.set_terms_ok(True)
    run(st.open_bnpl())
    assert t.said()[0] == "success" and st.view.status == BNPL_ACTIVE and st.terms_ok is False
    a = acct(world, uid)
    assert a.bnpl_status == BNPL_ACTIVE and a.terms_version == POLICY.terms_version and a.limit_fen > 0


def test_a_suspended_shopper_closes_bnpl_and_is_then_sent_to_restoration_not_the_terms(world, tab):
    from bnpl_app.state.account import CreditState

    uid = overdue_order(world, days=POLICY.suspend_after_days).uid
    pay_off(world, uid)
    t, st = tab.open(uid, CreditState)
    assert st.view.status == BNPL_SUSPENDED and st.view.restore_first
    run(st.close_bnpl())
    assert t.said()[0] == "success" and st.view.status == BNPL_CLOSED and st.view.restore_first
    before = snapshot(world.engine)
    st.set_terms_ok(True)
    run(st.open_bnpl())  # a browser may call it anyway
    assert t.refused_with("consent.restore_first") and snapshot(world.engine) == before
    assert acct(world, uid).bnpl_status == BNPL_CLOSED


def test_closing_unticks_the_terms_so_reopening_means_accepting_them_again(world, tab):
    from bnpl_app.state.account import CreditState

    uid = world.shopper()
    t, st = tab.open(uid, CreditState)
    st.set_terms_ok(True)  # ticked before closing (a stale tick must not carry over)
    run(st.close_bnpl())
    assert t.said()[0] == "success" and st.view.status == BNPL_CLOSED and st.terms_ok is False
    assert not st.view.restore_first and st.terms


def test_the_self_set_cap_is_saved_refused_above_the_limit_and_cleared(world, tab):
    from bnpl_app.state.account import CreditState

    uid = world.shopper()
    limit = acct(world, uid).limit_fen
    t, st = tab.open(uid, CreditState)
    st.set_cap_text("100")
    run(st.save_cap())
    assert t.said()[0] == "success" and st.cap_text == "" and st.view.self_cap == yuan(10_000)
    assert acct(world, uid).self_cap_fen == 10_000
    before = snapshot(world.engine)
    st.set_cap_text(f"{limit // 100 + 1}")
    run(st.save_cap())
    assert t.refused_with("consent.self_cap_range", field="self_cap", limit=yuan(limit))
    st.set_cap_text("abc")
    run(st.save_cap())
    assert t.said()[0] == "error" and snapshot(world.engine) == before
    run(st.clear_cap())
    assert t.said()[0] == "success" and acct(world, uid).self_cap_fen is None


def test_identity_and_phone_are_checked_before_they_are_stored(world, tab):
    from bnpl_app.state.account import CreditState

    uid = world.shopper(verified=False, phone=False)
    t, st = tab.open(uid, CreditState)
    before = snapshot(world.engine)
    st.set_real_name("张三")
    st.set_id_number("123")
    run(st.verify_identity())
    assert t.refused_with("auth.bad_id_number", field="id_number") and st.id_number == "123"
    st.set_phone("12345")
    run(st.bind_phone())
    assert t.refused_with("auth.bad_phone", field="phone")
    assert snapshot(world.engine) == before
    st.set_id_number("11010519491231002X")
    run(st.verify_identity())
    st.set_phone("13912345678")
    run(st.bind_phone())
    assert t.said()[0] == "success" and (st.real_name, st.id_number, st.phone) == ("", "", "")
    with world.tx() as s:
        user = s.get(User, uid)
        assert (user.real_name_verified, user.phone) == (True, "13912345678")
    assert st.view.real_name is True


def test_a_restoration_application_is_sent_with_its_proof(world, tab, updir):
    from bnpl_app.state.account import CreditState

    uid, *_ = overdue_order(world, days=POLICY.grace_days)
    pay_off(world, uid)
    t, st = tab.open(uid, CreditState)
    assert st.view.restorable
    st.start_application("restoration")
    st.set_statement("已全部还清")
    assert run(st.submit_application([upload("流水.pdf", PDF)])) is not None  # clears the file picker
    assert t.said()[0] == "success" and st.applying == ""
    with world.tx() as s:
        [app] = s.exec(select(Application).where(Application.shopper_id == uid)).all()
        [proof] = s.exec(select(ApplicationProof).where(ApplicationProof.application_id == app.id)).all()
    assert (app.kind, app.status, app.statement) == ("restoration", "PENDING", "已全部还清")
    assert stored_files(updir) == [proof.stored_name] and proof.label == "流水.pdf"
    assert [a.id for a in st.view.applications] == [app.id]


def test_a_hardship_application_carries_the_proposed_plan_and_the_waiver_request(world, tab, updir):
    from bnpl_app.state.account import CreditState

    uid, *_ = overdue_order(world, days=HARDSHIP_DAYS)
    t, st = tab.open(uid, CreditState)
    assert st.view.hardship_ok
    st.start_application("hardship")
    st.set_reason("unemployment")
    st.set_installments("6")
    st.set_waiver(True)
    run(st.submit_application([upload("证明.pdf", PDF)]))
    assert t.said()[0] == "success"
    with world.tx() as s:
        [app] = s.exec(select(Application).where(Application.shopper_id == uid)).all()
    assert (app.kind, app.reason_category, app.proposed_installments, app.request_fee_waiver) == (
        "hardship", "unemployment", 6, True)


def test_an_application_with_a_fake_proof_or_none_or_a_bad_plan_is_refused_and_nothing_is_stored(world, tab, updir):
    from bnpl_app.state.account import CreditState

    uid, *_ = overdue_order(world, days=HARDSHIP_DAYS)
    t, st = tab.open(uid, CreditState)
    before = snapshot(world.engine)
    st.start_application("loan")  # not an application form: nothing opens, nothing is sent
    assert st.applying == "" and run(st.submit_application([upload("a.pdf", PDF)])) is None
    st.start_application("hardship")
    st.set_reason("gambling")  # not a reason on the form: the choice stays
    assert st.reason == "medical"
    run(st.submit_application([upload("proof.pdf", b"<html>not a pdf</html>")]))
    assert t.refused_with("upload.bad_type", name="proof.pdf", allowed="PNG, JPG, GIF, WEBP, PDF")
    run(st.submit_application([]))
    assert t.refused_with("app.proof_required", field="proofs")
    st.set_installments("many")
    run(st.submit_application([upload("a.pdf", PDF)]))
    assert t.refused_with("app.installments_range", max=POLICY.hardship_max_installments)
    assert st.applying == "hardship"  # the form stays open to be corrected
    assert snapshot(world.engine) == before and stored_files(updir) == []


# ── wallet ───────────────────────────────────────────────────────────────────────────────────
def test_topping_up_adds_to_the_wallet_and_a_bad_amount_is_refused(world, tab):
    from bnpl_app.state.account import WalletState

    uid = world.shopper()
    t, st = tab.open(uid, WalletState)
    assert st.view.balance == yuan(0)
    st.set_topup_text("50.5")
    run(st.topup())
    assert t.said()[0] == "success" and st.topup_text == "" and st.view.balance == yuan(5_050)
    assert _wallet_fen(world, uid) == 5_050
    before = snapshot(world.engine)
    for bad in ("-1", "0", "abc", "1.234"):
        st.set_topup_text(bad)
        run(st.topup())
        assert t.said()[0] == "error" and st.topup_text == bad
    assert snapshot(world.engine) == before


def test_the_wallet_lists_the_refund_of_a_returned_paid_order_as_money_coming_back(world, tab):
    from bnpl_app.services import orders
    from bnpl_app.state.account import WalletState

    m = world.merchant()
    p = world.product(m, price_fen=10_000)
    uid = world.shopper(wallet_fen=10_000)
    oid = world.buy(uid, p)
    with world.tx() as s:
        orders.pay_now(session=s, uid=uid, order_id=oid, clock=world.clock)
        rid = orders.request_return(session=s, uid=uid, order_id=oid, tracking_no="SF1234567890", clock=world.clock).id
        orders.mark_received(session=s, merchant_id=m, return_id=rid, clock=world.clock)
        orders.accept_return(session=s, merchant_id=m, return_id=rid, clock=world.clock)
    _t, st = tab.open(uid, WalletState)
    assert st.view.balance == yuan(10_000)
    refund, capture, topup = st.view.movements[:3]
    assert (refund.kind, refund.amount, refund.incoming) == ("refund", "+" + yuan(10_000), True)
    assert (capture.kind, capture.amount, capture.incoming) == ("capture", "−" + yuan(10_000), False)
    assert (topup.kind, refund.order_id, topup.order_id) == ("topup", oid, 0)
    assert refund.kind_label and refund.method and refund.at


def test_adding_a_card_checks_its_fields(world, tab):
    from bnpl_app.state.account import WalletState

    uid = world.shopper()
    t, st = tab.open(uid, WalletState)
    before = snapshot(world.engine)
    st.set_bank("招商银行")
    st.set_last4("12a4")
    run(st.add_card())
    assert t.refused_with("bad_text", field="last4", min=4, max=4) and snapshot(world.engine) == before
    st.set_last4("1234")
    st.set_card_balance("10")
    run(st.add_card())
    assert t.said()[0] == "success" and (st.bank, st.last4, st.card_balance) == ("", "", "")
    with world.tx() as s:
        [card] = s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid, PaymentMethod.kind == "card")).all()
    assert (card.label, card.balance_fen) == ("招商银行 ****1234", 1_000)
    assert [m.kind for m in st.view.methods] == ["wallet", "card"]


@pytest.mark.parametrize("role", ["visitor", "merchant"])
def test_a_visitor_or_a_merchant_calling_the_shoppers_money_handlers_is_refused(world, tab, role):
    from bnpl_app.state.account import BillsState, CreditState, WalletState

    uid, oid = _billed(world)
    second = insts(world, oid)[1]
    m = world.merchant()
    who, key = (None, "auth.session_expired") if role == "visitor" else (world.merchant_user(m), "auth.role_required")
    t = tab(who)
    before = snapshot(world.engine)
    money = t.state(WalletState)
    run(money.load())
    assert money.view.balance == ""  # nothing of anybody's wallet reaches them
    money.set_topup_text("100")
    run(money.topup())
    assert t.refused_with(key)
    bills_ = t.state(BillsState)
    run(bills_.repay(second.id, second.principal_fen + second.fee_fen))
    assert t.refused_with(key)
    credit_ = t.state(CreditState)
    credit_.set_terms_ok(True)
    run(credit_.close_bnpl())
    assert t.refused_with(key)
    assert snapshot(world.engine) == before
    assert acct(world, uid).bnpl_status == BNPL_ACTIVE


# ── inbox ────────────────────────────────────────────────────────────────────────────────────
def test_marking_a_notice_read_updates_the_unread_count_and_somebody_elses_is_not_found(world, tab):
    from bnpl_app.state.account import InboxState

    uid, _oid = _billed(world)
    other, _ = _billed(world)
    t, st = tab.open(uid, InboxState)
    unread = st.unread_here
    assert unread == len(st.notices) > 1 and all(n.unread for n in st.notices)
    first = st.notices[0].id
    run(st.mark_read(str(first)))
    assert st.unread_here == unread - 1 == t.sess.unread
    assert [n.unread for n in st.notices if n.id == first] == [False]
    theirs = notes(world, other, st.notices[0].kind)[0]
    before = snapshot(world.engine)
    run(st.mark_read(theirs.id))
    assert t.not_found("notification")
    run(st.mark_read("x"))
    assert t.refused_with("bad_id")
    assert snapshot(world.engine) == before
    run(st.mark_all_read())
    assert t.said()[0] == "success" and st.unread_here == 0 == t.sess.unread
    assert all(n.read_at is None for n in notes(world, other, theirs.kind))  # theirs stay unread


def test_the_inbox_sends_a_visitor_to_log_in_and_serves_every_role(world, tab):
    from bnpl_app.state.account import InboxState

    t = tab(None)
    st = t.state(InboxState)
    assert sent(run(st.load()))["path"] == routes.LOGIN
    assert t.said()[0] == "error" and st.notices == []
    merchant = tab(world.merchant_user(world.merchant())).state(InboxState)
    assert run(merchant.load()) is None and merchant.notices == [] and merchant.total == 0
