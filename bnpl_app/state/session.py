"""Who is acting, in which language, at what (simulated) time — and how an open page stays live.

Nothing here blocks the event loop: every database call runs in a worker thread
(``asyncio.to_thread``), password checks in their own small pool, and log-in is a background event
that holds its state lock only to write the result. Open pages are kept live by push
(``bnpl_app/live.py``): when a committed change concerns this tab's user, the server sends the tab
``refresh``, which reloads the page it shows. The clock bar and the countdowns tick in the browser
from the business clock's offset to the wall clock, sent when the page loads or the clock moves;
toasts are cleared by a timer task. An idle tab sends nothing and costs nothing.

The browser holds only a random session token, in an HttpOnly cookie that only the HTTP
endpoints of ``auth_api.py`` set and clear (log-in, sign-up, log-out): page scripts cannot read
it and no var of this app holds it. Every handler re-derives the acting user from the cookie of
the connection its event came on (``session_token``: the websocket handshake's headers, which
Reflex fills on the server from the socket's own environ, never from the event's payload) and
the server-side session row — so a tab token replayed without the cookie acts as nobody. A tab
whose events start arriving with another cookie (or none) is wiped first (``TabBinding``): what
the tab's state shows to one session is never sent to another."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import reflex as rx
import sqlalchemy as sa
from reflex.event import EventHandler
from reflex.middleware import Middleware

from .. import live, routes, runtime
from ..db import reading, transaction
from ..domain.clock import china_time
from ..domain.errors import AuthError, DomainError
from ..domain.messages import render
from ..words import text
from ..models import Notification
from ..services import auth
from ..services.auth import Actor
from ..signin import DEMO_USERS  # noqa: F401  (the login page's buttons)

T = TypeVar("T")
log = logging.getLogger("bnpl.session")

STEPS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
TOAST_SECONDS = 6


def session_token(state: rx.State) -> str:
    """The session token of the connection the current event came on: the HttpOnly cookie in its
    websocket handshake. Reflex sets ``router.headers`` for every event from the server's record
    of that socket's handshake (``app.py``: the event namespace's per-sid router data, built from
    the socket's environ), overwriting anything the event carried; an event a handler chains
    inherits its producer's. A background event must read it before its first ``async with
    self`` (which re-reads the tab's state, possibly under another connection's event)."""
    return auth.token_from_cookies(state.router.headers.cookie) or ""


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def fmt_time(dt: datetime | None, with_seconds: bool = False) -> str:
    return china_time(dt, seconds=with_seconds)


_UNREAD = (sa.select(sa.func.count()).select_from(Notification)
           .where(Notification.user_id == sa.bindparam("uid"), Notification.read_at.is_(None)))


def _unread(s, uid: int) -> int:
    return s.execute(_UNREAD, {"uid": uid}).scalar_one()


def _resolve(token: str) -> Actor:
    with reading(runtime.engine()) as s:
        who = auth.resolve(session=s, token=token, clock=runtime.WALL)
    _keep_alive(who)
    return who


def _who_is(token: str) -> Actor | None:
    """In a worker thread: the acting user of a session token, or None."""
    with reading(runtime.engine()) as s:
        who = _who(s, token)
    _keep_alive(who)
    return who


def _keep_alive(who: Actor | None) -> None:
    """In a worker thread, after a read found ``who``: the session was used, its idle timeout
    starts over — written at most once per ``POLICY.session_touch_every`` (``auth.touch``)."""
    if who is None or not who.touch_due:
        return
    with transaction(runtime.engine()) as s:
        auth.touch(session=s, session_id=who.session_id, clock=runtime.WALL)


def _who(s, token: str) -> Actor | None:
    """The acting user of a session token, or None: nobody is logged in there."""
    try:
        return auth.resolve(session=s, token=token, clock=runtime.WALL)
    except AuthError:
        return None


def _look_around(token: str) -> tuple[Actor | None, tuple[int, datetime, bool]]:
    """In a worker thread: who this session is (None: nobody), and their unread count and the clock."""
    with reading(runtime.engine()) as s, runtime.one_clock_reading(s):
        who = _who(s, token)
        seen = _seen(s, who)
    _keep_alive(who)
    return who, seen


def _seen(s, who: Actor | None) -> tuple[int, datetime, bool]:
    """Inside a request's transaction: what every page shows besides its own data — the user's
    unread count and the business clock."""
    now, frozen = runtime.clock_reading()
    return (_unread(s, who.user_id) if who is not None else 0), now, frozen


# ── a page's visit: its guard and its loader, one event and one trip to the database ────────────
@dataclass
class _Visit:
    seen: bool = False  # whether a trip of this load has brought who, unread count and clock


_VISIT: ContextVar[_Visit | None] = ContextVar("bnpl_page_visit", default=None)
# Who may open the page each page state loads: the page state's full name → the one role, or None
# for anybody. Filled from the table of pages (``pages/registry.py``), the one place that says it.
PAGE_ROLES: dict[str, str | None] = {}


def _roles_table() -> dict[str, str | None]:
    """``PAGE_ROLES``, filled from the table of pages first if nothing has imported it yet: a page's
    guard never runs on an empty table (a process that imported the states but not the pages)."""
    if not PAGE_ROLES:
        from ..pages import registry

        PAGE_ROLES.update(registry.page_roles())
    return PAGE_ROLES


def page_load(fn):
    """A page's ``load``, which is the page's whole ``on_load``: one event, whose first trip to the
    database also brings who is here, their unread count and the clock (``look`` and ``read`` do
    it; a loader that makes no trip gets one of its own). Then the page's guard: a visitor with no
    session or another role than the page's (``PAGE_ROLES``) is sent to log in, or home. A live
    refresh and the language switch re-run it, guard included."""

    @functools.wraps(fn)
    async def load(self):
        visit = _Visit()
        token = _VISIT.set(visit)
        try:
            out = await fn(self)
        finally:
            _VISIT.reset(token)
        sess = await session_of(self)
        if not visit.seen:
            await sess._sync()
        role = _roles_table().get(self.get_full_name())
        return (sess._turn_away((role,)) if role is not None else None) or out

    load.page_load = fn
    return load


def is_page_load(handler: EventHandler) -> bool:
    return getattr(handler.fn, "page_load", None) is not None


async def reload(state: rx.State):
    """A handler's own reload of its page after acting: the page's loader without the visit's
    guard — the handler's trip has learnt who is here and said its own outcome, which a guard's
    message must not replace."""
    return await type(state).load.fn.page_load(state)


def _visit_needs_seen() -> _Visit | None:
    """The page visit whose first trip this is (it should bring the extras), or None."""
    visit = _VISIT.get()
    return visit if visit is not None and not visit.seen else None


def _after_trip(sess: SessionState, who: Actor | None, visit: _Visit | None,
                seen: tuple[int, datetime, bool] | None) -> None:
    """Back on the loop after a page's trip: who is here, and what the visit's first trip brought."""
    sess._saw(who, seen)
    if visit is not None:
        visit.seen = True


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
    # Which session cookie this tab's state was last shown to (a SHA-256 of it, "" for none): when
    # an event comes with another, ``TabBinding`` wipes the tab first.
    _bound: str = ""

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
        only through ``trusted_proxy_hops`` proxies): what a password change is throttled by."""
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
            who = await asyncio.to_thread(_resolve, session_token(self))
        except AuthError:
            self._learn(None)
            raise
        self._learn(who)
        return who

    async def _sync(self) -> Actor | None:
        """One trip to a worker thread: who is here, their unread count, the business clock."""
        who, seen = await asyncio.to_thread(_look_around, session_token(self))
        self._saw(who, seen)
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

    # ── the guard of a page (``page_load``) ──────────────────────────────────────────────
    def _turn_away(self, roles: tuple[str, ...]):
        """After this event's trip learnt who is here: None when they may stay, else where they
        are sent (to log in, or home for another role), with the reason said."""
        if not self.role:
            self._say(self._tr("auth.login_required"), "error")
            return rx.redirect(routes.LOGIN)
        if self.role not in roles:
            self._say(render("auth.role_required", self.lang), "error")
            return rx.redirect(routes.HOME_OF_ROLE.get(self.role, routes.INDEX))
        return None

    def _saw(self, who: Actor | None, seen: tuple[int, datetime, bool] | None) -> None:
        """What a trip learnt: who is here, and (when it read them, ``_seen``) their unread count
        and the clock."""
        self._learn(who)
        if seen is not None:
            self.unread = seen[0]
            self._set_clock(seen[1], seen[2])

    @rx.event
    async def identify(self):
        """Learn who is there, if anyone, without redirecting."""
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
        has changed (``live.py``): reload the page, which brings identity, unread count and clock up
        to date in the same trip (``page_load``)."""
        loader = self._page_loader()
        if loader is None:
            await self._sync()
        return loader

    @rx.event
    def dismiss_toast(self):
        self.toast_text = ""

    # ── the demo clock ───────────────────────────────────────────────────────────────────
    @rx.event(background=True)
    async def advance(self, step: str):
        from ..jobs.clock import advance, advance_to_next_event
        from .helpers import choice

        token = session_token(self)  # this event's connection, before the state is re-read
        async with self:
            if not runtime.demo_mode() or self.clock_busy or choice(step, [*STEPS, "next"]) is None:
                self._say(render("demo_only", self.lang), "error")
                return
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


async def attempt(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor], T], *,
                  writes: bool = True) -> tuple[T | None, DomainError | None]:
    """``act`` without the message: (fn's result, None), or (None, the refusal) — for a handler
    that says more than one call's outcome (a cart ordering line by line). The transaction rolls
    back on a refusal. ``writes=False``: ``fn`` only checks, in a read-only transaction, so it
    never queues for SQLite's one write lock (nor holds it while other writers wait)."""
    sess = await session_of(state)
    token = session_token(state)

    def checked(s, who: Actor | None) -> T | None:
        if who is None:
            return None
        if who.role not in roles:
            raise AuthError("auth.role_required")
        return fn(s, who)

    def run() -> tuple[Actor | None, T | None]:
        if writes:  # who is asked before the write lock is taken, not while holding it
            try:
                who = _resolve(token)
            except AuthError:
                return None, None
            with transaction(runtime.engine()) as s, runtime.one_clock_reading(s):
                return who, checked(s, who)
        who = None
        try:  # a check: who and the check in one read transaction
            with reading(runtime.engine()) as s, runtime.one_clock_reading(s):
                who = _who(s, token)
                return who, checked(s, who)
        finally:
            _keep_alive(who)

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
              writes: bool = True, **ok_params) -> T | None:
    """Run one service call for the acting user inside one transaction, in a worker thread.

    Authorizes from the server-side session, refuses roles not in ``roles``, turns domain errors
    into a visible message (nothing half-done: the transaction rolls back) and says ``ok``;
    ``writes=False`` for a call that only checks (``attempt``)."""
    result, err = await attempt(state, roles, fn, writes=writes)
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
    visit = _visit_needs_seen()
    try:
        who, result, seen = await asyncio.to_thread(_looking, session_token(state), sess.lang, roles, fn, visit is not None)
    except DomainError as err:
        sess._refuse(err)
        return None
    _after_trip(sess, who, visit, seen)
    return result


