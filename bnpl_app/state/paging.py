"""What every paged list's state shares: the current page's position, a short stack of the
positions before it (for "previous"), the page indicator, and the handlers that move between
pages. A list's state mixes this in and says only how to read one page (``_page``).

Cursors live in backend vars: the browser sends no position, only "next" or "previous", so it can
neither forge a cursor nor learn one. A live reload (the page's loader as the page registry names
it, after an action or when the data changed) reads the page on screen again — same position,
fresh rows — not page 1; a new search or filter goes back to page 1."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from ..services.paging import Page
from .helpers import opened
from .session import page_load, session_of

MAX_BACK = 100  # positions kept for "previous"; deeper than this, "previous" starts over at page 1


class PagedMixin(rx.State, mixin=True):
    page_no: int = 1
    page_count: int = 1
    total: int = 0
    has_next: bool = False
    _cursor: str = ""  # where the page on screen starts ("" = the first page)
    _next_cursor: str = ""
    _back: list[str] = rx.field(default_factory=list)  # where each earlier page started, the latest last
    _owner: str = ""  # whose list the positions belong to: another login in this tab starts at page 1
    # Who may open the list's page (the guard before the loader turns anybody else away);
    # None: anybody, the read itself shows nothing to whom it is not for.
    roles: ClassVar[tuple[str, ...] | None] = None

    async def _page(self, cursor: str) -> Page | None:
        """Read the page after ``cursor`` for the acting user, put its rows in this state's list
        var, and return it (None when the user may not see this list: the list is emptied)."""
        raise NotImplementedError

    @rx.event
    @page_load
    async def load(self):
        """The page's loader: the page on screen (the first one on arrival), read again."""
        await opened(self)
        await self._reload()

    @rx.var
    def paged(self) -> bool:
        """Whether the list is longer than one page (the pager is shown only then)."""
        return self.has_next or self.page_no > 1

    async def _show(self, cursor: str, back: list[str], page_no: int) -> Page | None:
        page = await self._page(cursor)
        if page is None:
            back, page_no, page = [], 1, Page()
        elif page.cursor != cursor:  # the position was refused: this is the first page
            back, page_no = [], 1
        self._cursor, self._next_cursor, self._back = page.cursor, page.next_cursor, back
        self.page_no, self.page_count, self.total = page_no, max(page.pages, page_no), page.total
        self.has_next = bool(page.next_cursor)
        return page

    async def _reload(self) -> None:
        """The page on screen, read again. If its rows are gone (decided, deleted, another user
        logged in here), the page before it; failing that, the first."""
        owner = (await session_of(self)).username
        if owner != self._owner:
            self._owner, self._cursor, self._back, self.page_no = owner, "", [], 1
        page = await self._show(self._cursor, self._back, self.page_no)
        if page is not None and not page.items and self._cursor:
            back = self._back
            page = await self._show(back[-1] if back else "", back[:-1], max(1, self.page_no - 1))
            if page is not None and not page.items and self._cursor:
                await self._first_page()

    async def _first_page(self) -> None:
        await self._show("", [], 1)

    @rx.event
    async def next_page(self):
        if not self._next_cursor:
            return
        back = [*self._back, self._cursor][-MAX_BACK:]
        await self._show(self._next_cursor, back, self.page_no + 1)

    @rx.event
    async def prev_page(self):
        if self.page_no <= 1 and not self._cursor:
            return
        back = self._back
        if back:
            await self._show(back[-1], back[:-1], max(1, self.page_no - 1))
        else:
            await self._first_page()


class SearchMixin(PagedMixin, mixin=True):
    """A paged list with a search box: a new search shows its first page."""

    query: str = ""

    @rx.event
    async def set_query(self, value: str):
        value = value[:40] if isinstance(value, str) else ""
        if value == self.query:
            return
        self.query = value
        await self._first_page()
