"""The "other user" of ``bench/load.py``'s log-in burst (d), in a process of its own.

The burst's 200 tabs live in the bench's process; had this user's tab shared that process's event
loop, every time the burst's tabs kept the loop busy (parsing 200 hydrations) would have been
billed to the server as this user's latency. Here the user has a loop and a core-share of its own,
as another shopper's browser would.

Run by ``load.py`` with one JSON argument (see ``Spec``); it connects, logs in (when given a user),
prints ``ready``, then sends the cheap event every 0.1 s — each waits for its answer — until a line
arrives on stdin, and prints one JSON line: ``[[monotonic start, seconds, ok], …]``. The parent
splits the samples into before / during the burst by ``time.monotonic()`` (one clock for every
process of the machine)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reflex_client import BuildInfo, EventError, ReflexClient  # noqa: E402


class Spec(TypedDict):
    url: str
    web_dir: str
    start: str  # the page the tab opens first
    user: str | None  # logged in with ``password`` when given
    password: str
    page: str  # where it clicks
    event: str  # the cheap event's wire name
    state: str  # the state whose var the event changes
    var: str
    values: list  # app: toggles between these; blank (empty): any change of ``var`` completes it
    fail_state: str | None
    fail_var: str | None
    fail_value: str | None


async def main(spec: Spec) -> None:
    tab = ReflexClient(spec["url"], build=BuildInfo.from_web_dir(Path(spec["web_dir"])), periodic=True, timeout=60.0)
    fail = (ReflexClient.changed(spec["fail_state"], spec["fail_var"], spec["fail_value"])
            if spec["fail_state"] else None)
    await tab.open(spec["start"])
    if spec["user"]:
        await tab.log_in(spec["user"], spec["password"])
        await tab.navigate(spec["page"])
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    samples: list[tuple[float, float, bool]] = []
    while not stop.is_set():
        if spec["values"]:
            current = tab.get(spec["state"], spec["var"], spec["values"][0])
            value = next(v for v in spec["values"] if v != current)
            payload, until = {spec["var"]: value}, tab.changed(spec["state"], spec["var"], value)
        else:
            payload, until = {}, tab.changed(spec["state"], spec["var"])
        t0 = time.monotonic()
        try:
            await tab.call(spec["event"], payload, until=until, fail=fail)
            ok = True
        except EventError:
            ok = False  # counted, at the time it took to fail
        samples.append((t0, time.monotonic() - t0, ok))
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass
    await tab.close()
    print(json.dumps(samples), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
