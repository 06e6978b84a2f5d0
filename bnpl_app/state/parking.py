"""Tab states at rest are kept as bytes (the embedded default, state in this process's memory).

Reflex's in-memory manager keeps every tab's state tree — 34 states, ~450 objects the cyclic garbage
collector tracks — as live objects until ``BNPL_STATE_TTL`` (30 min) after the tab's last event.
A full collection walks all of them while the event loop, every tab's events, waits: 400 kept tabs
made pauses of 50–130 ms, and a city's half hour of closed tabs would make them seconds.

Here a tree nobody is using is *parked*: pickled into one ``bytes`` (which the collector never walks
and which weighs ~a tenth of the tree), and rebuilt on the tab's next event. That is what the Redis
manager does with every state after every event, so each state already round-trips through pickle;
in one process the classes cannot change between park and wake, so no schema is stored.

* A closed tab (no websocket here) is parked ``CLOSED_PARK_S`` after its last event; an open one
  after ``BNPL_STATE_PARK_S`` seconds without an event (default 60; a closed one waits no longer).
  A tab whose lock is held (an event, a background task) is never parked.
* Waking costs ~1 ms on the tab's next event; parking ~0.5 ms, a few at a time between other work.
* A tree that cannot be pickled stays as it is (logged once per kind of error).
* Expiry is Reflex's: ``BNPL_STATE_TTL`` after the last event the entry, parked or not, is dropped."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator

from reflex.istate.manager import _release_state_tree
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken, StateToken
from reflex.state import BaseState

log = logging.getLogger("bnpl.parking")

CLOSED_PARK_S = 2.0  # a closed tab's state, after its last event
SCAN_S = 1.0  # how often awake tabs are looked at while any is awake (at most; half the park time)
SLICE_S = 0.005  # parking yields to other work after this much of it


def park_after_s() -> float:
    """``BNPL_STATE_PARK_S``: an open tab's state is parked after this many seconds without an event
    (default 60; at least 0.1)."""
    try:
        return max(0.1, float(os.environ.get("BNPL_STATE_PARK_S", "60")))
    except ValueError:
        return 60.0


Parked = bytes  # a state tree at rest: its states, root first, pickled together (nothing to walk)


def _tree(state: BaseState) -> Iterator[BaseState]:
    yield state
    for sub in state.substates.values():
        yield from _tree(sub)


def park(root: BaseState) -> Parked:
    """The tree as bytes (raises what pickle raises for a state that holds something unpicklable).
    Each state pickles without its parent and substates (``BaseState.__getstate__``)."""
    return pickle.dumps(list(_tree(root)), protocol=pickle.HIGHEST_PROTOCOL)


def wake(parked: Parked) -> BaseState:
    """The tree rebuilt: every state unpickled, then linked to its parent as the tree had it."""
    states: list[BaseState] = pickle.loads(parked)
    by_class = {type(s): s for s in states}
    for state in states[1:]:
        parent = by_class[type(state).get_parent_state()]
        parent.substates[type(state).get_name()] = state
        object.__setattr__(state, "parent_state", parent)
    return states[0]


@dataclasses.dataclass
class ParkingStateManager(StateManagerMemory):
    """Reflex's in-memory manager, with tab states at rest kept parked (see the module doc)."""

    park_after: float = dataclasses.field(default_factory=park_after_s)
    # whether the tab with this token has a websocket here (set by install: live.connected)
    is_open: Callable[[str], bool] = lambda token: True
    # awake (unparked) BaseState trees: cache key → (monotonic time of the last event, token),
    # oldest first (a touched key is moved to the end)
    _awake: dict[str, tuple[float, StateToken]] = dataclasses.field(default_factory=dict, init=False)
    _park_task: asyncio.Task | None = dataclasses.field(default=None, init=False)
    _unpicklable: set[str] = dataclasses.field(default_factory=set, init=False)

    @property
    def closed_park_after(self) -> float:
        """A closed tab's wait: ``CLOSED_PARK_S``, never longer than an open one's."""
        return min(CLOSED_PARK_S, self.park_after)

    # ── what Reflex's manager calls ─────────────────────────────────────────────────────────────
    def _get_or_create_state(self, token):
        entry = self.states.get(token.cache_key)
        if isinstance(entry, Parked):
            self.states[token.cache_key] = wake(entry)
        return super()._get_or_create_state(token)

    def _track_token(self, token: StateToken):
        super()._track_token(token)
        if isinstance(token, BaseStateToken):
            key = token.cache_key
            self._awake.pop(key, None)
            self._awake[key] = (time.monotonic(), token)
            if self._park_task is None or self._park_task.done():
                self._park_task = asyncio.create_task(self._parking(), name="bnpl|parking")

    def _purge_token(self, token: StateToken):
        self._awake.pop(token.cache_key, None)
        if isinstance(self.states.get(token.cache_key), Parked):
            self.states.pop(token.cache_key)
        super()._purge_token(token)

    async def close(self):
        if self._park_task is not None:
            self._park_task.cancel()
            self._park_task = None
        await super().close()

    # ── parking ─────────────────────────────────────────────────────────────────────────────────
    def park_idle(self, now: float | None = None, *, budget_s: float | None = None) -> int:
        """Park every awake tree due (see the module doc) whose lock is free; returns how many.
        With ``budget_s``, stops once that much time went into parking (the rest wait for the
        next call)."""
        now = time.monotonic() if now is None else now
        started = time.perf_counter()
        closed_after = self.closed_park_after
        parked = 0
        for key, (touched, token) in list(self._awake.items()):
            if now - touched < closed_after:
                break  # the rest are younger still
            if now - touched < self.park_after and self.is_open(key):
                continue
            lock = self._states_locks.get(token.lock_key)
            if lock is not None and lock.locked():
                continue  # busy: it is tracked again when the event ends
            if self._park(key):
                parked += 1
            if budget_s is not None and time.perf_counter() - started > budget_s:
                break
        return parked

    def _park(self, key: str) -> bool:
        self._awake.pop(key, None)
        state = self.states.get(key)
        if not isinstance(state, BaseState):
            return False
        try:
            self.states[key] = park(state)
        except Exception as err:  # noqa: BLE001 — the tree stays as it was, awake
            name = type(err).__name__
            if name not in self._unpicklable:
                self._unpicklable.add(name)
                log.warning("a tab state could not be parked (%s: %s); such trees stay in memory", name, err)
            return False
        _release_state_tree(state)
        return True

    async def _parking(self) -> None:
        """While any tree is awake: park what is due, a slice at a time; look again each second (or
        each half park time, if shorter)."""
        while self._awake:
            due = self.park_idle(budget_s=SLICE_S)
            await asyncio.sleep(0 if due else min(SCAN_S, self.park_after / 2))


def install(app) -> None:
    """Swap Reflex's in-memory manager of ``app`` for the parking one (no-op with Redis or disk)."""
    from .. import live

    current = app._state_manager
    if type(current) is StateManagerMemory:
        app._state_manager = ParkingStateManager(token_expiration=current.token_expiration, is_open=live.connected)
