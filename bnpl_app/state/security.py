"""The account's security page — the devices signed in (this one marked), ending every other one,
the password change (which ends every other one too) — and what the log-in and sign-up pages say
when their form comes back refused.

Log-in itself is not here: it goes through the HTTP endpoints of ``auth_api.py``, which alone set
the HttpOnly session cookie. Every handler here acts for the user of the cookie presented on its
own connection (``session_token``)."""

from __future__ import annotations

import asyncio

import reflex as rx

from .. import routes, runtime, signin
from ..auth_api import OUTCOMES
from ..domain.errors import AuthError, DomainError, ValidationError
from ..domain.numbers import whole_number
from ..domain.policy import POLICY
from ..models import Role
from ..services import auth
from ..views.sessions import SessionRow, session_rows
from .helpers import opened
from .session import _who_is, attempt, look, page_load, session_of, session_token

ANY_ROLE = tuple(Role)


class SecurityState(rx.State):
    rows: list[SessionRow] = rx.field(default_factory=list)
    saving: bool = False

    @rx.var
    def others(self) -> int:
        return sum(1 for r in self.rows if not r.current)

    @rx.event
    @page_load
    async def load(self):
        """Every role has this page, so it guards itself: logged in is enough."""
        sess = await opened(self)
        if not await self._reload(session_token(self)):
            self.rows = []
            sess._say_key("auth.login_required", "error")
            return rx.redirect(routes.LOGIN)

    async def _reload(self, token: str) -> bool:
        """The rows of the user of ``token`` (this connection's cookie); False for nobody."""

        def rows(s, who, lang):
            return session_rows(auth.active_sessions(session=s, user_id=who.user_id, token=token, clock=runtime.WALL),
                                lang)

        sess = await session_of(self)
        found = await look(self, ANY_ROLE, rows)
        if found is None:
            return False
        self.rows = found
        return sess.logged_in

    @rx.event
    async def end_others(self):
        """``sessions-end-all``: every other session of this user ends now (at its next event, the
        other device finds itself logged out)."""
        token = session_token(self)
        ended, err = await attempt(self, ANY_ROLE, lambda s, who: auth.end_other_sessions(
            session=s, user_id=who.user_id, token=token, clock=runtime.WALL))
        sess = await session_of(self)
        if err is not None:
            self.rows = []
            sess._refuse(err)
            return
        sess._say_key("sessions.ended" if ended else "sessions.none_other", "success" if ended else "info", n=ended)
        await self._reload(token)

    @rx.event(background=True)
    async def change_password(self, form: dict):
        """The password changed (the current one checked, throttled like a log-in; both hashed off
        the event loop), every other session ended."""
        token, address = session_token(self), str(self.router.session.client_ip or "")  # this connection's
        current = form.get("current") if isinstance(form, dict) else None
        new = form.get("new") if isinstance(form, dict) else None
        current = current[:200] if isinstance(current, str) else ""
        new = new if isinstance(new, str) else ""
        who = await asyncio.to_thread(_who_is, token)
        try:
            if who is None:
                raise AuthError("auth.login_required")
            auth.validate_password(new)  # before anything is counted or hashed
            if not current:
                raise AuthError("auth.bad_credentials")
            async with self:
                if self.saving:
                    return
                self.saving = True
            try:
                ended = await signin.change_password(who, current, new, token=token, address=address)
            finally:
                async with self:
                    self.saving = False
        except DomainError as err:
            if err.key == "auth.bad_credentials":
                err = ValidationError("sessions.current_password_wrong", field="password_current")
            async with self:
                sess = await session_of(self)
                if who is None:
                    self.rows = []
                sess._refuse(err)
            return
        async with self:
            sess = await session_of(self)
            sess._say_key("sessions.password_changed", n=ended)
        async with self:
            await self._reload(token)


class AuthFormState(rx.State):
    """The log-in and sign-up pages: their loader says why a form came back (``auth_api``'s
    ``?e=<code>`` — only the codes of ``OUTCOMES``, anything else is ignored)."""

    @rx.event
    @page_load
    async def load(self):
        sess = await session_of(self)
        params = self.router.url.query_parameters
        key = OUTCOMES.get(str(params.get("e", ""))[:20])
        if key is None:
            return
        if key == "login.throttled":
            minutes = whole_number(params.get("n", ""), lo=1, hi=24 * 60, max_digits=4) or 1
            sess._refuse(ValidationError("login.throttled_1" if minutes == 1 else key, minutes=minutes))
        elif key == "auth.weak_password":
            sess._refuse(ValidationError(key, min=POLICY.password_min_len))
        else:
            sess._refuse(ValidationError(key))
