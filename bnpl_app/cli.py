"""Admin commands: ``python -m bnpl_app <command>`` (or the ``bnpl`` console script). They call the
same services as the app and the worker."""

from __future__ import annotations

import argparse
import sys

from .db import database_url, default_engine, reading


from .runtime import clock as _app_clock
from .runtime import demo_mode


def cmd_migrate(args) -> int:
    from .migrate import upgrade

    upgrade(database_url())
    print(f"migrated {database_url()}")
    return 0


def cmd_seed(args) -> int:
    from .jobs.seed import is_seeded, seed_demo

    engine = default_engine()
    if is_seeded(engine):
        if args.if_empty:
            print("demo data already present")
            return 0
        print("the database already has demo data; use a fresh database (or --if-empty)", file=sys.stderr)
        return 1
    end = seed_demo(engine)
    print(f"demo data created; simulated clock at {end.isoformat()}")
    return 0


def cmd_sweep(args) -> int:
    from .jobs.sweep import run_sweep

    engine = default_engine()
    rep = run_sweep(engine=engine, clock=_app_clock())
    print(f"sweep: {rep.summary() or 'nothing due'}")
    return 0


def cmd_advance(args) -> int:
    from .domain.clock import parse_duration
    from .domain.errors import DomainError
    from .jobs.clock import DbClock, advance

    engine = default_engine()
    try:
        delta = parse_duration(args.duration)
        if not demo_mode():
            print("advance-clock needs demo mode (BNPL_DEMO=1)", file=sys.stderr)
            return 2
        new, runs = advance(engine=engine, clock=DbClock(engine), delta=delta)
    except DomainError as e:
        print(e, file=sys.stderr)
        return 2
    print(f"clock now {new.isoformat()} ({runs} sweep run(s))")
    return 0


def cmd_worker(args) -> int:
    import logging
    import threading

    from .runtime import sweep_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    try:
        sweep_forever(stop, args.interval)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_audit(args) -> int:
    from .services.audit import run_audit

    with reading(default_engine()) as s:
        report = run_audit(session=s)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bnpl", description="先用后付 admin commands")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema (Alembic)").set_defaults(fn=cmd_migrate)
    sp = sub.add_parser("seed-demo", help="create the demo accounts and situations")
    sp.add_argument("--if-empty", action="store_true", help="do nothing if demo data is already there")
    sp.set_defaults(fn=cmd_seed)
    sub.add_parser("sweep", help="run the deduction / reminder / overdue sweep once").set_defaults(fn=cmd_sweep)
    wp = sub.add_parser("worker", help="run the sweep forever (the scaled-out alternative to the in-app sweep)")
    wp.add_argument("--interval", type=float, default=None, help="seconds between runs")
    wp.set_defaults(fn=cmd_worker)
    ap = sub.add_parser("advance-clock", help="move the demo clock (90m, 36h, 7d), running what falls due")
    ap.add_argument("duration")
    ap.set_defaults(fn=cmd_advance)
    sub.add_parser("audit", help="check the ledger and the limit identity; non-zero exit on violations").set_defaults(fn=cmd_audit)
    args = p.parse_args(argv)
    return args.fn(args)
