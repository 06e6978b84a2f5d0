"""Accounts and server-side sessions. Passwords are hashed with Argon2id; the browser holds only a
random session token (an HttpOnly cookie, ``bnpl_app/auth_api.py``), the database only its
SHA-256, and every request re-derives the user from it: revoked, past ``POLICY.session_ttl`` since
it started, or unused for ``POLICY.session_idle`` — refused. Each log-in starts a new session and
ends the one the browser held; a user may end every other session, and a password change does.

Session expiry runs on real time (the caller passes a wall clock): moving the demo clock a month
must not log everybody out, and must not keep a stolen token alive either."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from ..domain import throttle
from ..domain.clock import Clock, aware
from ..domain.errors import AuthError, Throttled, ValidationError
from ..domain.policy import POLICY
from ..models import (
    MERCHANT,
    OPERATOR,
    SHOPPER,
    AuthSession,
    CreditAccount,
    LoginThrottle,
    Merchant,
    MethodKind as MK,
    PaymentMethod,
    User,
)

# OWASP's Argon2id configuration (m = 19 MiB, t = 2, p = 1): ~30 ms a check on this machine's cores
# (argon2-cffi's default, 64 MiB × 3 passes × 4 lanes, took 250 ms and both cores). Hashes made with
# other parameters still verify and are re-hashed at the next log-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,30}$")
# The cookie that carries the session token: set and cleared only by the HTTP endpoints
# (``auth_api.py``), HttpOnly, SameSite=Strict, Secure over HTTPS.
COOKIE = "bnpl_session"


def token_from_cookies(header: object) -> str | None:
    """The session token in a ``Cookie`` request header, or None. Two session cookies in one
    header (one planted by a sibling host, say) mean nobody: which one is real cannot be told."""
    if not isinstance(header, str) or not header:
        return None
    found = [value.strip() for name, eq, value in (part.strip().partition("=") for part in header.split(";"))
             if eq and name.strip() == COOKIE]
    return found[0] if len(found) == 1 and found[0] else None


@dataclass(frozen=True)
class Actor:
    """Who is acting, as derived from a verified server-side session. ``session_id``: that session
    (0 when the actor was not derived from one); ``touch_due``: its last-seen time is older than
    ``POLICY.session_touch_every`` (the caller writes it with ``touch``, in a transaction)."""

    user_id: int
    username: str
    role: str
    display_name: str
    merchant_id: int | None = None
    session_id: int = 0
    touch_due: bool = False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(*, session: Session, username: str, password: str, display_name: str, clock: Clock,
             role: str = SHOPPER, password_hash: str | None = None) -> User:
    """Sign-up from the web is always a shopper; merchants and operators are made by admin commands.
    ``password_hash``: ``hash_password(password)`` made beforehand, off the event loop and outside
    this transaction (the app does so); made here otherwise."""
    username = username.strip() if isinstance(username, str) else ""
    if not _USERNAME_RE.match(username):
        raise ValidationError("auth.bad_username", field="username")
    validate_password(password)
    display_name = (display_name.strip() if isinstance(display_name, str) else "")[:60] or username
    if session.exec(select(User).where(User.username == username)).first():
        raise ValidationError("auth.username_taken", field="username")
    now = clock.now()
    user = User(username=username, password_hash=password_hash or hash_password(password), role=role, display_name=display_name,
                created_at=now)
    session.add(user)
    session.flush()
    if role != SHOPPER:
        return user
    session.add(CreditAccount(user_id=user.id, score=POLICY.new_user_score, updated_at=now))
    session.add(PaymentMethod(user_id=user.id, kind=MK.WALLET, label="余额", balance_fen=0, priority=0, created_at=now))
    session.flush()
    return user


@dataclass(frozen=True)
class Credentials:
    """What a log-in checks a password against: read in one short read, checked outside any
    transaction (a check is CPU time; a database lock must not wait for it). ``lock``: the lock
    this very attempt set by reaching a limit (``admit_login``) — told if the password is wrong."""

    user_id: int | None
    password_hash: str
    lock: timedelta | None = None


# ── throttling (the decisions: domain/throttle.py) ───────────────────────────────────────────
# Every log-in — the Reflex handler's, and an HTTP endpoint's through ``attempt_login`` — runs
# ``admit_login`` (its own short transaction, committed before any hash), the password check with
# no transaction open, then ``finish_login`` (success) or ``refusal`` (failure). Attempts are
# counted on admission, so a refused or a failed attempt needs no second write. Times come from
# the clock passed in: the wall clock in the app (moving the demo clock must not lift a lock).
ACCOUNT, ADDRESS, SIGNUP = "account", "address", "signup"
_KEY_LEN = 64
_CAS_TRIES = 20


def _key(text: object) -> str:
    return (text.strip() if isinstance(text, str) else "")[:_KEY_LEN]


def _address_counted(address: object) -> bool:
    """Whether an address has a tally of its own. Not when it is unknown or loopback: that is this
    machine, or a proxy on it whose clients all share its address (set REFLEX_TRUSTED_PROXY_HOPS
    so that the client's own address is seen) — one tally for all of them would let a few wrong
    passwords lock everybody out. The account's tally still counts every attempt."""
    key = _key(address)
    if not key:
        return False
    try:
        return not ipaddress.ip_address(key).is_loopback
    except ValueError:
        return key != "localhost"


def _tally_of(row) -> throttle.Tally:
    def at(v: datetime | None) -> datetime | None:
        return aware(v) if v is not None else None

    return throttle.Tally(row.attempts, at(row.window_start), at(row.locked_until), row.locks, at(row.last_at))


def _tally(*, session: Session, scope: str, key: str) -> tuple[int | None, int, throttle.Tally]:
    """(row id, version, tally) of one key; (None, 0, an empty tally) when it has none yet."""
    t = LoginThrottle.__table__
    row = session.execute(sa.select(t).where(t.c.scope == scope, t.c.key == key)).first()
    return (None, 0, throttle.Tally()) if row is None else (row.id, row.version, _tally_of(row))


def _columns(tally: throttle.Tally, now: datetime) -> dict:
    """A tally as the columns of its row (the time of the last attempt: now, unless it says)."""
    return dict(attempts=tally.attempts, window_start=tally.window_start, locked_until=tally.locked_until,
                locks=tally.locks, last_at=tally.last_at or now)


def _update(*, session: Session, scope: str, key: str, now: datetime,
            change: Callable[[throttle.Tally], throttle.Tally | None],
            read: tuple[int | None, int, throttle.Tally] | None = None) -> throttle.Tally | None:
    """Apply ``change`` to one key's tally with a guarded compare-and-set (several workers may
    count the same key at once): re-read and retry when another writer won. ``change`` returning
    None writes nothing. ``read``: the key's ``_tally`` as this transaction just read it (the
    first try starts from it instead of reading it again)."""
    from ..db import insert_ignore

    t = LoginThrottle.__table__
    for _ in range(_CAS_TRIES):
        row_id, version, old = read or _tally(session=session, scope=scope, key=key)
        read = None
        new = change(old)
        if new is None:
            return None
        values = _columns(new, now)
        if row_id is None:
            if insert_ignore(session, t, dict(scope=scope, key=key, version=0, **values)):
                return new
            continue  # another worker made the row first: count on it
        done = session.execute(sa.update(t).where(t.c.id == row_id, t.c.version == version)
                               .values(version=version + 1, **values))
        if done.rowcount == 1:
            return new
    raise Throttled(1)  # a key so contended that it could not be counted: refuse rather than not count


def _admit(*, session: Session, keys: list[tuple[str, str, int]], now: datetime) -> timedelta | None:
    """Count one attempt against every ``(scope, key, limit)``, or raise Throttled with the wait
    when one is locked (the caller's transaction then rolls back what was counted before it).
    Returns the longest lock this attempt set by reaching a limit (None: it set none)."""
    reads = [_tally(session=session, scope=scope, key=key) for scope, key, _ in keys]
    waits = [w for _id, _v, tally in reads if (w := throttle.wait_left(tally, now)) is not None]
    if waits:  # the longest wait: the one that is true
        raise Throttled(throttle.minutes(max(waits)))
    set_locks: list[timedelta] = []
    for (scope, key, limit), read in zip(keys, reads, strict=True):
        def count(old: throttle.Tally, limit=limit) -> throttle.Tally:
            if (wait := throttle.wait_left(old, now)) is not None:  # locked by another worker meanwhile
                raise Throttled(throttle.minutes(wait))
            return throttle.counted(old, now, limit)

        new = _update(session=session, scope=scope, key=key, now=now, change=count, read=read)
        if new.locked_until is not None:
            set_locks.append(new.locked_until - now)
    return max(set_locks) if set_locks else None


def admit_login(*, session: Session, username: str, address: str, clock: Clock) -> Credentials:
    """Before a password is checked: refuse (Throttled, saying how long) when the account name or
    the client address is locked, else count the attempt against both and return what to check
    the password against. An unknown name is counted and locked exactly like a real one.
    The caller commits this before hashing, so the count stands whatever happens next."""
    keys = [(ACCOUNT, _key(username), POLICY.login_attempts_per_account)]
    if _address_counted(address):
        keys.append((ADDRESS, _key(address), POLICY.login_attempts_per_address))
    lock = _admit(session=session, now=clock.now(), keys=keys)
    creds = credentials(session=session, username=username)
    return Credentials(creds.user_id, creds.password_hash, lock)


def refusal(creds: Credentials) -> AuthError:
    """What a failed check says: the lock it ran into if this attempt set one, else the one
    message for unknown names and wrong passwords alike."""
    return Throttled(throttle.minutes(creds.lock)) if creds.lock is not None else AuthError("auth.bad_credentials")


def _login_succeeded(*, session: Session, username: str, address: str | None, clock: Clock) -> None:
    """The right password: the account's tally starts over; the address gets its attempt back."""
    now = clock.now()
    # What a success leaves does not depend on the tally before it: one statement, no
    # compare-and-set (a key with no row yet has nothing to start over).
    t = LoginThrottle.__table__
    session.execute(sa.update(t).where(t.c.scope == ACCOUNT, t.c.key == _key(username))
                    .values(version=t.c.version + 1, **_columns(throttle.account_succeeded(), now)))
    if _address_counted(address):
        _update(session=session, scope=ADDRESS, key=_key(address), now=now,
                change=lambda old: throttle.address_succeeded(old, POLICY.login_attempts_per_address))


def admit_signup(*, session: Session, address: str, clock: Clock) -> None:
    """Before a sign-up hashes its password: refuse (Throttled) when this address has signed up
    (or tried to) too often, else count it. Every sign-up counts, successful or not."""
    if _address_counted(address):
        _admit(session=session, now=clock.now(), keys=[(SIGNUP, _key(address), POLICY.signups_per_address)])


def login_wait(*, session: Session, username: str = "", address: str = "", clock: Clock) -> timedelta | None:
    """How long the account name or the address stays locked (None: not locked) — for a screen or
    a test; counts nothing."""
    now = clock.now()
    waits = [w for scope, key in ((ACCOUNT, _key(username)), (ADDRESS, _key(address)))
             if (w := throttle.wait_left(_tally(session=session, scope=scope, key=key)[2], now)) is not None]
    return max(waits) if waits else None


def credentials(*, session: Session, username: str) -> Credentials:
    username = username.strip() if isinstance(username, str) else ""
    user = session.exec(select(User).where(User.username == username)).first() if username else None
    return Credentials(None, _DUMMY_HASH) if user is None else Credentials(user.id, user.password_hash)


def check_password(creds: Credentials, password: str) -> bool:
    """Whether ``password`` matches. Unknown users cost the same time (a check of a dummy hash), so
    timing does not reveal who exists. CPU-bound: call it off the event loop."""
    if not isinstance(password, str):
        password = ""
    try:
        return _hasher.verify(creds.password_hash, password) and creds.user_id is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def finish_login(*, session: Session, user_id: int, password: str, clock: Clock,
                 address: str | None = None, user_agent: str | None = None,
                 replacing: str | None = None) -> tuple[str, Actor]:
    """After a successful ``check_password``: a new session (and the hash brought up to the current
    parameters if it was made with others), and the account's throttle reset (with ``address``:
    the address's attempt given back). ``replacing``: the token the browser held, ended (a log-in
    always rotates). Returns (token, actor)."""
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("auth.bad_credentials")
    _login_succeeded(session=session, username=user.username, address=address, clock=clock)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    logout(session=session, token=replacing, clock=clock)
    token = start_session(session=session, user=user, clock=clock, address=address, user_agent=user_agent)
    return token, actor_of(session=session, user=user)


def login(*, session: Session, username: str, password: str, clock: Clock) -> tuple[str, Actor]:
    """Returns (token, actor). The same message for unknown users and wrong passwords. Not throttled
    and all in the caller's transaction: for tests and tools. Anything facing the network logs in
    through the throttled steps (``attempt_login``, or the app's handler running them apart)."""
    creds = credentials(session=session, username=username)
    if not check_password(creds, password):
        raise AuthError("auth.bad_credentials")
    return finish_login(session=session, user_id=creds.user_id, password=password, clock=clock)


def attempt_login(*, engine, username: str, password: str, address: str, clock: Clock,
                  check: Callable[[Credentials, str], bool] = check_password, user_agent: str | None = None,
                  replacing: str | None = None) -> tuple[str, Actor]:
    """A whole throttled log-in for a synchronous caller (an HTTP log-in endpoint, the CLI): the
    admission committed in its own transaction, the check with none open, the session in a third.
    (The one service function that commits: a refused attempt must stay counted although the
    log-in fails.) The Reflex handler runs the same three steps with an await between each."""
    from ..db import transaction

    with transaction(engine) as s:
        creds = admit_login(session=s, username=username, address=address, clock=clock)
    if not check(creds, password):
        raise refusal(creds)
    with transaction(engine) as s:
        return finish_login(session=s, user_id=creds.user_id, password=password, clock=clock, address=address,
                            user_agent=user_agent, replacing=replacing)


def start_session(*, session: Session, user: User, clock: Clock, address: str | None = None,
                  user_agent: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                            expires_at=now + POLICY.session_ttl, address=_key(address)[:64] or None,
                            user_agent=_printable(user_agent, 200) or None))
    session.flush()
    return token


