"""The installment schedule of a plan — shown in full before the shopper confirms, and stored
exactly so at checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain import rules
from ..domain.clock import add_months
from ..domain.errors import ValidationError
from ..domain.money import bps_of, split_even
from ..domain.policy import POLICY, Policy


@dataclass(frozen=True)
class Period:
    seq: int
    due_at: datetime
    principal_fen: int
    fee_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.fee_fen


@dataclass(frozen=True)
class Schedule:
    plan: str
    periods: tuple[Period, ...]
    fee_bps: int
    late_fee_bps_per_day: int
    late_fee_cap_bps: int
    grace_days: int

    @property
    def total_fee_fen(self) -> int:
        return sum(p.fee_fen for p in self.periods)

    @property
    def total_fen(self) -> int:
        return sum(p.total_fen for p in self.periods)

    @property
    def first(self) -> Period:
        return self.periods[0]

    def late_fee_after(self, period: Period, days_overdue: int) -> int:
        """The late fees a period would have accrued after ``days_overdue`` days unpaid, on these
        terms: the sweep's own rule (``rules.late_fee``: the running total, capped)."""
        return rules.late_fee(principal_fen=period.principal_fen, bps_per_day=self.late_fee_bps_per_day,
                              cap_bps=self.late_fee_cap_bps, days=days_overdue, grace_days=self.grace_days)[0]


def build(*, price_fen: int, plan: str, trial_end: datetime, interest_free: bool, policy: Policy = POLICY) -> Schedule:
    if plan not in policy.plans:
        raise ValidationError("bad_choice", field="plan", value=str(plan)[:10])
    n = policy.periods_of(plan)
    fee_bps = 0 if (plan == "full" or interest_free) else policy.installment_fee_bps
    fee = bps_of(price_fen, fee_bps)
    periods = tuple(
        Period(seq=i + 1, due_at=add_months(trial_end, i), principal_fen=amt, fee_fen=fee)
        for i, amt in enumerate(split_even(price_fen, n))
    )
    return Schedule(plan, periods, fee_bps, policy.late_fee_bps_per_day, policy.late_fee_cap_bps, policy.grace_days)
