"""New tabs are set up a few at a time (``arrivals.admit_tabs``): websockets to ``/_event`` beyond
``runtime.tab_arrivals()`` wait before reaching the app, and a place frees when the app sends its
first event, when the socket ends, or after ``HOLD_S``; HTTP and other paths are never held.
What it is for — a click's latency during a crowd of arrivals — is measured by bench/load.py (d)."""

from __future__ import annotations

import asyncio

import pytest

from bnpl_app import arrivals


class Inner:
    """Stands for Reflex's socket app: records who entered; each socket does what its test says."""

    def __init__(self):
        self.entered: list[str] = []
        self.arrived = asyncio.Event()
        self.go: dict[str, asyncio.Event] = {}
        self.script: dict[str, list[str]] = {}

    async def __call__(self, scope, receive, send):
        name = scope["name"]
        self.entered.append(name)
        self.arrived.set()
        for text in self.script.get(name, []):
            await send({"type": "websocket.send", "text": text})
        await self.go.setdefault(name, asyncio.Event()).wait()


def _socket(name: str, path: str = "/_event/") -> dict:
    return {"type": "websocket", "path": path, "name": name}


async def _nothing(message=None):
    return None


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _run(places: int, body, monkeypatch) -> None:
    monkeypatch.setenv("BNPL_TAB_ARRIVALS", str(places))
    asyncio.run(asyncio.wait_for(body(), 10))


def test_beyond_the_places_a_tab_waits_until_a_place_frees(monkeypatch):
    async def body():
        inner = Inner()
        inner.script = {"a": ["0{\"sid\":\"x\"}", "40/_event,{\"sid\":\"y\"}"]}  # handshakes only
        gate = arrivals.admit_tabs(inner)
        tasks = [asyncio.create_task(gate(_socket(n), _nothing, _nothing)) for n in "abc"]
        await _settle()
        assert inner.entered == ["a", "b"]  # "a" was sent handshakes, not an event: it keeps its place
        inner.arrived.clear()
        inner.go["a"].set()  # "a" ends: its place goes to "c"
        await asyncio.wait_for(inner.arrived.wait(), 5)
        assert inner.entered == ["a", "b", "c"]
        for n in "bc":
            inner.go.setdefault(n, asyncio.Event()).set()
        await asyncio.gather(*tasks)

    _run(2, body, monkeypatch)


def test_the_first_event_sent_frees_the_place(monkeypatch):
    async def body():
        inner = Inner()
        inner.script = {"a": ["0{}", "40/_event,{}", "42/_event,[\"event\",{\"delta\":{}}]"]}
        gate = arrivals.admit_tabs(inner)
        ta = asyncio.create_task(gate(_socket("a"), _nothing, _nothing))
        await _settle()
        tb = asyncio.create_task(gate(_socket("b"), _nothing, _nothing))
        await _settle()
        assert inner.entered == ["a", "b"]  # "a" is still open, but was sent its first event
        inner.go["a"].set()
        inner.go.setdefault("b", asyncio.Event()).set()
        await asyncio.gather(ta, tb)

    _run(1, body, monkeypatch)


def test_a_silent_socket_keeps_its_place_no_longer_than_the_hold(monkeypatch):
    monkeypatch.setattr(arrivals, "HOLD_S", 0.05)

    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        ta = asyncio.create_task(gate(_socket("a"), _nothing, _nothing))
        await _settle()
        inner.arrived.clear()
        tb = asyncio.create_task(gate(_socket("b"), _nothing, _nothing))
        await asyncio.wait_for(inner.arrived.wait(), 5)  # after the hold, not after "a" ends
        assert inner.entered == ["a", "b"] and not ta.done()
        for n in "ab":
            inner.go.setdefault(n, asyncio.Event()).set()
        await asyncio.gather(ta, tb)

    _run(1, body, monkeypatch)


@pytest.mark.parametrize("scope", [{"type": "http", "path": "/_event/", "name": "h"},
                                   {"type": "websocket", "path": "/elsewhere", "name": "w"},
                                   {"type": "lifespan", "name": "l"}])
def test_everything_else_passes_untouched(monkeypatch, scope):
    async def body():
        inner = Inner()
        gate = arrivals.admit_tabs(inner)
        held = asyncio.create_task(gate(_socket("a"), _nothing, _nothing))
        await _settle()
        other = asyncio.create_task(gate(scope, _nothing, _nothing))
        await _settle()
        assert inner.entered == ["a", scope["name"]]
        for n in ("a", scope["name"]):
            inner.go.setdefault(n, asyncio.Event()).set()
        await asyncio.gather(held, other)

    _run(1, body, monkeypatch)


def test_the_number_of_places_is_configured_and_bounded(monkeypatch):
    from bnpl_app import runtime

    for value, want in (("8", 8), ("0", 1), ("-3", 1), ("5000", 1000), ("many", 8)):
        monkeypatch.setenv("BNPL_TAB_ARRIVALS", value)
        assert runtime.tab_arrivals() == want
    monkeypatch.delenv("BNPL_TAB_ARRIVALS")
    assert runtime.tab_arrivals() == 8
