"""Driving Reflex states under pytest the way a connected tab drives them (STYLE rule 9): a state
tree on the test database and clock, handlers awaited on a loop of their own."""

from __future__ import annotations

import asyncio
import concurrent.futures

from bnpl_app.services import auth


def run(coro):
    """A handler's coroutine on a loop of its own (Playwright may leave one on the main thread)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class _Wall:
    def now(self):
        from bnpl_app import runtime

        return runtime.WALL.now()


def make_tab(world, monkeypatch):
    """A factory of state trees on ``world`` (the ``tab`` fixture): ``make(uid)`` → (root, session)."""
    from bnpl_app import runtime

    monkeypatch.setattr(runtime, "engine", lambda: world.engine)
    monkeypatch.setattr(runtime, "clock", lambda: world.clock)
    monkeypatch.setattr(runtime, "demo_mode", lambda: True)

    def make(uid: int | None = None):
        from bnpl_app.state import account as _a, merchant as _m, ops as _o, orders as _r, shop as _s  # noqa: F401
        from bnpl_app.state.session import SessionState

        root = SessionState.get_root_state()(_reflex_internal_init=True)
        sess = run(root.get_state(SessionState))
        if uid is not None:
            login(world, sess, uid)
        return root, sess

    return make


def login(world, sess, uid: int) -> None:
    with world.tx() as s:
        sess.token = auth.start_session(s, user=s.get(auth.User, uid), clock=_Wall())
    run(sess._actor())  # what the page's guard does first
