"""Reflex gives every state a ``setvar(var_name, value)`` event that calls ``set_<var_name>`` —
with whatever name a browser sends. A name with no such handler raised inside Reflex (a traceback
in the server log, a generic error in the tab). ``guard_setvar`` makes every state's ``setvar``
refuse such a name quietly (one short warning line) and call only a real ``set_<name>`` handler,
which ``state/handlers.py`` classifies like any other."""

from __future__ import annotations

import logging

from reflex.event import EventHandler
from reflex.state import BaseState, EventHandlerSetVar

log = logging.getLogger("bnpl.setvar")
_NAME_MAX = 64


def _setvar(self: BaseState, var_name: object, value: object):
    name = var_name if isinstance(var_name, str) and var_name.isidentifier() and len(var_name) <= _NAME_MAX else None
    if name is None or not isinstance(type(self).event_handlers.get(f"set_{name}"), EventHandler):
        log.warning("setvar refused on %s: no setter for %r", type(self).__name__, str(var_name)[:40])
        return None
    return getattr(self, f"set_{name}")(value)


def guard_setvar(root: type[BaseState] = BaseState) -> int:
    """Every state class under ``root`` (those defined so far): its ``setvar`` runs ``_setvar``.
    Returns how many were guarded."""
    n, todo = 0, [root]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        handler = getattr(cls, "event_handlers", {}).get("setvar")
        if isinstance(handler, EventHandlerSetVar) and handler.fn is not _setvar:
            object.__setattr__(handler, "fn", _setvar)
            n += 1
    return n
