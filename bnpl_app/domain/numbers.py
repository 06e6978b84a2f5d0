"""The one parser of whole numbers a browser sends: record ids, amounts in fen, counts, steps.

A browser may send any JSON value where a number belongs, and Python is generous: ``"²".isdigit()``
is True (then ``int("²")`` raises), ``int("３")`` and ``int("٣")`` are 3, ``int("1_000")`` is 1000,
``int(" 7\\n")`` is 7, ``float("nan")`` is a float and a 1 MB string of digits takes a while to
convert. Here only these are numbers: an int (not a bool), a float with no fraction, or a string of
at most ``max_digits`` ASCII digits 0-9 with an optional leading ``-`` (and spaces around it);
then within ``lo``..``hi``. Anything else is None — the caller refuses it with a clear message
(``state/helpers.need_int``), never a traceback. Pure: the services that parse typed text use it too."""

from __future__ import annotations

import math
import re

MAX_DIGITS = 16  # 2**53 (the largest integer a JavaScript number holds exactly) has 16 digits
MAX_ID = 2**53
_WHOLE = re.compile(r"-?[0-9]+", re.ASCII)


def whole_number(value: object, *, lo: int = 1, hi: int = MAX_ID, max_digits: int = MAX_DIGITS) -> int | None:
    """``value`` as an int within ``lo``..``hi``, or None (see the module's docstring)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer() or abs(value) > MAX_ID:
            return None
        value = int(value)
    elif isinstance(value, str):
        raw = value.strip(" \t")
        if len(raw) > max_digits + 1 or not _WHOLE.fullmatch(raw) or len(raw.lstrip("-")) > max_digits:
            return None
        value = int(raw)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if lo <= value <= hi else None