def looking(token: str, lang: str, roles: tuple[str, ...], fn: Callable[[Any, Actor, str], T]) -> tuple[Actor | None, T | None]:
    """``look``'s work, for a worker thread (a background event calls it with what it read under
    its lock): (who, fn's result), or (who or None, None) when not allowed."""
    who, result, _seen_ = _looking(token, lang, roles, fn, False)
    return who, result


def _looking(token: str, lang: str, roles: tuple[str, ...], fn: Callable[[Any, Actor, str], T],
             with_seen: bool) -> tuple[Actor | None, T | None, tuple[int, datetime, bool] | None]:
    with reading(runtime.engine()) as s, runtime.one_clock_reading(s):
        who = _who(s, token)
        seen = _seen(s, who) if with_seen else None
        if who is None:
            return None, None, seen  # the page's guard sends the visitor to log in
        result = fn(s, who, lang) if who.role in roles else None
    _keep_alive(who)
    return who, result, seen


async def read(state: rx.State, fn: Callable[[Any, Actor | None, str], T]) -> T:
    """A read for a public page, in a worker thread: ``fn(session, who or None, lang)``; domain
    errors propagate to the caller."""
    sess = await session_of(state)
    token, lang = session_token(state), sess.lang
    visit = _visit_needs_seen()

    def run() -> tuple[Actor | None, T, tuple[int, datetime, bool] | None]:
        with reading(runtime.engine()) as s, runtime.one_clock_reading(s):
            who = _who(s, token)
            seen = _seen(s, who) if visit is not None else None
            result = fn(s, who, lang)
        _keep_alive(who)
        return who, result, seen

    who, result, seen = await asyncio.to_thread(run)
    _after_trip(sess, who, visit, seen)
    return result


