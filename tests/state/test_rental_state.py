"""信用分租机 screens driven as a tab drives them: a device's page shows the credit review of its
deposit and the contract; accepting sends exactly the contract on screen (a merchant's edit in
between is told with what changed, nothing held, the new contract shown); the shopper's rentals
(return, buy-out); the merchant's desk (a listing made from the form, delivery with the serial,
inspection with photos and a repair charge); the credit page's rental hold line."""

from __future__ import annotations

import uuid

from helpers import TRACKING, png, run, sent, snapshot, upload
from sqlmodel import select

from bnpl_app import routes
from bnpl_app.domain.money import yuan
from bnpl_app.models import FreezeState as FS, Rental, RentalListing, RentalStatus as RS
from bnpl_app.services import rental

DEPOSIT = 200_000
RENT = 19_900


def _listing(world, m: int, **kw) -> int:
    values = dict(name="iPhone 16", monthly_rent_fen=RENT, terms="6,12", deposit_fen=DEPOSIT, buyout_fen=150_000,
                  damage_rules="屏幕碎裂 ¥800", stock=3)
    values.update(kw)
    with world.tx() as s:
        return rental.create_listing(session=s, merchant_id=m, clock=world.clock, **values).id


def _rentals(world, uid: int) -> list[Rental]:
    with world.tx() as s:
        return list(s.exec(select(Rental).where(Rental.shopper_id == uid).order_by(Rental.id)))


def _page(world, tab, uid, lid):
    from bnpl_app.state.rental import RentListingState

    return tab.open(uid, RentListingState, path=routes.rent_listing(lid))


def test_a_visitor_sees_the_device_but_no_credit_review(world, tab):
    lid = _listing(world, world.merchant())
    _t, st = _page(world, tab, None, lid)
    assert st.detail.name == "iPhone 16" and not st.detail.checked and st.detail.terms == ["6", "12"]


