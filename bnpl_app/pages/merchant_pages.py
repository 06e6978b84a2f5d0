"""The merchant console: products, orders, returns desk, settlement, analytics."""

from __future__ import annotations

import reflex as rx


def register(app: rx.App) -> None:
    """Filled in by its area's pages."""
