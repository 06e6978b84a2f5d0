"""Every word a person reads, 简体中文 and English side by side: ``key: (中文, English)``.

Code names a key, never a sentence. The areas below are plain dicts (no imports, no side
effects); this module merges them into ``WORDS`` once, and a key defined in two areas stops the
import. Placeholders (``{amount}``) are filled by ``render``; the numbers of the policy that long
prose names are filled by the views (``views.figures``), so no number is written twice."""

from __future__ import annotations

import json

from .account import ACCOUNT
from .cash import CASH
from .common import COMMON
from .engine import ENGINE
from .help import HELP
from .interest import INTEREST
from .login import LOGIN
from .merchant import MERCHANT
from .messages import MESSAGES
from .methods import METHODS
from .notices import NOTICES
from .ops import OPS
from .quote import QUOTE
from .refunds import REFUNDS
from .rental import RENTAL
from .security import SECURITY
from .sessions import SESSIONS
from .shop import SHOP
from .status import STATUS

LANGS = ("zh", "en")
# Each language's tag for a page's ``lang`` (screen readers pick their voice from it); the first is the default.
LANG_TAGS = {"zh": "zh-CN", "en": "en"}

AREAS: dict[str, dict[str, tuple[str, str]]] = {
    "common": COMMON, "status": STATUS, "messages": MESSAGES, "shop": SHOP, "account": ACCOUNT,
    "merchant": MERCHANT, "ops": OPS, "help": HELP, "login": LOGIN, "methods": METHODS, "quote": QUOTE,
    "refunds": REFUNDS, "notices": NOTICES, "security": SECURITY, "engine": ENGINE,
    "cash": CASH, "sessions": SESSIONS, "rental": RENTAL, "interest": INTEREST,
}


def _merge(areas: dict[str, dict[str, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    where: dict[str, str] = {}
    for area, words in areas.items():
        twice = sorted(k for k in words if k in merged)
        if twice:
            raise KeyError(f"words defined twice ({area} and {where[twice[0]]}): {twice}")
        merged.update(words)
        where.update(dict.fromkeys(words, area))
    return merged


WORDS: dict[str, tuple[str, str]] = _merge(AREAS)


def pick(pair: tuple[str, str], lang: str) -> str:
    """The reader's half of a (中文, English) pair; Chinese unless English was chosen."""
    return pair[1] if lang == "en" else pair[0]


def has(key: str) -> bool:
    return key in WORDS


def text(key: str, lang: str = "zh") -> str:
    """The word for ``key`` as written (placeholders left in); an unknown key shows as itself."""
    pair = WORDS.get(key)
    return key if pair is None else pick(pair, lang)


class _Keep(dict):
    """A placeholder without a value stays visible (``{what}``) instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(key: str, lang: str = "zh", /, **params: object) -> str:
    """The word for ``key`` with its placeholders filled; an unknown key shows as itself."""
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pick(pair, lang).format_map(_Keep(params))


def render_reason(stored: str, lang: str = "zh") -> str:
    """A stored ``key{json params}`` (a credit-history reason) in the reader's language; text that
    is not a known key is shown as it is."""
    key, _, rest = (stored or "").partition("{")
    if key not in WORDS:
        return stored
    try:
        params = json.loads("{" + rest) if rest else {}
    except ValueError:
        return stored
    return render(key, lang, **params)
