"""The installment schedule of a plan — shown in full before the shopper confirms, and stored
exactly so at checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
