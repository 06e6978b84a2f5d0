"""Log-in throttling: the pure decisions (``domain/throttle.py``) and the service that stores them
(``services/auth.py``): attempts counted per account name and per client address before any
hash, a lock that doubles, told in minutes, the same for unknown names; a success resets the
account; sign-ups counted per address; a lock lapses as the clock moves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import snapshot

from bnpl_app.domain import throttle
from bnpl_app.domain.errors import AuthError, Throttled
from bnpl_app.domain.policy import POLICY
from bnpl_app.services import auth

PER_ACCOUNT = POLICY.login_attempts_per_account
PER_ADDRESS = POLICY.login_attempts_per_address
FIRST = POLICY.login_lock_first


def attempt(world, username, password="password123", address="10.0.0.1", check=auth.check_password):
    """One log-in as the app makes it (admission committed, check, session)."""
    return auth.attempt_login(engine=world.engine, username=username, password=password, address=address,
                              clock=world.clock, check=check)


def never_hashed(creds, password):  # a check that must not run: the attempt was refused before it
    raise AssertionError("a throttled attempt was hashed")


def wrong(world, username, address="10.0.0.1", times=1):
    """``times`` wrong passwords (checked by a stand-in: Argon2 is slow on purpose); the refusals."""
    errors = []
    for _ in range(times):
        with pytest.raises(AuthError) as e:
            attempt(world, username, "wrong-password", address, check=lambda c, p: False)
        errors.append(e.value)
    return errors


def wait(world, username="", address=""):
    with world.tx() as s:
        return auth.login_wait(session=s, username=username, address=address, clock=world.clock)


# ── the pure decisions ───────────────────────────────────────────────────────────────────────
def test_each_lock_lasts_twice_as_long_as_the_last_up_to_the_cap():
    assert [throttle.lock_length(n) for n in range(4)] == [FIRST, FIRST * 2, FIRST * 4, FIRST * 8]
    assert throttle.lock_length(60) == POLICY.login_lock_max


def test_a_wait_is_told_in_whole_minutes_rounded_up_and_never_zero():
    assert [throttle.minutes(timedelta(seconds=s)) for s in (1, 59, 60, 61, 299, 300)] == [1, 1, 1, 2, 5, 5]


def test_the_attempt_that_reaches_the_limit_locks_and_a_lapsed_lock_gives_a_fresh_window(world):
    now = world.clock.now()
    t = throttle.Tally()
    for _ in range(3):
        assert throttle.wait_left(t, now) is None
        t = throttle.counted(t, now, 3)
    assert throttle.wait_left(t, now) == FIRST and t.locks == 1
    later = now + FIRST
    assert throttle.wait_left(t, later) is None
    assert throttle.current(t, later).attempts == 0 and throttle.current(t, later).locks == 1


def test_a_window_that_passed_without_a_lock_starts_over_and_a_quiet_day_forgets_the_locks(world):
    now = world.clock.now()
    t = throttle.counted(throttle.counted(throttle.Tally(), now, 5), now, 5)
    assert throttle.current(t, now + POLICY.login_window).attempts == 0
    locked = throttle.counted(throttle.Tally(attempts=4, window_start=now, last_at=now, locks=3), now, 5)
    assert locked.locks == 4 and throttle.current(locked, now + POLICY.login_forget + FIRST * 8) == throttle.Tally()


def test_a_success_from_an_address_gives_back_its_own_attempt_and_the_lock_it_set_only():
    t = throttle.Tally(attempts=5, locked_until=None, locks=0)
    assert throttle.address_succeeded(t, 20).attempts == 4
    from datetime import datetime, timezone

    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    set_by_it = throttle.Tally(attempts=20, window_start=at, locked_until=at + FIRST, locks=1, last_at=at)
    back = throttle.address_succeeded(set_by_it, 20)
    assert (back.attempts, back.locked_until, back.locks) == (19, None, 0)


# ── the service ──────────────────────────────────────────────────────────────────────────────
def test_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused_unhashed(world):
    world.shopper(name="amy")
    errors = wrong(world, "amy", times=PER_ACCOUNT)
    assert [e.key for e in errors[:-1]] == ["auth.bad_credentials"] * (PER_ACCOUNT - 1)
    assert isinstance(errors[-1], Throttled) and errors[-1].minutes == throttle.minutes(FIRST)  # the last one set the lock
    with pytest.raises(Throttled) as e:
        attempt(world, "amy", "password123", check=never_hashed)
    assert e.value.minutes == throttle.minutes(FIRST)
    assert e.value.text("en") == f"too many attempts, try again in {throttle.minutes(FIRST)} minutes"
    assert e.value.text("zh") == f"尝试次数过多，请 {throttle.minutes(FIRST)} 分钟后再试"


def test_the_account_is_locked_from_every_address_and_other_accounts_are_not(world):
    world.shopper(name="amy")
    world.shopper(name="bea")
    wrong(world, "amy", address="10.0.0.1", times=PER_ACCOUNT)
    with pytest.raises(Throttled):
        attempt(world, "amy", address="10.9.9.9", check=never_hashed)
    token, who = attempt(world, "bea", address="10.0.0.1")  # the address itself is far from its limit
    assert who.username == "bea" and token


def test_an_unknown_username_is_counted_locked_and_told_exactly_like_a_real_one(world):
    world.shopper(name="amy")
    real = wrong(world, "amy", times=PER_ACCOUNT)
    ghost = wrong(world, "nobody_here", address="10.0.0.2", times=PER_ACCOUNT)
    assert [(type(e), e.key, e.params) for e in real] == [(type(e), e.key, e.params) for e in ghost]
    for name in ("amy", "nobody_here"):
        with pytest.raises(Throttled) as e:
            attempt(world, name, address="10.0.0.3", check=never_hashed)
        assert e.value.minutes == throttle.minutes(FIRST)


def test_a_success_resets_the_account_count(world):
    world.shopper(name="amy")
    wrong(world, "amy", times=PER_ACCOUNT - 1)
    attempt(world, "amy")
    errors = wrong(world, "amy", times=PER_ACCOUNT - 1)  # a full set of attempts again
    assert all(e.key == "auth.bad_credentials" for e in errors)
    assert wait(world, username="amy") is None


def test_the_address_is_limited_across_accounts_and_a_success_does_not_wash_its_guesses(world):
    world.shopper(name="amy")
    names = [f"guess_{i}" for i in range(PER_ADDRESS - 1)]
    for name in names:  # one guess per name: no account reaches its own limit
        wrong(world, name, address="10.0.0.7")
    attempt(world, "amy", address="10.0.0.7")  # a success gives back only its own attempt
    [last] = wrong(world, "guess_last", address="10.0.0.7")
    assert isinstance(last, Throttled)
    with pytest.raises(Throttled):
        attempt(world, "amy", address="10.0.0.7", check=never_hashed)
    attempt(world, "amy", address="10.0.0.8")  # another address is not affected


def test_a_lock_lapses_as_the_clock_moves_and_the_next_lock_is_twice_as_long(world):
    world.shopper(name="amy")
    wrong(world, "amy", times=PER_ACCOUNT)
    world.clock.advance(FIRST - timedelta(seconds=61))
    with pytest.raises(Throttled) as e:
        attempt(world, "amy", check=never_hashed)
    assert e.value.minutes == 2  # 61 s left: told as 2 minutes (rounded up)
    world.clock.advance(timedelta(seconds=61))
    assert wait(world, username="amy") is None
    errors = wrong(world, "amy", times=PER_ACCOUNT)
    assert isinstance(errors[-1], Throttled) and errors[-1].minutes == throttle.minutes(FIRST * 2)
    world.clock.advance(FIRST * 2)
    token, who = attempt(world, "amy")
    assert who.username == "amy"


def test_a_refused_attempt_changes_nothing_in_the_database(world):
    world.shopper(name="amy")
    wrong(world, "amy", times=PER_ACCOUNT)
    before = snapshot(world.engine)
    with pytest.raises(Throttled):
        attempt(world, "amy", check=never_hashed)
    assert snapshot(world.engine) == before


def test_sign_ups_are_counted_per_address_successful_or_not(world):
    for _ in range(POLICY.signups_per_address - 1):
        with world.tx() as s:
            auth.admit_signup(session=s, address="10.0.0.9", clock=world.clock)
    with world.tx() as s:  # the last one allowed: it sets the lock
        auth.admit_signup(session=s, address="10.0.0.9", clock=world.clock)
    with pytest.raises(Throttled):
        with world.tx() as s:
            auth.admit_signup(session=s, address="10.0.0.9", clock=world.clock)
    with world.tx() as s:
        auth.admit_signup(session=s, address="10.0.0.10", clock=world.clock)
    world.clock.advance(FIRST)
    with world.tx() as s:
        auth.admit_signup(session=s, address="10.0.0.9", clock=world.clock)


def test_when_both_the_account_and_the_address_are_locked_the_longer_wait_is_told(world):
    world.shopper(name="amy")
    wrong(world, "amy", address="10.0.1.1", times=PER_ACCOUNT)  # amy: the first lock
    world.clock.advance(FIRST)
    wrong(world, "amy", address="10.0.1.1", times=PER_ACCOUNT)  # amy: the second, twice as long
    for i in range(PER_ADDRESS):  # an address locked for the first length
        wrong(world, f"guess_{i}", address="10.0.1.2")
    with pytest.raises(Throttled) as e:
        attempt(world, "amy", address="10.0.1.2", check=never_hashed)
    assert e.value.minutes == throttle.minutes(FIRST * 2)


def test_a_loopback_or_unknown_address_has_no_tally_of_its_own_but_the_account_still_locks(world):
    """Loopback is this machine or a proxy on it (every client would share one tally: a few wrong
    passwords would lock everybody out); the account's own tally still counts."""
    world.shopper(name="amy")
    for address in ("127.0.0.1", "::1", ""):
        for i in range(PER_ADDRESS + 1):
            wrong(world, f"guess_{address}_{i}", address=address)
        attempt(world, "amy", address=address)
    for _ in range(POLICY.signups_per_address + 1):
        with world.tx() as s:
            auth.admit_signup(session=s, address="127.0.0.1", clock=world.clock)
    errors = wrong(world, "amy", address="127.0.0.1", times=PER_ACCOUNT)
    assert isinstance(errors[-1], Throttled)
