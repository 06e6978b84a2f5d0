"""Log-in flood benchmark (issue #11): does a flood of wrong passwords stall an unrelated user?

One command starts, on 127.0.0.1 only, the production app from ``--app-dir`` (default: this
checkout) the way ``bench/load.py`` does (``reflex run --env prod``, a fresh migrated, demo-seeded
SQLite database in a temp dir), with ``REFLEX_TRUSTED_PROXY_HOPS=1`` so that each flooding socket
can say which address it comes from (``X-Forwarded-For``, as behind one proxy).

One logged-in shopper then sends the cheapest event (``ProductState.choose_plan``) every 0.1 s and
its round trip is measured:

* quiet: nobody else connected (``--quiet-seconds``);
* flood, one address: ``--flooders`` (16) clients from ONE address POST wrong passwords to the
  log-in endpoint (``/auth/login``, the log-in form's) back to
  back (for one real account and for random names) — the attack of issue #11; the throttle
  locks the address and the account, so most attempts are refused before any hash;
* flood, many addresses: the same sockets, each from its own address and reconnecting from a new
  one before the address limit, each attempt a new random name — nothing is throttled, every
  attempt costs an Argon2 check: what a botnet costs, and the proof that the checks run off
  the event loop.

Each flood phase lasts ``--flood-seconds``. Reported: the user's p50/p95/max in each phase and
the ratio of each flood phase's p50 (and p95) to the quiet p50 measured in the same run (target
p50 ratio ≤ 2), the flood's attempts/s and how they were answered (wrong password / too many
attempts / no answer in time), and the backend's CPU. The last line printed is one JSON object.

    .venv/bin/python bench/login_flood.py
    .venv/bin/python bench/login_flood.py --flooders 16 --flood-seconds 20 --quiet-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402  (servers, tabs, the app's shoppers: the load bench's own)
from bench.load import (  # noqa: E402
    AppCtx, AppTarget, LoopLag, fmt, git_rev, import_states, log, ratio, run_cli, run_guarded, run_reported, settle,
    start_app, summary,
)
from bench.reflex_client import EventError  # noqa: E402
from tests.deploy import build_lock  # noqa: E402

from bnpl_app.jobs.seed import DEMO_PASSWORD  # noqa: E402

WRONG = "not-the-password-0"
USER, VICTIM = "alice", "bob"  # demo accounts: the user who clicks, and the account the flood aims at

# Run inside the app checkout: the product the user's cheap event is about (as bench/load.py picks it).
PRODUCT = r"""
import json
from sqlmodel import select
from bnpl_app import runtime
from bnpl_app.db import reading
from bnpl_app.models import Product
with reading(runtime.engine()) as s:
    products = s.exec(select(Product).where(Product.bnpl_enabled == True)).all()  # noqa: E712
    product = min((p for p in products if "3" in p.allowed_plans.split(",")), key=lambda p: p.price_fen)
    print(json.dumps({"product_id": product.id, "plans": product.allowed_plans.split(",")}))
