"""Consent: 先用后付 is off until the shopper opens it after accepting the current terms; closing
works with open orders (which still finish under their terms); a self-set cap bounds spending."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from helpers import acct as _acct, jump, overdue_order, pay_off, refused
from sqlmodel import select

from bnpl_app.domain.errors import InvalidTransition, NotEligible, ValidationError
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.domain.status import BNPL_STATUS_CODE, BNPL_STATUS_OF_CODE
from bnpl_app.models import (BNPL_ACTIVE, BNPL_CLOSED, BNPL_NOT_OPENED, BNPL_SUSPENDED, BnplStatus, CreditEvent, Order,
                             OrderStatus as OS)
from bnpl_app.services import checkout, consent, credit, eligibility
from bnpl_app.services.checkout import get_product

FAIR = POLICY.band_for(POLICY.platform_min_score)


def _open(world, uid, **kw):
    args = dict(accept_terms=True, terms_version=POLICY.terms_version) | kw
    return lambda s: consent.open_bnpl(session=s, uid=uid, clock=world.clock, **args)


# ── opening ──────────────────────────────────────────────────────────────────────────────────


def test_bnpl_is_off_by_default(world):
    uid = world.shopper(opened=False)
    acct = _acct(world, uid)
    assert acct.bnpl_status == "not_opened" and acct.limit_fen == 0 and acct.terms_accepted_at is None


def test_open_needs_the_current_terms_accepted(world, subtests):
    uid = world.shopper(opened=False)
    for kw in [dict(accept_terms=False), dict(accept_terms=None), dict(accept_terms="yes"), dict(accept_terms=1),
               dict(terms_version="2020-01"), dict(terms_version=""), dict(terms_version=None)]:
        with subtests.test(**kw):
            err = refused(world, ValidationError, _open(world, uid, **kw))
            assert err.key == "consent.terms_required"
    assert _acct(world, uid).bnpl_status == "not_opened"


@pytest.mark.parametrize("band", [b for b in POLICY.bands if b.start_limit_fen], ids=lambda b: b.name_en)
def test_open_grants_the_bands_start_limit_and_records_the_terms(world, band):
    uid = world.shopper(score=band.low, opened=False)
    with world.tx() as s:
        _open(world, uid)(s)
    acct = _acct(world, uid)
    assert acct.bnpl_status == BNPL_ACTIVE and acct.limit_fen == band.start_limit_fen
    assert acct.terms_version == POLICY.terms_version and acct.terms_accepted_at == world.clock.now()
    assert credit.available(acct) == band.start_limit_fen
    world.audit_ok()


def test_open_is_refused_below_the_platform_minimum_score(world):
    uid = world.shopper(score=POLICY.platform_min_score - 1, opened=False)
    err = refused(world, InvalidTransition, _open(world, uid))
    assert err.key == "consent.score_too_low"
    assert str(POLICY.platform_min_score) in err.message and str(POLICY.platform_min_score - 1) in err.message


def test_open_twice_is_refused(world):
    uid = world.shopper()
    err = refused(world, InvalidTransition, _open(world, uid))
    assert err.key == "consent.already_open"


def test_open_is_refused_when_suspended_and_says_how_to_restore(world):
    uid = world.shopper()
    with world.tx() as s:
        credit.set_status(session=s, uid=uid, status=BNPL_SUSPENDED, reason="test", at=world.clock.now())
    err = refused(world, InvalidTransition, _open(world, uid))
    assert err.key == "consent.suspended" and err.hint


# ── closing ──────────────────────────────────────────────────────────────────────────────────


def test_close_then_reopen_keeps_the_granted_limit(world):
    uid = world.shopper(score=FAIR.low)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    assert _acct(world, uid).bnpl_status == BNPL_CLOSED
    with world.tx() as s:
        _open(world, uid)(s)
    acct = _acct(world, uid)
    assert acct.bnpl_status == BNPL_ACTIVE and acct.limit_fen == FAIR.start_limit_fen
    world.audit_ok()


def test_close_when_not_open_is_refused(world):
    uid = world.shopper(opened=False)
    err = refused(world, InvalidTransition, lambda s: consent.close_bnpl(session=s, uid=uid, clock=world.clock))
    assert err.key == "consent.not_open"


def test_close_with_an_open_order_blocks_new_checkouts_and_the_order_finishes_under_its_terms(world):
    m = world.merchant()
    price = 10_000
    p = world.product(m, price_fen=price, trial_days=POLICY.trial_days_default)
    uid = world.shopper(wallet_fen=price)
    oid = world.buy(uid, p)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)

    err = refused(world, NotEligible, lambda s: checkout.checkout(
        session=s, uid=uid, product_id=p, plan="full", idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [f.rule for f in err.reasons] == ["status"] and err.reasons[0].key == "elig.closed"

    with world.tx() as s:
        assert s.get(Order, oid).status == OS.TRIAL
    world.advance(days=POLICY.trial_days_default)
    with world.tx() as s:
        order = s.get(Order, oid)
        acct = credit.account(session=s, uid=uid)
    assert order.status == OS.PAID
    assert acct.bnpl_status == BNPL_CLOSED and acct.frozen_fen == 0 and acct.outstanding_fen == 0
    world.audit_ok()


# ── consent belongs to the shopper: suspended, closed, reopened ─────────────────────────────────


def _status_events(world, uid) -> list[tuple[int, int, str]]:
    with world.tx() as s:
        return [(e.old_value, e.new_value, e.reason) for e in s.exec(
            select(CreditEvent).where(CreditEvent.user_id == uid, CreditEvent.kind == "status").order_by(CreditEvent.id))]


def _suspended(world) -> int:
    """A shopper suspended by the sweep (30 days overdue), who has since paid everything off."""
    uid = overdue_order(world, days=POLICY.suspend_after_days).uid
    pay_off(world, uid)
    a = _acct(world, uid)
    assert a.bnpl_status == BNPL_SUSPENDED and a.limit_fen == 0 and a.restorable_limit_fen
    return uid


def test_a_suspended_shopper_may_close_and_closing_lifts_nothing(world):
    uid = _suspended(world)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    a = _acct(world, uid)
    assert a.bnpl_status == BNPL_CLOSED and a.limit_fen == 0 and a.restorable_limit_fen
    code = BNPL_STATUS_CODE
    assert _status_events(world, uid)[-1][:2] == (code[BNPL_SUSPENDED], code[BNPL_CLOSED])
    world.audit_ok()


def test_reopening_after_closing_while_suspended_is_refused_until_a_restoration(world):
    uid = _suspended(world)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    err = refused(world, InvalidTransition, _open(world, uid), key="consent.restore_first")
    assert err.hint and err.text("zh") != err.text("en") and "restoration" in err.text("en")
    assert _acct(world, uid).bnpl_status == BNPL_CLOSED


def test_reopening_needs_the_current_terms_again_and_records_them(world, subtests):
    uid = world.shopper()
    first = _acct(world, uid).terms_accepted_at
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    world.clock.advance(timedelta(days=2))
    for args in ({"accept_terms": False}, {"terms_version": "2000-01"}, {"accept_terms": "yes"}):
        with subtests.test(**{k: str(v) for k, v in args.items()}):
            refused(world, ValidationError, _open(world, uid, **args), key="consent.terms_required")
    with world.tx() as s:
        _open(world, uid)(s)
    a = _acct(world, uid)
    assert a.bnpl_status == BNPL_ACTIVE and a.terms_version == POLICY.terms_version
    assert a.terms_accepted_at == world.clock.now() > first


def test_every_status_change_is_a_status_event_with_codes_and_a_reason(world):
    uid = world.shopper(opened=False)
    with world.tx() as s:
        _open(world, uid)(s)
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
        _open(world, uid)(s)
    code = BNPL_STATUS_CODE
    assert [(o, n, r.split("{")[0]) for o, n, r in _status_events(world, uid)] == [
        (code[BNPL_NOT_OPENED], code[BNPL_ACTIVE], "cr.opened"),
        (code[BNPL_ACTIVE], code[BNPL_CLOSED], "cr.closed"),
        (code[BNPL_CLOSED], code[BNPL_ACTIVE], "cr.reopened"),
    ]
    suspended = _suspended(world)
    assert [(o, n, r.split("{")[0]) for o, n, r in _status_events(world, suspended)][-1] == (
        code[BNPL_ACTIVE], code[BNPL_SUSPENDED], "cr.suspended")
    assert len(set(code.values())) == len(code) == len(BnplStatus)


def test_the_status_history_replays_to_the_current_status(world):
    """Every path that changes 先用后付 writes its event: replaying them from not_opened ends where
    the account is (what the audit relies on to prove no order was made while it was off)."""
    uid = _suspended(world)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=uid, clock=world.clock)
    status = BNPL_NOT_OPENED
    for old, new, _reason in _status_events(world, uid):
        assert BNPL_STATUS_OF_CODE[old] == status
        status = BNPL_STATUS_OF_CODE[new]
    assert status == _acct(world, uid).bnpl_status == BNPL_CLOSED


def test_a_suspension_of_a_shopper_who_closed_leaves_it_closed(world):
    """The sweep's suspension cuts the limit to 0 all the same, but the status stays the shopper's."""
    b = overdue_order(world)
    with world.tx() as s:
        consent.close_bnpl(session=s, uid=b.uid, clock=world.clock)
    jump(world, days=POLICY.suspend_after_days)
    a = _acct(world, b.uid)
    assert a.bnpl_status == BNPL_CLOSED and a.limit_fen == 0 and a.restorable_limit_fen
    world.audit_ok()


# ── self-set cap ─────────────────────────────────────────────────────────────────────────────


def test_self_cap_outside_zero_to_limit_is_refused(world, subtests):
    uid = world.shopper()
    limit = _acct(world, uid).limit_fen
    for cap in [-1, limit + 1, "100", 1.5, True]:
        with subtests.test(cap=cap):
            err = refused(world, ValidationError, lambda s: consent.set_self_cap(session=s, uid=uid, cap_fen=cap,
                                                                                 clock=world.clock))
            assert err.key == "consent.self_cap_range" and yuan(limit) in err.message


def test_self_cap_accepts_zero_the_limit_and_none_to_clear(world):
    uid = world.shopper()
    limit = _acct(world, uid).limit_fen
    for cap in (0, limit, None):
        with world.tx() as s:
            consent.set_self_cap(session=s, uid=uid, cap_fen=cap, clock=world.clock)
        assert _acct(world, uid).self_cap_fen == cap


def test_self_cap_below_the_price_makes_the_shopper_ineligible_and_checkout_refuses(world):
    m = world.merchant()
    price = 10_000
    p = world.product(m, price_fen=price)
    uid = world.shopper()
    assert _acct(world, uid).limit_fen > price
    with world.tx() as s:
        consent.set_self_cap(session=s, uid=uid, cap_fen=price - 1, clock=world.clock)
    with world.tx() as s:
        elig = eligibility.check(session=s, uid=uid, product=get_product(session=s, product_id=p))
    assert elig.rules == ["limit"] and elig.available_fen == price - 1
    err = refused(world, NotEligible, lambda s: checkout.checkout(
        session=s, uid=uid, product_id=p, plan="full", idempotency_key=uuid.uuid4().hex, clock=world.clock))
    assert [f.rule for f in err.reasons] == ["limit"]


def test_self_cap_counts_what_is_already_frozen(world):
    m = world.merchant()
    price = 10_000
    p = world.product(m, price_fen=price)
    uid = world.shopper()
    with world.tx() as s:
        consent.set_self_cap(session=s, uid=uid, cap_fen=price * 2 - 1, clock=world.clock)
    world.buy(uid, p)
    with world.tx() as s:
        elig = eligibility.check(session=s, uid=uid, product=get_product(session=s, product_id=p))
    assert elig.rules == ["limit"] and elig.available_fen == price - 1
    with world.tx() as s:
        consent.set_self_cap(session=s, uid=uid, cap_fen=price * 2, clock=world.clock)
    world.buy(uid, p)
    acct = _acct(world, uid)
    assert acct.frozen_fen == 2 * price and credit.spendable(acct) == 0
    world.audit_ok()


# ── the identity checks eligibility asks for ─────────────────────────────────────────────────


def test_verify_identity_and_bind_phone_make_the_shopper_pass_those_rules(world):
    from bnpl_app.models import User

    uid = world.shopper(verified=False, phone=False)
    with world.tx() as s:
        consent.verify_identity(session=s, uid=uid, real_name=" 张三 ", id_number="11010519491231002X")
        consent.bind_phone(session=s, uid=uid, phone=" 13912345678 ")
    with world.tx() as s:
        user = s.get(User, uid)
    assert user.real_name_verified and user.phone == "13912345678"


def test_verify_identity_refuses_bad_names_and_id_numbers(world, subtests):
    uid = world.shopper(verified=False)
    for real_name, id_number, key in [
        ("张", "11010519491231002X", "bad_text"), ("x" * 31, "11010519491231002X", "bad_text"),
        (None, "11010519491231002X", "bad_text"), (12345, "11010519491231002X", "bad_text"),
        ("张三", "1101051949123100", "auth.bad_id_number"), ("张三", "11010519491231002Y", "auth.bad_id_number"),
        ("张三", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "auth.bad_id_number"), ("张三", None, "auth.bad_id_number"),
        ("张三", 110105194912310021, "auth.bad_id_number"),
    ]:
        with subtests.test(real_name=real_name, id_number=id_number):
            err = refused(world, ValidationError, lambda s: consent.verify_identity(
                session=s, uid=uid, real_name=real_name, id_number=id_number))
            assert err.key == key


def test_bind_phone_refuses_anything_but_eleven_ascii_digits_starting_with_1(world, subtests):
    uid = world.shopper(phone=False)
    for phone in ["", "1391234567", "139123456789", "23912345678", "1391234567a", "+8613912345678",
                  "１３９１２３４５６７８", "1" + "٣" * 10, None, 13912345678]:
        with subtests.test(phone=phone):
            err = refused(world, ValidationError, lambda s: consent.bind_phone(session=s, uid=uid, phone=phone))
            assert err.key == "auth.bad_phone" and err.field == "phone"
