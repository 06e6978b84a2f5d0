"""Who is acting, in which language, at what (simulated) time — and how an open page stays live.

Nothing here blocks the event loop: every database call runs in a worker thread
(``asyncio.to_thread``), password checks in their own small pool, and log-in is a background event
that holds its state lock only to write the result. Open pages are kept live by push
(``bnpl_app/live.py``): when a committed change concerns this tab's user, the server sends the tab
``refresh``, which reloads the page it shows. The clock bar and the countdowns tick in the browser
from the business clock's offset to the wall clock, sent when the page loads or the clock moves;
toasts are cleared by a timer task. An idle tab sends nothing and costs nothing.

The browser holds only a random session token (a cookie); the acting user is re-derived from
the server-side session row on every handler, never from anything the browser sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import reflex as rx
import sqlalchemy as sa
from reflex.event import EventHandler

from .. import live, routes, runtime
from ..db import reading, transaction
from ..domain.clock import china_time
from ..domain.errors import AuthError, DomainError
from ..domain.messages import render
from ..domain.policy import POLICY
from ..words import text
from ..models import MERCHANT, OPERATOR, SHOPPER, Notification
from ..services import auth
from ..services.auth import Actor
from ..jobs.seed import DEMO_PASSWORD, SHOPPERS, SHOPS

T = TypeVar("T")
log = logging.getLogger("bnpl.session")

# A page's state (full name) → the handler that (re)loads the page: handed over by the page registry
# when the app is built (``pages/registry.py``; pages import state, never the other way round).
# The accounts "log in as" may open, in demo mode only: shoppers and shops. The operator (every
# shopper's credit file, the review desk) logs in with its password even in the demo.
DEMO_USERS = (*SHOPPERS, *SHOPS)
STEPS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
TOAST_SECONDS = 6
# Password checks are CPU-bound (~30 ms each): one thread for them, so a burst of log-ins queues
# there and never takes the threads that serve everybody's database reads.
_PASSWORDS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


def fmt_time(dt: datetime | None, with_seconds: bool = False) -> str:
    return china_time(dt, seconds=with_seconds)


def _unread(s, uid: int) -> int:
    return s.execute(sa.select(sa.func.count()).select_from(Notification)
                     .where(Notification.user_id == uid, Notification.read_at.is_(None))).scalar_one()


def _resolve(token: str) -> Actor:
    with reading(runtime.engine()) as s:
        return auth.resolve(session=s, token=token, clock=runtime.WALL)


def _who_is(token: str) -> Actor | None:
    """In a worker thread: the acting user of a session token, or None."""
    with reading(runtime.engine()) as s:
        return _who(s, token)


def _who(s, token: str) -> Actor | None:
    """The acting user of a session token, or None: nobody is logged in there."""
    try:
        return auth.resolve(session=s, token=token, clock=runtime.WALL)
    except AuthError:
        return None


def _look_around(token: str) -> tuple[Actor | None, int, datetime, bool]:
    """In a worker thread: who this session is (None: nobody), their unread count, the clock."""
    now, frozen = runtime.clock_reading()
    with reading(runtime.engine()) as s:
        who = _who(s, token)
        return who, (_unread(s, who.user_id) if who is not None else 0), now, frozen


async def _check_login(username: str, password: str, address: str = "") -> tuple[str, Actor, int]:
    """Log-in in three steps (``auth.attempt_login``'s, apart), none on the event loop and no
    transaction open while hashing: the attempt admitted and counted against the account name and
    the client ``address`` (a locked one is refused here, before any hash), the password checked
    in the password pool, the session started (and the account's count reset)."""
    with_creds = await asyncio.to_thread(_admit, username, address)
    ok = await asyncio.get_running_loop().run_in_executor(_PASSWORDS, auth.check_password, with_creds, password)
    if not ok:
        raise auth.refusal(with_creds)
    return await asyncio.to_thread(_finish_login, with_creds.user_id, password, address)


def _admit(username: str, address: str) -> auth.Credentials:
    # Throttling runs on the wall clock, like sessions: moving the demo clock must not lift a lock.
    with transaction(runtime.engine()) as s:
        return auth.admit_login(session=s, username=username, address=address, clock=runtime.WALL)


def _finish_login(user_id: int, password: str, address: str = "") -> tuple[str, Actor, int]:
    with transaction(runtime.engine()) as s:
        token, who = auth.finish_login(session=s, user_id=user_id, password=password, clock=runtime.WALL,
                                       address=address)
        return token, who, _unread(s, who.user_id)


def _admit_signup(address: str) -> None:
    with transaction(runtime.engine()) as s:
        auth.admit_signup(session=s, address=address, clock=runtime.WALL)


async def _clear_toast_later(token: str, seq: int) -> None:
    await asyncio.sleep(TOAST_SECONDS)
    app = live.app()
    if app is None or not live.connected(token):
        return
    try:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=SessionState)) as state:
            sess = state if isinstance(state, SessionState) else await state.get_state(SessionState)
            if sess._toast_seq == seq:
                sess.toast_text = ""
    except Exception:  # noqa: BLE001 — the toast stays until dismissed; say why in the log
        log.warning("could not clear the toast of tab %s", token, exc_info=True)


