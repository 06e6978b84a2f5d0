"""Sockets that open and then say nothing cannot keep new tabs out. New tabs are set up a few at
a time (``arrivals.py``), and a tab takes its place only with its first message, the CONNECT that
carries the hydrate. Many times ``BNPL_TAB_ARRIVALS`` silent websockets are held open, and a new
tab is still set up at once. If a silent socket held a place, the tab would wait behind them until
their hold ran out (``arrivals.HOLD_S`` each, eight at a time)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bnpl_app import arrivals, runtime
from bnpl_app.state.shop import CatalogState

SILENT = 4 * runtime.tab_arrivals()


def test_silent_sockets_do_not_keep_a_new_tab_waiting(attacker, app_server):
    async def attack():
        url = app_server.replace("http", "ws", 1) + "/_event/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http:
            silent = [await http.ws_connect(url, headers={"Origin": app_server}) for _ in range(SILENT)]
            try:
                # Each was answered with Engine.IO's open packet, and says nothing after it.
                opened = await asyncio.gather(*(ws.receive_str(timeout=30) for ws in silent))
                assert all(text.startswith("0{") for text in opened), opened[:3]
                started = time.monotonic()
                tab = await attacker.anonymous("/")
                took = time.monotonic() - started
                assert tab.hydrated and tab.get(CatalogState, "products"), "the new tab was not set up"
                assert took < arrivals.HOLD_S, f"the new tab waited {took:.1f} s behind {SILENT} silent sockets"
                assert not any(ws.closed for ws in silent)  # they were all still there, holding nothing
            finally:
                await asyncio.gather(*(ws.close() for ws in silent), return_exceptions=True)

    attacker.run(attack())