def _printable(text: object, limit: int) -> str:
    """What a screen may show of a client-supplied header: printable characters, bounded."""
    if not isinstance(text, str):
        return ""
    return "".join(c for c in text[:limit * 2] if c.isprintable())[:limit].strip()


def actor_of(*, session: Session, user: User, session_id: int = 0, touch_due: bool = False) -> Actor:
    merchant_id = None
    if user.role == MERCHANT:
        m = session.exec(select(Merchant).where(Merchant.user_id == user.id)).first()
        merchant_id = m.id if m else None
    return Actor(user.id, user.username, user.role, user.display_name, merchant_id, session_id, touch_due)


def _seen(row) -> datetime:
    return aware(row.last_seen_at or row.created_at)


def _live(row, now: datetime) -> bool:
    """Whether a session row still lets its holder in at ``now``: not ended, not past its ttl,
    used within the idle timeout."""
    return (row.revoked_at is None and aware(row.expires_at) > now
            and _seen(row) + POLICY.session_idle > now)


def _held_hash(token: object) -> str | None:
    """The stored hash of a token as a browser may present it, or None for anything that cannot be one."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    return _token_hash(token)


def _session_row(session: Session, token: object) -> AuthSession | None:
    if (held := _held_hash(token)) is None:
        return None
    return session.exec(select(AuthSession).where(AuthSession.token_hash == held)).first()


def _resolving() -> sa.Select:
    """Every event's first read — the session of a token, its user and the user's shop — as one
    statement, built once (SQLAlchemy then keeps its compiled form and skips re-deriving its cache
    key on every call)."""
    s, u, m = AuthSession.__table__, User.__table__, Merchant.__table__
    return (sa.select(s.c.id, s.c.revoked_at, s.c.expires_at, s.c.last_seen_at, s.c.created_at,
                      u.c.id.label("user_id"), u.c.username, u.c.role, u.c.display_name,
                      m.c.id.label("merchant_id"))
            .join(u, u.c.id == s.c.user_id)
            .outerjoin(m, sa.and_(m.c.user_id == u.c.id, u.c.role == MERCHANT))
            .where(s.c.token_hash == sa.bindparam("token_hash"))
            .order_by(m.c.id).limit(1))


_RESOLVE = _resolving()


def resolve(*, session: Session, token: str | None, clock: Clock) -> Actor:
    """The acting user for a session token, or AuthError (unknown, ended, expired, idle too long)."""
    held = _held_hash(token)
    row = session.execute(_RESOLVE, {"token_hash": held}).first() if held is not None else None
    now = clock.now()
    if row is None or not _live(row, now):
        raise AuthError("auth.session_expired")
    return Actor(row.user_id, row.username, row.role, row.display_name, row.merchant_id, row.id,
                 _seen(row) + POLICY.session_touch_every <= now)


def touch(*, session: Session, session_id: int, clock: Clock) -> bool:
    """The session was used now: its idle timeout starts over. One guarded statement — only a
    live session not touched within ``POLICY.session_touch_every`` is written (a replay, a race of
    two tabs or an ended session changes nothing). True if it was written."""
    now = clock.now()
    t = AuthSession.__table__
    seen = sa.func.coalesce(t.c.last_seen_at, t.c.created_at)
    done = session.execute(sa.update(t).where(
        t.c.id == session_id, t.c.revoked_at.is_(None), t.c.expires_at > now,
        seen > now - POLICY.session_idle, seen <= now - POLICY.session_touch_every,
    ).values(last_seen_at=now))
    return done.rowcount == 1


def logout(*, session: Session, token: str | None, clock: Clock) -> None:
    """End the session of ``token`` (nothing when there is none or it has ended already)."""
    row = _session_row(session, token)
    if row is None:
        return
    t = AuthSession.__table__
    session.execute(sa.update(t).where(t.c.id == row.id, t.c.revoked_at.is_(None)).values(revoked_at=clock.now()))


@dataclass(frozen=True)
class SessionInfo:
    """One live session of a user, for the security page (no token, no hash)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str
    user_agent: str
    current: bool


