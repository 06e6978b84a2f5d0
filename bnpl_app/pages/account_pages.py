"""The shopper's account pages: bills, credit, wallet, inbox, help."""

from __future__ import annotations

import reflex as rx


def register(app: rx.App) -> None:
    """Filled in by its area's pages."""
