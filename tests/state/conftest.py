"""The state tier (STYLE rule 9): the Reflex states themselves under pytest, driven the way a
connected tab drives them — no browser, no server.

``tab(uid)`` builds a state tree as a tab has it, on the test database and clock (the running-app
module ``bnpl_app.runtime`` is pointed at them), with ``uid`` logged in through a real server-side
session (``uid=None``: nobody is). Handlers are awaited on a loop of their own (``helpers.run``),
with the arguments a browser would send — or a hostile one could. A test then looks at the
state's vars, at the toast the tab would show, and at the database."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
import reflex as rx
from helpers import run, session_token, updir, world  # noqa: F401  (updir, world: fixtures)


class Tab(NamedTuple):
    """One tab: its root state and its session state (``root, sess = tab(uid)`` unpacks)."""

    root: Any
    sess: Any

    def state(self, cls):
        """The tab's instance of the state ``cls`` (what a page's components are bound to)."""
        return run(self.root.get_state(cls))

    def at(self, path: str) -> None:
        """The tab shows ``path`` (what a page reads its record id from)."""
        from reflex.istate.data import ReflexURL, RouterData

        self.root.router = RouterData(url=ReflexURL(f"http://localhost{path}"), headers=self.root.router.headers,
                                      session=self.root.router.session)

    def cookie(self, token: str | None) -> None:
        """The tab's connection presents ``token`` as its session cookie (None: no cookie at all) —
        what the websocket handshake's headers say to every handler."""
        from reflex.istate.data import HeaderData, RouterData

        from bnpl_app.services.auth import COOKIE

        router = self.root.router
        self.root.router = RouterData(url=router.url, session=router.session,
                                      headers=HeaderData(cookie=f"{COOKIE}={token}" if token else ""))

    def submit(self, path: str, form: dict | list, **kw):
        """``form`` posted from this tab to a log-in endpoint (``auth_api``), the answer followed as
        the browser does: a new cookie → this tab's connection presents it and the page identifies
        who is there; sent back to the form (``?e=…``) → that page's loader says why. Returns the
        HTTP response."""
        from helpers import cookie_set, post_auth

        from bnpl_app.state.security import AuthFormState

        from bnpl_app.services.auth import token_from_cookies

        address = self.root.router.session.client_ip or "10.9.0.1"
        kw.setdefault("cookie", token_from_cookies(self.root.router.headers.cookie))  # what the browser holds
        response = post_auth(path, form, address=address, **kw)
        token, _attrs = cookie_set(response)
        location = response.headers.get("location", "")
        if token is not None:
            self.cookie(token or None)
        if response.status_code == 303:
            self.at(location)
            run(self.sess.identify())
            if "?" in location:
                run(self.state(AuthFormState).load())
        return response

    def said(self) -> tuple[str, str]:
        """The toast on screen, (kind, text) — read once: reading dismisses it, so the next check
        sees only what the next handler says (a handler that says nothing leaves ("info", ""))."""
        toast = self.sess.toast_kind, self.sess.toast_text
        self.sess.toast_kind, self.sess.toast_text = "info", ""
        return toast

    def refused_with(self, key: str, **params) -> bool:
        """Whether the toast is the refusal ``key`` in the tab's language, as a handler says it."""
        from bnpl_app.domain.errors import ValidationError

        return self.said() == ("error", ValidationError(key, **params).text(self.sess.lang))

    def not_found(self, what: str) -> bool:
        """Whether the toast says "``what`` not found" (also the answer for somebody else's record)."""
        from bnpl_app.domain.errors import NotFound

        return self.said() == ("error", NotFound(what).text(self.sess.lang))


class Tabs:
    """The ``tab`` fixture: ``tab(uid)`` → a new tab; ``tab.open(uid, SomeState)`` → a new tab that
    opened that state's page; ``tab.login(tab, uid)`` logs another user in (on
    that tab's connection: its cookie)."""

    def __init__(self, world):
        self.world = world

    def __call__(self, uid: int | None = None, *, path: str | None = None) -> Tab:
        from bnpl_app.state import account as _a, cash as _c, merchant as _m, ops as _o, orders as _r, rental as _rt, security as _y, shop as _s  # noqa: F401
        from bnpl_app.state.session import SessionState

        root = SessionState.get_root_state()(_reflex_internal_init=True)
        assert isinstance(root, rx.State)
        tab = Tab(root, run(root.get_state(SessionState)))
        if uid is not None:
            self.login(tab, uid)
        if path is not None:
            tab.at(path)
        return tab

    def open(self, uid: int | None, cls, *, path: str | None = None):
        """A tab of ``uid`` that opened the page of the state ``cls`` (at ``path``): the page's
        loader has run. Returns (tab, the state)."""
        tab = self(uid, path=path)
        state = tab.state(cls)
        run(state.load())
        return tab, state

    def login(self, tab: Tab, uid: int) -> str:
        """``uid`` logged in on ``tab``'s connection (its cookie); returns the session token."""
        token = session_token(self.world, uid)
        tab.cookie(token)
        run(tab.sess.identify())  # what a page does first when it loads: learn who is there
        return token


@pytest.fixture
def tab(world, monkeypatch) -> Tabs:
    """Tabs on the test database and clock, in demo mode."""
    from bnpl_app import runtime

    monkeypatch.setattr(runtime, "engine", lambda: world.engine)
    monkeypatch.setattr(runtime, "clock", lambda: world.clock)
    monkeypatch.setattr(runtime, "demo_mode", lambda: True)
    return Tabs(world)
