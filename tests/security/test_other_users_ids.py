"""(b) Another user's ids, for every money and review handler: a logged-in shopper aims at another
shopper's order, installment, payment methods and notifications; a shop aims at another shop's
return and product. Each is refused with a message, and no database row changes."""

from __future__ import annotations

import pytest
from attack import answer, scalar, settled

from bench.reflex_client import event_name
from bnpl_app.state.account import BillsState, InboxState, WalletState
from bnpl_app.state.merchant import MerchantProductsState, MerchantReturnsState
from bnpl_app.state.orders import OrderState
from bnpl_app.state.session import SessionState


@pytest.fixture(scope="module")
def ids(engine) -> dict[str, int]:
    """alice's records (the victim), read from the app's database as an attacker would guess them."""
    alice = scalar(engine, "SELECT id FROM users WHERE username = 'alice'")
    q = lambda sql: scalar(engine, sql, uid=alice)  # noqa: E731
    return {
        "order": q("SELECT id FROM orders WHERE shopper_id = :uid AND status = 'TRIAL' ORDER BY id LIMIT 1"),
        "billed": q("SELECT order_id FROM installments WHERE shopper_id = :uid AND status = 'PENDING' "
                    "ORDER BY id LIMIT 1"),
        "installment": q("SELECT id FROM installments WHERE shopper_id = :uid AND status = 'PENDING' "
                         "ORDER BY id LIMIT 1"),
        "card": q("SELECT id FROM payment_methods WHERE user_id = :uid AND kind = 'card' AND removed_at IS NULL"),
        "wallet": q("SELECT id FROM payment_methods WHERE user_id = :uid AND kind = 'wallet'"),
        "note": q("SELECT id FROM notifications WHERE user_id = :uid AND read_at IS NULL ORDER BY id LIMIT 1"),
    }


SHOPPER_ATTACKS = [
    # (state, handler, payload from the victim's ids, page the attacker opens first)
    (OrderState, "pay_now", lambda i: {}, lambda i: f"/orders/{i['order']}"),
    (OrderState, "request_return", lambda i: {}, lambda i: f"/orders/{i['order']}"),
    (BillsState, "repay", lambda i: {"installment_id": i["installment"], "expected_fen": 29_967}, None),
    (BillsState, "early_repay", lambda i: {"order_id": i["billed"], "expected_fen": 89_900}, None),
    (WalletState, "remove_method", lambda i: {"method_id": i["card"]}, None),
    (WalletState, "set_autopay", lambda i: {"method_id": i["card"], "on": False}, None),
    (WalletState, "set_autopay", lambda i: {"method_id": i["wallet"], "on": False}, None),
    (WalletState, "move", lambda i: {"method_id": i["card"], "step": -1}, None),
    (InboxState, "mark_read", lambda i: {"notification_id": i["note"]}, None),
]


@pytest.mark.parametrize("state, handler, payload, page", SHOPPER_ATTACKS,
                         ids=[f"{s.__name__}.{h}-{n}" for n, (s, h, _, _) in enumerate(SHOPPER_ATTACKS)])
def test_a_shopper_cannot_act_on_another_shoppers_records(state, handler, payload, page, ids, attacker, unchanged):
    assert all(ids.values()), ids

    async def attack():
        bob = await attacker.user("bob")
        with unchanged(f"bob: {state.__name__}.{handler} on alice's records"):
            if page is not None:
                await bob.navigate(page(ids))
                assert not bob.get(OrderState, "order", {}).get("id"), "bob was shown alice's order"
                await bob.call(event_name(OrderState, "set_tracking"), {"value": "SF1234567890"},
                               until=bob.changed(OrderState, "tracking"))
            kind, text = await answer(bob, event_name(state, handler), payload(ids))
            await settled(bob)
        assert kind == "error" and text, f"{handler}: {kind} {text!r}"

    attacker.run(attack())


def test_the_victims_own_view_still_shows_its_records(ids, attacker):
    """The control for the shopper attacks: alice herself sees the order bob could not."""

    async def look():
        alice = await attacker.user("alice")
        await alice.navigate(f"/orders/{ids['order']}")
        assert alice.get(OrderState, "order", {}).get("id") == ids["order"]
        assert alice.get(SessionState, "username") == "alice"

    attacker.run(look())


def test_a_shop_cannot_review_another_shops_return_or_toggle_its_product(ids, attacker, unchanged, engine):

    async def attack():
        # Set-up, as the app's users do it: alice sends back her order in trial (shop_fashion's).
        alice = await attacker.user("alice")
        await alice.navigate(f"/orders/{ids['order']}")
        await alice.call(event_name(OrderState, "set_tracking"), {"value": "SF1234567890"},
                         until=alice.changed(OrderState, "tracking"))
        kind, text = await answer(alice, event_name(OrderState, "request_return"))
        assert kind == "success", text
        rid = scalar(engine, "SELECT id FROM returns WHERE order_id = :oid", oid=ids["order"])
        fashion_product = scalar(engine, "SELECT p.id FROM products p JOIN merchants m ON m.id = p.merchant_id "
                                         "JOIN users u ON u.id = m.user_id WHERE u.username = 'shop_fashion' "
                                         "AND p.bnpl_enabled ORDER BY p.id LIMIT 1")
        assert rid and fashion_product

        digital = await attacker.user("shop_digital")
        await digital.navigate("/merchant/returns")
        await digital.call(event_name(MerchantReturnsState, "set_reason"), {"value": "damaged"},
                           until=digital.changed(MerchantReturnsState, "reason"))
        for state, handler, payload in [
            (MerchantReturnsState, "receive", {"return_id": rid}),
            (MerchantReturnsState, "accept", {"return_id": rid}),
            (MerchantReturnsState, "reject", {"files": [], "return_id": rid}),
            (MerchantProductsState, "toggle_bnpl", {"product_id": fashion_product, "on": False}),
        ]:
            with unchanged(f"shop_digital: {handler} on shop_fashion's record"):
                kind, text = await answer(digital, event_name(state, handler), payload)
                await settled(digital)
            assert kind == "error" and text, f"{handler}: {kind} {text!r}"

        # The control: the shop the return belongs to can receive it (the refusals were about whose it is).
        fashion = await attacker.user("shop_fashion")
        await fashion.navigate("/merchant/returns")
        kind, text = await answer(fashion, event_name(MerchantReturnsState, "receive"), {"return_id": rid})
        assert kind == "success", text

    attacker.run(attack())
