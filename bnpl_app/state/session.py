"""Who is acting, in which language, at what (simulated) time — and the one-second tick that
keeps every open page live: it moves the countdowns, clears old toasts and, when the database
changed (a sweep deducted, an operator decided, the clock moved), reloads the current page.

The browser holds only a random session token (a cookie); the acting user is re-derived from
the server-side session row on every handler (``actor()``), never from anything the browser sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import reflex as rx
import sqlalchemy as sa

from .. import routes, runtime
from ..db import reading, transaction
from ..domain.clock import CST
from ..domain.errors import AuthError, DomainError
from ..domain.messages import render
from ..domain.policy import POLICY
from ..i18n import text
from ..models import Application, CreditEvent, Notification, OrderEvent, Posting, Product
from ..services import auth
from ..services.auth import Actor
from ..services.seed import DEMO_PASSWORD, SHOPPERS, SHOPS

T = TypeVar("T")

# Page name → the handler that (re)loads that page's data; filled by the page modules.
LOADERS: dict[str, Any] = {}
DEMO_USERS = (*SHOPPERS, *SHOPS, "ops")
STEPS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
TOAST_SECONDS = 6


def fmt_time(dt: datetime | None, with_seconds: bool = False) -> str:
    if dt is None:
        return ""
    return dt.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _data_version(uid: int | None) -> str:
    with reading(runtime.engine()) as s:
        row = s.execute(sa.select(
            sa.select(sa.func.max(Posting.id)).scalar_subquery(),
            sa.select(sa.func.max(Notification.id)).scalar_subquery(),
            sa.select(sa.func.max(OrderEvent.id)).scalar_subquery(),
            sa.select(sa.func.max(CreditEvent.id)).scalar_subquery(),
            sa.select(sa.func.max(Application.id)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(Application).where(Application.status != "PENDING").scalar_subquery(),
            sa.select(sa.func.sum(Product.stock + sa.cast(Product.bnpl_enabled, sa.Integer))).scalar_subquery(),
        )).first()
    return "|".join(str(v) for v in row)


def _unread(uid: int) -> int:
    with reading(runtime.engine()) as s:
        return s.execute(sa.select(sa.func.count()).select_from(Notification)
                         .where(Notification.user_id == uid, Notification.read_at.is_(None))).scalar_one()


class SessionState(rx.State):
    token: str = rx.Cookie("", name="bnpl_session", same_site="strict", max_age=int(POLICY.session_ttl.total_seconds()))
    lang: str = rx.LocalStorage("zh", name="bnpl_lang")
    username: str = ""
    display_name: str = ""
    role: str = ""
    unread: int = 0
    now_ts: int = 0
    now_text: str = ""
    toast_text: str = ""
    toast_kind: str = "info"
    clock_busy: bool = False
    _toast_until: float = 0.0
    _version: str = ""
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
    def actor(self) -> Actor:
        """The acting user from the server-side session (raises AuthError)."""
        with transaction(runtime.engine()) as s:
            try:
                who = auth.resolve(s, token=self.token, clock=runtime.WALL)
            except AuthError:
                self._forget()
                raise
        self.username, self.display_name, self.role = who.username, who.display_name, who.role
        return who

    def _forget(self) -> None:
        self.username = self.display_name = self.role = ""
        self.unread = 0

    def say(self, message: str, kind: str = "info") -> None:
        self.toast_text = message
        self.toast_kind = kind
        self._toast_until = runtime.WALL.now().timestamp() + TOAST_SECONDS

    def say_key(self, key: str, kind: str = "success", **params) -> None:
        self.say(text(key, self.lang) if not params else render(key, self.lang, **params), kind)

    def refuse(self, err: DomainError) -> None:
        self.say(err.text(self.lang), "error")

    def tr(self, key: str) -> str:
        return text(key, self.lang)

    # ── log in / out ─────────────────────────────────────────────────────────────────────
    def _start(self, username: str, password: str):
        try:
            with transaction(runtime.engine()) as s:
                token, who = auth.login(s, username=username, password=password, clock=runtime.WALL)
        except DomainError as err:
            self.refuse(err)
            return None
        self.token = token
        self.username, self.display_name, self.role = who.username, who.display_name, who.role
        self.unread = _unread(who.user_id)
        self.say(self.tr("auth.welcome") + who.display_name, "success")
        return rx.redirect(routes.HOME_OF_ROLE.get(who.role, routes.INDEX))

    @rx.event
    def login(self, form: dict):
        if not isinstance(form, dict):
            return None
        return self._start(str(form.get("username", ""))[:40], str(form.get("password", ""))[:200])

    @rx.event
    def login_as(self, username: str):
        """Demo mode only: one click logs in a demo account."""
        if not runtime.demo_mode() or username not in DEMO_USERS:
            self.say(render("auth.role_required", self.lang), "error")
            return None
        return self._start(username, DEMO_PASSWORD)

    @rx.event
    def register(self, form: dict):
        if not isinstance(form, dict):
            return None
        try:
            with transaction(runtime.engine()) as s:
                auth.register(s, username=str(form.get("username", ""))[:40], password=str(form.get("password", ""))[:200],
                              display_name=str(form.get("display_name", ""))[:60], clock=runtime.clock())
        except DomainError as err:
            self.refuse(err)
            return None
        return self._start(str(form.get("username", "")), str(form.get("password", "")))

    @rx.event
    def logout(self):
        with transaction(runtime.engine()) as s:
            auth.logout(s, token=self.token, clock=runtime.WALL)
        self.token = ""
        self._forget()
        return rx.redirect(routes.LOGIN)

    # ── guards (on_load) ─────────────────────────────────────────────────────────────────
    def _guard(self, roles: tuple[str, ...]):
        try:
            who = self.actor()
        except AuthError:
            self.say(self.tr("auth.login_required"), "error")
            return rx.redirect(routes.LOGIN)
        if who.role not in roles:
            self.say(render("auth.role_required", self.lang), "error")
            return rx.redirect(routes.HOME_OF_ROLE.get(who.role, routes.INDEX))
        self.unread = _unread(who.user_id)
        return None

    @rx.event
    def guard_shopper(self):
        return self._guard(("shopper",))

    @rx.event
    def guard_merchant(self):
        return self._guard(("merchant",))

    @rx.event
    def guard_operator(self):
        return self._guard(("operator",))

    @rx.event
    def identify(self):
        """For public pages: learn who is there, if anyone, without redirecting."""
        try:
            who = self.actor()
            self.unread = _unread(who.user_id)
        except AuthError:
            pass
        self._tick_clock()

    def on_page(self, name: str) -> None:
        """Called by a page's loader: the data it is about to read is as of this version."""
        self._loader = name
        self._version = _data_version(None)

    # ── language ─────────────────────────────────────────────────────────────────────────
    @rx.event
    def toggle_lang(self):
        self.lang = "en" if self.lang != "en" else "zh"
        return LOADERS.get(self._loader)

    # ── the tick: clock, toasts, live data ───────────────────────────────────────────────
    def _tick_clock(self) -> datetime:
        now = runtime.clock().now()
        self.now_ts = int(now.timestamp())
        self.now_text = fmt_time(now, with_seconds=True)
        return now

    @rx.event
    def tick(self, _value: str = ""):
        self._tick_clock()
        if self.toast_text and runtime.WALL.now().timestamp() > self._toast_until:
            self.toast_text = ""
        version = _data_version(None)
        if version == self._version:
            return None
        first = not self._version
        self._version = version
        if self.role:
            try:
                self.unread = _unread(self.actor().user_id)
            except AuthError:
                return rx.redirect(routes.LOGIN)
        if not first and self._loader in LOADERS:
            return LOADERS[self._loader]
        return None

    @rx.event
    def dismiss_toast(self):
        self.toast_text = ""

    # ── the demo clock ───────────────────────────────────────────────────────────────────
    @rx.event(background=True)
    async def advance(self, step: str):
        from ..services.clock import advance, advance_to_next_event

        async with self:
            if not runtime.demo_mode() or self.clock_busy or (step not in STEPS and step != "next"):
                self.say(render("demo_only", self.lang), "error")
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
                self.refuse(err)
            return
        async with self:
            self.clock_busy = False
            self._tick_clock()
            self.say(self.tr("clock.moved" if moved else "clock.nothing"), "success" if moved else "info")
            loader = LOADERS.get(self._loader)
        if loader is not None:
            yield loader


