"""Tab states at rest are parked as bytes (``state/parking.py``): a parked tree comes back as it was
(values, links, handlers), a busy or recently used one is never parked, an open tab waits longer
than a closed one, the garbage collector no longer sees a parked tree, and expiry still drops it."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest
from helpers import run

from bnpl_app.state import parking
from bnpl_app.state.parking import Parked, ParkingStateManager


def _in_context(coro):
    """``run`` with this thread's context variables (Reflex's registry of state classes among them),
    which a new state tree made inside the coroutine needs."""
    import concurrent.futures
    import contextvars

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coro).result()


def _manager(**kw) -> ParkingStateManager:
    return ParkingStateManager(token_expiration=1800, **kw)


def _token(ident: str):
    from reflex.istate.manager.token import BaseStateToken

    from bnpl_app.state.session import SessionState

    return BaseStateToken(ident=ident, cls=SessionState.get_root_state())


def _tree_dicts(root) -> dict[str, dict]:
    """Every state of the tree by full name: each of its own fields, those the browser gets and the
    backend ones (what the next event reads)."""
    return {state.get_full_name(): {name: getattr(state, name) for name, f in type(state).__fields__.items()
                                    if f._owner is type(state)}
            for state in parking._tree(root)}


def test_a_parked_tab_comes_back_with_every_value_link_and_handler_as_it_was(world, tab):
    from bnpl_app.state.shop import CartState, CatalogState, ProductState

    m = world.merchant()
    pid = world.product(m, price_fen=29_900)
    uid = world.shopper()
    t, product = tab.open(uid, ProductState, path=f"/product/{pid}")
    run(t.state(CatalogState).load())
    product.choose_plan("3")
    before = _tree_dicts(t.root)
    assert before[ProductState.get_full_name()]["plan"] == "3"

    parked = parking.park(t.root)
    assert isinstance(parked, bytes)
    root = parking.wake(parked)

    assert root is not t.root and _tree_dicts(root) == before
    for state in parking._tree(root):
        for name, sub in state.substates.items():
            assert sub.parent_state is state and type(sub).get_name() == name
    assert {type(s) for s in parking._tree(root)} == {type(s) for s in parking._tree(t.root)}
    # the woken tree serves the next event: the shopper buys on the plan chosen before
    woken = run(root.get_state(ProductState))
    assert woken.plan == "3"
    run(woken.buy_bnpl())
    assert run(root.get_state(CartState))._lines


async def _put(manager: ParkingStateManager, ident: str, plan: str):
    from bnpl_app.state.shop import ProductState

    async with manager.modify_state(_token(ident)) as root:
        (await root.get_state(ProductState)).plan = plan


async def _plan(manager: ParkingStateManager, ident: str) -> str:
    from bnpl_app.state.shop import ProductState

    async with manager.modify_state(_token(ident)) as root:
        return (await root.get_state(ProductState)).plan


def test_an_open_tab_is_parked_after_a_minute_without_events_a_closed_one_after_two_seconds():
    async def go():
        closed = {"gone"}
        m = _manager(is_open=lambda token: token not in closed)
        await _put(m, "open", "3")
        await _put(m, "gone", "6")
        now = time.monotonic()
        assert m.park_idle(now + 1) == 0  # both used a moment ago
        assert m.park_idle(now + 3) == 1  # the closed one
        assert isinstance(m.states["gone"], Parked) and not isinstance(m.states["open"], Parked)
        assert m.park_idle(now + 30) == 0
        assert m.park_idle(now + m.park_after + 1) == 1  # the open one, idle for a minute
        assert isinstance(m.states["open"], Parked)
        # the next event of either tab finds what it left
        assert await _plan(m, "open") == "3" and await _plan(m, "gone") == "6"
        assert not isinstance(m.states["open"], Parked) and not isinstance(m.states["gone"], Parked)
        await m.close()

    _in_context(go())


def test_a_tab_whose_event_is_running_is_never_parked_and_an_event_makes_it_young_again():
    async def go():
        m = _manager(is_open=lambda token: False)
        await _put(m, "busy", "3")
        async with m.modify_state(_token("busy")):
            assert m.park_idle(time.monotonic() + 3600) == 0  # its lock is held
            assert not isinstance(m.states["busy"], Parked)
        assert m.park_idle(time.monotonic() + 1) == 0  # the event just ended
        assert m.park_idle(time.monotonic() + 3) == 1
        await m.close()

    _in_context(go())


def test_the_manager_parks_by_itself_once_the_tab_is_quiet():
    async def go():
        m = _manager(is_open=lambda token: True, park_after=0.1)
        await _put(m, "quiet", "3")
        deadline = time.monotonic() + 10
        while not isinstance(m.states.get("quiet"), Parked) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the condition waited on: the parking task's work
        assert isinstance(m.states["quiet"], Parked)
        assert not m._awake  # nothing awake: the task stops, an idle server does nothing
        await asyncio.sleep(0)
        assert m._park_task is None or m._park_task.done()
        assert await _plan(m, "quiet") == "3"
        await m.close()

    _in_context(go())


def test_the_garbage_collector_no_longer_walks_a_parked_tree_and_it_weighs_a_fraction(world, tab):
    """The promise behind parking: a full collection's work grows with the tabs in use, not with
    every tab kept for BNPL_STATE_TTL."""
    from bnpl_app.state.account import BillsState, InboxState
    from bnpl_app.state.shop import CatalogState

    world.product(world.merchant())
    uid = world.shopper()

    async def go():
        m = _manager(is_open=lambda token: False)
        router = tab(uid).root.router  # a logged-in tab's connection

        async def open_tabs(names):
            for name in names:
                async with m.modify_state(_token(name)) as root:
                    root.router = router
                    root.dict()  # what a tab's hydration reads: every field
                    for cls in (CatalogState, BillsState, InboxState):
                        await (await root.get_state(cls)).load()

        await open_tabs(["warm-up"])  # what the first tab builds once (query caches), before counting
        m.park_idle(time.monotonic() + 3)
        gc.collect()
        base = len(gc.get_objects())
        await open_tabs([f"t{i}" for i in range(40)])
        gc.collect()
        awake = len(gc.get_objects()) - base
        assert m.park_idle(time.monotonic() + 3) == 40
        gc.collect()
        parked = len(gc.get_objects()) - base
        sizes = [len(p) for p in m.states.values()]
        await m.close()
        return awake, parked, sizes

    awake, parked, sizes = _in_context(go())
    assert awake > 40 * 200  # each awake tree is hundreds of tracked objects
    assert parked < awake * 0.05, (awake, parked)
    assert max(sizes) < 40_000


def test_an_expired_tab_is_dropped_parked_or_not():
    async def go():
        m = _manager(is_open=lambda token: False)
        await _put(m, "old", "3")
        m.park_idle(time.monotonic() + 3)
        assert isinstance(m.states["old"], Parked)
        m._purge_token(_token("old"))
        assert "old" not in m.states and "old" not in m._awake
        await m.close()

    _in_context(go())


def test_a_tree_that_cannot_be_pickled_stays_awake_and_says_so_once(monkeypatch, caplog):
    def refuse(root):
        raise TypeError("cannot pickle 'generator' object")

    async def go():
        m = _manager(is_open=lambda token: False)
        await _put(m, "a", "3")
        await _put(m, "b", "6")
        monkeypatch.setattr(parking, "park", refuse)
        with caplog.at_level(logging.WARNING, logger="bnpl.parking"):
            assert m.park_idle(time.monotonic() + 3) == 0
        assert await _plan(m, "a") == "3" and await _plan(m, "b") == "6"
        await m.close()

    _in_context(go())
    assert len([r for r in caplog.records if "could not be parked" in r.getMessage()]) == 1


@pytest.mark.parametrize("mode", ["memory", "redis"])
def test_the_app_parks_only_what_reflex_would_keep_in_memory(mode, monkeypatch):
    from reflex.istate.manager.memory import StateManagerMemory

    class App:
        _state_manager = StateManagerMemory(token_expiration=77) if mode == "memory" else object()

    app = App()
    before = app._state_manager
    parking.install(app)
    if mode == "memory":
        assert isinstance(app._state_manager, ParkingStateManager) and app._state_manager.token_expiration == 77
    else:
        assert app._state_manager is before