def active_sessions(*, session: Session, user_id: int, token: str | None, clock: Clock) -> list[SessionInfo]:
    """The user's live sessions, the one of ``token`` (this device) first, then the most recently
    used."""
    now = clock.now()
    here = _token_hash(token) if isinstance(token, str) and token else ""
    rows = session.exec(select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                                  AuthSession.expires_at > now)).all()
    out = [SessionInfo(r.id, aware(r.created_at), _seen(r), aware(r.expires_at), r.address or "", r.user_agent or "",
                       r.token_hash == here) for r in rows if _live(r, now)]
    return sorted(out, key=lambda i: (not i.current, -i.last_seen_at.timestamp(), -i.id))


def end_other_sessions(*, session: Session, user_id: int, token: str | None, clock: Clock) -> int:
    """End every session of the user but the one of ``token`` (this device): one statement, so a
    session started meanwhile on another device is ended too, or not at all. Returns how many."""
    keep = _token_hash(token) if isinstance(token, str) and token else ""
    t = AuthSession.__table__
    done = session.execute(sa.update(t).where(t.c.user_id == user_id, t.c.revoked_at.is_(None),
                                              t.c.token_hash != keep).values(revoked_at=clock.now()))
    return done.rowcount


def validate_password(password: object) -> str:
    """A new password as the policy wants it (ValidationError otherwise): checked before hashing."""
    if not isinstance(password, str) or len(password) < POLICY.password_min_len or len(password) > 200:
        raise ValidationError("auth.weak_password", field="password", min=POLICY.password_min_len)
    return password


