"""New tabs set up a few at a time, so that a crowd arriving at once never stalls the tabs already open.

A tab's arrival is a websocket to ``/_event``: the handshakes, then the hydrate that Reflex's
client sends with its Socket.IO CONNECT, which builds the tab's states and sends them. Each is a
few milliseconds of the one event loop, cut into many small steps. With 200 at once (a log-in
burst, every tab reconnecting after a restart), the loop's queue holds hundreds of those steps, and
a click from a tab already open waits behind all of them at each of its own steps: half a second
and more, measured (bench/load.py (d)).

This ASGI middleware (an ``api_transformer``) lets at most ``runtime.tab_arrivals()`` of them be
set up at once per backend process. A socket takes a place when its first message arrives (the
CONNECT carrying the hydrate: the work), and the app reads that message only then; the others wait,
parked, with nothing of theirs in the loop's queue. A place frees when the server sends the tab its
first event (the hydrate's snapshot), when the socket ends, or ``HOLD_S`` after it was taken. A
socket that opens and says nothing never takes a place, so idle sockets cannot keep tabs out. HTTP
requests and every later message of an open tab pass untouched."""

from __future__ import annotations

import asyncio

from reflex.constants import Endpoint

from . import runtime

HOLD_S = 2.0  # the longest one arrival keeps its place
_PATH = str(Endpoint.EVENT)  # "/_event"
# Engine.IO message (4) carrying a Socket.IO event (2): the first thing the server sends that is not
# part of a handshake. Reflex's namespace may follow ("42/_event,[...]").
_FIRST_EVENT = "42"


def admit_tabs(app):
    """ASGI middleware: a websocket to ``/_event`` waits for one of ``runtime.tab_arrivals()`` places
    before the app reads its first message."""
    places: asyncio.Semaphore | None = None  # made in the serving loop, on the first arrival

    async def gated(scope, receive, send):
        nonlocal places
        if scope["type"] != "websocket" or not scope.get("path", "").rstrip("/").endswith(_PATH):
            return await app(scope, receive, send)
        if places is None:
            places = asyncio.Semaphore(runtime.tab_arrivals())
        asked = held = False
        timer: asyncio.TimerHandle | None = None

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                places.release()
                if timer is not None:
                    timer.cancel()

        async def admitted():
            nonlocal asked, held, timer
            message = await receive()
            if not asked and message.get("type") == "websocket.receive":
                asked = True
                await places.acquire()
                held = True
                timer = asyncio.get_running_loop().call_later(HOLD_S, leave)
            return message

        async def watched(message):
            if held and message.get("type") == "websocket.send" and (message.get("text") or "").startswith(_FIRST_EVENT):
                leave()
            await send(message)

        try:
            return await app(scope, admitted, watched)
        finally:
            leave()

    return gated
