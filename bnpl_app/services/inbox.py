"""The shopper's in-app inbox: their notifications newest first, the unread count, marking read.
Every query is scoped to the user id the caller proved (the session's), so a notification that
belongs to someone else is simply 'not found'."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain.clock import Clock
from ..domain.errors import NotFound
from ..models import Notification
from .paging import Key, Keyset, Page, fetch

NT = Notification.__table__
PAGE_SIZE = 200  # the newest this many; an inbox is read, not archived


def list_for(*, session: Session, uid: int, limit: int = PAGE_SIZE) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.user_id == uid)
                             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


INBOX = Keyset("inbox", (Key(NT.c.created_at, datetime, desc=True), Key(NT.c.id, int, desc=True)))


def page_for(*, session: Session, uid: int, cursor: str = "", size: int | None = None) -> Page[Notification]:
    """The user's notifications newest first, a page at a time."""
    return fetch(session=session, stmt=select(Notification).where(Notification.user_id == uid), keyset=INBOX, cursor=cursor, size=size)


def unread_count(*, session: Session, uid: int) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(NT)
                           .where(NT.c.user_id == uid, NT.c.read_at.is_(None))).scalar_one()


def mark_read(*, session: Session, uid: int, notification_id: object, clock: Clock) -> bool:
    """True when it was unread until now; reading it twice is harmless."""
    if isinstance(notification_id, bool) or not isinstance(notification_id, int) or notification_id <= 0:
        raise NotFound("notification")
    exists = session.execute(sa.select(NT.c.id).where(NT.c.id == notification_id, NT.c.user_id == uid)).first()
    if exists is None:
        raise NotFound("notification")
    res = session.execute(sa.update(NT).where(NT.c.id == notification_id, NT.c.user_id == uid, NT.c.read_at.is_(None))
                          .values(read_at=clock.now()))
    return res.rowcount == 1


def mark_all_read(*, session: Session, uid: int, clock: Clock) -> int:
    res = session.execute(sa.update(NT).where(NT.c.user_id == uid, NT.c.read_at.is_(None)).values(read_at=clock.now()))
    return res.rowcount

