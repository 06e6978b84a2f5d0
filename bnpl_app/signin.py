"""Log-in, sign-up and password change as the app runs them: none of it on the event loop, no
transaction open while a password is hashed or checked (``services/auth.py`` holds the rules;
this module only runs its steps apart, with an await between each).

Password work is CPU-bound (~30 ms a check): one thread does all of it, so a burst of log-ins
queues there and never takes the threads that serve everybody's database reads. Throttling and
sessions run on the wall clock (moving the demo clock must neither lift a lock nor end a session).

Used by the HTTP endpoints that set the session cookie (``auth_api.py``) and by the security
page's password change (``state/security.py``). No Reflex import."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from . import runtime
from .db import transaction
from .jobs.seed import SHOPPERS, SHOPS
from .services import auth
from .services.auth import Actor

# The accounts "log in as" may open, in demo mode only: shoppers and shops. The operator (every
# shopper's credit file, the review desk) logs in with its password even in the demo.
DEMO_USERS = (*SHOPPERS, *SHOPS)
_PASSWORDS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def in_password_pool(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_PASSWORDS, fn, *args)


async def log_in(username: str, password: str, *, address: str = "", user_agent: str | None = None,
                 replacing: str | None = None) -> tuple[str, Actor]:
    """(new token, actor), or the refusal (``AuthError``/``Throttled``): the attempt admitted and
    counted against the account name and ``address`` (a locked one is refused here, before any
    hash), the password checked in the password pool, the session started and the one the browser
    held (``replacing``) ended."""
    creds = await asyncio.to_thread(_admit, username, address)
    if not await in_password_pool(auth.check_password, creds, password):
        raise auth.refusal(creds)
    return await asyncio.to_thread(_finish, creds.user_id, password, address, user_agent, replacing)


def _admit(username: str, address: str) -> auth.Credentials:
    with transaction(runtime.engine()) as s:
        return auth.admit_login(session=s, username=username, address=address, clock=runtime.WALL)


def _finish(user_id: int, password: str, address: str, user_agent: str | None,
            replacing: str | None) -> tuple[str, Actor]:
    with transaction(runtime.engine()) as s:
        return auth.finish_login(session=s, user_id=user_id, password=password, clock=runtime.WALL,
                                 address=address, user_agent=user_agent, replacing=replacing)


async def sign_up(username: str, password: str, display_name: str, *, address: str = "",
                  user_agent: str | None = None, replacing: str | None = None) -> tuple[str, Actor]:
    """A new shopper account, then logged in: the sign-up counted against ``address`` before the
    hash (a refused one costs no CPU), the password hashed in the pool, the account made."""
    await asyncio.to_thread(_admit_signup, address)
    hashed = await in_password_pool(auth.hash_password, password)
    await asyncio.to_thread(_register, username, password, display_name, hashed)
    return await log_in(username, password, address=address, user_agent=user_agent, replacing=replacing)


def _admit_signup(address: str) -> None:
    with transaction(runtime.engine()) as s:
        auth.admit_signup(session=s, address=address, clock=runtime.WALL)


def _register(username: str, password: str, display_name: str, hashed: str) -> None:
    with transaction(runtime.engine()) as s:
        auth.register(session=s, username=username, password=password, display_name=display_name,
                      clock=runtime.clock(), password_hash=hashed)


async def change_password(who: Actor, current: str, new: str, *, token: str | None, address: str = "") -> int:
    """The password of ``who`` changed from ``current`` to ``new``, and every other session of
    theirs ended (returns how many). The new one is validated first; the attempt is counted like a
    log-in (throttled, before any hash); a wrong current password is refused like a wrong log-in."""
    auth.validate_password(new)
    creds = await asyncio.to_thread(_admit_change, who.user_id, address)
    if not await in_password_pool(auth.check_password, creds, current):
        raise auth.refusal(creds)
    hashed = await in_password_pool(auth.hash_password, new)
    return await asyncio.to_thread(_change, who.user_id, creds.password_hash, hashed, token, address)


def _admit_change(user_id: int, address: str) -> auth.Credentials:
    with transaction(runtime.engine()) as s:
        return auth.admit_password_change(session=s, user_id=user_id, address=address, clock=runtime.WALL)


def _change(user_id: int, old_hash: str, new_hash: str, token: str | None, address: str) -> int:
    with transaction(runtime.engine()) as s:
        return auth.change_password(session=s, user_id=user_id, old_hash=old_hash, new_hash=new_hash, token=token,
                                    clock=runtime.WALL, address=address)
