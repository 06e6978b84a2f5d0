"""What the security tier's attacks are made of: sockets (anonymous, or logged in with a demo
password through the HTTP log-in endpoint, the session cookie then in the socket's handshake), the
toast an event answers with, a round trip that proves the socket lives, and ``Unchanged`` (every
row of every table as it was)."""

from __future__ import annotations

import asyncio
import inspect

import sqlalchemy as sa
from deploy import ARTIFACTS
from helpers import snapshot

from bench.reflex_client import BuildInfo, ReflexClient, event_name
from bnpl_app.jobs.seed import DEMO_PASSWORD
from bnpl_app.models import MERCHANT, OPERATOR, SHOPPER
from bnpl_app.state import account, cash, merchant, ops, orders, rental, security, session, shop  # noqa: F401  (what the app registers)
from bnpl_app.state.session import SessionState

# A session's last-seen time may move when it is resolved, and a log-in attempt is counted by the
# throttle: the only tables an attack may touch (as in tests/state/test_handlers_classified.py).
SKIP = frozenset({"auth_sessions", "login_throttles"})
SERVER_LOG = ARTIFACTS / "security-server.log"  # the app's output, checked for tracebacks


# The demo user an attack logs in as, for each role.
USER_OF = {SHOPPER: "bob", MERCHANT: "shop_digital", OPERATOR: "ops"}


def app_states() -> dict[str, type]:
    from reflex.state import State

    out, todo = {}, [State]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("bnpl_app."):
            out[cls.__name__] = cls
        todo.extend(cls.get_substates())
    return out


STATES = app_states()


def params(cls, name: str) -> list[str]:
    return [p for p in inspect.signature(cls.event_handlers[name].fn).parameters if p != "self"]


class Attacker:
    """Opens sockets to the app: anonymous, or logged in as a demo user (HTTP log-in, then the
    cookie in the socket's handshake)."""

    def __init__(self, base_url: str, build: BuildInfo, loop: asyncio.AbstractEventLoop):
        self.base_url, self.build, self.loop = base_url, build, loop
        self.tabs: list[ReflexClient] = []
        self.users: dict[str, ReflexClient] = {}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    async def anonymous(self, path: str = "/", *, token: str | None = None, cookie: str | None = None,
                        hydrate: bool = True) -> ReflexClient:
        """A socket on ``path``: a fresh tab, or the tab ``token`` replayed, with ``cookie`` (or none)."""
        tab = ReflexClient(self.base_url, build=self.build, timeout=60.0, token=token, cookie=cookie)
        self.tabs.append(tab)
        await tab.open(path, hydrate=hydrate)
        return tab

    async def log_in(self, username: str, password: str = DEMO_PASSWORD) -> ReflexClient:
        """A new tab logged in as ``username``: a session of its own (a new cookie)."""
        tab = await self.anonymous("/login")
        await tab.log_in(username, password)
        assert tab.get(SessionState, "username") == username, f"{username} did not log in"
        return tab

    async def user(self, username: str) -> ReflexClient:
        """A socket logged in as ``username`` with its password (one per user, reused)."""
        tab = self.users.get(username)
        if tab is not None and not tab.closed and tab._sio.connected:
            return tab
        tab = self.users[username] = await self.log_in(username)
        return tab

    async def close(self) -> None:
        for tab in self.tabs:
            await tab.close()


def said(update: dict) -> bool:
    """An update that shows a toast (a message: success, info or a refusal)."""
    delta = (update.get("delta") or {}).get(SessionState.get_full_name()) or {}
    return bool(delta.get("toast_text_rx_state_"))


async def answer(tab: ReflexClient, name: str, payload: dict | None = None, *, timeout: float = 30.0) -> tuple[str, str]:
    """Send one event and return the toast it answers with: (kind, text)."""
    await tab.call(name, payload or {}, until=said, timeout=timeout)
    return str(tab.get(SessionState, "toast_kind")), str(tab.get(SessionState, "toast_text"))


async def settled(tab: ReflexClient) -> None:
    """A round trip after what was sent: the tab's earlier events are processed and its socket
    still answers (the language toggled twice, back to what it was)."""
    toggle = event_name(SessionState, "toggle_lang")
    for _ in range(2):
        await tab.call(toggle, {}, until=ReflexClient.changed(SessionState, "lang"))


class Unchanged:
    """``with unchanged(engine):`` — the block must leave every row of every table as it was."""

    def __init__(self, engine: sa.Engine, what: str = ""):
        self.engine, self.what = engine, what

    def __enter__(self):
        self.before = snapshot(self.engine, skip=SKIP)
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            after = snapshot(self.engine, skip=SKIP)
            changed = sorted(t for t in after if after[t] != self.before.get(t))
            assert not changed, f"{self.what}: tables changed: {changed}"


def scalar(engine: sa.Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()

