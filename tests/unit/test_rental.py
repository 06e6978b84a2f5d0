"""信用分租机: the credit review of the deposit, the contract as a quote, the freeze on the
shopper's credit resolved once, delivery and the rent, the return and its inspection, buy-out —
every rule and every refusal (a typed error, words in both languages, nothing changed)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers import TRACKING, World, acct, add_card, hardship, insts, jump, notes, refused, snapshot, topup
from sqlmodel import select

from bnpl_app.domain import rental as rr
from bnpl_app.domain.errors import (
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidTransition,
    NotEligible,
    NotFound,
    ValidationError,
)
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    FreezeState as FS,
    InstallmentStatus as IS,
    Order,
    OrderKind,
    Posting,
    Rental,
    RentalListing,
    RentalStatus as RS,
)
from bnpl_app.services import applications, ledger, rental, wallet
from bnpl_app.services.uploads import StoredFile
from bnpl_app.words import LANGS

DEPOSIT = 200_000  # ¥2,000
RENT = 19_900  # ¥199 a month
BUYOUT = 150_000
PHOTO = StoredFile("a" * 32 + ".png", "image/png", 1234, "photo.png")


def both_languages(err: DomainError) -> None:
    texts = [err.text(lang) for lang in LANGS]
    assert all(t.strip() for t in texts) and texts[0] != texts[1], texts
    assert not any("{" in t for t in texts), texts


def listing(world: World, m: int, **kw) -> int:
    values = dict(name="iPhone 16", description="128G", monthly_rent_fen=RENT, terms="6,12", deposit_fen=DEPOSIT,
                  buyout_fen=BUYOUT, damage_rules="屏幕碎裂 ¥800；进水 ¥1,500", stock=5)
    values.update(kw)
    with world.tx() as s:
        return rental.create_listing(session=s, merchant_id=m, clock=world.clock, **values).id


def contract(world: World, uid: int, lid: int, term: int = 12) -> rental.Contract:
    with world.tx() as s:
        return rental.quote(session=s, uid=uid, listing_id=lid, term=term).contract


def accept(world: World, uid: int, lid: int, term: int = 12, key: str | None = None, shown=None) -> int:
    shown = shown or contract(world, uid, lid, term)
    with world.tx() as s:
        return rental.accept(session=s, uid=uid, listing_id=lid, term=term, contract=shown,
                             idempotency_key=key or uuid.uuid4().hex, clock=world.clock).id


def get(world: World, rid: int) -> Rental:
    with world.tx() as s:
        return s.get(Rental, rid)


def deliver(world: World, m: int, rid: int, serial: str = "SN-0001") -> None:
    with world.tx() as s:
        rental.deliver(session=s, merchant_id=m, rental_id=rid, serial=serial, clock=world.clock)


def send_back(world: World, uid: int, rid: int) -> None:
    with world.tx() as s:
        rental.request_return(session=s, uid=uid, rental_id=rid, tracking_no=TRACKING, clock=world.clock)


def receive(world: World, m: int, rid: int) -> None:
    with world.tx() as s:
        rental.mark_received(session=s, merchant_id=m, rental_id=rid, clock=world.clock)


def balance(world: World, account: str) -> int:
    with world.tx() as s:
        return ledger.balance(session=s, account=account)


def keys_of(world: World, rid: int) -> set[str]:
    with world.tx() as s:
        return {k.split(":")[0] for k in s.execute(sa.select(Posting.posting_key).where(
            Posting.posting_key.like(f"%:{rid}"), Posting.kind.in_(
                ("rental_freeze", "rental_release", "rental_capture", "deposit", "deposit_refund", "deposit_repair",
                 "buyout")))).scalars()}


def books_ok(world: World) -> None:
    """The journal against the tables for what rentals move: every posting balances; each
    shopper's frozen limit = the journal's = their orders in trial + their rental holds; the
    platform's deposit account = the paid deposits not yet refunded or charged for repairs."""
    with world.tx() as s:
        for key, total in s.execute(sa.select(Posting.posting_key, sa.func.count()).group_by(Posting.posting_key)):
            assert total >= 1, key
        held = dict(s.execute(sa.select(Rental.shopper_id, sa.func.sum(Rental.waived_fen))
                              .where(Rental.freeze_state == FS.HELD).group_by(Rental.shopper_id)).all())
        trial = dict(s.execute(sa.select(Order.shopper_id, sa.func.sum(Order.price_fen))
                               .where(Order.status.in_(("TRIAL", "RETURN_IN_TRANSIT", "RETURN_RECEIVED", "RETURN_REJECTED")))
                               .group_by(Order.shopper_id)).all())
        for a in s.exec(select(rental.CreditAccount)):
            assert a.frozen_fen == ledger.balance(session=s, account=ledger.lim(a.user_id, "frozen"))
            assert a.frozen_fen == held.get(a.user_id, 0) + trial.get(a.user_id, 0)
        kept = sum(r.paid_deposit_fen - r.deposit_refunded_fen - min(r.repair_fen, r.paid_deposit_fen)
                   for r in s.exec(select(Rental)))
        assert ledger.balance(session=s, account=ledger.PLAT_DEPOSITS) == kept
    world.audit_ok()


