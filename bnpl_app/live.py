"""Live pages by push, not polling: one listener per backend process tails the change feed
(``services/changes.py``) and tells only the open tabs of the users a change concerns to reload.

* Which tabs are open here, for whom and on which page, is learned from the events this process
  handles (``seen``): a tab's events are handled by the process that holds its websocket.
* The listener wakes on PostgreSQL ``NOTIFY`` (sent inside the committing transaction) or on Redis
  pub/sub (published after a commit) when those are configured, and otherwise reads the feed once a
  second — one indexed query per process, whatever the number of tabs. With a wake-up channel it
  still reads the feed every few seconds, in case a notification was lost.
* A tab is told by an update carrying one event, ``SessionState.refresh``: the browser sends it
  back, and it runs like any other event (state lock, authorization from the session) and reloads
  the page the tab shows. An idle tab costs the server nothing.

No polling per tab, no database call on the event loop (reads run in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import runtime
from .db import reading
from .services import changes
from .models import OPERATOR

log = logging.getLogger("bnpl.live")

POLL_S = 1.0  # reading the feed without a wake-up channel
SAFETY_POLL_S = 5.0  # reading it anyway with one
FORGET_AFTER_S = 3600.0  # a tab not seen for this long (and no longer connected) is dropped


@dataclass
class Tab:
    user_id: int | None
    role: str
    seen: float


_tabs: dict[str, Tab] = {}  # client token → what this process knows of that tab
_app = None  # the rx.App, bound at start-up (bnpl_app.py)


def bind(app) -> None:
    global _app
    _app = app


def app():
    return _app


_ANON = object()


def seen(token: str, *, user_id: int | None | object = _ANON, role: str = "") -> None:
    """Called by the state layer: this tab is open here (for ``user_id`` — None when nobody is
    logged in there; left as it was when not given)."""
    if not token:
        return
    tab = _tabs.get(token)
    if tab is None:
        tab = _tabs[token] = Tab(None, "", 0.0)
    tab.seen = time.monotonic()
    if user_id is not _ANON:
        tab.user_id, tab.role = user_id, (role if user_id is not None else "")


def targets(rows: Iterable[tuple[int, int | None, str]]) -> set[str]:
    """The tokens of the open tabs that the changes concern."""
    users, operators, everyone = set(), False, False
    for _id, uid, _topic in rows:
        if uid is changes.EVERYONE:
            everyone = True
        elif uid == changes.OPERATORS:
            operators = True
        else:
            users.add(uid)
    return {token for token, tab in _tabs.items()
            if everyone or (tab.user_id is not None and tab.user_id in users) or (operators and tab.role == OPERATOR)}


def _manager():
    """Reflex's token manager of this process (which socket holds which tab), once serving."""
    ns = _app.event_namespace if _app is not None else None
    return ns._token_manager if ns is not None else None


def _local(token: str) -> bool:
    """Whether the tab's websocket is held by this process (else another process tells it)."""
    manager = _manager()
    record = manager.token_to_socket.get(token) if manager is not None else None
    return record is not None and record.instance_id == manager.instance_id


def connected(token: str) -> bool:
    """Whether the tab may be open now. With Redis, a page load can move a tab's websocket to another
    worker, and this process may have dropped the token when the old socket closed (Reflex then no
    longer follows where it went): so with Redis the answer is yes (an update to a closed tab goes to
    Reflex's lost-and-found and is dropped); in one process, whether its socket is connected here."""
    from reflex.utils.token_manager import RedisTokenManager

    manager = _manager()
    if manager is None:
        return False
    return isinstance(manager, RedisTokenManager) or manager.token_to_socket.get(token) is not None


def _prune() -> None:
    cutoff = time.monotonic() - FORGET_AFTER_S
    for token in [t for t, tab in _tabs.items() if tab.seen < cutoff and not _local(t)]:
        _tabs.pop(token, None)


async def _tell(tokens: set[str], refresh_event: Callable[[], list]) -> int:
    from reflex.state import StateUpdate

    told = 0
    for token in tokens:
        if not _local(token):
            continue
        try:
            await _app.event_namespace.emit_update(StateUpdate(events=refresh_event()), token)
            told += 1
        except Exception:  # noqa: BLE001 — one closed socket must not stop the others
            log.debug("could not tell tab %s", token, exc_info=True)
    return told


def _read(after: int, also: Iterable[int] = ()) -> tuple[list[tuple], int]:
    """(the rows after ``after`` and those among ``also``, as (id, user_id, topic, created_at); the
    highest id now)."""
    with reading(runtime.engine()) as s:
        return changes.since(session=s, after_id=after, also=also), changes.last_id(session=s)


def _read_start() -> tuple[list[tuple], int]:
    """(the last ``_Feed.START`` ids' rows, the highest id): what this process starts from."""
    with reading(runtime.engine()) as s:
        top = changes.last_id(session=s)
        return changes.since(session=s, after_id=max(0, top - _Feed.START)), top


