"""Functions returning components, shared by every page."""

from .common import countdown, empty, field, money, page_title, stat, status_badge, t
from .layout import layout

__all__ = ["countdown", "empty", "field", "layout", "money", "page_title", "stat", "status_badge", "t"]
