"""备用金 loans as pure arithmetic: the daily rate and its APR, the repayment schedule of a draw and
the interest of an early repayment. Nothing here reads a database; time is always an argument.

The method is 等额本金 (equal monthly principal): the principal is split into equal monthly parts
(the remainder fen going first); each month's interest is the principal still outstanding at the
start of that month × the daily rate × the days of the month. Days are counted by China calendar
day from the draw day, the day of repayment not counted (小米贷款: interest = principal × daily
rate × days), so a draw repaid on its own day owes no interest. Rates are parts per million a day
(400 ppm = 0.04 %); amounts are int fen, each interest rounded half-up to the fen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .clock import CST, add_months
from .money import split_even

PPM = 1_000_000
DAYS_A_YEAR = 365


def apr_bps(daily_rate_ppm: int) -> int:
    """The yearly rate of a daily rate, in basis points (400 ppm a day → 1460 bps = 14.6 %), exact
    to the basis point when it is whole (rounded up otherwise, so a cap is never undercut)."""
    q, r = divmod(daily_rate_ppm * DAYS_A_YEAR, 100)
    return q + (1 if r else 0)


def rate_percent(daily_rate_ppm: int) -> str:
    """A daily rate for reading, without floats: 400 ppm → 0.04%."""
    whole, frac = divmod(daily_rate_ppm, 10_000)
    return f"{whole}.{frac:04d}".rstrip("0").rstrip(".") + "%"


def rate_allowed(daily_rate_ppm: int, cap_bps: int) -> bool:
    """A daily rate may be lent at only if it is positive and its APR is not above the cap."""
    return daily_rate_ppm > 0 and apr_bps(daily_rate_ppm) <= cap_bps


def interest(principal_fen: int, daily_rate_ppm: int, days: int) -> int:
    """principal × daily rate × days, rounded half-up to the fen."""
    q, r = divmod(max(0, principal_fen) * daily_rate_ppm * max(0, days), PPM)
    return q + (1 if 2 * r >= PPM else 0)


def days_between(start: datetime, end: datetime) -> int:
    """Interest days from ``start`` to ``end``: China calendar days, the first counted, the last not."""
    return max(0, (end.astimezone(CST).date() - start.astimezone(CST).date()).days)


@dataclass(frozen=True)
class LoanPeriod:
    seq: int
    days: int  # interest days of the month
    principal_fen: int
    interest_fen: int
    outstanding_fen: int  # principal outstanding during the month (what the interest is on)

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.interest_fen


def due_dates(drawn_at: datetime, term: int) -> list[datetime]:
    """The monthly due dates of a draw made at ``drawn_at``: the same time, 1..term months later."""
    return [add_months(drawn_at, i) for i in range(1, term + 1)]


def period_days(drawn_at: datetime, term: int) -> tuple[int, ...]:
    """The interest days of each month of a draw made at ``drawn_at``."""
    edges = [drawn_at, *due_dates(drawn_at, term)]
    return tuple(days_between(a, b) for a, b in zip(edges, edges[1:]))


def schedule(amount_fen: int, daily_rate_ppm: int, days: tuple[int, ...]) -> tuple[LoanPeriod, ...]:
    """等额本金 over months of ``days`` interest days each (``period_days``)."""
    out, outstanding = [], amount_fen
    for seq, (part, d) in enumerate(zip(split_even(amount_fen, len(days)), days), start=1):
        out.append(LoanPeriod(seq, d, part, interest(outstanding, daily_rate_ppm, d), outstanding))
        outstanding -= part
    return tuple(out)


def total_interest(periods: tuple[LoanPeriod, ...]) -> int:
    return sum(p.interest_fen for p in periods)


# ── early repayment ──────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class OpenPeriod:
    """A month of a draw not yet due, as the early repayment sees it: its installment, the
    principal still owed on it, the interest it will charge (net of what was waived), its interest
    days and, for the month under way (the first one), the days already run."""

    installment_id: int
    seq: int
    principal_fen: int
    interest_fen: int
    days: int
    elapsed: int  # days of the month already run (0 for a month not started)


@dataclass(frozen=True)
class Settled:
    """What one open month becomes: principal repaid now from it, the interest it will charge."""

    installment_id: int
    repaid_fen: int  # principal of this month repaid now (all of it: the month is paid off now)
    interest_fen: int  # the month's interest from now on (payable now when the month is paid off)
    paid_off: bool


def early_repayment(periods: list[OpenPeriod], amount_fen: int, daily_rate_ppm: int) -> list[Settled]:
    """Repay ``amount_fen`` of principal now, applied from the last month backwards (缩短期限: the
    term shortens, the months left keep their principal). Interest runs only to today: a month not
    started charges the interest of the principal still outstanding at its start; the month under
    way keeps what it has earned so far and loses the interest the repaid principal would have
    earned over its remaining days. The whole outstanding principal repays the draw: every month is
    paid off now, the month under way with its interest to today."""
    if not periods:
        return []
    whole = sum(p.principal_fen for p in periods)
    left = min(max(0, amount_fen), whole)
    repaid: dict[int, int] = {}
    for p in reversed(periods):  # from the last month backwards
        take = min(left, p.principal_fen)
        repaid[p.installment_id] = take
        left -= take
    out, later = [], 0
    outstanding_after = {}
    for p in reversed(periods):  # the principal outstanding at each month's start, after the repayment
        later += p.principal_fen - repaid[p.installment_id]
        outstanding_after[p.installment_id] = later
    total_repaid = min(max(0, amount_fen), whole)
    for p in periods:
        take = repaid[p.installment_id]
        paid_off = take == p.principal_fen
        if p.elapsed > 0 or p is periods[0]:
            # the month under way: its interest so far stays; the remaining days' interest on what is repaid goes
            lost = interest(total_repaid, daily_rate_ppm, p.days - p.elapsed)
            charge = max(0, p.interest_fen - lost)
        elif paid_off:
            charge = 0
        else:
            charge = min(p.interest_fen, interest(outstanding_after[p.installment_id], daily_rate_ppm, p.days))
        out.append(Settled(p.installment_id, take, charge, paid_off))
    return out


def saving(periods: list[OpenPeriod], settled: list[Settled]) -> int:
    """Scheduled interest − interest charged after the repayment."""
    return sum(p.interest_fen for p in periods) - sum(s.interest_fen for s in settled)
