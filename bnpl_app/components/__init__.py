"""Functions returning components, shared by every page."""

from .common import clock_later, countdown, empty, field, money, page_title, stat, status_badge, t
from .layout import layout

__all__ = ["clock_later", "countdown", "empty", "field", "layout", "money", "page_title", "stat", "status_badge", "t"]