_TIMERS: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


class SessionState(rx.State):
    token: str = rx.Cookie("", name="bnpl_session", same_site="strict", max_age=int(POLICY.session_ttl.total_seconds()))
    lang: str = rx.LocalStorage("zh", name="bnpl_lang")
    username: str = ""
    display_name: str = ""
    role: str = ""
    unread: int = 0
    # The business clock, for the browser to tick: its reading at the last sync, its offset to the
    # wall clock (the demo clock runs at wall speed between moves), and whether it stands still.
    now_ts: int = 0
    clock_offset_s: int = 0
    clock_frozen: bool = False
    toast_text: str = ""
    toast_kind: str = "info"
    clock_busy: bool = False
    _toast_seq: int = 0
    _loader: str = ""

    @rx.var
    def demo(self) -> bool:
        return runtime.demo_mode()

    @rx.var
    def is_en(self) -> bool:
        return self.lang == "en"

    @rx.var
    def logged_in(self) -> bool:
        return bool(self.role)

    # ── identity ──────────────────────────────────────────────────────────────────────────
    def _tab(self) -> str:
        return self.router.session.client_token

    def _address(self) -> str:
        """The client's address, as the server saw the websocket handshake (``X-Forwarded-For``
        only through ``trusted_proxy_hops`` proxies): what log-in and sign-up are throttled by."""
        return str(self.router.session.client_ip or "")

    def _learn(self, who: Actor | None) -> None:
        if who is None:
            self._forget()
            live.seen(self._tab(), user_id=None)
            return
        self.username, self.display_name, self.role = who.username, who.display_name, who.role
        live.seen(self._tab(), user_id=who.user_id, role=who.role)

    async def _actor(self) -> Actor:
        """The acting user from the server-side session, read in a worker thread (raises AuthError)."""
        try:
            who = await asyncio.to_thread(_resolve, self.token)
        except AuthError:
            self._learn(None)
            raise
        self._learn(who)
        return who

    async def _sync(self) -> Actor | None:
        """One trip to a worker thread: who is here, their unread count, the business clock."""
        who, unread, now, frozen = await asyncio.to_thread(_look_around, self.token)
        self._learn(who)
        self.unread = unread
        self._set_clock(now, frozen)
        return who

    def _set_clock(self, now: datetime, frozen: bool) -> None:
        self.now_ts = int(now.timestamp())
        self.clock_offset_s = self.now_ts - int(runtime.WALL.now().timestamp())
        self.clock_frozen = frozen

    def _forget(self) -> None:
        self.username = self.display_name = self.role = ""
        self.unread = 0

    def _say(self, message: str, kind: str = "info") -> None:
        self.toast_text = message
        self.toast_kind = kind
        self._toast_seq += 1
        task = asyncio.get_running_loop().create_task(_clear_toast_later(self._tab(), self._toast_seq))
        _TIMERS.add(task)
        task.add_done_callback(_TIMERS.discard)

    def _say_key(self, key: str, kind: str = "success", **params) -> None:
        self._say(text(key, self.lang) if not params else render(key, self.lang, **params), kind)

    def _refuse(self, err: DomainError) -> None:
        self._say(err.text(self.lang), "error")

    def _tr(self, key: str) -> str:
        return text(key, self.lang)

    # ── log in / out ─────────────────────────────────────────────────────────────────────
    @rx.event(background=True)
    async def login(self, form: dict):
        if not isinstance(form, dict):
            return
        async for step in self._log_in(str(form.get("username", ""))[:40], str(form.get("password", ""))[:200]):
            yield step

    @rx.event(background=True)
    async def login_as(self, username: str):
        """Demo mode only: one click logs in a demo shopper or shop (never the operator)."""
        if not runtime.demo_mode():
            async with self:
                self._say(render("login.demo_off", self.lang), "error")
            return
        if not isinstance(username, str) or username not in DEMO_USERS:
            async with self:
                self._say(render("login.demo_ops_password" if username == "ops" else "auth.role_required",
                                 self.lang), "error")
            return
        async for step in self._log_in(username, DEMO_PASSWORD):
            yield step

    @rx.event(background=True)
    async def register(self, form: dict):
        if not isinstance(form, dict):
            return
        username, password = str(form.get("username", ""))[:40], str(form.get("password", ""))[:200]
        display_name = str(form.get("display_name", ""))[:60]
        async with self:
            address = self._address()
        try:
            await asyncio.to_thread(_admit_signup, address)  # before the hash: a refused sign-up costs no CPU
        except DomainError as err:
            async with self:
                self._refuse(err)
            return
        hashed = await asyncio.get_running_loop().run_in_executor(_PASSWORDS, auth.hash_password, password)

        def sign_up():
            with transaction(runtime.engine()) as s:
                auth.register(session=s, username=username, password=password, display_name=display_name,
                              clock=runtime.clock(), password_hash=hashed)

        try:
            await asyncio.to_thread(sign_up)
        except DomainError as err:
            async with self:
                self._refuse(err)
            return
        async for step in self._log_in(username, password):
            yield step

    async def _log_in(self, username: str, password: str):
        """The password is checked with no state lock held (a background event), so a burst of
        log-ins neither stalls other tabs nor outlives a lock."""
        async with self:
            address = self._address()
        try:
            token, who, unread = await _check_login(username, password, address)
        except DomainError as err:
            async with self:
                self._refuse(err)
            return
        async with self:
            self.token = token
            self._learn(who)
            self.unread = unread
            self._say(self._tr("auth.welcome") + who.display_name, "success")
        yield rx.redirect(routes.HOME_OF_ROLE.get(who.role, routes.INDEX))

    @rx.event
    async def logout(self):
        token = self.token

        def end():
            with transaction(runtime.engine()) as s:
                auth.logout(session=s, token=token, clock=runtime.WALL)

        await asyncio.to_thread(end)
        self.token = ""
        self._learn(None)
        return rx.redirect(routes.LOGIN)

    # ── guards (on_load) ─────────────────────────────────────────────────────────────────
    async def _guard(self, roles: tuple[str, ...]):
        who = await self._sync()
        if who is None:
            self._say(self._tr("auth.login_required"), "error")
            return rx.redirect(routes.LOGIN)
        if who.role not in roles:
            self._say(render("auth.role_required", self.lang), "error")
            return rx.redirect(routes.HOME_OF_ROLE.get(who.role, routes.INDEX))
        return None

    @rx.event
    async def guard_shopper(self):
        return await self._guard((SHOPPER,))

    @rx.event
    async def guard_merchant(self):
        return await self._guard((MERCHANT,))

    @rx.event
    async def guard_operator(self):
        return await self._guard((OPERATOR,))

    @rx.event
    async def identify(self):
        """For public pages: learn who is there, if anyone, without redirecting."""
        await self._sync()

    def _on_page(self, page: rx.State) -> None:
        """Called by a page's loader: this tab now shows ``page``'s page (what ``refresh`` and the
        language switch reload), and is open here."""
        self._loader = page.get_full_name()
        live.seen(self._tab())

    def _page_loader(self) -> EventHandler | None:
        """The ``load`` of the page this tab shows (the state that called ``_on_page``)."""
        return type(self).get_root_state().get_class_substate(self._loader).load if self._loader else None

    # ── language ─────────────────────────────────────────────────────────────────────────
    @rx.event
    def toggle_lang(self):
        self.lang = "en" if self.lang != "en" else "zh"
        return self._page_loader()

    # ── live updates ────────────────────────────────────────────────────────────────────
    @rx.event
    async def refresh(self):
        """Sent back by the browser when the server pushed that something this tab's user sees
        has changed (``live.py``): bring identity, unread count and clock up to date, reload the page."""
        who = await self._sync()
        if who is None and self.token:
            self.token = ""
        return self._page_loader()

    @rx.event
    def dismiss_toast(self):
        self.toast_text = ""

    # ── the demo clock ───────────────────────────────────────────────────────────────────
    @rx.event(background=True)
    async def advance(self, step: str):
        from ..jobs.clock import advance, advance_to_next_event
        from .helpers import choice

        async with self:
            if not runtime.demo_mode() or self.clock_busy or choice(step, [*STEPS, "next"]) is None:
                self._say(render("demo_only", self.lang), "error")
                return
            token = self.token
        # Only somebody logged in moves the demo clock (it runs everybody's deductions), never an
        # anonymous socket.
        who = await asyncio.to_thread(_who_is, token)
        async with self:
            if who is None:
                self._learn(None)
                self._say(render("login.clock_needs_login", self.lang), "error")
                return
            if self.clock_busy:
                self._say(render("demo_only", self.lang), "error")
                return
            self.clock_busy = True
        try:
            if step == "next":
                moved = await asyncio.to_thread(advance_to_next_event, engine=runtime.engine(), clock=runtime.clock())
            else:
                moved = await asyncio.to_thread(advance, engine=runtime.engine(), clock=runtime.clock(), delta=STEPS[step])
        except DomainError as err:
            async with self:
                self.clock_busy = False
                self._refuse(err)
            return
        now, frozen = await asyncio.to_thread(runtime.clock_reading)
        async with self:
            self.clock_busy = False
            self._set_clock(now, frozen)
            self._say(self._tr("clock.moved" if moved else "clock.nothing"), "success" if moved else "info")
        # Every open page (this one included) reloads through the change feed: the clock row changed.


