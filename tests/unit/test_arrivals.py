"""New tabs are set up a few at a time (``arrivals.admit_tabs``): a websocket to ``/_event`` takes
one of ``runtime.tab_arrivals()`` places when its first message comes (the app reads it only then),
and the place frees when the app sends its first event, when the socket ends, or after ``HOLD_S``.
A socket that says nothing takes no place; HTTP and other paths are never held. What it is for — a
click's latency during a crowd of arrivals — is measured by bench/load.py (d)."""

from __future__ import annotations

import asyncio

import pytest

from bnpl_app import arrivals

CONNECT = {"type": "websocket.receive", "text": '40/_event,{"token":"t"}'}  # carries the hydrate


class Inner:
    """Stands for Reflex's socket app: reads the first message, records who got it (``entered``),
    sends what the test scripts for that socket, then stays open until told to end."""

    def __init__(self):
        self.entered: list[str] = []
        self.arrived = asyncio.Event()
        self.go: dict[str, asyncio.Event] = {}
        self.script: dict[str, list[str]] = {}

    async def __call__(self, scope, receive, send):
        name = scope["name"]
        await receive()
        self.entered.append(name)
        self.arrived.set()
        for text in self.script.get(name, []):
            await send({"type": "websocket.send", "text": text})
        await self.end(name).wait()

    def end(self, name: str) -> asyncio.Event:
        return self.go.setdefault(name, asyncio.Event())


def _socket(name: str, path: str = "/_event/") -> dict:
    return {"type": "websocket", "path": path, "name": name}


async def _talks():
    return CONNECT


async def _silent():
    await asyncio.Event().wait()  # never says anything


async def _sent(message):
    return None


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _next_arrival(inner: Inner) -> None:
    inner.arrived.clear()
    await asyncio.wait_for(inner.arrived.wait(), 5)


def _run(places: int, body, monkeypatch) -> None:
    monkeypatch.setenv("BNPL_TAB_ARRIVALS", str(places))
    asyncio.run(asyncio.wait_for(body(), 10))


def test_beyond_the_places_a_tab_waits_until_a_place_frees(monkeypatch):
    async def body():
        inner = Inner()
        inner.script = {"a": ['0{"sid":"x"}', '40/_event,{"sid":"y"}']}  # handshakes, no event yet
        gate = arrivals.admit_tabs(inner)
        tasks = [asyncio.create_task(gate(_socket(n), _talks, _sent)) for n in "abc"]
        await _settle()
        assert inner.entered == ["a", "b"]  # "a" was sent handshakes, not an event: it keeps its place
        waiting = _next_arrival(inner)
        inner.end("a").set()  # "a" ends: its place goes to "c"
        await waiting
        assert inner.entered == ["a", "b", "c"]
        for n in "bc":
            inner.end(n).set()
        await asyncio.gather(*tasks)

    _run(2, body, monkeypatch)


def test_the_first_event_sent_frees_the_place(monkeypatch):
    async def body():
        inner = Inner()
        inner.script = {"a": ["0{}", "40/_event,{}", '42/_event,["event",{"delta":{}}]']}
        gate = arrivals.admit_tabs(inner)
        ta = asyncio.create_task(gate(_socket("a"), _talks, _sent))
        await _settle()
        tb = asyncio.create_task(gate(_socket("b"), _talks, _sent))
        await _settle()
        assert inner.entered == ["a", "b"]  # "a" is still open, but was sent its first event
        inner.end("a").set()
        inner.end("b").set()
        await asyncio.gather(ta, tb)

    _run(1, body, monkeypatch)


def test_a_socket_that_says_nothing_takes_no_place(monkeypatch):
    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        idle = [asyncio.create_task(gate(_socket(f"idle{i}"), _silent, _sent)) for i in range(5)]
        await _settle()
        tab = asyncio.create_task(gate(_socket("tab"), _talks, _sent))
        await asyncio.wait_for(inner.arrived.wait(), 5)
        assert inner.entered == ["tab"]  # five silent sockets open, and the tab got in at once
        inner.end("tab").set()
        await tab
        for t in idle:
            t.cancel()
        await asyncio.gather(*idle, return_exceptions=True)

    _run(1, body, monkeypatch)


def test_a_place_is_kept_no_longer_than_the_hold(monkeypatch):
    monkeypatch.setattr(arrivals, "HOLD_S", 0.05)

    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        ta = asyncio.create_task(gate(_socket("a"), _talks, _sent))
        await _settle()
        waiting = _next_arrival(inner)
        tb = asyncio.create_task(gate(_socket("b"), _talks, _sent))
        await waiting  # after the hold, while "a" is still open and was sent nothing
        assert inner.entered == ["a", "b"] and not ta.done()
        inner.end("a").set()
        inner.end("b").set()
        await asyncio.gather(ta, tb)

    _run(1, body, monkeypatch)


def test_a_tab_that_leaves_while_waiting_frees_nothing_it_did_not_hold(monkeypatch):
    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        ta = asyncio.create_task(gate(_socket("a"), _talks, _sent))
        await _settle()
        tb = asyncio.create_task(gate(_socket("b"), _talks, _sent))  # waits for "a"'s place
        await _settle()
        tb.cancel()  # the browser went away
        await asyncio.gather(tb, return_exceptions=True)
        tc = asyncio.create_task(gate(_socket("c"), _talks, _sent))
        await _settle()
        assert inner.entered == ["a"]  # the one place is still "a"'s
        waiting = _next_arrival(inner)
        inner.end("a").set()
        await waiting
        assert inner.entered == ["a", "c"]
        inner.end("c").set()
        await asyncio.gather(ta, tc)

    _run(1, body, monkeypatch)


@pytest.mark.parametrize("scope", [{"type": "http", "path": "/_event/", "name": "h"},
                                   {"type": "websocket", "path": "/elsewhere", "name": "w"},
                                   {"type": "lifespan", "name": "l"}])
def test_everything_else_passes_untouched(monkeypatch, scope):
    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        held = asyncio.create_task(gate(_socket("a"), _talks, _sent))
        await _settle()
        other = asyncio.create_task(gate(scope, _talks, _sent))
        await _settle()
        assert inner.entered == ["a", scope["name"]]
        for n in ("a", scope["name"]):
            inner.end(n).set()
        await asyncio.gather(held, other)

    _run(1, body, monkeypatch)


def test_the_number_of_places_is_configured_and_bounded(monkeypatch):
    from bnpl_app import runtime

    for value, want in (("8", 8), ("0", 1), ("-3", 1), ("5000", 1000), ("many", 8)):
        monkeypatch.setenv("BNPL_TAB_ARRIVALS", value)
        assert runtime.tab_arrivals() == want
    monkeypatch.delenv("BNPL_TAB_ARRIVALS")
    assert runtime.tab_arrivals() == 8
