"""The decisions of the rules, as pure functions of plain values: both the per-row services and
the sweep's set-based path call these, so a rule is written once."""

from __future__ import annotations

from datetime import datetime, timedelta

DAY = timedelta(days=1)


def days_overdue(due_at: datetime, now: datetime) -> int:
    """Whole days since the due instant (0 before it and during its first day)."""
    return max(0, (now - due_at) // DAY)