def admit_password_change(*, session: Session, user_id: int, address: str, clock: Clock) -> Credentials:
    """Before the current password is checked for a change: the attempt counted against the
    account and the address exactly like a log-in (a stolen session cannot guess the password
    faster than a log-in could), refused while either is locked."""
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("auth.session_expired")
    return admit_login(session=session, username=user.username, address=address, clock=clock)


def change_password(*, session: Session, user_id: int, old_hash: str, new_hash: str, token: str | None,
                    clock: Clock, address: str | None = None) -> int:
    """After the current password checked against ``old_hash`` and the new one hashed (both off
    the event loop, no transaction open): the hash replaced — a guarded statement, so of two
    changes made at once from the same old password only one wins — the account's throttle reset,
    and every other session ended. Returns how many sessions were ended."""
    t = User.__table__
    done = session.execute(sa.update(t).where(t.c.id == user_id, t.c.password_hash == old_hash)
                           .values(password_hash=new_hash))
    if done.rowcount != 1:
        raise ValidationError("sessions.password_changed_meanwhile", field="password_current")
    user = session.get(User, user_id)
    _login_succeeded(session=session, username=user.username, address=address, clock=clock)
    return end_other_sessions(session=session, user_id=user_id, token=token, clock=clock)


def require(actor: Actor, *roles: str) -> Actor:
    if actor.role not in roles:
        raise AuthError("auth.role_required")
    return actor


def require_operator(actor: Actor) -> Actor:
    return require(actor, OPERATOR)


_DUMMY_HASH = _hasher.hash("not-a-real-password")
