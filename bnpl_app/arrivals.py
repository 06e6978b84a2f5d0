"""New tabs set up a few at a time, so that a crowd arriving at once never stalls the tabs already open.

A tab's arrival is a websocket to ``/_event``: the handshakes, Reflex's connect, then the hydrate
that builds the tab's states and sends them. Each is a few milliseconds of the one event loop, cut
into many small steps. With 200 at once (a log-in burst, every tab reconnecting after a restart),
the loop's queue holds hundreds of those steps, and a click from a tab already open waits behind
all of them at each of its own steps: half a second and more, measured (bench/load.py (d)).

This ASGI middleware (an ``api_transformer``) lets at most ``runtime.tab_arrivals()`` of them
through at once per backend process. The others wait, parked, before their handshake: nothing of
theirs is in the loop's queue. A tab's place frees when the server sends it its first event (the
hydrate's snapshot), when its socket ends, or after ``HOLD_S`` whatever it does, so a socket that
connects and then says nothing cannot keep a place. HTTP requests and every later message of an
open tab pass untouched."""

from __future__ import annotations

import asyncio
import logging

from reflex.constants import Endpoint

from . import runtime

log = logging.getLogger("bnpl.arrivals")

HOLD_S = 2.0  # the longest one arrival keeps its place
_PATH = str(Endpoint.EVENT)  # "/_event"
# Engine.IO message (4) carrying a Socket.IO event (2): the first thing the server sends that is not
# part of a handshake. Reflex's namespace may follow ("42/_event,[...]").
_FIRST_EVENT = "42"


def admit_tabs(app):
    """ASGI middleware: websockets to ``/_event`` wait for one of ``runtime.tab_arrivals()`` places."""
    places: asyncio.Semaphore | None = None  # made in the serving loop, on the first arrival

    async def gated(scope, receive, send):
        nonlocal places
        if scope["type"] != "websocket" or not scope.get("path", "").rstrip("/").endswith(_PATH):
            return await app(scope, receive, send)
        if places is None:
            places = asyncio.Semaphore(runtime.tab_arrivals())
        await places.acquire()
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                places.release()

        timer = asyncio.get_running_loop().call_later(HOLD_S, leave)

        async def watched(message):
            if held and message.get("type") == "websocket.send" and (message.get("text") or "").startswith(_FIRST_EVENT):
                leave()
            await send(message)

        try:
            return await app(scope, receive, watched)
        finally:
            timer.cancel()
            leave()

    return gated
