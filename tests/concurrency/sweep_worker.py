"""One sweep in its own OS process, for the concurrency tier (not a test module).

    python sweep_worker.py URL NOW_ISO [--batch N] [--block-after K] [--hold S]

Connects, prints ``ready``, waits for ``go`` on stdin (so several children start together),
runs ``run_sweep`` at NOW and prints ``report {json}``. With ``--block-after K`` it stops
inside its open transaction right after the K-th successful debit through the payment gateway,
prints ``blocked`` and waits to be killed — a sweep crashing half-way, at a known point."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import datetime

from sqlalchemy import event

from bnpl_app.db import make_engine
from bnpl_app.domain.clock import FixedClock
from bnpl_app.jobs import sweep
from bnpl_app.services import payments
from bnpl_app.jobs.sweep import run_sweep


class CountingGateway:
    def __init__(self, inner, block_after: int | None) -> None:
        self.inner = inner
        self.block_after = block_after
        self.debits = 0
        self.first = self.last = None

    def debit(self, session, *, method_id: int, amount_fen: int) -> bool:
        ok = self.inner.debit(session, method_id=method_id, amount_fen=amount_fen)
        if ok:
            self.debits += 1
            self.last = time.monotonic()
            self.first = self.first or self.last
            if self.block_after is not None and self.debits >= self.block_after:
                print("blocked", flush=True)
                while True:  # until SIGKILL
                    signal.pause()
        return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("now")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--block-after", type=int, default=None)
    ap.add_argument("--hold", type=float, default=None, help="sweep.HOLD_S (SQLite: seconds one transaction may span)")
    a = ap.parse_args()
    if a.hold is not None:
        sweep.HOLD_S = a.hold

    engine = make_engine(a.url)
    stats = {"skip_locked": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if "SKIP LOCKED" in statement.upper():
            stats["skip_locked"] += 1

    gw = CountingGateway(payments.GATEWAY, a.block_after)
    payments.GATEWAY = gw
    with engine.execution_options(readonly=True).connect() as conn:  # connect before the start line
        conn.exec_driver_sql("SELECT 1")
        conn.rollback()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    rep = run_sweep(engine=engine, clock=FixedClock(datetime.fromisoformat(a.now)), batch_size=a.batch)
    print("report " + json.dumps({"captured": rep.captured, "billed": rep.billed, "failed": rep.failed,
                                  "debits": gw.debits, "first": gw.first, "last": gw.last, **stats}), flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
