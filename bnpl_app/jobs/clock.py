"""The persisted simulated clock (demo mode and time-travel tests) and advancing it: every job
that falls due in between runs in time order, so a demo is deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db import reading, transaction
from ..domain.clock import SystemClock, aware
from ..domain.errors import ValidationError
from ..models import SimClock
from . import sweep

SC = SimClock.__table__
MAX_STEPS = 20_000


# Inside ``one_reading()``: the clock row as read once, so the many ``now()`` calls of one request
# cost one query between them (key: the DbClock; value: its row, or None when there is none yet).
_READ_ONCE: ContextVar[dict | None] = ContextVar("bnpl_clock_read_once", default=None)
_ROW = sa.select(SC.c.now, SC.c.anchor, SC.c.frozen).where(SC.c.id == 1)
_SESSION = "session"  # the key of the block's own transaction in ``_READ_ONCE``


@contextmanager
def one_reading(session=None) -> Iterator[None]:
    """Within this block (one request's work, in one thread) a ``DbClock`` reads its row from the
    database once; ``now()`` still runs on at wall speed from it, exactly as a fresh read would
    give, and ``set()`` keeps the block's copy in step. A move made by another process meanwhile
    is seen by the next request (as it would be had it come a moment later). A block opened inside
    another is the same block. ``session``: the request's own transaction, which the row is read
    in (one transaction per request, not a second one for the clock) — until the clock is moved
    in the block, after which the row is read afresh."""
    if _READ_ONCE.get() is not None:
        yield
        return
    token = _READ_ONCE.set({} if session is None else {_SESSION: session})
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


class DbClock:
    """The simulated time, read from the database so every process (app, worker, CLI) agrees.
    It runs at wall speed from its last setting (a live countdown in the demo) unless frozen
    (``BNPL_CLOCK_FROZEN=1``, or ``frozen=True``): then it moves only when advanced."""

    def __init__(self, engine: Engine, *, wall=None, frozen: bool | None = None) -> None:
        self.engine = engine
        self.wall = wall or SystemClock()
        self.frozen = frozen

    def now(self) -> datetime:
        current = self._at(self._row())
        return current if current is not None else self.set(self.wall.now().replace(microsecond=0))

    def is_frozen(self) -> bool:
        """Whether it stands still between advances (so a page must not tick it forward)."""
        row = self._row()
        return bool(row.frozen) if row is not None else bool(self.frozen)

    def _row(self):
        once = _READ_ONCE.get()
        if once is not None and id(self) in once:
            return once[id(self)]
        own = once.get(_SESSION) if once is not None else None
        if own is not None and own.get_bind().url == self.engine.url:
            row = own.execute(_ROW).first()
        else:
            with reading(self.engine) as s:
                row = s.execute(_ROW).first()
        if once is not None:
            once[id(self)] = row
        return row

    def _read(self, s) -> datetime | None:
        return self._at(s.execute(_ROW).first())

    def _at(self, row) -> datetime | None:
        if row is None:
            return None
        now, anchor = aware(row.now), aware(row.anchor)
        return now if row.frozen else now + max(timedelta(0), self.wall.now() - anchor)

    def set(self, when: datetime) -> datetime:
        """Move to ``when``; a moment in the past is refused (a few seconds of drift are not)."""
        when = aware(when)
        with transaction(self.engine) as s:
            current = self._read(s)
            values = dict(now=when, anchor=self.wall.now())
            if self.frozen is not None:
                values["frozen"] = self.frozen
            if current is None:
                s.execute(sa.insert(SC).values(id=1, **{"frozen": bool(self.frozen), **values}))
                values["now"] = when
            elif when < current - SLACK:
                raise ValidationError("clock_backwards")
            else:
                values["now"] = max(when, current)
                s.execute(sa.update(SC).where(SC.c.id == 1).values(**values))
        self._forget()
        return values["now"]

    def _forget(self) -> None:
        """After a move: this request's copy of the row is read afresh (after the commit)."""
        once = _READ_ONCE.get()
        if once is not None:
            once.pop(id(self), None)
            once.pop(_SESSION, None)  # its snapshot may predate the move


SLACK = timedelta(seconds=5)


def advance(*, engine: Engine, clock, delta: timedelta) -> tuple[datetime, int]:
    """Move ``clock`` forward by ``delta``, stopping at every event in between to run the sweep.
    Returns (new time, number of sweep runs)."""
    if delta < timedelta(0):
        raise ValidationError("clock_backwards")
    target = clock.now() + delta
    # First the sweep that is due now (a running worker sweeps every few seconds): what was just
    # done — an order whose first notice is due at once, a trial resumed after its end — is
    # announced now, not at the next event.
    sweep.run_sweep(engine=engine, clock=clock)
    runs = 1
    while runs <= MAX_STEPS:
        with reading(engine) as s:
            nxt = sweep.next_event_after(s, clock.now())
        if nxt is None or nxt > target:
            break
        clock.set(nxt)
        sweep.run_sweep(engine=engine, clock=clock)
        runs += 1
    clock.set(target)
    sweep.run_sweep(engine=engine, clock=clock)
    return target, runs + 1


def advance_to_next_event(*, engine: Engine, clock) -> datetime | None:
    with reading(engine) as s:
        nxt = sweep.next_event_after(s, clock.now())
    if nxt is None:
        return None
    clock.set(nxt)
    sweep.run_sweep(engine=engine, clock=clock)
    return nxt


