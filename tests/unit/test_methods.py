"""Payment methods the shopper controls: binding and unbinding cards, which methods automatic
deduction may use and in which order. An unbound method keeps its row for the journal and is never
used again (manual repayment, pay now, top-ups, the dry run, the checkout quote); the wallet is
not unbound while it holds money; the last method automatic deduction may use stays while
anything is owed or held — each refusal a typed error in both languages, the database unchanged.
Eligibility's "a payment method bound" means one automatic deduction may use. And the one on-time
rule: a sweep that runs seconds after a due instant pays on time, in the merchant's analytics as
in the shopper's reward."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import add_card, insts, jump, order, refused, snapshot, topup

from bnpl_app.domain import rules
from bnpl_app.domain.errors import InvalidTransition, NotEligible, NotFound, ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import InstallmentStatus as IS, MethodKind as MK, OrderStatus as OS, PaymentMethod, Posting
from bnpl_app.services import bills, checkout, console, desk, eligibility, orders, payments, wallet

TRIAL = POLICY.trial_days_default
PRICE = 10_000


@pytest.fixture
def shop(world):
    m = world.merchant()
    return m, world.product(m, price_fen=PRICE, trial_days=TRIAL)


def _methods(world, uid, **kw) -> list[PaymentMethod]:
    with world.tx() as s:
        return payments.methods_in_order(session=s, uid=uid, **kw)


def _auto(world, uid) -> list[int]:
    with world.tx() as s:
        return [m.id for m in payments.auto_methods(session=s, uid=uid)]


def _wallet(world, uid) -> PaymentMethod:
    with world.tx() as s:
        return wallet.wallet_of(session=s, uid=uid)


def _remove(world, uid, mid):
    with world.tx() as s:
        return wallet.remove_method(session=s, uid=uid, method_id=mid, clock=world.clock)


def _autopay(world, uid, mid, on: bool):
    with world.tx() as s:
        return wallet.set_method_autopay(session=s, uid=uid, method_id=mid, on=on, clock=world.clock)


def _both_languages(err) -> tuple[str, str]:
    zh, en = err.text("zh"), err.text("en")
    assert zh != en and zh.strip() and en.strip() and err.key not in (zh, en)
    return zh, en


# ── bind, order, auto-deduction ────────────────────────────────────────────────────────────────
def test_a_bound_card_goes_last_in_the_order_and_auto_deduction_may_use_it(world):
    uid = world.shopper(wallet_fen=500)
    card = add_card(world, uid, balance_fen=2_000)
    w = _wallet(world, uid).id
    assert [m.id for m in _methods(world, uid)] == [w, card]
    assert _auto(world, uid) == [w, card]
    [c] = [m for m in _methods(world, uid) if m.id == card]
    assert (c.kind, c.label, c.balance_fen, c.autopay, c.removed_at) == (MK.CARD, "招商银行 ****1234", 2_000, True, None)


def test_moving_a_method_changes_the_order_auto_deduction_tries_them(world):
    uid = world.shopper()
    a, b = add_card(world, uid), add_card(world, uid)
    w = _wallet(world, uid).id
    with world.tx() as s:
        order_ = wallet.move_method(session=s, uid=uid, method_id=b, step=-1)
    assert [m.id for m in order_] == [w, b, a] == [m.id for m in _methods(world, uid)]
    with world.tx() as s:
        wallet.move_method(session=s, uid=uid, method_id=w, step=1)
    assert [m.id for m in _methods(world, uid)] == [b, w, a]
    # past either end, a junk step, somebody else's method: refused, nothing moved
    other = add_card(world, world.shopper())
    for mid, step, exc in ((b, -1, InvalidTransition), (a, 1, InvalidTransition), (a, 2, ValidationError),
                           (a, True, ValidationError), (other, 1, NotFound), ("1", 1, NotFound)):
        refused(world, exc, lambda s, mid=mid, step=step: wallet.move_method(session=s, uid=uid, method_id=mid, step=step))


def test_autopay_off_leaves_a_method_for_manual_payments_only_and_the_dry_run_skips_it(world, shop):
    _m, p = shop
    uid = world.shopper(wallet_fen=PRICE)
    card = add_card(world, uid, balance_fen=PRICE)
    w = _wallet(world, uid).id
    oid = world.buy(uid, p)
    with world.tx() as s:
        [planned] = bills.dry_run(session=s, uid=uid, clock=world.clock)
        assert checkout.quote(session=s, uid=uid, product_id=p, plan="full", clock=world.clock).method.id == w
    assert planned.method_label == _wallet(world, uid).label
    _autopay(world, uid, w, False)
    assert _auto(world, uid) == [card] and [m.id for m in _methods(world, uid)] == [w, card]
    with world.tx() as s:
        [planned] = bills.dry_run(session=s, uid=uid, clock=world.clock)
        assert checkout.quote(session=s, uid=uid, product_id=p, plan="full", clock=world.clock).method.id == card
    assert planned.method_label == "招商银行 ****1234"
    # … and by hand the wallet still pays
    with world.tx() as s:
        orders.pay_now(session=s, uid=uid, order_id=oid, method_id=w, clock=world.clock)
    assert order(world, oid).status == OS.PAID and _wallet(world, uid).balance_fen == 0
    _autopay(world, uid, w, True)
    assert _auto(world, uid) == [w, card]


def test_switching_autopay_takes_a_real_bool(world):
    uid = world.shopper()
    w = _wallet(world, uid).id
    for junk in ("false", 0, None):
        refused(world, ValidationError, lambda s, junk=junk: wallet.set_method_autopay(
            session=s, uid=uid, method_id=w, on=junk, clock=world.clock))


# ── unbind ───────────────────────────────────────────────────────────────────────────────────────
def test_an_unbound_card_keeps_its_row_and_journal_but_is_never_shown_or_used_again(world, shop):
    _m, p = shop
    uid = world.shopper(wallet_fen=PRICE)
    card = add_card(world, uid, balance_fen=3 * PRICE)
    oid = world.buy(uid, p, plan="3")
    removed = _remove(world, uid, card)
    assert removed.removed_at == world.clock.now()
    assert [m.id for m in _methods(world, uid)] == [_wallet(world, uid).id]
    assert card in [m.id for m in _methods(world, uid, with_removed=True)]
    assert card not in _auto(world, uid)
    with world.tx() as s:  # its top-up posting is still in the journal, and the operator's file still shows it
        assert s.execute(sa.select(sa.func.count()).select_from(Posting).where(
            Posting.debit_account.contains(str(card)) | Posting.credit_account.contains(str(card)))).scalar_one() >= 1
        f = desk.shopper_file(session=s, uid=uid, clock=world.clock)
    assert card not in [m.id for m in f.methods] and any(str(card) in (p_.debit + p_.credit) for p_ in f.postings)
    # never used again: not for pay now, a manual repayment, a top-up, nor in the auto-repay order
    err = refused(world, InvalidTransition, lambda s: orders.pay_now(session=s, uid=uid, order_id=oid, method_id=card,
                                                                    clock=world.clock), key="method.removed")
    _both_languages(err)
    refused(world, InvalidTransition, lambda s: wallet.topup(session=s, uid=uid, amount_fen=100, method_id=card,
                                                             clock=world.clock), key="method.removed")
    refused(world, InvalidTransition, lambda s: wallet.remove_method(session=s, uid=uid, method_id=card,
                                                                     clock=world.clock), key="method.removed")
    refused(world, InvalidTransition, lambda s: wallet.set_method_autopay(session=s, uid=uid, method_id=card, on=True,
                                                                          clock=world.clock), key="method.removed")
    world.advance(days=TRIAL)  # the first installment: taken from the wallet, never from the unbound card
    first = insts(world, oid)[0]
    assert first.status == IS.PAID and first.paid_method_id == _wallet(world, uid).id
    second = insts(world, oid)[1]
    err = refused(world, InvalidTransition, lambda s: bills.repay(session=s, uid=uid, installment_id=second.id,
                                                                  method_id=card, clock=world.clock), key="method.removed")
    _both_languages(err)
    with world.tx() as s:
        planned = bills.dry_run(session=s, uid=uid, clock=world.clock)
    assert planned and all(pl.method_label != "招商银行 ****1234" for pl in planned)
    refused(world, ValidationError, lambda s: bills.set_autopay(session=s, uid=uid, days_before=0,
                                                                method_order=[card, _wallet(world, uid).id],
                                                                clock=world.clock), key="autopay.order")
    world.audit_ok()


def test_unbinding_the_last_method_auto_deduction_may_use_while_something_is_owed_is_refused(world, shop):
    _m, p = shop
    uid = world.shopper(wallet_fen=0)
    card = add_card(world, uid, balance_fen=PRICE)
    w = _wallet(world, uid).id
    _autopay(world, uid, w, False)
    world.buy(uid, p)  # in trial: the price is held
    err = refused(world, InvalidTransition, lambda s: wallet.remove_method(session=s, uid=uid, method_id=card,
                                                                           clock=world.clock),
                  key="method.last_auto_remove")
    zh, en = _both_languages(err)
    assert "自动扣款" in zh and "auto-deduction" in en
    err = refused(world, InvalidTransition, lambda s: wallet.set_method_autopay(session=s, uid=uid, method_id=card,
                                                                                on=False, clock=world.clock),
                  key="method.last_auto_off")
    _both_languages(err)
    # with another method allowed, the card may go
    _autopay(world, uid, w, True)
    _remove(world, uid, card)
    assert _auto(world, uid) == [w]
    # and now the wallet is the last one: it stays, both ways
    refused(world, InvalidTransition, lambda s: wallet.remove_method(session=s, uid=uid, method_id=w, clock=world.clock),
            key="method.last_auto_remove")
    refused(world, InvalidTransition, lambda s: wallet.set_method_autopay(session=s, uid=uid, method_id=w, on=False,
                                                                          clock=world.clock), key="method.last_auto_off")


def test_an_overdue_installment_keeps_the_last_auto_method_bound(world):
    from helpers import overdue_order

    b = overdue_order(world, days=1, price=PRICE)
    w = _wallet(world, b.uid).id
    refused(world, InvalidTransition, lambda s: wallet.set_method_autopay(session=s, uid=b.uid, method_id=w, on=False,
                                                                          clock=world.clock), key="method.last_auto_off")


def test_with_nothing_owed_or_held_the_last_method_may_go(world, shop):
    _m, p = shop
    uid = world.shopper(wallet_fen=PRICE)
    card = add_card(world, uid)
    w = _wallet(world, uid).id
    oid = world.buy(uid, p)
    world.advance(days=TRIAL)  # deducted: nothing owed any more
    assert order(world, oid).status == OS.PAID
    _autopay(world, uid, w, False)
    _remove(world, uid, card)
    assert _auto(world, uid) == [] and [m.id for m in _methods(world, uid)] == [w]


def test_the_wallet_is_not_unbound_while_it_holds_money_and_can_be_used_again(world):
    uid = world.shopper(wallet_fen=1)
    card = add_card(world, uid)
    w = _wallet(world, uid).id
    err = refused(world, InvalidTransition, lambda s: wallet.remove_method(session=s, uid=uid, method_id=w,
                                                                           clock=world.clock), key="method.wallet_balance")
    zh, en = _both_languages(err)
    assert "¥0.01" in zh and "¥0.01" in en
    _autopay(world, uid, w, False)  # switching its auto-deduction off is fine
    with world.tx() as s:  # spend the cent: a card is left, nothing owed
        s.execute(sa.update(PaymentMethod.__table__).where(PaymentMethod.__table__.c.id == w).values(balance_fen=0))
    _remove(world, uid, w)
    assert [m.id for m in _methods(world, uid)] == [card]
    refused(world, InvalidTransition, lambda s: wallet.topup(session=s, uid=uid, amount_fen=100, clock=world.clock),
            key="method.removed")
    with world.tx() as s:
        again = wallet.rebind_wallet(session=s, uid=uid, clock=world.clock)
    assert (again.id, again.removed_at, again.autopay) == (w, None, True)
    assert [m.id for m in _methods(world, uid)] == [card, w]
    refused(world, InvalidTransition, lambda s: wallet.rebind_wallet(session=s, uid=uid, clock=world.clock),
            key="method.wallet_bound")
    topup(world, uid, 100)
    assert _wallet(world, uid).balance_fen == 100


def test_somebody_elses_method_is_simply_not_found(world):
    uid = world.shopper()
    theirs = add_card(world, world.shopper())
    for fn in (lambda s: wallet.remove_method(session=s, uid=uid, method_id=theirs, clock=world.clock),
               lambda s: wallet.set_method_autopay(session=s, uid=uid, method_id=theirs, on=False, clock=world.clock),
               lambda s: wallet.remove_method(session=s, uid=uid, method_id=True, clock=world.clock)):
        refused(world, NotFound, fn)


def test_the_rule_names_why_a_method_may_not_go():
    decide = rules.method_change_refused
    assert decide(unbinding=True, kind=MK.WALLET, balance_fen=1, auto=False, other_auto=3, owes_or_holds=False) \
        == "method.wallet_balance"
    assert decide(unbinding=False, kind=MK.WALLET, balance_fen=1, auto=True, other_auto=1, owes_or_holds=True) is None
    assert decide(unbinding=True, kind=MK.CARD, balance_fen=5, auto=True, other_auto=0, owes_or_holds=True) \
        == "method.last_auto_remove"
    assert decide(unbinding=False, kind=MK.CARD, balance_fen=5, auto=True, other_auto=0, owes_or_holds=True) \
        == "method.last_auto_off"
    assert decide(unbinding=True, kind=MK.CARD, balance_fen=5, auto=False, other_auto=0, owes_or_holds=True) is None
    assert decide(unbinding=True, kind=MK.CARD, balance_fen=5, auto=True, other_auto=0, owes_or_holds=False) is None


# ── eligibility ──────────────────────────────────────────────────────────────────────────────────
def test_eligibility_needs_a_method_auto_deduction_may_use_and_says_what_to_do(world, shop):
    _m, p = shop
    uid = world.shopper(wallet_fen=PRICE)
    w = _wallet(world, uid).id
    _autopay(world, uid, w, False)
    with world.tx() as s:
        e = eligibility.check(session=s, uid=uid, product=checkout.get_product(session=s, product_id=p))
    assert e.rules == ["payment_method"]
    [f] = e.failures
    assert f.key == "elig.no_auto_method" and "钱包" in f.text("zh") and "wallet page" in f.text("en")
    before = snapshot(world.engine)
    with pytest.raises(NotEligible):
        world.buy(uid, p)
    assert snapshot(world.engine) == before
    _autopay(world, uid, w, True)
    world.buy(uid, p)


def test_eligibility_without_any_bound_method_says_bind_one(world, shop):
    _m, p = shop
    uid = world.shopper()
    _remove(world, uid, _wallet(world, uid).id)
    with world.tx() as s:
        e = eligibility.check(session=s, uid=uid, product=checkout.get_product(session=s, product_id=p))
    assert [f.key for f in e.failures] == ["elig.payment_method"]


# ── one on-time rule ─────────────────────────────────────────────────────────────────────────────
def test_a_sweep_seconds_after_the_due_instant_is_on_time_in_the_merchants_analytics(world, shop):
    """The clock runs in real time: the sweep that takes an installment runs some seconds after
    its due instant, so paid_at > due_at. That is on time — for the shopper's reward and for the
    merchant's overdue rate alike; only an installment that went overdue counts as late."""
    m, p = shop
    punctual = world.shopper(wallet_fen=4 * PRICE)
    late = world.shopper(wallet_fen=0)
    on_time_oid = world.buy(punctual, p, plan="3")
    late_oid = world.buy(late, p)
    world.advance(days=TRIAL - 1)  # the notices before the deductions go out
    jump(world, days=1, seconds=7)  # one sweep, 7 s after both trials end
    first = insts(world, on_time_oid)[0]
    assert first.status == IS.PAID and first.paid_at > first.due_at and not first.was_overdue
    assert insts(world, late_oid)[0].status == IS.OVERDUE
    for k in (1, 2):  # the later installments, each taken by a sweep 7 s after its due instant
        due = insts(world, on_time_oid)[k].due_at
        world.advance(seconds=(due - world.clock.now()).total_seconds() - 86_400)  # announced first
        jump(world, seconds=(due - world.clock.now()).total_seconds() + 7)
    topup(world, late, PRICE * 2)
    with world.tx() as s:
        [i] = [i for i in bills.billed_installments(session=s, uid=late) if i.status == IS.OVERDUE]
        bills.repay(session=s, uid=late, installment_id=i.id, clock=world.clock)
    assert all(i.status == IS.PAID and i.paid_at > i.due_at for i in insts(world, on_time_oid))
    assert order(world, on_time_oid).on_time is True and order(world, late_oid).on_time is False
    with world.tx() as s:
        r = console.analytics(session=s, merchant_id=m, clock=world.clock).total
        summary = desk.summary(session=s, uid=punctual, clock=world.clock)
    assert (r.kept, r.overdue, r.overdue_rate) == (2, 1, 500)  # the late order only: 1 of 2 kept
    assert summary.orders_on_time == 1
    world.audit_ok()
