"""The operator desk: review queue, shopper look-up, risk, audit."""

from __future__ import annotations

import reflex as rx


def register(app: rx.App) -> None:
    """Filled in by its area's pages."""