async def _start_feed() -> _Feed:
    return _Feed(*await asyncio.to_thread(_read_start), time.monotonic())


async def _pg_waker(wake: asyncio.Event) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(runtime.engine().url).set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {changes.CHANNEL}")
                wake.set()  # anything committed while not listening is read now
                async for _note in conn.notifies():
                    wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 — the safety poll covers the gap; try again shortly
            log.warning("LISTEN %s failed; retrying", changes.CHANNEL, exc_info=True)
            await asyncio.sleep(SAFETY_POLL_S)


async def _redis_waker(wake: asyncio.Event, url: str) -> None:
    import redis.asyncio as aioredis

    while True:
        try:
            client = aioredis.from_url(url)
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(changes.CHANNEL)
                wake.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.warning("Redis subscription to %s failed; retrying", changes.CHANNEL, exc_info=True)
            await asyncio.sleep(SAFETY_POLL_S)


class _Feed:
    """Which rows of the feed this process has handled, read so that each read is small.

    Ids are handed out when a row is inserted but become visible when its transaction commits, and on
    PostgreSQL two transactions can commit out of id order. So an id missing below the highest one
    seen is a *gap*: it is asked for again by each read, until it turns up or ``WAIT_S`` has passed (a
    rolled-back insert leaves a gap for good). Each read is "after the highest, or one of the gaps":
    a few rows, not a window of thousands (a window read of 2,000 rows cost ~8 ms of the event
    loop's interpreter, on every commit of every process).

    A row is known by its id and time: when the highest id goes down, the database was restored from
    an older copy and ids are handed out again, so the next read goes back ``START`` ids and hands
    on only the rows not handled yet."""

    START = 200  # ids read back at start-up and after a restore
    WAIT_S = 60.0  # how long a missing id is waited for (a write transaction lasts seconds at most)
    MAX_GAPS = 5_000

    def __init__(self, existing: list[tuple], top: int, now: float) -> None:
        self.handled = {self._key(r) for r in existing}  # already there when this process started
        self.high = top
        self.gaps: dict[int, float] = {}  # id → when first missed
        self.rewind = False
        present = {r[0] for r in existing}
        self._missing(min(present, default=top), top, present, now)  # not the pruned ones below

    @staticmethod
    def _key(row: tuple):
        return row[0], row[3]

    def _missing(self, low: int, high: int, present: set[int], now: float) -> None:
        for gap in range(max(low, high - self.MAX_GAPS) + 1, high + 1):
            if gap not in present:
                self.gaps.setdefault(gap, now)

    def query(self) -> tuple[int, list[int]]:
        """What the next read asks for: (after this id, and these ids)."""
        if self.rewind:
            self.rewind = False
            return max(0, self.high - self.START), []
        return self.high, sorted(self.gaps)

    def new(self, rows: list[tuple], top: int, now: float) -> list[tuple[int, int | None, str]]:
        """The rows read not handled yet, as (id, user_id, topic); ``top``: the highest id there now."""
        fresh = [r for r in rows if self._key(r) not in self.handled]
        self.handled.update(self._key(r) for r in fresh)
        present = {r[0] for r in rows}
        for found in present:
            self.gaps.pop(found, None)
        if top < self.high:  # restored from an older copy: read back behind the new highest once
            self.gaps, self.rewind, self.high = {}, True, top
        else:
            newest = max(present, default=self.high)
            self._missing(self.high, newest, present, now)
            self.high = max(self.high, newest)
        self.gaps = {g: t for g, t in self.gaps.items() if now - t < self.WAIT_S and g < self.high}
        if len(self.handled) > 2 * self.MAX_GAPS:
            floor = self.high - self.MAX_GAPS
            self.handled = {k for k in self.handled if k[0] > floor}
        return [r[:3] for r in fresh]


async def listen(refresh_event: Callable[[], list]) -> None:
    """The listener of this process (a lifespan task): forever, read new changes, tell their tabs."""
    wake = asyncio.Event()
    waker = None
    if runtime.engine().dialect.name == "postgresql":
        waker = asyncio.create_task(_pg_waker(wake))
    elif os.environ.get("REDIS_URL"):
        waker = asyncio.create_task(_redis_waker(wake, os.environ["REDIS_URL"]))
    wait_s = SAFETY_POLL_S if waker else POLL_S
    feed = await _start_feed()
    try:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=wait_s)
            wake.clear()
            try:
                after, also = feed.query()
                rows = feed.new(*await asyncio.to_thread(_read, after, also), time.monotonic())
                if rows:
                    told = await _tell(targets(rows), refresh_event)
                    log.debug("live: %d changes, %d tabs told", len(rows), told)
                _prune()
            except Exception:  # noqa: BLE001 — the listener must outlive any one failure
                log.warning("live updates: a round failed; going on", exc_info=True)
    finally:
        if waker is not None:
            waker.cancel()
