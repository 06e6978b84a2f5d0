"""The merchant console's states, driven as a tab drives them: products (先用后付 on/off, settings,
the shop cap, create and edit with a picture), orders, the returns desk (receive, accept, reject
with photos) and settlement with its CSV. Every id the browser sends is only *which* record: a
merchant can never reach another merchant's product or return, and a shopper or a visitor who
is not logged in reaches nothing — refused with a message, nothing changed."""

from __future__ import annotations

import base64

import pytest
from helpers import (
    TwoShops,
    png,
    receive_parcel,
    return_parcel,
    run,
    sent,
    snapshot,
    stored_files,
    upload,
)

from bnpl_app.domain.money import bps_of, yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import Merchant, Order, OrderStatus as OS, Product, ReturnRequest
from bnpl_app.services import orders

TRIAL = POLICY.trial_days_default
PDF = b"%PDF-1.7\n" + b"\x00" * 32


def _not_found(t) -> bool:
    """The toast says a record was not found (in the reader's language, whatever the record)."""
    kind, text = t.said()
    return kind == "error" and ("not found" in text or "找不到" in text)


# ── products ─────────────────────────────────────────────────────────────────────────────────
def test_state_handler_toggle_with_another_merchants_product_id_says_not_found_and_changes_nothing(world, tab):
    from bnpl_app.state.merchant import MerchantProductsState

    shops = TwoShops(world)
    root, sess = tab(world.merchant_user(shops.a))
    st = run(root.get_state(MerchantProductsState))
    run(st.load())
    assert {p.id for p in st.products} == {shops.pa}  # only A's products reach A's browser
    before = snapshot(world.engine)
    run(st.toggle_bnpl(shops.pb, False))  # a crafted event with B's product id
    assert sess.toast_kind == "error" and ("not found" in sess.toast_text or "找不到" in sess.toast_text)
    sess.toast_kind = "info"
    run(st.save_settings({"product_id": str(shops.pb), "trial_days": "3", "min_score": "600", "plans": "full"}))
    assert sess.toast_kind == "error"
    for junk in ("1 OR 1=1", True, None, -5, {"id": shops.pb}):
        sess.toast_kind = "info"  # each refusal is a new toast
        run(st.toggle_bnpl(junk, False))
        assert sess.toast_kind == "error"
    assert snapshot(world.engine) == before
    run(st.toggle_bnpl(shops.pa, False))  # its own product: done
    assert sess.toast_kind == "success"
    with world.tx() as s:
        assert s.get(Product, shops.pa).bnpl_enabled is False and s.get(Product, shops.pb).bnpl_enabled is True


def test_turning_bnpl_off_and_on_again_shows_on_the_products_row(world, tab):
    from bnpl_app.state.merchant import MerchantProductsState

    m = world.merchant()
    p = world.product(m)
    t, st = tab.open(world.merchant_user(m), MerchantProductsState)
    assert [(r.id, r.bnpl) for r in st.products] == [(p, True)]
    run(st.toggle_bnpl(p, False))
    assert [(r.id, r.bnpl) for r in st.products] == [(p, False)] and t.said()[0] == "success"
    run(st.toggle_bnpl(str(p), True))  # the id as the form sends it
    assert [(r.id, r.bnpl) for r in st.products] == [(p, True)]
    with world.tx() as s:
        assert s.get(Product, p).bnpl_enabled is True


def test_saving_a_products_settings_stores_them_and_a_bad_value_is_refused_with_its_rule(world, tab):
    from bnpl_app.state.merchant import MerchantProductsState

    m = world.merchant()
    p = world.product(m, plans="full")
    t, st = tab.open(world.merchant_user(m), MerchantProductsState)
    run(st.save_settings({"product_id": str(p), "trial_days": "10", "min_score": "620", "plans": "full，3 6",
                          "interest_free": "on"}))
    assert t.said()[0] == "success"
    row = st.products[0]
    assert (row.trial_days, row.min_score, row.plans, row.interest_free) == (10, 620, "full,3,6", True)
    with world.tx() as s:
        saved = s.get(Product, p)
        assert (saved.trial_days, saved.min_score, saved.allowed_plans, saved.interest_free) == (10, 620, "full,3,6", True)
    before = snapshot(world.engine)
    run(st.save_settings({"product_id": str(p), "trial_days": str(POLICY.trial_days_max + 1), "min_score": "620",
                          "plans": "full"}))
    assert t.refused_with("merchant.trial_days", field="trial_days", min=POLICY.trial_days_min,
                          max=POLICY.trial_days_max)
    run(st.save_settings({"product_id": str(p), "trial_days": "7", "min_score": "abc", "plans": "full"}))
    assert t.refused_with("merchant.min_score", field="min_score", min=POLICY.platform_min_score,
                          max=POLICY.score_max)
    run(st.save_settings("not a form"))
    assert _not_found(t)
    assert snapshot(world.engine) == before