# ── one tab, one session ─────────────────────────────────────────────────────────────────────
class TabBinding(Middleware):
    """Before every event: when it comes with another session cookie (or none) than the tab's
    state was last shown to, every var of the app's states goes back to its default (the
    language kept) before the event runs. A stolen tab token opened without the victim's cookie
    is sent only empty screens; the owner's own events are unaffected (their cookie does not
    change during a connection). Hydration is an event too, so a reconnect is covered."""

    def __init__(self, states: list[type[rx.State]] | None = None):
        self._states = states  # the app's state classes: found at the first event (the app is built)

    async def preprocess(self, app, state, event):
        sess = await state.get_state(SessionState)
        bound = _fingerprint(session_token(state))
        if sess._bound != bound:
            if self._states is None:
                self._states = app_states(type(state))
            await wipe(state, self._states, keep_lang=sess.lang)
            sess._bound = bound
        return None


def app_states(root: type[rx.State]) -> list[type[rx.State]]:
    """Every state class of this app under ``root`` (Reflex's own are left alone)."""
    out, todo = [], [root]
    while todo:
        c = todo.pop()
        todo.extend(c.get_substates())
        if c.__module__.startswith("bnpl_app."):
            out.append(c)
    return out


async def wipe(root: rx.State, states: list[type[rx.State]], *, keep_lang: str = "zh") -> None:
    """Every var of ``states`` back to its default, the tab's language kept. Only a var that
    holds something else is set: setting one marks it changed, and every changed var (with the
    computed vars that read it) is recomputed and sent — a tab's first event after a log-in
    would otherwise resend all of the app's vars, though nearly all are at their defaults."""
    for cls in states:
        st = await root.get_state(cls)
        for name, f in cls.__fields__.items():
            if getattr(f, "_owner", cls) is cls:
                default = f.default_value()
                if not _same(getattr(st, name), default):
                    setattr(st, name, default)
    sess = await root.get_state(SessionState)
    if sess.lang != keep_lang:
        sess.lang = keep_lang


def _same(value: object, default: object) -> bool:
    """Whether a var's value is its default: of the same type and equal (a value whose comparison
    fails counts as different, so it is reset)."""
    value = getattr(value, "__wrapped__", value)  # Reflex's proxy of a list, dict or object var
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:  # noqa: BLE001
        return False
