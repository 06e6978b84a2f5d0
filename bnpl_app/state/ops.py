"""The operator desk's state: the review queue, one application (approve with terms / reject
with a reason), shopper look-up, risk, audit. Every handler needs the operator role, taken from the
server-side session; the operator id recorded on a decision is the session's user."""

from __future__ import annotations

import asyncio

from typing import ClassVar

import reflex as rx

from .. import routes, runtime
from ..views import ops as vo
from ..domain.errors import AuthError, DomainError, NotFound
from ..domain.money import parse_yuan
from ..services import applications
from .helpers import as_int, choice, opened, path_id, record_id, refuse
from .paging import PagedMixin, SearchMixin
from .session import act, look, looking, page_load, reload, session_of, session_token
from ..models import ApplicationKind as AK, ApplicationStatus as AS, OPERATOR

ROLE = (OPERATOR,)


def _text(value: object, limit: int) -> str:
    """What was typed into a text field (a browser may send a list or a number there: that is nothing)."""
    return value[:limit] if isinstance(value, str) else ""

WAIVE_MODES = ("all", "part", "none")


class OpsQueueState(SearchMixin, rx.State):
    """The review queue a page at a time, by status, searched by the shopper's username."""
    roles: ClassVar = ROLE

    rows: list[vo.QueueRow] = rx.field(default_factory=list)
    status: str = AS.PENDING

    async def _page(self, cursor: str):
        status, query = self.status, self.query
        page = await look(self, ROLE, lambda s, who, lang: vo.queue_rows(
            s, now=runtime.clock().now(), lang=lang, status=status, query=query, cursor=cursor))
        self.rows = page.items if page else []
        return page

    @rx.event
    async def set_status(self, value: str):
        self.status = choice(value, set(AS)) or AS.PENDING
        await self._first_page()


class OpsApplicationState(rx.State):
    app: vo.AppDetail = rx.field(default_factory=vo.AppDetail)
    missing: bool = False
    reason: str = ""
    limit_input: str = ""
    waive_mode: str = "all"
    waive_input: str = ""
    installments_input: str = ""
    _loaded_id: int = 0

    def _aid(self) -> int | None:
        """The application named by the page's URL (/ops/applications/<aid>)."""
        return path_id(self, routes.OPS_APPLICATION)

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        aid = self._aid()

        def read(s, who, lang):
            try:
                return vo.application_detail(s, application_id=aid, now=runtime.clock().now(), lang=lang)
            except DomainError:
                return None

        found = await look(self, ROLE, read) if aid is not None else None
        self.missing = found is None
        self.app = found or vo.AppDetail()
        if found is not None and (found.id != self._loaded_id):
            # A new application on screen: the operator's inputs start from what the shopper asked for.
            self._loaded_id = found.id
            self.reason = ""
            self.limit_input = found.restorable_input
            self.waive_mode = "all" if found.request_fee_waiver else "none"
            self.waive_input = found.late_fees_input
            self.installments_input = str(found.proposed_installments or "")

    @rx.event
    def set_reason(self, value: str):
        self.reason = _text(value, 500)

    @rx.event
    def set_limit_input(self, value: str):
        self.limit_input = _text(value, 20)

    @rx.event
    def set_waive_mode(self, value: str):
        self.waive_mode = choice(value, WAIVE_MODES) or "none"

    @rx.event
    def set_waive_input(self, value: str):
        self.waive_input = _text(value, 20)

    @rx.event
    def set_installments_input(self, value: str):
        self.installments_input = _text(value, 4)

    @rx.event
    async def approve(self):
        aid = self._aid()
        if aid is None or self.app.id != aid or self.app.kind not in set(AK):
            return await refuse(self, NotFound("application"))
        try:
            decide = self._approval(aid)
        except DomainError as err:
            return await refuse(self, err)
        await act(self, ROLE, decide, ok="ops.approved")
        await reload(self)

    def _approval(self, aid: int):
        """The one service call that approves the application on screen with the terms in the form."""
        clock = runtime.clock()
        if self.app.kind == AK.RESTORATION:
            limit = parse_yuan(self.limit_input, field="limit")
            return lambda s, who: applications.approve_restoration(
                session=s, operator_id=who.user_id, application_id=aid, limit_fen=limit, clock=clock)
        n = as_int(self.installments_input, lo=0)  # the service says what is allowed
        if self.waive_mode == "all":
            return lambda s, who: applications.approve_hardship_waiving_all(
                session=s, operator_id=who.user_id, application_id=aid, installments=n, clock=clock)
        part = parse_yuan(self.waive_input, field="waive", allow_zero=True) if self.waive_mode == "part" else 0
        return lambda s, who: applications.approve_hardship(
            session=s, operator_id=who.user_id, application_id=aid, waive_fen=part, installments=n, clock=clock)

    @rx.event
    async def reject(self):
        aid = self._aid()
        if aid is None or self.app.id != aid:
            return await refuse(self, NotFound("application"))
        reason = self.reason
        done = await act(self, ROLE, lambda s, who: applications.reject(
            session=s, operator_id=who.user_id, application_id=aid, reason=reason, clock=runtime.clock()), ok="ops.rejected")
        if done is not None:
            self.reason = ""
        await reload(self)