def test_shop_cap_is_the_acting_merchants_own(world, tab):
    from bnpl_app.state.merchant import MerchantProductsState

    shops = TwoShops(world)
    root, sess = tab(world.merchant_user(shops.a))
    st = run(root.get_state(MerchantProductsState))
    run(st.save_cap({"cap": "1,234.56", "merchant_id": shops.b}))  # extra keys are ignored
    run(st.save_cap({"cap": "abc"}))
    assert sess.toast_kind == "error"
    with world.tx() as s:
        assert s.get(Merchant, shops.a).shop_cap_fen == 123_456
        assert s.get(Merchant, shops.b).shop_cap_fen == POLICY.default_shop_cap_fen


def test_editing_a_product_in_the_dialog_saves_name_price_stock_and_a_checked_picture(world, tab, updir):
    from bnpl_app.state.merchant import MerchantProductsState

    shops = TwoShops(world)
    t, st = tab.open(world.merchant_user(shops.a), MerchantProductsState)
    st.open_edit(shops.pb)  # another shop's product was never shown here: the dialog stays shut
    assert not st.editing
    st.open_edit(shops.pa)
    assert (st.editing, st.edit_id, st.edit_price) == (True, shops.pa, "100")
    st.set_edit_name("新名字")
    st.set_edit_price("88.80")
    st.set_edit_stock("7")
    run(st.save_product([upload("photo.png", png())]))
    assert t.said()[0] == "success" and not st.editing and st.edit_error == ""
    [name] = stored_files(updir)
    with world.tx() as s:
        p = s.get(Product, shops.pa)
        assert (p.name, p.price_fen, p.stock, p.image) == ("新名字", 8_880, 7, f"/files/{name}")
    assert st.products[0].name == "新名字" and st.products[0].image == p.image


def test_a_picture_that_is_not_an_image_or_a_bad_price_saves_nothing_and_says_why_in_the_dialog(world, tab, updir):
    from bnpl_app.state.merchant import MerchantProductsState

    m = world.merchant()
    p = world.product(m)
    t, st = tab.open(world.merchant_user(m), MerchantProductsState)
    st.open_edit(p)
    before = snapshot(world.engine)
    run(st.save_product([upload("photo.png", PDF)]))  # named .png, a PDF inside
    kind, text = t.said()
    assert kind == "error" and st.edit_error == text and st.editing
    st.set_edit_price("-1")
    run(st.save_product([]))
    kind, text = t.said()
    assert kind == "error" and st.edit_error == text
    assert snapshot(world.engine) == before and stored_files(updir) == []


def test_saving_a_forged_edit_of_another_shops_product_is_not_found_and_keeps_no_picture(world, tab, updir):
    from bnpl_app.state.merchant import MerchantProductsState

    shops = TwoShops(world)
    t, st = tab.open(world.merchant_user(shops.a), MerchantProductsState)
    st.open_edit(shops.pa)
    st.edit_id = shops.pb  # a forged dialog: B's product
    before = snapshot(world.engine)
    run(st.save_product([upload("photo.png", png())]))
    assert _not_found(t) and st.editing
    assert snapshot(world.engine) == before and stored_files(updir) == []  # the checked picture was dropped