@pytest.fixture
def shop(world: World):
    m = world.merchant()
    return m, listing(world, m)


# ── the credit review ───────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("score, band, waived", [
    (POLICY.rental_waive_full_score, rr.WAIVED_FULL, DEPOSIT), (950, rr.WAIVED_FULL, DEPOSIT),
    (POLICY.rental_waive_full_score - 1, rr.WAIVED_HALF, DEPOSIT // 2), (POLICY.rental_waive_half_score, rr.WAIVED_HALF, DEPOSIT // 2),
    (POLICY.rental_waive_half_score - 1, rr.PAID_FULL, 0), (POLICY.rental_min_score, rr.PAID_FULL, 0),
    (POLICY.rental_min_score - 1, rr.REFUSED, 0),
])
def test_score_bands_decide_the_deposit(score, band, waived):
    d = rr.decide_deposit(score=score, deposit_fen=DEPOSIT, bnpl_active=True, available_fen=10**9)
    assert (d.band, d.waived_fen, d.held_fen) == (band, waived, waived)
    assert d.paid_fen == (0 if band == rr.REFUSED else DEPOSIT - waived)
    assert d.why[0][0] == rr._WHY.get(band, "rental.why.refused")


def test_a_waived_part_is_paid_when_bnpl_is_off_or_the_limit_is_short():
    off = rr.decide_deposit(score=720, deposit_fen=DEPOSIT, bnpl_active=False, available_fen=10**9)
    assert (off.waived_fen, off.held_fen, off.paid_fen) == (DEPOSIT, 0, DEPOSIT)
    assert off.why[-1][0] == "rental.why.bnpl_off"
    short = rr.decide_deposit(score=720, deposit_fen=DEPOSIT, bnpl_active=True, available_fen=50_000)
    assert (short.held_fen, short.paid_fen) == (50_000, DEPOSIT - 50_000)
    assert short.why[-1][0] == "rental.why.limit_short"


def test_repair_split_takes_the_paid_part_first_then_the_hold():
    assert rr.repair_split(repair_fen=30_000, paid_fen=100_000, held_fen=100_000) == rr.RepairSplit(30_000, 70_000, 0, 100_000)
    assert rr.repair_split(repair_fen=150_000, paid_fen=100_000, held_fen=100_000) == rr.RepairSplit(100_000, 0, 50_000, 50_000)
    assert rr.repair_split(repair_fen=80_000, paid_fen=0, held_fen=200_000) == rr.RepairSplit(0, 0, 80_000, 120_000)


def test_rent_is_due_monthly_from_delivery(world: World):
    dates = rr.rent_due_dates(world.clock.now(), 6)
    assert dates[0] == world.clock.now() and len(dates) == 6
    assert all(b > a for a, b in zip(dates, dates[1:]))


