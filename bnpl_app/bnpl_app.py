"""The Reflex app: its pages (each loaded, and guarded, by one on_load event) come from the one table in
``pages/registry.py``.
Tasks that live as long as each backend process: the listener that pushes changes to open tabs
(``live.py``), unless BNPL_INPROCESS_SWEEP=0 the sweep on an interval, and with Redis the pruning
of the per-tab locks Reflex keeps (``state/leases.py``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import reflex as rx

from . import arrivals, auth_api, files_api, live, runtime
from .pages.registry import add_pages
from .state import leases, parking
from .state.session import TabBinding
from .state.setvar import guard_setvar
from .words import LANG_TAGS, LANGS

log = logging.getLogger("bnpl.app")

GC_YOUNGEST = 10_000  # see _live_updates


async def _sweep_loop():
    """The embedded default: the same sweep the worker runs, inside the app process."""
    if not runtime.inprocess_sweep_enabled():
        return
    stop = threading.Event()
    try:
        await asyncio.to_thread(runtime.sweep_forever, stop)
    finally:
        stop.set()


async def _live_updates():
    """This process's listener on the change feed: pushes ``refresh`` to the tabs a change concerns.
    First, the threads that run every handler's database work (``asyncio.to_thread``)."""
    from concurrent.futures import ThreadPoolExecutor

    from reflex.event import Event

    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=runtime.db_threads(), thread_name_prefix="bnpl-db"))
    # Everything the process has built by now (Reflex's compiled app, every module, the state
    # classes) lives as long as the process: out of the cyclic collector's sight, so a full
    # collection — which stops the event loop, every tab's events — no longer walks it.
    gc.collect()
    gc.freeze()
    # The youngest generation is collected after 10,000 new objects, not 700: under load each
    # event's objects (coroutines, frames, dicts) mostly die before that, instead of being moved to
    # older generations whose growth sets off full collections. Measured on (a)+(b) of
    # bench/load.py: total collection time 554–712 → 197–245 ms, full collections 6 → 0.
    gc.set_threshold(GC_YOUNGEST, 10, 10)

    from .state.session import SessionState

    await live.listen(lambda: Event.from_event_type(SessionState.refresh))


# theme: rxconfig.py, with readable colours in assets/theme.css; files_api: /files/ with access checks,
# and the upload door bounded (size, handlers that take files) before Reflex reads a byte of it;
# auth_api: log-in, sign-up and log-out over HTTP, the only code that sets the HttpOnly session cookie
# html_lang: the default language's tag (the layout's box gives the one a tab chose).
# arrivals: a crowd of new tabs set up a few at a time, ahead of nobody's clicks.
app = rx.App(api_transformer=[files_api.api, auth_api.api, files_api.bounded_uploads, arrivals.admit_tabs],
             stylesheets=["/theme.css"],
             html_lang=LANG_TAGS[LANGS[0]])
# Every event: a tab whose events come with another session cookie than before is wiped first.
app.add_middleware(TabBinding())
add_pages(app)
guard_setvar()  # after every state class exists: Reflex's setvar refuses a name with no setter quietly
live.bind(app)
parking.install(app)  # tab states at rest as bytes, not objects the garbage collector walks
app.register_lifespan_task(_sweep_loop)
app.register_lifespan_task(_live_updates)
app.register_lifespan_task(leases.pruning)  # with Redis: the per-tab locks Reflex would keep forever