def test_a_new_product_starts_with_bnpl_off_unless_the_merchant_turned_it_on(world, tab, updir):
    from bnpl_app.state.merchant import MerchantProductsState

    m = world.merchant()
    t, st = tab.open(world.merchant_user(m), MerchantProductsState)
    st.open_new()
    st.set_edit_name("新品")
    st.set_edit_price("19.90")
    st.set_edit_stock("3")
    run(st.save_product([]))
    assert t.said()[0] == "success"
    assert [(r.name, r.price, r.stock, r.bnpl) for r in st.products] == [("新品", yuan(1_990), 3, False)]
    with world.tx() as s:
        assert s.get(Product, st.products[0].id).merchant_id == m


def test_a_shopper_or_a_visitor_calling_the_product_handlers_is_refused_and_nothing_changes(world, tab, updir):
    from bnpl_app.state.merchant import MerchantProductsState

    m = world.merchant()
    p = world.product(m)
    for who, key in ((world.shopper(), "auth.role_required"), (None, "auth.session_expired")):
        t = tab(who)
        st = t.state(MerchantProductsState)
        run(st.load())
        assert st.products == []  # nothing of the shop reaches them
        before = snapshot(world.engine)
        run(st.toggle_bnpl(p, False))
        assert t.refused_with(key)
        run(st.save_cap({"cap": "1.00"}))
        assert t.refused_with(key)
        st.edit_id, st.edit_name, st.edit_price, st.edit_stock = p, "mine now", "1.00", "1"
        run(st.save_product([upload("photo.png", png())]))
        assert t.said()[0] == "error"
        assert snapshot(world.engine) == before and stored_files(updir) == []


# ── orders ───────────────────────────────────────────────────────────────────────────────────
def test_the_orders_list_shows_this_shops_orders_and_filters_by_status(world, tab):
    from bnpl_app.state.merchant import MerchantOrdersState

    shops = TwoShops(world)
    paid = world.buy(shops.uid, shops.pa)
    with world.tx() as s:
        orders.pay_now(session=s, uid=shops.uid, order_id=paid, clock=world.clock)
    t, st = tab.open(world.merchant_user(shops.a), MerchantOrdersState)
    assert [o.id for o in st.orders] == [paid, shops.oa]  # newest first; B's order is not here
    run(st.set_status(OS.PAID))
    assert [o.id for o in st.orders] == [paid] and st.status == OS.PAID
    run(st.set_status("DROP TABLE"))  # not a status: all of them
    assert st.status == "" and len(st.orders) == 2


def test_a_crafted_status_that_is_not_a_string_is_ignored_like_any_unknown_status(world, tab):
    from bnpl_app.state.merchant import MerchantOrdersState

    shops = TwoShops(world)
    _t, st = tab.open(world.merchant_user(shops.a), MerchantOrdersState)
    run(st.set_status([OS.PAID]))
    assert st.status == "" and [o.id for o in st.orders] == [shops.oa]


# ── the returns desk ─────────────────────────────────────────────────────────────────────────
def test_state_handler_returns_desk_refuses_another_merchants_return(world, tab):
    from bnpl_app.state.merchant import MerchantReturnsState

    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.ob)
    root, sess = tab(world.merchant_user(shops.a))
    st = run(root.get_state(MerchantReturnsState))
    run(st.load())
    assert st.returns == []
    before = snapshot(world.engine)
    run(st.receive(rid))
    assert sess.toast_kind == "error"
    sess.toast_kind = "info"
    run(st.accept(rid))
    assert sess.toast_kind == "error"
    assert snapshot(world.engine) == before
    with world.tx() as s:
        assert s.get(ReturnRequest, rid).status == "IN_TRANSIT"


def test_receiving_then_accepting_a_parcel_releases_the_order(world, tab):
    from bnpl_app.state.merchant import MerchantReturnsState

    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.oa)
    t, st = tab.open(world.merchant_user(shops.a), MerchantReturnsState)
    assert [(r.id, r.can_receive, r.can_inspect) for r in st.returns] == [(rid, True, False)]
    run(st.receive(rid))
    assert t.said()[0] == "success"
    assert [(r.id, r.can_receive, r.can_inspect) for r in st.returns] == [(rid, False, True)]
    assert st.open_id == rid and st.waiting == 1
    run(st.accept(str(rid)))
    assert t.said()[0] == "success" and st.waiting == 0 and st.open_id == 0
    with world.tx() as s:
        assert s.get(ReturnRequest, rid).status == "ACCEPTED"
        assert s.get(Order, shops.oa).status == OS.RETURNED
    world.audit_ok()


