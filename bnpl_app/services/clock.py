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
    """Reads the simulated time from the database, so every process (app, worker, CLI) agrees."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        with reading(self.engine) as s:
            v = s.execute(sa.select(SC.c.now).where(SC.c.id == 1)).scalar()
        if v is None:
            return self.set(SystemClock().now().replace(microsecond=0))
        return aware(v)

    def set(self, when: datetime) -> datetime:
        when = aware(when)
        with transaction(self.engine) as s:
            cur = s.execute(sa.select(SC.c.now).where(SC.c.id == 1)).scalar()
            if cur is None:
                s.execute(sa.insert(SC).values(id=1, now=when))
            elif when < aware(cur):
                raise ValidationError("clock_backwards")
            else:
                s.execute(sa.update(SC).where(SC.c.id == 1).values(now=when))
        return when


def advance(*, engine: Engine, clock, delta: timedelta) -> tuple[datetime, int]:
    """Move ``clock`` forward by ``delta``, stopping at every event in between to run the sweep.
    Returns (new time, number of sweep runs)."""
    if delta < timedelta(0):
        raise ValidationError("clock_backwards")
    target = clock.now() + delta
    runs = 0
    while runs < MAX_STEPS:
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


