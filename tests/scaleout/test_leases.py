"""Tab states under Reflex's opportunistic lock, as the deployment runs it (``rxconfig.py`` turns it
on with Redis; ``bnpl_app/state/leases.py``), against the tier's real Redis: two state managers
stand for two backend workers.

* The worker that served a tab keeps its lock and states after the event, then writes them back
  and lets go when the hold time is over.
* Another worker that needs the tab meanwhile (a reload landing there) gets it at once, with the
  first worker's change in it, not after the hold time.
* The per-tab lock Reflex keeps afterwards is dropped by ``leases.prune``, and the tab is served
  again after that."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis.asyncio import Redis

from bnpl_app.state import leases
from bnpl_app.state.session import SessionState
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken

from conftest import REDIS_ENV

HOLD_MS = 1500


@pytest.fixture
def oplock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")


def _manager(**kw) -> StateManagerRedis:
    return StateManagerRedis(redis=Redis.from_url(os.environ[REDIS_ENV]), **kw)


def _run(coro) -> None:
    """Run ``coro`` on an event loop of its own thread (this tier's browser tests leave one running
    in the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _unread(manager: StateManagerRedis, token: BaseStateToken) -> int:
    async with manager.modify_state(token) as root:
        return (await root.get_state(SessionState)).unread


def test_a_worker_holds_a_tab_between_events_then_writes_it_back_and_lets_go(oplock):
    async def run():
        worker, reader = _manager(oplock_hold_time_ms=HOLD_MS), _manager()
        token = BaseStateToken(ident=f"lease-{uuid.uuid4().hex}", cls=SessionState)
        lock_key = f"{token.lock_key}_lock".encode()
        try:
            await worker._ensure_lock_task_subscribed(timeout=10)
            async with worker.modify_state(token) as root:
                (await root.get_state(SessionState)).unread = 7
            assert leases.leasing(worker)
            # Held: the lock stays in Redis and the states in this worker's memory.
            assert token.lock_key in worker._local_leases
            assert await worker.redis.exists(lock_key)
            async with worker.modify_state(token) as root:  # the tab's next event: from memory
                assert (await root.get_state(SessionState)).unread == 7

            deadline = time.monotonic() + HOLD_MS / 1000 + 10
            while token.lock_key in worker._local_leases or await worker.redis.exists(lock_key):
                assert time.monotonic() < deadline, "the lease outlived its hold time"
                await asyncio.sleep(0.05)
            assert await _unread(reader, token) == 7  # written back to Redis

            # What Reflex keeps of the tab afterwards goes; the tab is served again after that.
            assert token.lock_key in worker._cached_states_locks
            assert leases.prune(worker) >= 1
            assert token.lock_key not in worker._cached_states_locks
            async with worker.modify_state(token) as root:
                (await root.get_state(SessionState)).unread = 8
            assert await _unread(worker, token) == 8
        finally:
            for m in (worker, reader):
                await m.close()

    _run(run())


def test_another_worker_gets_a_held_tab_at_once_with_the_change_in_it(oplock):
    async def run():
        hold_ms = 8000  # far longer than the wait allowed below
        first, second = _manager(oplock_hold_time_ms=hold_ms), _manager(oplock_hold_time_ms=hold_ms)
        token = BaseStateToken(ident=f"lease-{uuid.uuid4().hex}", cls=SessionState)
        try:
            for m in (first, second):
                await m._ensure_lock_task_subscribed(timeout=10)
            async with first.modify_state(token) as root:
                (await root.get_state(SessionState)).unread = 3
            assert token.lock_key in first._local_leases
            started = time.monotonic()
            async with second.modify_state(token) as root:  # a reload that landed on the other worker
                sess = await root.get_state(SessionState)
                assert sess.unread == 3
                sess.unread = 4
            assert time.monotonic() - started < hold_ms / 1000 / 2, "the other worker waited out the hold time"
            # And back: the first worker sees the second's change.
            assert await asyncio.wait_for(_unread(first, token), timeout=hold_ms / 1000 / 2) == 4
        finally:
            for m in (first, second):
                await m.close()

    _run(run())