def test_rejecting_a_damaged_parcel_needs_a_reason_and_photos_and_stores_only_images(world, tab, updir):
    from bnpl_app.state.merchant import MerchantReturnsState

    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.oa)
    receive_parcel(world, shops.a, rid)
    t, st = tab.open(world.merchant_user(shops.a), MerchantReturnsState)
    before = snapshot(world.engine)
    run(st.reject([upload("box.png", png())], rid))  # no reason yet
    assert t.refused_with("return.reason_required", field="reason")
    st.set_reason("外包装进水")
    run(st.reject([], rid))
    assert t.refused_with("return.photo_required", field="photos")
    run(st.reject([upload("box.png", PDF)], rid))
    assert t.said()[0] == "error"
    assert snapshot(world.engine) == before and stored_files(updir) == []
    run(st.reject([upload("box.png", png())], rid))
    assert t.said()[0] == "success" and st.reason == ""
    assert len(stored_files(updir)) == 1
    with world.tx() as s:
        assert s.get(ReturnRequest, rid).status == "REJECTED"
        assert s.get(Order, shops.oa).status == OS.RETURN_REJECTED


def test_rejecting_a_parcel_not_yet_received_is_refused_and_keeps_no_photo(world, tab, updir):
    from bnpl_app.state.merchant import MerchantReturnsState

    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.oa)  # still on its way
    t, st = tab.open(world.merchant_user(shops.a), MerchantReturnsState)
    st.set_reason("进水")
    before = snapshot(world.engine)
    run(st.reject([upload("box.png", png())], rid))
    assert t.said()[0] == "error"
    assert snapshot(world.engine) == before and stored_files(updir) == []


def test_rejecting_another_merchants_parcel_stores_no_photo(world, tab, updir):
    from bnpl_app.state.merchant import MerchantReturnsState

    shops = TwoShops(world)
    rid = return_parcel(world, shops.uid, shops.ob)
    receive_parcel(world, shops.b, rid)
    t = tab(world.merchant_user(shops.a))
    st = t.state(MerchantReturnsState)
    st.set_reason("进水")
    before = snapshot(world.engine)
    run(st.reject([upload("box.png", png())], rid))
    assert _not_found(t)
    assert snapshot(world.engine) == before and stored_files(updir) == []


# ── settlement ───────────────────────────────────────────────────────────────────────────────
def test_settlement_shows_the_captured_money_and_exports_it_as_csv(world, tab):
    from bnpl_app.state.merchant import SettlementState

    shops = TwoShops(world)
    world.advance(days=TRIAL, hours=1)  # both trials end; both deductions succeed
    t, st = tab.open(world.merchant_user(shops.a), SettlementState)
    fee = bps_of(10_000, POLICY.platform_fee_bps)
    assert (st.view.captured, st.view.fees, st.view.net) == (yuan(10_000), yuan(fee), yuan(10_000 - fee))
    assert [d.captures for d in st.view.days] == [1] and st.view.ledger_ok
    out = sent(run(st.export_csv()))
    assert out["filename"].startswith("settlement-") and out["filename"].endswith(".csv")
    csv_text = base64.b64decode(out["url"].split(",", 1)[1]).decode("utf-8")
    assert csv_text.startswith("\ufeff")  # spreadsheets read the UTF-8 right
    assert f"{(10_000 - fee) // 100}.{(10_000 - fee) % 100:02d}" in csv_text
    assert str(shops.ob) not in {line.split(",")[0] for line in csv_text.splitlines()}  # B's order is not in A's file


@pytest.mark.parametrize("role", ["shopper", "operator"])
def test_settlement_of_another_role_is_empty_and_its_export_sends_nothing(world, tab, role):
    from bnpl_app.state.merchant import SettlementState

    TwoShops(world)
    world.advance(days=TRIAL, hours=1)
    t, st = tab.open(world.shopper() if role == "shopper" else world.operator(), SettlementState)
    assert st.view.days == [] and st.view.captured == ""
    assert run(st.export_csv()) is None