class OpsShoppersState(PagedMixin, rx.State):
    """Shopper look-up: the matches a page at a time (searched when the form is sent), and the
    file of the one selected."""

    query: str = ""
    hits: list[vo.ShopperHit] = rx.field(default_factory=list)
    file: vo.ShopperFileView = rx.field(default_factory=vo.ShopperFileView)
    selected: int = 0

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        uid = record_id(self.router.url.query_parameters.get("uid", ""))
        if uid is not None:
            self.selected = uid
        await self._reload()
        await self._read_file()

    async def _page(self, cursor: str):
        query = self.query
        page = await look(self, ROLE, lambda s, who, lang: vo.hits(s, query, cursor))
        self.hits = page.items if page else []
        return page

    async def _read_file(self):
        uid = self.selected

        def read(s, who, lang):
            try:
                return vo.shopper_file(s, uid=uid, now=runtime.clock().now(), lang=lang)
            except DomainError:
                return None

        found = await look(self, ROLE, read) if uid else None
        self.file = found or vo.ShopperFileView()

    @rx.event
    async def search(self, form: dict):
        self.query = str((form or {}).get("q", "") if isinstance(form, dict) else "")[:40]
        self.selected = 0
        await self._first_page()
        if self.total == 1 and self.hits:
            self.selected = self.hits[0].id
        await self._read_file()

    @rx.event
    async def set_query(self, value: str):
        self.query = _text(value, 40)

    @rx.event
    async def open(self, user_id: int | str):
        uid = record_id(user_id)
        self.selected = uid or 0
        await self._read_file()
        if uid is not None and not self.file.found:
            await refuse(self, NotFound("shopper"))


class RiskState(rx.State):
    view: vo.RiskView = rx.field(default_factory=vo.RiskView)

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        self.view = await look(self, ROLE, lambda s, who, lang: vo.risk_view(
            s, now=runtime.clock().now(), lang=lang)) or vo.RiskView()


async def audit_as(token: str, lang: str) -> vo.AuditView | None:
    """The audit for the session ``token``, in a worker thread; None unless an operator's."""
    _who, result = await asyncio.to_thread(
        looking, token, lang, ROLE, lambda s, _who, lang: vo.audit_view(s, now=runtime.clock().now(), lang=lang))
    return result


class AuditState(rx.State):
    result: vo.AuditView = rx.field(default_factory=vo.AuditView)
    running: bool = False

    @rx.event
    @page_load
    async def load(self):
        await opened(self)

    @rx.event(background=True)
    async def run_audit(self):
        """A background event: the audit reads every table (minutes on a big ledger), so it runs
        with no state lock held and only writes its result back."""
        token = session_token(self)  # this event's connection, before the state is re-read
        async with self:
            if self.running:
                return
            self.running = True
            sess = await session_of(self)
            lang = sess.lang
        try:
            result = await audit_as(token, lang)
        finally:
            async with self:
                self.running = False
        async with self:
            sess = await session_of(self)
            if result is None:
                sess._refuse(AuthError("auth.role_required"))
                return
            self.result = result
            sess._say(result.summary, "success" if result.ok else "error")