async def session_of(state: rx.State) -> SessionState:
    return await state.get_state(SessionState)


async def attempt(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor], T]) -> tuple[T | None, DomainError | None]:
    """``act`` without the message: (fn's result, None), or (None, the refusal) — for a handler
    that says more than one call's outcome (a cart ordering line by line). The transaction rolls
    back on a refusal."""
    sess = await session_of(state)
    token = sess.token

    def run() -> tuple[Actor | None, T | None]:
        try:
            who = _resolve(token)
        except AuthError:
            return None, None
        if who.role not in roles:
            raise AuthError("auth.role_required")
        with transaction(runtime.engine()) as s:
            return who, fn(s, who)

    try:
        who, result = await asyncio.to_thread(run)
        if who is None:
            sess._learn(None)
            raise AuthError("auth.session_expired")
    except DomainError as err:
        return None, err
    sess._learn(who)
    return result, None


async def act(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor], T], *, ok: str | None = None,
              **ok_params) -> T | None:
    """Run one service call for the acting user inside one transaction, in a worker thread.

    Authorizes from the server-side session, refuses roles not in ``roles``, turns domain errors
    into a visible message (nothing half-done: the transaction rolls back) and says ``ok``."""
    result, err = await attempt(state, roles, fn)
    sess = await session_of(state)
    if err is not None:
        sess._refuse(err)
        return None
    if ok:
        sess._say_key(ok, **ok_params)
    return result


