"""The persisted simulated clock (demo mode and time-travel tests) and advancing it: every job
that falls due in between runs in time order, so a demo is deterministic."""

from __future__ import annotations

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


class DbClock:
    """The simulated time, read from the database so every process (app, worker, CLI) agrees.
    It runs at wall speed from its last setting (a live countdown in the demo) unless frozen
    (``BNPL_CLOCK_FROZEN=1``, or ``frozen=True``): then it moves only when advanced."""

    def __init__(self, engine: Engine, *, wall=None, frozen: bool | None = None) -> None:
        self.engine = engine
        self.wall = wall or SystemClock()
        self.frozen = frozen

    def now(self) -> datetime:
        with reading(self.engine) as s:
            current = self._read(s)
        return current if current is not None else self.set(self.wall.now().replace(microsecond=0))

    def is_frozen(self) -> bool:
        """Whether it stands still between advances (so a page must not tick it forward)."""
        with reading(self.engine) as s:
            row = s.execute(sa.select(SC.c.frozen).where(SC.c.id == 1)).first()
        return bool(row.frozen) if row is not None else bool(self.frozen)

    def _read(self, s) -> datetime | None:
        row = s.execute(sa.select(SC.c.now, SC.c.anchor, SC.c.frozen).where(SC.c.id == 1)).first()
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
                return when
            if when < current - SLACK:
                raise ValidationError("clock_backwards")
            values["now"] = max(when, current)
            s.execute(sa.update(SC).where(SC.c.id == 1).values(**values))
            return values["now"]


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


