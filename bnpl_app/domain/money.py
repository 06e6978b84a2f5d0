"""Money is integer fen (分) everywhere. This module owns formatting, parsing and rounding."""

from __future__ import annotations

import re

from .errors import ValidationError

# The largest single amount anyone may type: ¥1,000,000.00. Beyond that an input is absurd.
MAX_INPUT_FEN = 100_000_000

# Digits are ASCII 0-9 only ("３" and "٣" are no amount); at most MAX_AMOUNT_TEXT characters are read.
_AMOUNT_RE = re.compile(r"^\s*¥?\s*([0-9]{1,9}(?:,[0-9]{3})*|[0-9]+)(?:\.([0-9]{1,2}))?\s*$")
MAX_AMOUNT_TEXT = 40


def yuan(fen: int) -> str:
    """Format fen as ``¥1,234.56`` (negative as ``-¥1.00``)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"money must be int fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def yuan_plain(fen: int, *, drop_zero_cents: bool = False) -> str:
    """Plain decimal yuan from int fen, exact, no symbol or grouping (``-1234.50``: a CSV cell);
    with ``drop_zero_cents`` a whole amount has no decimals (``1234``: an input's initial value)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}" if drop_zero_cents and not cents else f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: str, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse what a person typed (``"12.5"``, ``"¥1,000"``) into fen, refusing anything odd."""
    if not isinstance(text, str):
        text = str(text)
    m = _AMOUNT_RE.match(text) if len(text) <= MAX_AMOUNT_TEXT else None
    if not m:
        raise ValidationError("bad_amount", field=field, text=text.strip()[:20])
    whole = int(m.group(1).replace(",", ""))
    cents = int((m.group(2) or "0").ljust(2, "0"))
    fen = whole * 100 + cents
    if fen == 0 and not allow_zero:
        raise ValidationError("amount_not_positive", field=field)
    if fen > MAX_INPUT_FEN:
        raise ValidationError("amount_too_large", field=field, amount=yuan(fen), max=yuan(MAX_INPUT_FEN))
    return fen


def bps_of(amount_fen: int, bps: int) -> int:
    """``amount × bps / 10000`` rounded half-up (ties away from zero) to the fen (1 bp = 0.01%).
    Whole-number arithmetic: exact, and cheap enough for the sweep and the audit to call per row."""
    product = amount_fen * bps
    q, r = divmod(abs(product), 10_000)
    if 2 * r >= 10_000:
        q += 1
    return q if product >= 0 else -q


def percent(bps: int) -> str:
    """Basis points as a percentage for reading (60 → 0.6%, 2400 → 24%), without floats."""
    whole, frac = divmod(bps, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".") + "%"


def split_even(total_fen: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` int amounts that add up exactly; the remainder goes first."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    base, rem = divmod(total_fen, parts)
    return [base + (1 if i < rem else 0) for i in range(parts)]


def check_amount(amount_fen: object, *, field: str = "amount") -> int:
    """Validate an amount that arrived as data (e.g. from the browser): a positive int, not absurd."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationError("bad_amount", field=field, text=str(amount_fen)[:20])
    if amount_fen <= 0:
        raise ValidationError("amount_not_positive", field=field)
    if amount_fen > MAX_INPUT_FEN:
        raise ValidationError("amount_too_large", field=field, amount=yuan(amount_fen), max=yuan(MAX_INPUT_FEN))
    return amount_fen
