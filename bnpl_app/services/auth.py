"""Accounts and server-side sessions. Passwords are hashed with Argon2id; the browser holds only a
random session token, the database only its SHA-256, and every request re-derives the user from
it (expired or revoked sessions are refused).

Session expiry runs on real time (the caller passes a wall clock): moving the demo clock a month
must not log everybody out, and must not keep a stolen token alive either."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from ..domain.clock import Clock
from ..domain.errors import AuthError, ValidationError
from ..domain.policy import POLICY
from ..models import (
    MERCHANT,
    OPERATOR,
    SHOPPER,
    AuthSession,
    CreditAccount,
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


@dataclass(frozen=True)
class Actor:
    """Who is acting, as derived from a verified server-side session."""

    user_id: int
    username: str
    role: str
    display_name: str
    merchant_id: int | None = None


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
    if not isinstance(password, str) or len(password) < POLICY.password_min_len or len(password) > 200:
        raise ValidationError("auth.weak_password", field="password", min=POLICY.password_min_len)
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
    transaction (a check is CPU time; a database lock must not wait for it)."""

    user_id: int | None
    password_hash: str


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


def finish_login(*, session: Session, user_id: int, password: str, clock: Clock) -> tuple[str, Actor]:
    """After a successful ``check_password``: a new session (and the hash brought up to the current
    parameters if it was made with others). Returns (token, actor)."""
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("auth.bad_credentials")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return start_session(session=session, user=user, clock=clock), actor_of(session=session, user=user)


def login(*, session: Session, username: str, password: str, clock: Clock) -> tuple[str, Actor]:
    """Returns (token, actor). The same message for unknown users and wrong passwords. (The app runs
    the three steps apart, the check off the event loop; this is the same in one call.)"""
    creds = credentials(session=session, username=username)
    if not check_password(creds, password):
        raise AuthError("auth.bad_credentials")
    return finish_login(session=session, user_id=creds.user_id, password=password, clock=clock)


def start_session(*, session: Session, user: User, clock: Clock) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                            expires_at=now + POLICY.session_ttl))
    session.flush()
    return token


def actor_of(*, session: Session, user: User) -> Actor:
    merchant_id = None
    if user.role == MERCHANT:
        m = session.exec(select(Merchant).where(Merchant.user_id == user.id)).first()
        merchant_id = m.id if m else None
    return Actor(user.id, user.username, user.role, user.display_name, merchant_id)


def resolve(*, session: Session, token: str | None, clock: Clock) -> Actor:
    """The acting user for a session token, or AuthError."""
    if not token or not isinstance(token, str) or len(token) > 100:
        raise AuthError("auth.session_expired")
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        raise AuthError("auth.session_expired")
    user = session.get(User, row.user_id)
    if user is None:
        raise AuthError("auth.session_expired")
    return actor_of(session=session, user=user)


def logout(*, session: Session, token: str | None, clock: Clock) -> None:
    if not token or not isinstance(token, str):
        return
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        session.add(row)


def require(actor: Actor, *roles: str) -> Actor:
    if actor.role not in roles:
        raise AuthError("auth.role_required")
    return actor


def require_operator(actor: Actor) -> Actor:
    return require(actor, OPERATOR)


_DUMMY_HASH = _hasher.hash("not-a-real-password")
