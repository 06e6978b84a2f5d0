"""The per-tab locks Reflex's Redis manager keeps under the opportunistic lock are dropped when
nobody uses them, and only then (``bnpl_app/state/leases.py``); the deployment's configuration
turns that lock on with Redis and leaves it off without."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from bnpl_app.state import leases

ROOT = Path(__file__).resolve().parents[2]


def _manager(**locks: asyncio.Lock) -> SimpleNamespace:
    return SimpleNamespace(_oplock_enabled=True, _cached_states_locks=dict(locks), _local_leases={}, _cached_states={})


def test_only_the_locks_nobody_uses_are_dropped():
    async def run():
        m = _manager(idle=asyncio.Lock(), leased=asyncio.Lock(), cached=asyncio.Lock(), held=asyncio.Lock(),
                     awaited=asyncio.Lock())
        m._local_leases["leased"] = object()
        m._cached_states["cached"] = object()
        await m._cached_states_locks["held"].acquire()
        awaited = m._cached_states_locks["awaited"]
        await awaited.acquire()
        waiter = asyncio.create_task(awaited.acquire())
        await asyncio.sleep(0)  # the waiter is queued on the lock
        awaited.release()  # free, but promised to the waiter, which has not run yet
        assert not awaited.locked()

        assert leases.prune(m) == 1
        assert set(m._cached_states_locks) == {"leased", "cached", "held", "awaited"}
        await waiter
        awaited.release()
        # Once the lease ends, the cache is flushed and the locks are free, they go too.
        m._local_leases.clear()
        m._cached_states.clear()
        m._cached_states_locks["held"].release()
        assert leases.prune(m) == 4
        assert m._cached_states_locks == {}

    asyncio.run(run())


def test_pruning_does_nothing_without_the_opportunistic_lock():
    async def run():
        plain = SimpleNamespace(_oplock_enabled=False, _cached_states_locks={"idle": asyncio.Lock()},
                                _local_leases={}, _cached_states={})
        # Returns at once (it would sleep for ever otherwise) and touches nothing.
        await asyncio.wait_for(leases.pruning(SimpleNamespace(_state_manager=plain), every_s=0.001), timeout=5)
        assert list(plain._cached_states_locks) == ["idle"]
        await asyncio.wait_for(leases.pruning(SimpleNamespace(_state_manager=SimpleNamespace())), timeout=5)

    asyncio.run(run())


def test_the_pruning_task_drops_free_locks_while_the_process_serves():
    async def run():
        m = _manager(idle=asyncio.Lock(), leased=asyncio.Lock())
        m._local_leases["leased"] = object()
        task = asyncio.create_task(leases.pruning(SimpleNamespace(_state_manager=m), every_s=0.001))
        try:
            for _ in range(1000):
                if "idle" not in m._cached_states_locks:
                    break
                await asyncio.sleep(0.001)
            assert list(m._cached_states_locks) == ["leased"]
            m._cached_states_locks["late"] = asyncio.Lock()  # a tab served later
            for _ in range(1000):
                if "late" not in m._cached_states_locks:
                    break
                await asyncio.sleep(0.001)
            assert list(m._cached_states_locks) == ["leased"]
        finally:
            task.cancel()

    asyncio.run(run())


def _config_env(**env: str) -> str:
    """REFLEX_OPLOCK_* as Reflex reads them after ``rxconfig`` loads, in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_OPLOCK") and k != "REDIS_URL"}
    code = ("import rxconfig, os; print(os.environ.get('REFLEX_OPLOCK_ENABLED'), "
            "os.environ.get('REFLEX_OPLOCK_HOLD_TIME'))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, check=True,
                          capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1]


def test_the_configuration_leases_tab_states_with_redis_only_and_the_environment_overrides():
    assert _config_env() == "None None"
    assert _config_env(REDIS_URL="redis://127.0.0.1:6379/0") == "true 3s"
    assert _config_env(REDIS_URL="redis://127.0.0.1:6379/0", REFLEX_OPLOCK_ENABLED="false",
                       REFLEX_OPLOCK_HOLD_TIME="500ms") == "false 500ms"
