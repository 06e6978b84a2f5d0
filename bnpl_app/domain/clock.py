"""Time comes from one clock object. Production uses the wall clock; demo mode and tests use a
simulated clock that only moves when advanced (Twisted's task.Clock, Stripe's test clocks).
The persisted simulated clock lives in the database (jobs/clock.py); this module holds the
in-memory clocks and time helpers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .errors import ValidationError

UTC = timezone.utc
# Shoppers are in China; dates are shown in China Standard Time.
CST = timezone(timedelta(hours=8), "CST")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: stands still until ``advance``d."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = aware(start or datetime(2026, 11, 1, 2, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValidationError("clock_backwards")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = aware(when)


def china_time(dt: datetime | None, *, seconds: bool = False) -> str:
    """How every screen and message shows an instant: China time, ``2026-12-02 17:11`` (or with
    seconds); "" for none."""
    if dt is None:
        return ""
    return dt.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def china_month(dt: datetime) -> str:
    """The statement month an instant falls in, China time: ``2026-12``."""
    return dt.astimezone(CST).strftime("%Y-%m")


def aware(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_DUR_RE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.I)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``36h``, ``7d``, ``2w`` → timedelta."""
    m = _DUR_RE.match(text or "")
    if not m:
        raise ValidationError("bad_duration", field="duration", text=str(text)[:20])
    delta = timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    if delta > timedelta(days=3650):
        raise ValidationError("duration_too_long", field="duration")
    return delta


def add_months(dt: datetime, months: int) -> datetime:
    """Same day next month(s), clamped to the month's last day (Jan 31 + 1 month = Feb 28)."""
    y, m = divmod(dt.month - 1 + months, 12)
    year, month = dt.year + y, m + 1
    import calendar

    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)
