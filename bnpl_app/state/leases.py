"""Tab states held between events by the worker serving them (Redis, with Reflex's opportunistic lock).

With ``REDIS_URL`` set, ``rxconfig.py`` turns on Reflex's opportunistic lock: after an event the
worker keeps the tab's Redis lock and its states in memory for ``REFLEX_OPLOCK_HOLD_TIME`` (a
*lease*), so the tab's next events skip Redis; when the lease ends, or another worker asks for the
tab, the states are written back and the lock let go.

Reflex 0.10.1 keeps one ``asyncio.Lock`` per tab it ever leased (``_cached_states_locks``) and never
drops one (a ``TODO`` in its code): ~0.3 KB for every tab a worker served since it started, which a
city's day of visitors turns into hundreds of MB. ``prune`` drops the locks nobody uses — no lease,
no cached states, not held, nobody waiting — and this process runs it every ``PRUNE_S`` seconds.
Dropping a free lock is safe: Reflex looks a tab's lock up again each time it needs it, and takes a
free one without yielding to the loop, so no code holds a looked-up lock across an ``await``
before it has taken it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("bnpl.leases")

PRUNE_S = 60.0  # how often the free per-tab locks are dropped


def leasing(manager: Any) -> bool:
    """Whether ``manager`` is Reflex's Redis manager with the opportunistic lock on."""
    return bool(getattr(manager, "_oplock_enabled", False)) and hasattr(manager, "_cached_states_locks")


def prune(manager: Any) -> int:
    """Drop the per-tab locks of ``manager`` that nobody uses; returns how many."""
    locks: dict = manager._cached_states_locks
    busy = manager._local_leases.keys() | manager._cached_states.keys()
    free = [key for key, lock in locks.items()
            if key not in busy and not lock.locked() and not getattr(lock, "_waiters", None)]
    for key in free:
        del locks[key]
    return len(free)


async def pruning(app: Any, every_s: float = PRUNE_S) -> None:
    """A lifespan task (Reflex passes ``app``): while this process serves, prune its Redis manager's
    free locks. Returns at once without Redis or without the opportunistic lock."""
    manager = getattr(app, "_state_manager", None)
    if manager is None or not leasing(manager):
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            dropped = prune(manager)
        except Exception:  # noqa: BLE001 — a changed Reflex: keep serving, and say why
            log.warning("could not prune the tab locks of the state manager", exc_info=True)
            continue
        if dropped:
            log.debug("dropped %d free tab locks", dropped)
