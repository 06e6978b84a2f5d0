"""Keyset (cursor) paging, the one way every long list is read a page at a time.

A list is an ordering that ends in a unique column (``Keyset``); a page is the ``size`` rows
after a position in that ordering, read with ``WHERE (k1, …, id) > (:k1, …, :id)`` (each key in
its own direction) ``ORDER BY k1, …, id LIMIT size + 1`` — the extra row only says whether a
next page exists. Unlike OFFSET, the database seeks to the position instead of counting past
every earlier row, and a row added or removed before the position does not shift the page.

The position travels as an opaque cursor: the last row's key values, tagged with the list they
belong to, as base64url JSON. A cursor is only ever a position inside a query the caller has
already scoped (this merchant's orders, this shopper's bills), so a forged one can show nothing
the caller could not page to anyway; it is still checked — list tag, number and type of every
value — and one that fails (garbled, another list's, crafted) simply means the first page.

No reflex import; money and time are whatever the columns hold."""

from __future__ import annotations

import base64
import binascii
import json
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

from ..domain.numbers import whole_number
from ..domain.policy import POLICY

T = TypeVar("T")
U = TypeVar("U")

MAX_CURSOR_CHARS = 600  # a cursor is a few keys; anything longer is not one of ours
MAX_TEXT_KEY = 200  # longest text value a cursor may carry (names are at most 80)
KINDS = (int, str, datetime)


def page_size(size: int | None = None) -> int:
    """The page size asked for, within 1 … POLICY.page_size_max (the policy's default if none)."""
    if isinstance(size, bool) or not isinstance(size, int):
        size = POLICY.page_size
    return max(1, min(size, POLICY.page_size_max))


@dataclass(frozen=True)
class Key:
    """One column (or expression) of a list's ordering. It must never be NULL (use coalesce)."""

    expr: ColumnElement
    kind: type  # int, str or datetime: what a cursor may carry for it
    desc: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TypeError(f"a key is int, str or datetime, not {self.kind!r}")


@dataclass(frozen=True)
class Keyset:
    """The ordering of one list: ``keys`` in order, the last unique (an id), so every row has
    exactly one place and a page boundary never splits ties."""

    tag: str  # names the list inside its cursors
    keys: tuple[Key, ...]

    def order_by(self) -> list[ColumnElement]:
        return [k.expr.desc() if k.desc else k.expr.asc() for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement:
        """Rows strictly after ``values`` in this ordering: (k1 beyond v1) or (k1 = v1 and k2
        beyond v2) or …, each key in its own direction. Written out rather than as a row-value
        comparison so mixed directions work and every value binds with its column's type."""
        terms = []
        for i, key in enumerate(self.keys):
            same = [self.keys[j].expr == self._bind(j, values[j]) for j in range(i)]
            v = self._bind(i, values[i])
            terms.append(sa.and_(*same, key.expr < v if key.desc else key.expr > v))
        return sa.or_(*terms)

    def _bind(self, i: int, value: Any):
        return sa.bindparam(None, value, type_=self.keys[i].expr.type)

    # ── cursors ───────────────────────────────────────────────────────────────────────────
    def encode(self, values: Sequence[Any]) -> str:
        out: list[Any] = [self.tag]
        for key, v in zip(self.keys, values, strict=True):
            if key.kind is datetime:
                out.append(v.isoformat())
            else:
                out.append(v)
        raw = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: object) -> tuple | None:
        """The key values in ``cursor``, or None when it is empty or not a valid cursor of this list."""
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw.decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, list) or len(data) != len(self.keys) + 1 or data[0] != self.tag:
            return None
        values = []
        for key, v in zip(self.keys, data[1:], strict=True):
            parsed = _parse(key.kind, v)
            if parsed is None:
                return None
            values.append(parsed)
        return tuple(values)


def _parse(kind: type, v: object) -> Any:
    if kind is int:
        return v if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63 else None
    if kind is str:
        return v if isinstance(v, str) and len(v) <= MAX_TEXT_KEY else None
    if isinstance(v, str) and len(v) <= 40:
        try:
            at = datetime.fromisoformat(v)
        except ValueError:
            return None
        return at if at.tzinfo is not None else None  # every stored time is aware UTC
    return None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and where it sits: ``cursor`` is the position it was read after ("" =
    the first page; also what a refused cursor becomes), ``next_cursor`` the position of the page
    after it ("" = this is the last page). ``total`` counts every row of the list, all pages."""

    items: list[T] = field(default_factory=list)
    cursor: str = ""
    next_cursor: str = ""
    total: int = 0
    size: int = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size)) if self.size else 1

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return replace(self, items=[fn(x) for x in self.items])  # type: ignore[arg-type]

    def with_items(self, items: list[U]) -> Page[U]:
        return replace(self, items=items)  # type: ignore[arg-type]


def fetch(*, session, stmt: Select, keyset: Keyset, cursor: str = "", size: int | None = None) -> Page:
    """The page of ``stmt`` (already filtered and scoped by the caller, not ordered) after
    ``cursor``. Items are the statement's rows (read by column name); a statement of one entity
    or column gives that entity or value per item."""
    n = page_size(size)
    after = keyset.decode(cursor)
    q = stmt if after is None else stmt.where(keyset.after(after))
    labels = [k.expr.label(f"_page_key{i}") for i, k in enumerate(keyset.keys)]
    width = len(stmt.column_descriptions)
    rows = session.execute(q.add_columns(*labels).order_by(*keyset.order_by()).limit(n + 1)).all()
    more = len(rows) > n
    rows = rows[:n]
    nxt = keyset.encode(tuple(rows[-1][width:])) if more else ""
    if width == 1:
        items = [r[0] for r in rows]
    else:  # the statement's own columns, by position and by name, without the keys added here
        item = _item_type(tuple(rows[0]._fields[:width])) if rows else tuple
        items = [item(*r[:width]) for r in rows]
    return Page(items=items, cursor=cursor if after is not None else "", next_cursor=nxt,
                total=count(session=session, stmt=stmt), size=n)


@lru_cache(maxsize=64)
def _item_type(fields: tuple[str, ...]) -> type:
    return namedtuple("Row", fields, rename=True)  # noqa: PYI024 — a row shape known only at run time


def count(*, session, stmt: Select) -> int:
    """How many rows ``stmt`` gives (all pages)."""
    sub = stmt.order_by(None).limit(None).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(sub)).scalar_one())


def clean_query(query: object, limit: int = 40) -> str:
    """Search text as typed, trimmed and bounded; anything but a string is no search."""
    return query.strip()[:limit] if isinstance(query, str) else ""


def contains(expr: ColumnElement, query: str) -> ColumnElement:
    """Case-insensitive substring match; ``%`` and ``_`` in the query are plain characters."""
    return sa.func.lower(expr).contains(query.lower(), autoescape=True)


def as_id(query: str) -> int | None:
    """A record number typed into a search box (``42``, ``#42``), if that is what it is."""
    digits = query.strip().lstrip("#").strip()
    return whole_number(digits, lo=0, max_digits=15)  # ASCII digits only: "²" is no number
