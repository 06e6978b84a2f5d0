"""The deployment is the scaled-out one, not a single process that looks like it: the backend
runs as two worker processes, the Reflex state of a browser tab lives in Redis, and the sweep
runs in its own worker process (the app's in-process sweep is off)."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page

from bnpl_app.db import make_engine, reading
from bnpl_app.models import SweepRun
from bnpl_app.jobs.clock import DbClock
from bnpl_app.jobs.sweep import next_event_after
from deploy import Deployment, cmdline, descendants, redis_client
from browser_support import login


def test_the_backend_runs_as_two_worker_processes(deployment: Deployment):
    workers = deployment.backend_workers()
    tree = "\n".join(f"{pid}: {' '.join(cmdline(pid))}" for pid in [deployment.app.pid, *descendants(deployment.app.pid)])
    assert len(workers) == deployment.workers == 2, f"backend workers {workers} in the process tree:\n{tree}"
    assert deployment.env["GRANIAN_WORKERS"] == "2"
    # Workers of one server, not threads of one process: each has its own pid and is alive.
    assert len(set(workers)) == 2 and deployment.app.pid not in workers


def test_a_tabs_state_lives_in_redis(deployment: Deployment, page: Page):
    login(page, "alice")
    token = page.evaluate("() => window.sessionStorage.getItem('token')")
    assert token, "the page holds no Reflex client token"
    cache = redis_client(deployment.redis_url)
    try:
        keys = [key.decode() for key in cache.scan_iter(match=f"*{token}*", count=1000)]
    finally:
        cache.close()
    assert keys, f"no key of client token {token} in Redis at {deployment.redis_url}"
    # The session state (who is logged in) is among them.
    assert any("session_state" in key for key in keys), keys


def test_the_sweep_runs_in_its_own_worker_process(deployment: Deployment, wait_for):
    assert deployment.env["BNPL_INPROCESS_SWEEP"] == "0"
    engine = make_engine(deployment.db_url)
    try:
        clock = DbClock(engine)
        with reading(engine) as s:
            due = next_event_after(s, clock.now())
        assert due is not None, "the seeded demo has nothing left for the sweep to do"
        # Moving the clock alone runs nothing (advance-clock would run the sweep itself): the
        # work that falls due is left to the worker, on its next run.
        clock.set(due)

        def worker_ran() -> bool:
            with reading(engine) as s:
                return s.execute(sa.select(sa.func.count()).select_from(SweepRun).where(SweepRun.at >= due)).scalar_one() > 0

        wait_for(worker_ran, f"the sweep worker to do what fell due at {due.isoformat()}", timeout_s=60)
    finally:
        engine.dispose()
    assert "sweep: " in deployment.sweeper_log.read_text(), "the run is not in the sweep worker's log"
