"""alice manages her payment methods in the browser: binds a card from the form ``method-add``
opens, moves it up the order, switches automatic deduction off on her wallet (the bills page's
dry run then names the card), unbinds the new card after confirming — and is refused, with the
reason on screen, when she tries to unbind the last method automatic deduction may use while an
order of hers is in trial. Screenshots at each step (test-artifacts/methods-*.png)."""

from __future__ import annotations

import sqlalchemy as sa
from browser_support import go, login, row, toast
from helpers import uid_of
from playwright.sync_api import Page, expect

from bnpl_app import routes
from bnpl_app.db import transaction
from bnpl_app.models import MethodKind as MK, PaymentMethod

PM = PaymentMethod.__table__


def _methods(db, uid: int) -> list[tuple[int, str, str, bool, bool]]:
    """(id, kind, label, autopay, unbound) of every method, in priority order."""
    with transaction(db) as s:
        return [(r.id, r.kind, r.label, r.autopay, r.removed_at is not None) for r in s.execute(
            sa.select(PM).where(PM.c.user_id == uid).order_by(PM.c.priority, PM.c.id))]


def _row_ids(page: Page) -> list[str]:
    return page.get_by_test_id("method-row").evaluate_all("rows => rows.map(r => r.dataset.id)")


def test_binding_reordering_switching_autopay_and_unbinding_a_card(page: Page, db, shot):
    alice = uid_of(db, "alice")
    [(wallet_id, *_), (card_id, *_)] = _methods(db, alice)
    login(page, "alice")
    go(page, routes.WALLET)
    expect(page.get_by_test_id("method-row")).to_have_count(2)
    shot(page, "methods-1-wallet")

    # bind a card: the form opens from method-add
    expect(page.get_by_test_id("method-add-form")).to_have_count(0)
    page.get_by_test_id("method-add").click()
    page.get_by_test_id("card-bank-input").fill("工商银行")
    page.get_by_test_id("card-last4-input").fill("4321")
    page.get_by_test_id("card-balance-input").fill("300")
    shot(page, "methods-2-bind-form")
    page.get_by_test_id("card-add-submit").click()
    expect(toast(page)).to_contain_text("银行卡已绑定")
    expect(page.get_by_test_id("method-row")).to_have_count(3)
    expect(page.get_by_test_id("method-add-form")).to_have_count(0)
    new_id, kind, label, autopay, unbound = _methods(db, alice)[-1]
    assert (kind, label, autopay, unbound) == (MK.CARD, "工商银行 ****4321", True, False)
    new = row(page, "method-row", new_id)
    expect(new.get_by_test_id("method-label")).to_have_text("工商银行 ****4321")
    expect(new.get_by_test_id("method-down")).to_be_disabled()  # last in the order

    # move it up one place: second, before the old card
    new.get_by_test_id("method-up").click()
    expect(toast(page)).to_contain_text("扣款顺序已调整")
    expect(page.get_by_test_id("method-row").nth(1)).to_have_attribute("data-id", str(new_id))
    assert _row_ids(page) == [str(wallet_id), str(new_id), str(card_id)]
    assert [m[0] for m in _methods(db, alice)] == [wallet_id, new_id, card_id]
    shot(page, "methods-3-reordered")

    # the wallet: manual payments only
    w = row(page, "method-row", wallet_id)
    w.get_by_test_id("method-autopay").click()
    expect(w).to_have_attribute("data-autopay", "off")
    expect(toast(page)).to_contain_text("已关闭自动扣款")
    assert _methods(db, alice)[0][3] is False
    shot(page, "methods-4-wallet-autopay-off")
    go(page, routes.BILLS)  # alice's order in trial: the dry run now takes it from a card, not the wallet
    expect(page.get_by_test_id("dry-run-row").first).to_contain_text("工商银行 ****4321")
    expect(page.get_by_test_id("autopay-order-item").first).to_contain_text("不自动扣款")
    shot(page, "methods-5-bills-dry-run")

    # unbind the new card, after confirming
    go(page, routes.WALLET)
    new = row(page, "method-row", new_id)
    new.get_by_test_id("method-remove").click()
    expect(new.get_by_test_id("method-remove-confirm")).to_be_visible()
    shot(page, "methods-6-confirm-unbind")
    new.get_by_test_id("method-remove-confirm").click()
    expect(toast(page)).to_contain_text("支付方式已解绑")
    expect(page.get_by_test_id("method-row")).to_have_count(2)
    assert _methods(db, alice)[1][:1] + _methods(db, alice)[1][4:] == (new_id, True)  # the row stays, unbound

    # the old card is now the last one automatic deduction may use, and an order is in trial: refused
    old = row(page, "method-row", card_id)
    old.get_by_test_id("method-remove").click()
    old.get_by_test_id("method-remove-confirm").click()
    expect(toast(page)).to_contain_text("不能解绑最后一个允许自动扣款的支付方式")
    expect(page.get_by_test_id("method-row")).to_have_count(2)
    old.get_by_test_id("method-autopay").click()
    expect(toast(page)).to_contain_text("不能关闭最后一个支付方式的自动扣款")
    expect(old).to_have_attribute("data-autopay", "on")
    assert [(m[0], m[3], m[4]) for m in _methods(db, alice) if m[0] == card_id] == [(card_id, True, False)]
    shot(page, "methods-7-last-method-refused")
