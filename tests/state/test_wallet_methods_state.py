"""The wallet screen's payment-method handlers, driven as a tab drives them: bind a card from the
form ``method-add`` opens, unbind one after confirming, switch automatic deduction on or off, move
a method in the order. Each handler acts for the session's user only: somebody else's method is
"not found", junk arguments are refused, a refusal of the service (the last method automatic
deduction may use while something is owed) is said in the tab's language — and a refusal leaves
the database as it was."""

from __future__ import annotations

import pytest
from helpers import add_card, run, snapshot

from bnpl_app.domain.policy import POLICY
from bnpl_app.services import payments, wallet


def _wallet_id(world, uid: int) -> int:
    with world.tx() as s:
        return wallet.wallet_of(session=s, uid=uid).id


def _bound(world, uid: int) -> list[tuple[int, bool]]:
    with world.tx() as s:
        return [(m.id, m.autopay) for m in payments.methods_in_order(session=s, uid=uid)]


def _open(tab, uid):
    from bnpl_app.state.account import WalletState

    return tab.open(uid, WalletState)


def test_binding_a_card_from_the_form_method_add_opens(world, tab):
    uid = world.shopper()
    t, st = _open(tab, uid)
    assert st.adding is False
    st.toggle_add()
    assert st.adding is True
    st.set_bank("招商银行")
    st.set_last4("4321")
    st.set_card_balance("20")
    run(st.add_card())
    assert t.said()[0] == "success" and st.adding is False
    assert [(m.kind, m.label, m.balance, m.rank, m.autopay, m.last) for m in st.view.methods][-1] \
        == ("card", "招商银行 ****4321", "¥20.00", 2, True, True)
    assert st.view.auto_count == 2 and st.view.wallet_bound


def test_unbinding_asks_first_and_acts_only_on_the_shoppers_own_methods(world, tab):
    uid = world.shopper()
    card = add_card(world, uid)
    theirs = add_card(world, world.shopper())
    t, st = _open(tab, uid)
    st.ask_remove(theirs)  # not on this screen: nothing to confirm
    assert st.removing == 0
    st.ask_remove(str(card))
    assert st.removing == card
    st.cancel_remove()
    assert st.removing == 0
    before = snapshot(world.engine)
    run(st.remove_method(theirs))
    assert t.not_found("payment method")
    run(st.remove_method("junk"))
    assert t.refused_with("bad_id")
    assert snapshot(world.engine) == before
    st.ask_remove(card)
    run(st.remove_method(card))
    assert t.said()[0] == "success" and st.removing == 0
    assert [m.id for m in st.view.methods] == [_wallet_id(world, uid)]
    assert _bound(world, uid) == [(_wallet_id(world, uid), True)]


def test_switching_auto_deduction_off_and_the_last_one_while_owing_is_refused(world, tab):
    m = world.merchant()
    p = world.product(m, price_fen=10_000, trial_days=POLICY.trial_days_default)
    uid = world.shopper(wallet_fen=10_000)
    card = add_card(world, uid)
    w = _wallet_id(world, uid)
    world.buy(uid, p)  # in trial: something is held
    t, st = _open(tab, uid)
    run(st.set_autopay(card, False))
    assert t.said()[0] == "success"
    assert [(v.id, v.autopay) for v in st.view.methods] == [(w, True), (card, False)] == _bound(world, uid)
    assert st.view.auto_count == 1
    before = snapshot(world.engine)
    run(st.set_autopay(w, False))
    assert t.refused_with("method.last_auto_off")
    run(st.remove_method(w))
    assert t.said()[0] == "error"  # the wallet holds money, and it is the last one auto-deduction may use
    for junk in ("false", 0, None):
        run(st.set_autopay(card, junk))
        assert t.refused_with("bad_id")
    assert snapshot(world.engine) == before
    t.sess.lang = "en"
    run(st.set_autopay(w, False))
    kind, said = t.said()
    assert kind == "error" and "auto-deduction" in said


def test_moving_a_method_up_or_down(world, tab):
    uid = world.shopper()
    card = add_card(world, uid)
    w = _wallet_id(world, uid)
    t, st = _open(tab, uid)
    run(st.move(card, -1))
    assert t.said()[0] == "success" and [v.id for v in st.view.methods] == [card, w]
    assert [v.rank for v in st.view.methods] == [1, 2] and st.view.methods[1].last
    before = snapshot(world.engine)
    run(st.move(card, -1))  # already first
    assert t.refused_with("method.move")
    for step in (2, "x", 0):
        run(st.move(w, step))
        assert t.refused_with("bad_id")
    assert snapshot(world.engine) == before


def test_the_wallet_unbound_and_used_again(world, tab):
    uid = world.shopper()
    add_card(world, uid)
    w = _wallet_id(world, uid)
    t, st = _open(tab, uid)
    run(st.remove_method(w))  # empty, and a card is left
    assert t.said()[0] == "success" and not st.view.wallet_bound
    run(st.rebind_wallet())
    assert t.said()[0] == "success" and st.view.wallet_bound and st.view.methods[-1].id == w


@pytest.mark.parametrize("role", ["visitor", "merchant"])
def test_a_visitor_or_a_merchant_cannot_touch_anybodys_methods(world, tab, role):
    from bnpl_app.state.account import WalletState

    uid = world.shopper()
    card = add_card(world, uid)
    who, key = (None, "auth.session_expired") if role == "visitor" else (world.merchant_user(world.merchant()),
                                                                           "auth.role_required")
    t = tab(who)
    st = t.state(WalletState)
    before = snapshot(world.engine)
    for call in (st.remove_method(card), st.set_autopay(card, False), st.move(card, -1), st.rebind_wallet()):
        run(call)
        assert t.refused_with(key)
    assert snapshot(world.engine) == before
