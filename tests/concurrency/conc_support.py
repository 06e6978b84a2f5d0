"""Shared pieces of the concurrency tier: a population of due installments, the exactly-once
check, and a sweep running in a child process (``sweep_worker.py``)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bnpl_app.db import transaction
from bnpl_app.domain.clock import FixedClock
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs.sweep import run_sweep
from bnpl_app.models import Installment, InstallmentStatus as IS, PaymentMethod, Posting
from bnpl_app.services import checkout, wallet
from bnpl_app.services.audit import run_audit
from helpers import World, pg_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKER_SCRIPT = HERE / "sweep_worker.py"
BACKENDS = ["sqlite"] + (["postgresql"] if pg_url() else [])  # see conftest.py


def audit_clean(engine: Engine) -> None:
    with transaction(engine) as s:
        report = run_audit(session=s)
    assert report.ok, "\n".join(report.lines())


# ── a population of due installments ───────────────────────────────────────────────────────────
@dataclass
class Population:
    shoppers: list[int]
    installment_ids: list[int]
    owed_by_shopper: dict[int, int]  # what every one of a shopper's installments adds up to
    start_balance_by_shopper: dict[int, int]
    sweep_at: datetime  # every installment is due by then


PLANS = ("full", "12", "3", "6", "3")  # 25 installments per shopper


def populate(world: World, *, shoppers: int, plans: tuple[str, ...] = PLANS) -> Population:
    """``shoppers`` shoppers, each with one order per entry of ``plans``, at two shops; half pay
    from the wallet, half from a card (their wallet stays empty). At ``sweep_at`` every
    installment of every order is due, and every shopper can pay all of them, with a little to
    spare. One sweep ran the minimum notice before ``sweep_at``: it billed every order and
    announced every deduction (none is taken without notice) for ``sweep_at``; nothing was taken."""
    clock = world.clock
    m1, m2 = world.merchant(), world.merchant()
    products = [world.product(m, price_fen=price, stock=100_000, trial_days=7)
                for m, price in ((m1, 19_999), (m2, 45_550), (m1, 12_345), (m2, 7_777))]
    uids: list[int] = []
    for k in range(shoppers):
        uid = world.shopper(score=700)
        with world.tx() as s:
            for i, plan in enumerate(plans):
                checkout.checkout(session=s, uid=uid, product_id=products[(k + i) % len(products)], plan=plan,
                                  idempotency_key=uuid.uuid4().hex, clock=clock)
        uids.append(uid)
    with world.tx() as s:
        rows = s.execute(sa.select(Installment.shopper_id, Installment.id, Installment.principal_fen,
                                   Installment.fee_fen, Installment.due_at).order_by(Installment.id)).all()
    owed: dict[int, int] = {u: 0 for u in uids}
    ids = []
    for uid, iid, principal, fee, _due in rows:
        owed[uid] += principal + fee
        ids.append(iid)
    start: dict[int, int] = {}
    with world.tx() as s:
        for k, uid in enumerate(uids):
            start[uid] = owed[uid] + 100 + k  # a little to spare
            if k % 2:
                wallet.add_card(session=s, uid=uid, bank="ICBC", last4=f"{k % 10_000:04d}", balance_fen=start[uid], clock=clock)
            else:
                wallet.topup(session=s, uid=uid, amount_fen=start[uid], clock=clock)
    sweep_at = max(due for *_, due in rows) + timedelta(days=1)  # the last installment is due by then
    told = run_sweep(engine=world.engine, clock=FixedClock(sweep_at - POLICY.min_notice))
    assert told.captured == told.failed == 0 and told.notices == len(ids), told
    return Population(uids, ids, owed, start, sweep_at)


def assert_exactly_once(engine: Engine, pop: Population) -> None:
    """Every installment PAID with exactly one capture; balances = start − owed; audit clean."""
    P = Posting.__table__
    with transaction(engine) as s:
        statuses = dict(s.execute(sa.select(Installment.id, Installment.status)).all())
        keys = dict(s.execute(
            sa.select(P.c.installment_id, sa.func.count(sa.distinct(P.c.posting_key)))
            .where(P.c.kind == "capture", P.c.ledger == "money").group_by(P.c.installment_id)).all())
        balances: dict[int, int] = {}
        for uid, bal in s.execute(sa.select(PaymentMethod.user_id, PaymentMethod.balance_fen)):
            balances[uid] = balances.get(uid, 0) + bal
    not_paid = {i: st for i, st in statuses.items() if st != IS.PAID}
    assert not not_paid, f"{len(not_paid)} installment(s) not paid, e.g. {list(not_paid.items())[:5]}"
    wrong = {i: keys.get(i, 0) for i in pop.installment_ids if keys.get(i, 0) != 1}
    assert not wrong, f"{len(wrong)} installment(s) captured ≠ once, e.g. {list(wrong.items())[:5]}"
    assert len(keys) == len(pop.installment_ids)
    bad = {u: (balances[u], pop.start_balance_by_shopper[u] - pop.owed_by_shopper[u])
           for u in pop.shoppers if balances[u] != pop.start_balance_by_shopper[u] - pop.owed_by_shopper[u]}
    assert not bad, f"balances ≠ start − owed for {len(bad)} shopper(s): {list(bad.items())[:5]}"
    audit_clean(engine)


def captured_count(engine: Engine) -> int:
    P = Posting.__table__
    with engine.execution_options(readonly=True).connect() as conn:
        return conn.execute(sa.select(sa.func.count(sa.distinct(P.c.installment_id)))
                            .where(P.c.kind == "capture", P.c.ledger == "money")).scalar_one()


# ── sweep child processes ──────────────────────────────────────────────────────────────────────
class SweepChild:
    """``sweep_worker.py`` in its own OS process. It connects, prints ``ready``, waits for ``go``
    on stdin, sweeps, and prints a JSON report (or ``blocked`` when told to stop mid-way)."""

    def __init__(self, url: str, now, *, batch: int, block_after: int | None = None, hold: float | None = None,
                 log: Path) -> None:
        args = [sys.executable, str(WORKER_SCRIPT), url, now.isoformat(), "--batch", str(batch)]
        if block_after is not None:
            args += ["--block-after", str(block_after)]
        if hold is not None:
            args += ["--hold", str(hold)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        self.log = log
        self._err = open(log, "wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err)
        self._buf = b""

    def expect(self, prefix: str, timeout: float = 120.0) -> str:
        """Block until the child prints a line starting with ``prefix`` (select with a deadline)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                text = line.decode()
                if text.startswith(prefix):
                    return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"child did not print {prefix!r} within {timeout}s\n{self.stderr()}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.proc.wait()
                    raise AssertionError(f"child exited ({self.proc.returncode}) before printing {prefix!r}\n"
                                         f"{self.stderr()}")
                self._buf += chunk

    def go(self) -> None:
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def stderr(self) -> str:
        self._err.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self._err):
            try:
                f.close()
            except Exception:  # noqa: BLE001 — closing a pipe of a killed child
                pass


def fixed_clock(at) -> FixedClock:
    return FixedClock(at)
