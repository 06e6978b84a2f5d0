"""The Reflex app: every page is registered here, each with its guard and loader in on_load.
In demo mode (and unless BNPL_INPROCESS_SWEEP=0) the app also runs the sweep on an interval."""

from __future__ import annotations

import asyncio
import logging
import threading

import reflex as rx

from . import files_api, runtime
from .pages import account_pages, auth_pages, merchant_pages, ops_pages, order_pages, shop_pages

log = logging.getLogger("bnpl.app")


async def _sweep_loop():
    """The embedded default: the same sweep the worker runs, inside the app process."""
    if not runtime.inprocess_sweep_enabled():
        return
    stop = threading.Event()
    try:
        await asyncio.to_thread(runtime.sweep_forever, stop)
    finally:
        stop.set()


app = rx.App(api_transformer=files_api.api)  # theme: rxconfig.py; files_api: /files/ with access checks
for area in (auth_pages, shop_pages, order_pages, account_pages, merchant_pages, ops_pages):
    area.register(app)
app.register_lifespan_task(_sweep_loop)