def test_the_page_shows_the_deposit_decision_and_accepting_rents_on_exactly_the_contract(world, tab):
    lid = _listing(world, world.merchant())
    uid = world.shopper(score=650, wallet_fen=DEPOSIT)
    t, st = _page(world, tab, uid, lid)
    d = st.detail
    assert (d.checked, d.band, d.held, d.paid, d.can_apply) == (True, "half", yuan(DEPOSIT // 2), yuan(DEPOSIT // 2), True)
    assert d.why and "650" in d.why[0]
    run(st.apply())
    assert st.reviewing and len(st.detail.contract.lines) == 7
    shown = st._shown
    assert sent(run(st.accept()))["path"] == routes.RENTALS
    assert t.said()[0] == "success"
    (r,) = _rentals(world, uid)
    assert r.contract_json == shown and (r.waived_fen, r.paid_deposit_fen) == (DEPOSIT // 2, DEPOSIT // 2)
    run(st.accept())  # clicked again: the same key, the same contract — still one rental
    assert len(_rentals(world, uid)) == 1


def test_a_merchant_edit_before_accepting_is_told_and_nothing_is_held(world, tab):
    m = world.merchant()
    lid = _listing(world, m)
    uid = world.shopper(score=720)
    t, st = _page(world, tab, uid, lid)
    run(st.apply())
    with world.tx() as s:
        rental.edit_listing(session=s, merchant_id=m, listing_id=lid, clock=world.clock, name="iPhone 16",
                            monthly_rent_fen=RENT + 5_000, terms="6,12", deposit_fen=DEPOSIT, buyout_fen=150_000,
                            damage_rules="屏幕碎裂 ¥800", stock=3)
    before = snapshot(world.engine, skip={"auth_sessions"})
    assert run(st.accept()) is None
    kind, text = t.said()
    assert kind == "error" and yuan(RENT + 5_000) in text
    assert snapshot(world.engine, skip={"auth_sessions"}) == before
    assert st.changed and st.detail.contract.rent == yuan(RENT + 5_000) and st.reviewing
    assert sent(run(st.accept()))["path"] == routes.RENTALS  # accepted on the new contract, now shown
    assert _rentals(world, uid)[0].monthly_rent_fen == RENT + 5_000


def test_a_score_below_the_minimum_cannot_apply(world, tab):
    lid = _listing(world, world.merchant())
    uid = world.shopper(score=540, opened=False, wallet_fen=DEPOSIT)
    t, st = _page(world, tab, uid, lid)
    assert st.detail.band == "refused" and not st.detail.can_apply and st.detail.problems
    run(st.apply())
    assert not st.reviewing and t.said()[0] == "error"


def _rented(world, tab, *, wallet_fen: int = 0):
    m = world.merchant()
    lid = _listing(world, m)
    uid = world.shopper(score=720, wallet_fen=wallet_fen)
    with world.tx() as s:
        shown = rental.quote(session=s, uid=uid, listing_id=lid, term=12).contract
        rid = rental.accept(session=s, uid=uid, listing_id=lid, term=12, contract=shown,
                            idempotency_key=uuid.uuid4().hex, clock=world.clock).id
    return m, lid, uid, rid


def test_the_merchant_delivers_with_the_serial_and_the_shopper_sees_the_rent(world, tab):
    from bnpl_app.state.rental import MerchantRentalsState, MyRentalsState

    m, _lid, uid, rid = _rented(world, tab)
    t, desk = tab.open(world.merchant_user(m), MerchantRentalsState)
    (row,) = desk.rentals
    assert row.can_deliver and row.status == RS.AWAITING_DELIVERY
    run(desk.deliver(rid))
    assert t.said()[0] == "error"  # no serial typed: refused
    desk.set_serial(rid, "SN-123456")
    run(desk.deliver(rid))
    assert t.said()[0] == "success" and desk.rentals[0].status == RS.RENTING
    _ts, mine = tab.open(uid, MyRentalsState)
    (v,) = mine.rentals
    assert (v.serial, v.next_rent, v.held, v.can_return, v.can_buyout) == ("SN-123456", yuan(RENT), yuan(DEPOSIT), True, True)
    assert [x.step for x in v.timeline][:2] == ["accepted", "frozen"] and len(v.rents) == 12


def test_another_shop_or_shopper_is_told_not_found(world, tab):
    from bnpl_app.state.rental import MerchantRentalsState, MyRentalsState

    _m, _lid, _uid, rid = _rented(world, tab)
    other_shop = world.merchant()
    other = world.shopper(score=720)
    t, desk = tab.open(world.merchant_user(other_shop), MerchantRentalsState)
    assert desk.rentals == []
    desk.serial = {str(rid): "SN-123456"}
    before = snapshot(world.engine, skip={"auth_sessions"})
    run(desk.deliver(rid))
    assert t.not_found("rental")
    t2, mine = tab.open(other, MyRentalsState)
    run(mine.cancel(rid))
    assert t2.not_found("rental")
    assert snapshot(world.engine, skip={"auth_sessions"}) == before


def test_return_receive_and_a_damaged_inspection_with_photos_and_a_repair_charge(world, tab, updir):
    from bnpl_app.state.rental import MerchantRentalsState, MyRentalsState

    m, _lid, uid, rid = _rented(world, tab)
    with world.tx() as s:
        rental.deliver(session=s, merchant_id=m, rental_id=rid, serial="SN-123456", clock=world.clock)
    t, mine = tab.open(uid, MyRentalsState)
    mine.open_return(rid)
    mine.set_tracking(TRACKING)
    run(mine.request_return(rid))
    assert t.said()[0] == "success" and mine.rentals[0].status == RS.RETURN_IN_TRANSIT
    tm, desk = tab.open(world.merchant_user(m), MerchantRentalsState)
    run(desk.receive(rid))
    assert desk.open_id == rid
    desk.set_reason("屏幕碎裂")
    desk.set_repair(yuan(DEPOSIT + 100).lstrip("¥").replace(",", ""))
    run(desk.reject([upload("crack.png", png())], rid))
    assert tm.said()[0] == "error"  # above the deposit
    desk.set_repair("800")
    run(desk.reject([upload("crack.png", png())], rid))
    assert tm.said()[0] == "success"
    r = _rentals(world, uid)[0]
    assert (r.status, r.freeze_state, r.repair_fen) == (RS.RETURNED, FS.CAPTURED, 80_000)
    run(mine.load())
    v = mine.rentals[0]
    assert v.reason == "屏幕碎裂" and len(v.photos) == 1 and v.charge_url
    assert not v.holding and v.hold_state == "维修费已扣取，其余已释放"


def test_a_buyout_from_the_rentals_page(world, tab):
    from bnpl_app.state.rental import MyRentalsState

    m, _lid, uid, rid = _rented(world, tab, wallet_fen=200_000)
    with world.tx() as s:
        rental.deliver(session=s, merchant_id=m, rental_id=rid, serial="SN-123456", clock=world.clock)
    t, mine = tab.open(uid, MyRentalsState)
    run(mine.buyout(rid))
    assert t.said()[0] == "success"
    assert mine.rentals[0].status == RS.BOUGHT_OUT and not mine.rentals[0].can_buyout


def test_the_merchant_lists_a_device_from_the_form(world, tab):
    from bnpl_app.state.rental import MerchantRentalsState

    m = world.merchant()
    t, desk = tab.open(world.merchant_user(m), MerchantRentalsState)
    desk.open_new()
    for name, value in (("name", "Switch"), ("rent", "99"), ("terms", "6"), ("deposit", "1500"), ("buyout", "1800"),
                        ("damage_rules", "摇杆损坏 ¥200"), ("stock", "x")):
        desk.set_field(name, value)
    run(desk.save_listing())
    assert t.said()[0] == "error" and not desk.listings  # the stock is not a number
    desk.set_field("stock", "4")
    run(desk.save_listing())
    assert t.said()[0] == "success" and not desk.editing
    (x,) = desk.listings
    assert (x.name, x.rent, x.terms, x.deposit, x.stock) == ("Switch", "¥99.00", "6", "¥1,500.00", 4)
    desk.open_edit(x.id)
    desk.set_active(False)
    run(desk.save_listing())
    with world.tx() as s:
        assert s.get(RentalListing, x.id).active is False


def test_the_credit_page_shows_the_rental_hold(world, tab):
    from bnpl_app.state.account import CreditState

    _m, _lid, uid, _rid = _rented(world, tab)
    _t, credit_page = tab.open(uid, CreditState)
    assert credit_page.view.rental_held == yuan(DEPOSIT)
