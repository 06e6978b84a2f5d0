"""Reflex configuration. Config only: nothing here imports bnpl_app.

Environment:
  BNPL_PORT      one port for frontend and backend (prod serves both on it); default 3000
  BNPL_ORIGINS   comma-separated CORS origins; default localhost/127.0.0.1 on BNPL_PORT
  REFLEX_DB_URL  SQLAlchemy URL; default sqlite file bnpl.db beside this file
  REDIS_URL      when set, state lives in Redis and several backend workers may serve; the worker
                 serving a tab then keeps its state between events for a few seconds (Reflex's
                 opportunistic lock: REFLEX_OPLOCK_ENABLED, default on here; REFLEX_OPLOCK_HOLD_TIME,
                 default 3s; bnpl_app/state/leases.py)
  BNPL_STATE_TTL seconds a closed tab's backend state is kept (default 1800)
  BNPL_STATE_PARK_S  without Redis: an idle tab's state is kept pickled after this (default 60; bnpl_app/state/parking.py)
"""

import os
from pathlib import Path

import reflex as rx
from reflex.plugins import Plugin, RadixThemesPlugin, SitemapPlugin

_ROOT = Path(__file__).resolve().parent
_PORT = int(os.environ.get("BNPL_PORT", "3000"))
_ORIGINS = [
    origin.strip()
    for origin in os.environ.get(
        "BNPL_ORIGINS", f"http://localhost:{_PORT},http://127.0.0.1:{_PORT}"
    ).split(",")
    if origin.strip()
]

class OneUiChunk(Plugin):
    """The production bundle keeps the UI library (Radix's primitives and themes, the icons) in one
    chunk instead of one per component: the catalog page loaded 45 files, ~30 of them a few hundred
    bytes each, and a first visit paid for every one (parsed and linked one module at a time).
    Reflex writes ``.web/vite.config.js`` on every build; this adds a code-splitting group to it."""

    GROUP = '{ test: /node_modules[\\\\/](@radix-ui|radix-ui|lucide-react)[\\\\/]/, name: "ui" },'
    ANCHOR = "groups: ["

    def pre_compile(self, **context):
        def add_group(text: str) -> str:
            if self.GROUP in text or self.ANCHOR not in text:
                return text  # already there, or Reflex's config changed shape: leave it be
            return text.replace(self.ANCHOR, self.ANCHOR + "\n            " + self.GROUP, 1)

        context["add_modify_task"]("vite.config.js", add_group)


_REDIS_URL = os.environ.get("REDIS_URL") or None
if _REDIS_URL:
    # With Redis, every event takes the tab's lock in Redis, reads its states, writes them back and
    # frees the lock: four round trips and a pickling each way. With the opportunistic lock the
    # worker that serves a tab keeps the lock and the states in its memory for the hold time after
    # an event, so the next events of that tab (a page's load chain, the next click) cost none of
    # that; a worker that needs the tab meanwhile (a reload landing there) asks, and the holder
    # writes the states back and lets go at once. Set here, before Reflex makes its state manager,
    # so that the app, its workers and the bench all run as deployed; the environment overrides.
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
    os.environ.setdefault("REFLEX_OPLOCK_HOLD_TIME", "3s")

config = rx.Config(
    app_name="bnpl_app",
    # An absolute path, so the CLI, the server and the tests agree whatever their cwd.
    db_url=os.environ.get("REFLEX_DB_URL", f"sqlite:///{_ROOT / 'bnpl.db'}"),
    redis_url=_REDIS_URL,
    # Tab state in Redis when it is configured, else in this process's memory. Reflex's default
    # without Redis keeps a file per state and substate and lists and stats all of them every 2 s to
    # expire old ones: with 200 idle tabs (thousands of files) that alone was ~10% of a core. A
    # restart loses open tabs' state (carts); sessions live in the database and survive it.
    state_manager_mode="redis" if _REDIS_URL else "memory",
    frontend_port=_PORT,
    backend_port=_PORT,
    # Reflex's default is "*": any site could drive a logged-in tab's websocket.
    cors_allowed_origins=_ORIGINS,
    telemetry_enabled=False,
    # A closed tab's backend state is freed this long after its last event (in memory or Redis).
    redis_token_expiration=int(os.environ.get("BNPL_STATE_TTL", "1800")),
    # The sticky badge sits over the bottom-right corner, where toasts and buttons go.
    show_built_with_reflex=False,
    plugins=[RadixThemesPlugin(theme=rx.theme(accent_color="orange")), OneUiChunk()],
    # Otherwise every start warns that the sitemap plugin is on by default.
    disable_plugins=[SitemapPlugin],
)
