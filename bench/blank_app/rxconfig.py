"""The blank baseline of bench/load.py: same Reflex version and plugins as the app, nothing else.
bench/load.py copies this folder to a temp dir and runs it with ``reflex run --env prod``.

Environment: BLANK_PORT (frontend and backend share it, as the app's BNPL_PORT does)."""

import os

import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

_PORT = int(os.environ.get("BLANK_PORT", "3100"))

config = rx.Config(
    app_name="blank_app",
    frontend_port=_PORT,
    backend_port=_PORT,
    cors_allowed_origins=[f"http://localhost:{_PORT}", f"http://127.0.0.1:{_PORT}"],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[RadixThemesPlugin()],
    disable_plugins=[SitemapPlugin],
)
