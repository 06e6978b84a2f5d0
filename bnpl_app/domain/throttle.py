"""Log-in throttling as pure decisions on one key's tally (an account name, a client address, or
an address signing up): whether an attempt may go ahead, what counting it does, what a success
undoes, and how long a lock lasts. The services store one tally per key (``login_throttles``) and
apply these; nothing here reads a clock or a database.

An attempt is counted when it is admitted — before any password is hashed — so a burst of
attempts sent at once cannot all slip past the limit while their hashes are still queued. The
attempt that reaches the limit still runs (it was within the limit) and sets the lock; if it turns
out right, the success takes it back."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .policy import POLICY, Policy


@dataclass(frozen=True)
class Tally:
    """One key's attempts in its current window, its lock, and how many locks it has had (the
    next lasts ``first × 2^locks``)."""

    attempts: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None
    locks: int = 0
    last_at: datetime | None = None


def current(t: Tally, now: datetime, policy: Policy = POLICY) -> Tally:
    """The tally as it stands at ``now``: a key quiet for ``login_forget`` starts over; a lapsed
    lock ends its window (a fresh set of attempts; the lock count stays, so the next lock is
    longer); a lapsed window (no lock) starts a new one."""
    if t.last_at is None or now - t.last_at >= policy.login_forget:
        return Tally()
    if t.locked_until is not None:
        if t.locked_until > now:
            return t
        return replace(t, attempts=0, window_start=None, locked_until=None)
    if t.window_start is not None and now - t.window_start >= policy.login_window:
        return replace(t, attempts=0, window_start=None)
    return t


def wait_left(t: Tally, now: datetime, policy: Policy = POLICY) -> timedelta | None:
    """How long the key stays locked (None: an attempt may go ahead)."""
    t = current(t, now, policy)
    return t.locked_until - now if t.locked_until is not None else None


def lock_length(locks: int, policy: Policy = POLICY) -> timedelta:
    """The ``locks + 1``-th lock: the first lasts ``login_lock_first``, each next twice as long."""
    return min(policy.login_lock_first * (2 ** min(locks, 20)), policy.login_lock_max)


def counted(t: Tally, now: datetime, limit: int, policy: Policy = POLICY) -> Tally:
    """The tally after an admitted attempt (``wait_left`` was None): one more in the window; the
    attempt that reaches ``limit`` locks the key."""
    t = current(t, now, policy)
    t = replace(t, attempts=t.attempts + 1, window_start=t.window_start or now, last_at=now)
    if t.attempts >= limit:
        t = replace(t, locked_until=now + lock_length(t.locks, policy), locks=t.locks + 1)
    return t


def account_succeeded() -> Tally:
    """The right password for an account: its tally starts over (locks included)."""
    return Tally()


def address_succeeded(t: Tally, limit: int) -> Tally:
    """A success from an address takes its own attempt back (an address stands for many people:
    successes must not lock it), and with it the lock that attempt set, if it did. The rest of the
    window's failures stay counted: one good account does not wash an address's guesses."""
    attempts = max(0, t.attempts - 1)
    if t.locked_until is not None and attempts < limit:
        return replace(t, attempts=attempts, locked_until=None, locks=max(0, t.locks - 1))
    return replace(t, attempts=attempts)


def minutes(wait: timedelta) -> int:
    """A wait as whole minutes, rounded up (never 0: "try again in 0 minutes" would be wrong)."""
    return max(1, math.ceil(wait.total_seconds() / 60))
