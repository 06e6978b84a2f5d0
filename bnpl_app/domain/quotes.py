"""What every quote a shopper confirms has in common — 先用后付 terms (``checkout.Terms``), a 备用金
draw's terms (``cash.DrawTerms``) and a rental contract (``rental.Contract``): one stored text (sorted
keys, compact, ASCII: the same quote is the same text, which the request hashes rely on), and one
way in from a browser, a tab's state or the database — bounded text, a JSON object, whole numbers —
refused with the quote's own message when anything is off."""

from __future__ import annotations

import json
from typing import ClassVar, Self

from .errors import ValidationError

MAX_CHARS = 4_000  # the width of the columns that store a quote


class QuoteText:
    """Mixed into a frozen dataclass that defines ``as_dict`` and ``from_dict``."""

    REFUSAL: ClassVar[tuple[str, str]]  # (message key, field) of a malformed quote

    def as_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: object) -> Self:
        raise NotImplementedError

    def to_json(self) -> str:
        """The stored form: sorted keys, compact (the same terms are the same text)."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def refused(cls) -> ValidationError:
        key, field = cls.REFUSAL
        return ValidationError(key, field=field)

    @classmethod
    def whole(cls, value: object) -> int:
        """A count or an amount of the quote: a non-negative int a JavaScript number holds exactly."""
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
            raise cls.refused()
        return value

    @classmethod
    def from_json(cls, text: object) -> Self:
        if not isinstance(text, str) or len(text) > MAX_CHARS:
            raise cls.refused()
        try:
            data = json.loads(text)
        except ValueError:
            raise cls.refused() from None
        return cls.from_dict(data)

    @classmethod
    def parse(cls, value: object) -> Self:
        """The quote itself, its stored text, or its data."""
        if isinstance(value, cls):
            return value
        return cls.from_json(value) if isinstance(value, str) else cls.from_dict(value)
