"""The domain's messages (refusals, hints, notices, credit-history reasons) are part of the one
words catalog, ``bnpl_app.words`` (``words/messages.py``). This module keeps the names services,
errors and tools import: ``render(key, lang, **params)``, ``render_reason``, ``has``."""

from __future__ import annotations

from ..words import LANGS, has, render, render_reason
from ..words.messages import MESSAGES

__all__ = ["LANGS", "MESSAGES", "has", "render", "render_reason"]
