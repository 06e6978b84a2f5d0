"""Accounts and sessions: validated sign-up, Argon2 hashes, one message for every failed login,
sessions that expire and can be revoked, role checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import refused, snapshot
from sqlmodel import select

from bnpl_app.domain.errors import AuthError, ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import MERCHANT, OPERATOR, SHOPPER, AuthSession, CreditAccount, PaymentMethod, User
from bnpl_app.services import auth

PASSWORD = "correct horse battery"


def _register(world, username="alice", password=PASSWORD, **kw):
    with world.tx() as s:
        return auth.register(session=s, username=username, password=password, display_name=kw.pop("display_name", "Alice"),
                             clock=world.clock, **kw).id


def _login(world, username="alice", password=PASSWORD):
    with world.tx() as s:
        return auth.login(session=s, username=username, password=password, clock=world.clock)


def _session(world, username="alice"):
    """A session started without a password check (Argon2 verify is slow on purpose)."""
    uid = _register(world, username=username)
    with world.tx() as s:
        return uid, auth.start_session(session=s, user=s.get(User, uid), clock=world.clock)


# ── register ─────────────────────────────────────────────────────────────────────────────────


def test_register_stores_an_argon2_hash_never_the_password(world):
    uid = _register(world)
    with world.tx() as s:
        user = s.get(User, uid)
        stored = user.password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    for table in snapshot(world.engine).values():
        for row in table:
            assert PASSWORD not in repr(row)


def test_register_makes_a_shopper_with_bnpl_off_and_a_wallet(world):
    uid = _register(world)
    with world.tx() as s:
        user = s.get(User, uid)
        acct = s.exec(select(CreditAccount).where(CreditAccount.user_id == uid)).one()
        methods = s.exec(select(PaymentMethod).where(PaymentMethod.user_id == uid)).all()
    assert user.role == SHOPPER and not user.real_name_verified and user.phone is None
    assert acct.bnpl_status == "not_opened" and acct.limit_fen == 0 and acct.score == POLICY.new_user_score
    assert [m.kind for m in methods] == ["wallet"] and methods[0].balance_fen == 0


def test_register_of_a_merchant_or_operator_gets_no_credit_account(world):
    mid = _register(world, username="shopkeeper", role=MERCHANT)
    oid = _register(world, username="ops_1", role=OPERATOR)
    with world.tx() as s:
        assert s.exec(select(CreditAccount).where(CreditAccount.user_id.in_([mid, oid]))).all() == []


def test_register_refuses_bad_usernames(world, subtests):
    for username in ["", "ab", "a" * 31, "has space", "名字中文", "semi;colon", "dash-ed", "ab\ncd", None, 12345,
                     ["alice"]]:
        with subtests.test(username=username):
            err = refused(world, ValidationError, lambda s: auth.register(
                session=s, username=username, password=PASSWORD, display_name="x", clock=world.clock))
            assert err.key == "auth.bad_username" and err.field == "username"


def test_register_refuses_weak_or_absurd_passwords(world, subtests):
    for password in ["", "short", "x" * (POLICY.password_min_len - 1), "x" * 201, None, 12345678]:
        with subtests.test(password=password):
            err = refused(world, ValidationError, lambda s: auth.register(
                session=s, username="bob_1", password=password, display_name="x", clock=world.clock))
            assert err.key == "auth.weak_password" and err.field == "password"
            assert str(POLICY.password_min_len) in err.message


def test_register_accepts_a_password_of_exactly_the_minimum_length(world):
    _register(world, username="bob_2", password="p" * POLICY.password_min_len)


def test_register_refuses_a_taken_username(world):
    _register(world)
    err = refused(world, ValidationError, lambda s: auth.register(
        session=s, username="alice", password=PASSWORD, display_name="x", clock=world.clock))
    assert err.key == "auth.username_taken"


def test_register_trims_the_username_and_defaults_the_display_name(world):
    with world.tx() as s:
        user = auth.register(session=s, username="  carol_9 ", password=PASSWORD, display_name="  ", clock=world.clock)
        other = auth.register(session=s, username="dave_9", password=PASSWORD, display_name=None, clock=world.clock)
        odd = auth.register(session=s, username="erin_9", password=PASSWORD, display_name=12345, clock=world.clock)
        long = auth.register(session=s, username="fay_9", password=PASSWORD, display_name="名" * 100, clock=world.clock)
    assert user.username == "carol_9" and user.display_name == "carol_9"
    assert other.display_name == "dave_9" and odd.display_name == "erin_9" and long.display_name == "名" * 60


# ── login ────────────────────────────────────────────────────────────────────────────────────


def test_login_returns_a_token_and_the_actor_and_stores_only_the_tokens_hash(world):
    uid = _register(world)
    token, actor = _login(world)
    assert actor.user_id == uid and actor.role == SHOPPER and actor.username == "alice"
    assert len(token) >= 32
    with world.tx() as s:
        rows = s.exec(select(AuthSession).where(AuthSession.user_id == uid)).all()
    assert len(rows) == 1 and rows[0].token_hash != token and token not in rows[0].token_hash
    assert rows[0].expires_at == world.clock.now() + POLICY.session_ttl


def test_login_with_wrong_password_and_unknown_user_say_the_same(world):
    _register(world)
    wrong = refused(world, AuthError, lambda s: auth.login(session=s, username="alice", password="not the password",
                                                             clock=world.clock))
    unknown = refused(world, AuthError, lambda s: auth.login(session=s, username="nobody", password=PASSWORD,
                                                               clock=world.clock))
    assert wrong.key == unknown.key == "auth.bad_credentials"
    assert wrong.text("zh") == unknown.text("zh") and wrong.text("en") == unknown.text("en")


def test_login_refuses_a_missing_or_non_text_password(world, subtests):
    _register(world)
    for password in [None, 12345678]:
        with subtests.test(password=password):
            err = refused(world, AuthError, lambda s: auth.login(session=s, username="alice", password=password,
                                                                   clock=world.clock))
            assert err.key == "auth.bad_credentials"


def test_login_with_a_non_text_username_is_refused_like_any_bad_login(world, subtests):
    _register(world)
    for username in [12345, {"$ne": ""}]:
        with subtests.test(username=username):
            err = refused(world, AuthError, lambda s: auth.login(session=s, username=username, password=PASSWORD,
                                                                   clock=world.clock))
            assert err.key == "auth.bad_credentials"


def test_merchant_actor_carries_its_merchant_id(world):
    mid = world.merchant()
    with world.tx() as s:
        user = s.get(User, world.merchant_user(mid))
        token = auth.start_session(session=s, user=user, clock=world.clock)
    with world.tx() as s:
        actor = auth.resolve(session=s, token=token, clock=world.clock)
    assert actor.role == MERCHANT and actor.merchant_id == mid


# ── resolve / logout ─────────────────────────────────────────────────────────────────────────


def test_resolve_derives_the_user_from_the_token(world):
    uid, token = _session(world)
    with world.tx() as s:
        actor = auth.resolve(session=s, token=token, clock=world.clock)
    assert actor.user_id == uid


def test_session_is_valid_until_its_ttl_and_expired_from_then_on(world):
    _, token = _session(world)
    created = world.clock.now()
    step = POLICY.session_idle - timedelta(minutes=1)
    while world.clock.now() + step < created + POLICY.session_ttl:  # used all along: never idle
        world.clock.advance(step)
        with world.tx() as s:
            who = auth.resolve(session=s, token=token, clock=world.clock)
            assert auth.touch(session=s, session_id=who.session_id, clock=world.clock)
    world.clock.set(created + POLICY.session_ttl - timedelta(seconds=1))
    with world.tx() as s:
        auth.resolve(session=s, token=token, clock=world.clock)
    world.clock.advance(timedelta(seconds=1))
    err = refused(world, AuthError, lambda s: auth.resolve(session=s, token=token, clock=world.clock))
    assert err.key == "auth.session_expired"


def test_logout_revokes_the_session(world):
    _, token = _session(world)
    with world.tx() as s:
        auth.logout(session=s, token=token, clock=world.clock)
    err = refused(world, AuthError, lambda s: auth.resolve(session=s, token=token, clock=world.clock))
    assert err.key == "auth.session_expired"
    # logging out twice, with no token or with garbage, is harmless
    with world.tx() as s:
        auth.logout(session=s, token=token, clock=world.clock)
        for junk in (None, "", "garbage", 12345, b"bytes", ["list"]):
            auth.logout(session=s, token=junk, clock=world.clock)


def test_logout_of_one_session_leaves_the_others(world):
    uid, t1 = _session(world)
    with world.tx() as s:
        t2 = auth.start_session(session=s, user=s.get(User, uid), clock=world.clock)
    with world.tx() as s:
        auth.logout(session=s, token=t1, clock=world.clock)
    with world.tx() as s:
        assert auth.resolve(session=s, token=t2, clock=world.clock).username == "alice"


def test_resolve_refuses_garbage_tokens(world, subtests):
    _, token = _session(world)
    for bad in [None, "", "garbage", "x" * 101, token[:-1], token + "x", token.upper(), 12345, b"bytes", ["list"]]:
        with subtests.test(token=bad):
            err = refused(world, AuthError, lambda s: auth.resolve(session=s, token=bad, clock=world.clock))
            assert err.key == "auth.session_expired"


def test_resolve_refuses_the_stored_hash_used_as_a_token(world):
    _session(world)
    with world.tx() as s:
        stored = s.exec(select(AuthSession)).one().token_hash
    refused(world, AuthError, lambda s: auth.resolve(session=s, token=stored, clock=world.clock))


# ── roles ────────────────────────────────────────────────────────────────────────────────────


def test_require_accepts_the_listed_roles_and_refuses_the_others(world):
    shopper = auth.Actor(1, "s", SHOPPER, "S")
    operator = auth.Actor(2, "o", OPERATOR, "O")
    merchant = auth.Actor(3, "m", MERCHANT, "M", merchant_id=7)
    assert auth.require(shopper, SHOPPER) is shopper
    assert auth.require(merchant, MERCHANT, OPERATOR) is merchant
    assert auth.require_operator(operator) is operator
    for actor, roles in [(shopper, (MERCHANT,)), (shopper, (OPERATOR,)), (merchant, (SHOPPER,)), (operator, ())]:
        with pytest.raises(AuthError) as e:
            auth.require(actor, *roles)
        assert e.value.key == "auth.role_required"
    for actor in (shopper, merchant):
        with pytest.raises(AuthError):
            auth.require_operator(actor)
