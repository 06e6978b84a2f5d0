"""What the running app, the worker and the CLI share: the engine, the business clock (the
persisted demo clock in demo mode, the wall clock otherwise), the wall clock for sessions, and
the sweep loop. No reflex import.

Environment: ``BNPL_DEMO`` (default on: demo data, the clock bar, "log in as"), ``BNPL_CLOCK_FROZEN``
(demo clock moves only when advanced), ``BNPL_INPROCESS_SWEEP`` (default on: the app runs the
sweep itself every ``POLICY.sweep_interval_seconds``; turn off when ``python -m bnpl_app worker``
runs it instead)."""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from .db import default_engine
from .domain.clock import Clock, SystemClock
from .domain.policy import POLICY

log = logging.getLogger("bnpl.sweep")
WALL = SystemClock()


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off", "")


def _count(name: str, default: int, lo: int, hi: int) -> int:
    """A whole number from the environment, held within [lo, hi]; ``default`` when it is not one."""
    try:
        return max(lo, min(int(os.environ.get(name, str(default))), hi))
    except ValueError:
        return default


def demo_mode() -> bool:
    return _flag("BNPL_DEMO", "1")


def trust_proxy() -> bool:
    """BNPL_TRUST_PROXY=1: a proxy in front terminates TLS and says so in ``X-Forwarded-Proto``,
    which the log-in endpoints then believe (the session cookie is marked Secure)."""
    return _flag("BNPL_TRUST_PROXY", "0")


def engine():
    return default_engine()


_clock: Clock | None = None
_lock = threading.Lock()


def clock() -> Clock:
    global _clock
    with _lock:
        if _clock is None:
            if demo_mode():
                from .jobs.clock import DbClock

                _clock = DbClock(engine(), frozen=True if _flag("BNPL_CLOCK_FROZEN", "0") else None)
            else:
                _clock = WALL
        return _clock


def one_clock_reading(session=None):
    """A block (one request's work, in one thread) in which the demo clock's row is read from the
    database once, however often the services ask the time — in ``session``, the request's own
    transaction, when given (``jobs.clock.one_reading``)."""
    from .jobs.clock import one_reading

    return one_reading(session)


def clock_reading() -> tuple[datetime, bool]:
    """(the business clock's now, whether it stands still) — what a page needs to tick it itself."""
    c = clock()
    with one_clock_reading():
        return c.now(), bool(getattr(c, "is_frozen", lambda: False)())


def sweep_once() -> str:
    from .jobs.sweep import run_sweep

    return run_sweep(engine=engine(), clock=clock()).summary()


def sweep_forever(stop: threading.Event, interval: float | None = None) -> None:
    """The worker loop: a failed run is logged and retried at the next tick, never fatal."""
    interval = interval or POLICY.sweep_interval_seconds
    while not stop.is_set():
        try:
            summary = sweep_once()
            if summary:
                log.info("sweep: %s", summary)
        except Exception:  # noqa: BLE001 — a bad run must not stop the schedule
            log.exception("sweep failed; retrying at the next tick")
        stop.wait(interval)


def db_threads() -> int:
    """How many worker threads run handlers' database work in one backend process
    (``BNPL_DB_THREADS``, default 4; asyncio's own default is the CPU count + 4). Most of that work
    is Python holding the GIL, so more threads only queue for it: on this 2-core machine 200
    shoppers arriving 10 a second were served fastest by 2–3 threads (buy p99 ~270 ms) and slowest
    by 15 (480 ms). A few more than that leave room for a writer waiting its turn for SQLite's
    write lock or a PostgreSQL row lock. At most 15, within the connection pool."""
    return _count("BNPL_DB_THREADS", 4, 2, 15)


def tab_arrivals() -> int:
    """How many new tabs one backend process sets up at once (``BNPL_TAB_ARRIVALS``, default 8; see
    ``arrivals.py``). Their set-up is the event loop's work, so more at once serve them no sooner;
    the rest wait before their first message is read instead of in the loop's queue, ahead of open
    tabs' clicks."""
    return _count("BNPL_TAB_ARRIVALS", 8, 1, 1000)


def inprocess_sweep_enabled() -> bool:
    return _flag("BNPL_INPROCESS_SWEEP", "1")