def path_id(state: rx.State) -> int:
    """The record id at the end of the current URL (``/orders/42`` → 42); 0 if there is none."""
    tail = str(state.router.url.path).rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) < 12 else 0


async def session_of(state: rx.State) -> SessionState:
    return await state.get_state(SessionState)


async def act(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor], T], *, ok: str | None = None,
              **ok_params) -> T | None:
    """Run one service call for the acting user inside one transaction.

    Authorizes from the server-side session, refuses roles not in ``roles``, turns domain errors
    into a visible message (nothing half-done: the transaction rolls back) and says ``ok``."""
    sess = await session_of(state)
    try:
        who = sess.actor()
        if who.role not in roles:
            raise AuthError("auth.role_required")
        with transaction(runtime.engine()) as s:
            result = fn(s, who)
    except DomainError as err:
        sess.refuse(err)
        return None
    if ok:
        sess.say(text(ok, sess.lang) if not ok_params else render(ok, sess.lang, **ok_params), "success")
    return result


async def look(state: rx.State, roles: tuple[str, ...], fn: Callable[[Any, Actor, str], T]) -> T | None:
    """A read for the acting user (no toast on success); None when not allowed."""
    sess = await session_of(state)
    try:
        who = sess.actor()
    except AuthError:
        return None  # the page's guard has already sent the visitor to log in, with its message
    if who.role not in roles:
        return None
    try:
        with reading(runtime.engine()) as s:
            return fn(s, who, sess.lang)
    except DomainError as err:
        sess.refuse(err)
        return None