# ── the contract ────────────────────────────────────────────────────────────────────────────
def test_a_high_score_rents_with_the_deposit_waived_and_held_on_credit(world: World, shop):
    m, lid = shop
    uid = world.shopper(score=720)
    before = acct(world, uid)
    rid = accept(world, uid, lid)
    r = get(world, rid)
    assert (r.status, r.waived_fen, r.paid_deposit_fen, r.freeze_state) == (RS.AWAITING_DELIVERY, DEPOSIT, 0, FS.HELD)
    assert acct(world, uid).frozen_fen == before.frozen_fen + DEPOSIT
    assert balance(world, ledger.lim(uid, "frozen")) == DEPOSIT
    assert r.accepted_at == world.clock.now() and rental.Contract.from_json(r.contract_json).held_fen == DEPOSIT
    with world.tx() as s:
        assert s.get(RentalListing, lid).stock == 4
        assert rental.held_fen(session=s, uid=uid) == DEPOSIT
    books_ok(world)


def test_a_middle_score_pays_half_the_deposit_from_a_method(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=650, wallet_fen=DEPOSIT)
    rid = accept(world, uid, lid)
    r = get(world, rid)
    assert (r.waived_fen, r.paid_deposit_fen) == (DEPOSIT // 2, DEPOSIT // 2)
    assert balance(world, ledger.PLAT_DEPOSITS) == DEPOSIT // 2
    with world.tx() as s:
        assert wallet.wallet_of(session=s, uid=uid).balance_fen == DEPOSIT // 2
    books_ok(world)


def test_a_score_below_the_minimum_is_refused(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=POLICY.rental_min_score - 1, opened=False, wallet_fen=DEPOSIT)
    shown = contract(world, uid, lid)
    assert shown.band == rr.REFUSED
    err = refused(world, NotEligible, lambda s: rental.accept(session=s, uid=uid, listing_id=lid, term=12, contract=shown,
                                                             idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [f.key for f in err.reasons] == ["rental.refused_score"]
    both_languages(err)


def test_an_inactive_listing_or_one_out_of_stock_is_refused(world: World):
    m = world.merchant()
    off = listing(world, m, active=False)
    empty = listing(world, m, stock=0)
    uid = world.shopper(score=720)
    with world.tx() as s:
        listing_row = s.get(RentalListing, off)
        shown = rental.offered(session=s, uid=uid, listing=listing_row, term=12)
    err = refused(world, NotFound, lambda s: rental.quote(session=s, uid=uid, listing_id=off, term=12))
    both_languages(err)
    err = refused(world, NotEligible, lambda s: rental.accept(session=s, uid=uid, listing_id=off, term=12, contract=shown,
                                                             idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert "rental.inactive" in [f.key for f in err.reasons]
    shown = contract(world, uid, empty)
    err = refused(world, NotEligible, lambda s: rental.accept(session=s, uid=uid, listing_id=empty, term=12, contract=shown,
                                                             idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [f.key for f in err.reasons] == ["rental.out_of_stock"]
    both_languages(err)


def test_a_changed_contract_is_refused_with_the_changes_and_the_new_contract(world: World, shop):
    m, lid = shop
    uid = world.shopper(score=720)
    shown = contract(world, uid, lid)
    with world.tx() as s:
        rental.edit_listing(session=s, merchant_id=m, listing_id=lid, clock=world.clock, name="iPhone 16",
                            description="128G", monthly_rent_fen=RENT + 1_000, terms="6,12", deposit_fen=DEPOSIT,
                            buyout_fen=BUYOUT, damage_rules="屏幕碎裂 ¥800；进水 ¥1,500", stock=5)
    err = refused(world, rental.ContractChanged, lambda s: rental.accept(
        session=s, uid=uid, listing_id=lid, term=12, contract=shown, idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [k for k, _ in err.changes] == ["rental.changed.rent"]
    assert err.terms.monthly_rent_fen == RENT + 1_000
    both_languages(err)
    assert "¥199.00" in err.text("zh") and "¥209.00" in err.text("en")


def test_a_changed_credit_review_is_refused_too(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=720, wallet_fen=DEPOSIT)
    shown = contract(world, uid, lid)
    with world.tx() as s:
        s.execute(sa.update(rental.CA).where(rental.CA.c.user_id == uid).values(score=650))
    err = refused(world, rental.ContractChanged, lambda s: rental.accept(
        session=s, uid=uid, listing_id=lid, term=12, contract=shown, idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [k for k, _ in err.changes] == ["rental.changed.decision"]


def test_a_replayed_key_returns_the_rental_and_the_key_with_other_terms_is_refused(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=720)
    key = uuid.uuid4().hex
    rid = accept(world, uid, lid, key=key)
    before = snapshot(world.engine)
    assert accept(world, uid, lid, key=key) == rid  # the same contract: the same rental, nothing more
    assert snapshot(world.engine) == before
    other = contract(world, uid, lid, term=6)
    err = refused(world, Conflict, lambda s: rental.accept(session=s, uid=uid, listing_id=lid, term=6, contract=other,
                                                          idempotency_key=key, clock=world.clock), key="rental.key_reused")
    both_languages(err)


def test_accepting_twice_with_two_keys_makes_two_rentals_each_held_once(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=720)
    accept(world, uid, lid)
    accept(world, uid, lid)
    assert acct(world, uid).frozen_fen == 2 * DEPOSIT
    books_ok(world)


def test_a_paid_deposit_not_covered_is_refused(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=560, wallet_fen=1_000)
    shown = contract(world, uid, lid)
    err = refused(world, InsufficientFunds, lambda s: rental.accept(
        session=s, uid=uid, listing_id=lid, term=12, contract=shown, idempotency_key=uuid.uuid4().hex, clock=world.clock),
        key="rental.deposit_funds")
    both_languages(err)


def test_hostile_contract_and_term_are_refused(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=720)
    shown = contract(world, uid, lid)
    for term, body, key in [(12, "{}", "rental.bad_contract"), (12, "x" * 5000, "rental.bad_contract"),
                            (3, shown.to_json(), "rental.bad_term"), (6, shown.to_json(), "rental.bad_contract")]:
        err = refused(world, ValidationError, lambda s, term=term, body=body: rental.accept(
            session=s, uid=uid, listing_id=lid, term=term, contract=body, idempotency_key=uuid.uuid4().hex,
            clock=world.clock), key=key)
        both_languages(err)


# ── delivery and the rent ───────────────────────────────────────────────────────────────────
def test_delivery_makes_a_rent_order_with_monthly_installments(world: World, shop):
    m, lid = shop
    uid = world.shopper(score=720)
    rid = accept(world, uid, lid, term=6)
    deliver(world, m, rid)
    r = get(world, rid)
    assert (r.status, r.serial, r.delivered_at) == (RS.RENTING, "SN-0001", world.clock.now())
    with world.tx() as s:
        o = s.get(Order, r.order_id)
    assert (o.kind, o.merchant_id, o.product_id, o.price_fen, o.plan, o.periods) == (OrderKind.RENT, m, None, 6 * RENT, "6", 6)
    rows = insts(world, r.order_id)
    assert [i.status for i in rows] == [IS.SCHEDULED] * 6 and all(i.principal_fen == RENT for i in rows)
    assert rows[0].due_at == world.clock.now() and rows[1].due_at > rows[0].due_at
    books_ok(world)


def test_deliver_in_the_wrong_state_or_by_another_merchant_is_refused(world: World, shop):
    m, lid = shop
    other = world.merchant()
    uid = world.shopper(score=720)
    rid = accept(world, uid, lid)
    err = refused(world, NotFound, lambda s: rental.deliver(session=s, merchant_id=other, rental_id=rid, serial="SN-1",
                                                           clock=world.clock))
    both_languages(err)
    err = refused(world, ValidationError, lambda s: rental.deliver(session=s, merchant_id=m, rental_id=rid, serial="x",
                                                                  clock=world.clock), key="rental.bad_serial")
    both_languages(err)
    deliver(world, m, rid)
    err = refused(world, InvalidTransition, lambda s: rental.deliver(session=s, merchant_id=m, rental_id=rid,
                                                                    serial="SN-0002", clock=world.clock),
                  key="rental.cannot.deliver")
    both_languages(err)


# ── the end: return and inspection ─────────────────────────────────────────────────────────
def rented(world: World, shop, *, score: int = 720, wallet_fen: int = 0, term: int = 12) -> tuple[int, int, int]:
    m, lid = shop
    uid = world.shopper(score=score, wallet_fen=wallet_fen)
    rid = accept(world, uid, lid, term=term)
    deliver(world, m, rid)
    return m, uid, rid


def test_an_intact_return_releases_the_hold_and_refunds_the_paid_deposit(world: World, shop):
    m, uid, rid = rented(world, shop, score=650, wallet_fen=DEPOSIT)
    frozen_before = acct(world, uid).frozen_fen
    world.clock.advance(timedelta(days=40))
    send_back(world, uid, rid)
    receive(world, m, rid)
    with world.tx() as s:
        rental.accept_return(session=s, merchant_id=m, rental_id=rid, clock=world.clock)
    r = get(world, rid)
    assert (r.status, r.outcome, r.freeze_state, r.deposit_refunded_fen) == (RS.RETURNED, "intact", FS.RELEASED, DEPOSIT // 2)
    assert acct(world, uid).frozen_fen == frozen_before - DEPOSIT // 2
    assert balance(world, ledger.PLAT_DEPOSITS) == 0
    assert keys_of(world, rid) >= {"rfrz", "rrel", "dep", "depref"}
    books_ok(world)


def test_an_early_return_cancels_the_rent_of_months_not_begun(world: World, shop):
    m, uid, rid = rented(world, shop)
    world.clock.advance(timedelta(days=40))  # month 2 has begun
    send_back(world, uid, rid)
    rows = insts(world, get(world, rid).order_id)
    assert [i.status for i in rows[:2]] != [IS.CANCELLED] * 2
    assert [i.status for i in rows[2:]] == [IS.CANCELLED] * 10
    books_ok(world)


def test_return_and_inspection_by_the_wrong_party_are_refused(world: World, shop):
    m, uid, rid = rented(world, shop)
    other_shopper = world.shopper(score=720)
    other_shop = world.merchant()
    err = refused(world, NotFound, lambda s: rental.request_return(session=s, uid=other_shopper, rental_id=rid,
                                                                  tracking_no=TRACKING, clock=world.clock))
    both_languages(err)
    send_back(world, uid, rid)
    refused(world, NotFound, lambda s: rental.mark_received(session=s, merchant_id=other_shop, rental_id=rid, clock=world.clock))
    err = refused(world, InvalidTransition, lambda s: rental.accept_return(session=s, merchant_id=m, rental_id=rid,
                                                                          clock=world.clock), key="rental.cannot.inspect")
    both_languages(err)
    receive(world, m, rid)
    refused(world, NotFound, lambda s: rental.accept_return(session=s, merchant_id=other_shop, rental_id=rid, clock=world.clock))
    refused(world, NotFound, lambda s: rental.reject_return(session=s, merchant_id=other_shop, rental_id=rid, reason="碎屏",
                                                           repair_fen=1_000, photos=[PHOTO.as_row()] if hasattr(PHOTO, "as_row")
                                                           else [(PHOTO.stored_name, PHOTO.content_type, PHOTO.size)],
                                                           clock=world.clock))


def photos():
    return [(PHOTO.stored_name, PHOTO.content_type, PHOTO.size)]


def test_a_repair_above_the_deposit_or_without_photo_or_reason_is_refused(world: World, shop):
    m, uid, rid = rented(world, shop)
    send_back(world, uid, rid)
    receive(world, m, rid)
    for kw, key in [(dict(repair_fen=DEPOSIT + 1, reason="碎屏", photos=photos()), "rental.repair_above_deposit"),
                    (dict(repair_fen=1_000, reason="碎屏", photos=[]), "return.photo_required"),
                    (dict(repair_fen=1_000, reason="  ", photos=photos()), "return.reason_required"),
                    (dict(repair_fen=0, reason="碎屏", photos=photos()), "rental.repair_needed")]:
        err = refused(world, ValidationError, lambda s, kw=kw: rental.reject_return(
            session=s, merchant_id=m, rental_id=rid, clock=world.clock, **kw), key=key)
        both_languages(err)


def test_a_damaged_return_takes_the_paid_part_first_then_makes_a_charge_from_the_hold(world: World, shop):
    m, uid, rid = rented(world, shop, score=650, wallet_fen=DEPOSIT)  # half held, half paid
    send_back(world, uid, rid)
    receive(world, m, rid)
    before = acct(world, uid)
    repair = DEPOSIT // 2 + 30_000
    with world.tx() as s:
        rental.reject_return(session=s, merchant_id=m, rental_id=rid, reason="屏幕碎裂", repair_fen=repair,
                             photos=photos(), clock=world.clock)
    r = get(world, rid)
    assert (r.status, r.outcome, r.freeze_state, r.repair_fen, r.deposit_refunded_fen) == (
        RS.RETURNED, "damaged", FS.CAPTURED, repair, 0)
    after = acct(world, uid)
    assert after.frozen_fen == before.frozen_fen - DEPOSIT // 2
    assert after.outstanding_fen == before.outstanding_fen + 30_000
    assert balance(world, ledger.mer(m)) == DEPOSIT // 2
    with world.tx() as s:
        charge = s.exec(select(Order).where(Order.idempotency_key == f"charge:{rid}")).one()
        f = rental.facts(session=s, rental=s.get(Rental, rid), shopper=True)
    assert (charge.kind, charge.price_fen, charge.merchant_id) == (OrderKind.CHARGE, 30_000, m)
    assert [(i.status, i.principal_fen) for i in insts(world, charge.id)] == [(IS.SCHEDULED, 30_000)]
    assert f.photos == [PHOTO.stored_name] and f.charge.id == charge.id
    assert keys_of(world, rid) >= {"deprep", "rcap", "rrel"}
    books_ok(world)


def test_the_freeze_is_resolved_once(world: World, shop):
    m, uid, rid = rented(world, shop)
    send_back(world, uid, rid)
    receive(world, m, rid)
    with world.tx() as s:
        rental.accept_return(session=s, merchant_id=m, rental_id=rid, clock=world.clock)
    # a replay of the resolution itself (the status guard passed by a bug) is refused by the freeze's own guard
    err = refused(world, InvalidTransition, lambda s: rental._resolve_freeze(s, s.get(Rental, rid), FS.CAPTURED,
                                                                            world.clock.now()), key="rental.freeze_resolved")
    both_languages(err)
    refused(world, InvalidTransition, lambda s: rental.accept_return(session=s, merchant_id=m, rental_id=rid,
                                                                    clock=world.clock), key="rental.cannot.inspect")


def test_a_silent_merchant_is_past_its_deadline_accepted_by_default(world: World, shop):
    m, uid, rid = rented(world, shop)
    send_back(world, uid, rid)
    receive(world, m, rid)
    world.clock.advance(timedelta(days=POLICY.inspection_days, seconds=1))
    with world.tx() as s:
        assert rental.auto_accept_due(session=s, now=world.clock.now()) == 1
    r = get(world, rid)
    assert (r.status, r.outcome, r.freeze_state) == (RS.RETURNED, "auto_accepted", FS.RELEASED)
    books_ok(world)


# ── buy-out ─────────────────────────────────────────────────────────────────────────────────
def test_a_buyout_pays_the_price_releases_the_deposit_and_cancels_the_rent_not_yet_due(world: World, shop):
    m, uid, rid = rented(world, shop, wallet_fen=BUYOUT)
    world.clock.advance(timedelta(days=5))
    with world.tx() as s:
        rental.buyout(session=s, uid=uid, rental_id=rid, clock=world.clock)
    r = get(world, rid)
    assert (r.status, r.freeze_state, r.buyout_paid_fen) == (RS.BOUGHT_OUT, FS.RELEASED, BUYOUT)
    assert acct(world, uid).frozen_fen == 0
    rows = insts(world, r.order_id)
    assert rows[0].status != IS.CANCELLED and [i.status for i in rows[1:]] == [IS.CANCELLED] * 11
    fee = BUYOUT * POLICY.platform_fee_bps // 10_000
    assert balance(world, ledger.mer(m)) == BUYOUT - fee
    with world.tx() as s:
        st = rental.settlement(session=s, merchant_id=m)
    assert (st.buyouts_fen, st.buyout_fees_fen) == (BUYOUT, fee)
    err = refused(world, InvalidTransition, lambda s: rental.buyout(session=s, uid=uid, rental_id=rid, clock=world.clock),
                  key="rental.cannot.buyout")
    both_languages(err)
    books_ok(world)


def test_a_buyout_not_covered_is_refused(world: World, shop):
    _m, uid, rid = rented(world, shop)
    err = refused(world, InsufficientFunds, lambda s: rental.buyout(session=s, uid=uid, rental_id=rid, clock=world.clock),
                  key="rental.buyout_funds")
    both_languages(err)


def test_cancelling_before_delivery_releases_everything(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=650, wallet_fen=DEPOSIT)
    rid = accept(world, uid, lid)
    with world.tx() as s:
        rental.cancel(session=s, uid=uid, rental_id=rid, clock=world.clock)
        assert s.get(RentalListing, lid).stock == 5
    r = get(world, rid)
    assert (r.status, r.freeze_state, r.deposit_refunded_fen) == (RS.CANCELLED, FS.RELEASED, DEPOSIT // 2)
    assert acct(world, uid).frozen_fen == 0
    books_ok(world)


# ── listings ────────────────────────────────────────────────────────────────────────────────
def test_listing_rules_are_checked(world: World):
    m = world.merchant()
    base = dict(name="Pad", monthly_rent_fen=RENT, terms="6", deposit_fen=0, buyout_fen=0, damage_rules="按维修价", stock=1)
    for change, key in [(dict(terms="3"), "rental.bad_terms"), (dict(terms=""), "rental.bad_terms"),
                        (dict(stock=-1), "rental.bad_stock"), (dict(name=""), "rental.bad_name"),
                        (dict(damage_rules=""), "rental.bad_damage_rules"), (dict(monthly_rent_fen=0), "amount_not_positive")]:
        err = refused(world, ValidationError, lambda s, change=change: rental.create_listing(
            session=s, merchant_id=m, clock=world.clock, **{**base, **change}), key=key)
        both_languages(err)
    lid = listing(world, m)
    other = world.merchant()
    refused(world, NotFound, lambda s: rental.edit_listing(session=s, merchant_id=other, listing_id=lid, clock=world.clock,
                                                          **base))
    assert rental.parse_terms("12，6") == "6,12"


def test_the_timeline_shows_every_movement_of_the_deposit(world: World, shop):
    m, uid, rid = rented(world, shop, score=650, wallet_fen=DEPOSIT)
    send_back(world, uid, rid)
    receive(world, m, rid)
    with world.tx() as s:
        rental.accept_return(session=s, merchant_id=m, rental_id=rid, clock=world.clock)
        steps = [x.step for x in rental.timeline(session=s, rental=s.get(Rental, rid))]
    assert steps[:3] == ["accepted", "frozen", "deposit_paid"]
    assert {"delivered", "return_shipped", "received", "inspected", "released", "refunded"} <= set(steps)


def test_topping_up_after_a_refusal_lets_the_same_contract_through(world: World, shop):
    _m, lid = shop
    uid = world.shopper(score=560)
    add_card(world, uid, 0)
    shown = contract(world, uid, lid)
    refused(world, InsufficientFunds, lambda s: rental.accept(session=s, uid=uid, listing_id=lid, term=12, contract=shown,
                                                             idempotency_key="k" * 12, clock=world.clock))
    topup(world, uid, DEPOSIT)
    assert accept(world, uid, lid, key="k" * 12, shown=shown)


# ── the rent, run by the engine ─────────────────────────────────────────────────────────────
def test_each_month_of_rent_is_deducted_after_a_notice(world: World, shop):
    m, uid, rid = rented(world, shop, wallet_fen=10 * RENT, term=6)
    oid = get(world, rid).order_id
    world.advance(hours=1)
    assert notes(world, uid, "upcoming") and insts(world, oid)[0].status == IS.SCHEDULED  # told, not yet taken
    world.advance(days=1)
    first = insts(world, oid)[0]
    assert (first.status, first.paid_fen, first.auto_paid) == (IS.PAID, RENT, True)
    assert first.noticed_at is not None and first.paid_at - first.noticed_at >= POLICY.min_notice
    with world.tx() as s:
        st = rental.settlement(session=s, merchant_id=m)
    assert st.rent_captured_fen == RENT and st.rent_fees_fen == RENT * POLICY.platform_fee_bps // 10_000
    assert acct(world, uid).outstanding_fen == 0  # rent is not credit principal
    books_ok(world)


def test_overdue_rent_becomes_a_bad_debt_negotiable_through_hardship(world: World, shop):
    m, uid, rid = rented(world, shop, term=6)  # nothing to pay the rent with
    oid = get(world, rid).order_id
    world.advance(days=2)
    jump(world, days=POLICY.bad_debt_after_days)
    first = insts(world, oid)[0]
    assert first.status == IS.OVERDUE and first.bad_debt_applied
    assert acct(world, uid).bad_debt
    aid = hardship(world, uid, n=3)
    ops = world.operator()
    with world.tx() as s:
        applications.approve_hardship_waiving_all(session=s, operator_id=ops, application_id=aid, installments=3,
                                                  clock=world.clock)
    plan = [i for i in insts(world, oid) if i.plan_application_id == aid]
    assert len(plan) == 3 and all(i.late_fee_fen == 0 for i in plan)
    books_ok(world)


def test_a_repair_charge_on_credit_is_deducted_after_its_notices_and_repays_the_limit(world: World, shop):
    m, uid, rid = rented(world, shop, wallet_fen=12 * RENT + 50_000)
    send_back(world, uid, rid)
    receive(world, m, rid)
    with world.tx() as s:
        rental.reject_return(session=s, merchant_id=m, rental_id=rid, reason="屏幕碎裂", repair_fen=50_000,
                             photos=photos(), clock=world.clock)
        charge = s.exec(select(Order).where(Order.idempotency_key == f"charge:{rid}")).one()
    assert acct(world, uid).outstanding_fen == 50_000
    world.advance(days=max(POLICY.reminder_days_before) + 1)
    assert [i.status for i in insts(world, charge.id)] == [IS.PAID]
    assert acct(world, uid).outstanding_fen == 0
    books_ok(world)


def test_a_rental_step_reaches_the_shopper_and_the_shop_live(world: World, shop):
    from bnpl_app.models import Change

    m, lid = shop
    uid = world.shopper(score=720)
    rid = accept(world, uid, lid)
    with world.tx() as s:
        s.execute(sa.delete(Change))
    deliver(world, m, rid)
    with world.tx() as s:
        users = set(s.execute(sa.select(Change.user_id)).scalars())
    assert {uid, world.merchant_user(m)} <= users
