"""Requests that carry an idempotency key (a checkout, a 备用金 draw, a rental contract): the row a
key made is found again — the same request returns it, another request under the same key is a
``Conflict`` — and on PostgreSQL the first write of a key runs in a savepoint, so a concurrent
request with the same key that won the UNIQUE index is answered with its row instead of an error
(on SQLite no concurrent request can write between the lookup and the write: ``write_once``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..domain.errors import Conflict

T = TypeVar("T")


def replay(*, session: Session, model: type[T], owner: str, key: str, uid: int, request_hash: str,
           reused: str) -> T | None:
    """The row ``key`` made, if any: None for a new key; ``Conflict(reused)`` when it was made by
    another user (``owner`` names the row's user column) or for another request."""
    existing = session.exec(select(model).where(model.idempotency_key == key)).first()
    if existing is None:
        return None
    if getattr(existing, owner) != uid or existing.request_hash != request_hash:
        raise Conflict(reused)
    return existing


def write_once(*, session: Session, write: Callable[[], T], again: Callable[[], T | None]) -> tuple[T, bool]:
    """(the row ``write`` adds and flushes, True) — or, when a concurrent request with the same key
    won, (the row it made, False), as ``again`` finds it; an integrity error of another cause is raised.

    On SQLite no savepoint is needed, and none is made: a writing transaction there begins
    IMMEDIATE (``db.make_engine``), so it has held the database's one write lock since before
    ``replay`` found no row for the key, and no other request can have written it since; an
    integrity error is then of another cause, raised as it comes."""
    if session.get_bind().dialect.name == "sqlite":
        return write(), True
    savepoint = session.begin_nested()
    try:
        row = write()
    except IntegrityError:
        savepoint.rollback()
        existing = again()
        if existing is None:
            raise
        return existing, False
    savepoint.commit()
    return row, True