"""


async def flood(target: AppTarget, *, flooders: int, seconds: float, many_addresses: bool, victim: str,
                stats: dict) -> None:
    """``flooders`` clients POSTing wrong passwords to the log-in endpoint back to back for
    ``seconds``, each saying which address it comes from (``X-Forwarded-For``, one proxy hop)."""
    import httpx

    deadline = time.monotonic() + seconds
    rng = random.Random(11)

    async def one(i: int) -> None:
        sent_here, address = 0, ""
        async with httpx.AsyncClient(base_url=target.url, timeout=30.0) as http:
            while time.monotonic() < deadline:
                if not address or (many_addresses and sent_here >= 15):  # below the address limit (20)
                    address = (f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                               if many_addresses else "198.51.100.7")
                    sent_here = 0
                name = (f"ghost{rng.randrange(10**9)}" if many_addresses or i % 2 else victim)
                start = time.perf_counter()
                try:
                    r = await http.post("/auth/login", data={"username": name, "password": WRONG},
                                        headers={"Origin": target.url, "X-Forwarded-For": address})
                    where = r.headers.get("location", "")
                    kind = "throttled" if "e=throttled" in where else "wrong" if "e=bad" in where else "other"
                    stats[kind] = stats.get(kind, 0) + 1
                    stats.setdefault("seconds", []).append(time.perf_counter() - start)
                except httpx.HTTPError:
                    stats["no_answer"] = stats.get("no_answer", 0) + 1
                sent_here += 1

    await asyncio.gather(*(one(i) for i in range(flooders)))


async def measure(args, workdir: Path, logdir: Path, results: dict) -> None:
    app_dir: Path = args.app_dir
    python = str(app_dir / ".venv" / "bin" / "python") if (app_dir / ".venv" / "bin" / "python").exists() else sys.executable
    states = import_states(app_dir)
    results["config"] = {"app_dir": str(app_dir), "app_commit": git_rev(app_dir), "flooders": args.flooders,
                         "flood_seconds": args.flood_seconds, "quiet_seconds": args.quiet_seconds,
                         "cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
                         "when": datetime.now().astimezone().isoformat(timespec="seconds")}
    app = AppCtx(dir=app_dir, python=python, db_url=f"sqlite:///{workdir / 'app.db'}", logdir=logdir, states=states)
    log("setup: migrate + seed the app database (SQLite, temp dir)")
    await asyncio.to_thread(run_cli, app, "migrate")
    await asyncio.to_thread(run_cli, app, "seed-demo")
    with build_lock(args.start_timeout, root=app_dir):
        log("starting the app (production build)")
        await asyncio.to_thread(start_app, app, args, "app", {"REFLEX_TRUSTED_PROXY_HOPS": "1"})
    done = await asyncio.to_thread(subprocess.run, [python, "-c", PRODUCT], cwd=app_dir, env=app.db_env(),
                                   capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"finding the product failed:\n{done.stdout}\n{done.stderr}")
    made = json.loads(done.stdout.strip().splitlines()[-1])
    victim = VICTIM
    target = AppTarget(app, made["product_id"], made["plans"])
    await settle(target)

    tab = target.tab(timeout=60.0)
    await tab.open(target.journey_start)
    await tab.log_in(USER, DEMO_PASSWORD)
    if tab.get(states["session"], "username") != USER:
        raise RuntimeError(f"could not log {USER} in")
    await tab.navigate(target.cheap_page)
    phases: dict[str, list[float]] = {}
    errors: dict[str, int] = {}

    async def clicks(name: str, seconds: float) -> None:
        phases[name], errors[name] = [], 0
        end, i = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                await target.cheap(tab, i)
            except EventError:
                errors[name] += 1
            phases[name].append(time.perf_counter() - t0)
            i += 1
            await asyncio.sleep(0.1)

    floods: dict[str, dict] = {}
    with LoopLag() as lag:
        log(f"\nquiet: the user clicks every 0.1 s for {args.quiet_seconds:g} s")
        await clicks("quiet", args.quiet_seconds)
        for name, many in (("one_address", False), ("many_addresses", True)):
            await settle(target)
            log(f"flood ({name.replace('_', ' ')}): {args.flooders} sockets of wrong passwords for "
                f"{args.flood_seconds:g} s while the user clicks")
            stats: dict[str, Any] = {}
            cpu0, t0 = target.server.cpu_seconds(), time.perf_counter()
            flooding = asyncio.get_running_loop().create_task(
                flood(target, flooders=args.flooders, seconds=args.flood_seconds, many_addresses=many, victim=victim,
                      stats=stats))
            await asyncio.sleep(1.0)  # the flood under way
            await clicks(name, args.flood_seconds - 1.0)
            await flooding
            wall = time.perf_counter() - t0
            attempts = sum(stats.get(k, 0) for k in ("wrong", "throttled", "other", "no_answer"))
            floods[name] = {"attempts": attempts, "attempts_per_s": round(attempts / wall, 1),
                            **{k: stats.get(k, 0) for k in ("wrong", "throttled", "other", "no_answer")},
                            "attempt_answer": summary(stats.get("seconds", [])),
                            "backend_cpu_pct": round(100 * (target.server.cpu_seconds() - cpu0) / wall, 1)}
    await tab.close()

    quiet = summary(phases["quiet"], errors["quiet"])
    results["quiet"] = quiet
    log(f"\n  quiet              {fmt(quiet)}")
    for name, f in floods.items():
        s = summary(phases[name], errors[name])
        s["ratio_p50_to_quiet"] = ratio(s["p50"], quiet["p50"])
        s["ratio_p95_to_quiet_p95"] = ratio(s["p95"], quiet["p95"])
        results[name] = {"user": s, "flood": f}
        log(f"  {name:18} {fmt(s)}")
        log(f"  {'':18} p50 ratio to quiet {s['ratio_p50_to_quiet']} (target ≤ {args.target}), p95 ratio "
            f"{s['ratio_p95_to_quiet_p95']}; flood: {f['attempts']} attempts ({f['attempts_per_s']}/s): "
            f"{f['wrong']} wrong password, {f['throttled']} too many attempts, {f['other']} other, "
            f"{f['no_answer']} unanswered; answer {fmt(f['attempt_answer'])}; backend CPU {f['backend_cpu_pct']}%")
    results["bench"] = lag.report()
    results["target_p50_ratio"] = args.target
    results["pass"] = all(results[n]["user"]["ratio_p50_to_quiet"] is not None
                          and results[n]["user"]["ratio_p50_to_quiet"] <= args.target for n in floods)
    failures = app.server.log_failures()
    results["backend_log_failures"] = failures[:5]
    log(f"\n  [{'PASS' if results['pass'] else 'FAIL'}] the user's p50 during each flood ≤ {args.target}× quiet; "
        f"backend log errors: {len(failures)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app is measured (default: this one)")
    ap.add_argument("--flooders", type=int, default=16, help="sockets sending wrong passwords (default 16)")
    ap.add_argument("--flood-seconds", type=float, default=20.0, help="length of each flood phase, s (default 20)")
    ap.add_argument("--quiet-seconds", type=float, default=10.0, help="quiet measurement, s (default 10)")
    ap.add_argument("--target", type=float, default=2.0, help="the p50 ratio to pass (default 2)")
    ap.add_argument("--start-timeout", type=float, default=900.0, help="build + start of the app, s")
    args = ap.parse_args()
    args.app_dir = args.app_dir.resolve()
    if args.flooders < 1 or args.flood_seconds < 3 or args.quiet_seconds < 1:
        ap.error("--flooders ≥ 1, --flood-seconds ≥ 3, --quiet-seconds ≥ 1")
    logdir = ROOT / "bench-output" / f"login-flood-{datetime.now():%Y%m%d-%H%M%S}"
    logdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bnpl-flood-"))
    results: dict[str, Any] = {}
    log(f"login flood bench: app {args.app_dir} ({git_rev(args.app_dir)}); logs in {logdir}")
    code = run_reported(run_guarded(args, workdir, logdir, results, measure), results,
                        cleanup=lambda: shutil.rmtree(workdir, ignore_errors=True))
    code = code or (0 if results.get("pass") else 1)
    results["logs"] = str(logdir)
    print(json.dumps(results, ensure_ascii=False, separators=(",", ":"), default=str), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