async def look(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor, str], T]) -> T | None:
    """A read for the acting user (no toast on success), in a worker thread; None when not allowed."""
    sess = await session_of(state)
    try:
        who, result = await asyncio.to_thread(looking, sess.token, sess.lang, roles, fn)
    except DomainError as err:
        sess._refuse(err)
        return None
    sess._learn(who)
    return result


def looking(token: str, lang: str, roles: tuple[str, ...], fn: Callable[[Any, Actor, str], T]) -> tuple[Actor | None, T | None]:
    """``look``'s work, for a worker thread (a background event calls it with what it read under
    its lock): (who, fn's result), or (who or None, None) when not allowed."""
    with reading(runtime.engine()) as s:
        who = _who(s, token)
        if who is None:
            return None, None  # the page's guard has already sent the visitor to log in
        if who.role not in roles:
            return who, None
        return who, fn(s, who, lang)


async def read(state: rx.State, fn: Callable[[Any, Actor | None, str], T]) -> T:
    """A read for a public page, in a worker thread: ``fn(session, who or None, lang)``; domain
    errors propagate to the caller."""
    sess = await session_of(state)
    token, lang = sess.token, sess.lang

    def run() -> tuple[Actor | None, T]:
        with reading(runtime.engine()) as s:
            who = _who(s, token)
            return who, fn(s, who, lang)

    who, result = await asyncio.to_thread(run)
    sess._learn(who)
    return result
