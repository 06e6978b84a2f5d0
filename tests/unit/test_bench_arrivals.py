"""``bench/load.py``'s checkout journey (b): shoppers arrive spread over the ramp it is given, or
all within the first pause without one (the scale-out throughput run) — checked on a fake target
whose tabs only record when each shopper's first step began."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from load import scenario_journey  # noqa: E402


class _Tab:
    async def open(self, path: str) -> float:
        return 0.0

    async def close(self) -> None:
        return None


class _Target:
    name = "fake"
    journey_start = "/"

    def tab(self, **_kw) -> _Tab:
        return _Tab()

    def journey(self, user: str):
        async def step(_tab) -> float:
            return 0.0

        return [("step", step)]


def _step_starts(ramp_s: float | None, n: int = 12) -> list[float]:
    """When each shopper's one step began, seconds into the run (``slowest`` holds up to 12)."""
    result = asyncio.run(scenario_journey(_Target(), [f"u{i}" for i in range(n)], (0.0, 0.02), 30.0,
                                          seed=7, ramp_s=ramp_s))
    assert result["completed"] == n and result["errors"] == 0 and result["ramp_s"] == ramp_s
    return sorted(at for at, _name, _ms in result["slowest"])


def test_arrivals_spread_over_the_ramp():
    ats = _step_starts(1.0)
    assert len(ats) == 12
    assert ats[0] < 0.4 and ats[-1] > 0.6  # spread over the 1 s ramp, not bunched at its start
    assert 0 < sum(1 for a in ats if a < 0.5) < 12


def test_without_a_ramp_all_arrive_within_the_first_pause():
    ats = _step_starts(None)
    assert len(ats) == 12 and max(ats) < 0.2


class _TwoStepTarget(_Target):
    """log-in, then one step; one shopper's log-in fails (a failed log-in must not hold the others)."""

    def journey(self, user: str):
        async def login(_tab) -> float:
            if user == "u0":
                from bench.reflex_client import EventError

                raise EventError("refused")
            await asyncio.sleep(0.3 if user == "u1" else 0.0)  # one slow log-in
            return 0.0

        async def later(_tab) -> float:
            return 0.0

        return [("login", login), ("later", later)]


def test_logged_in_together_counts_the_steps_after_the_last_log_in():
    result = asyncio.run(scenario_journey(_TwoStepTarget(), [f"u{i}" for i in range(6)], (0.0, 0.01), 30.0,
                                          seed=3, logged_in_together=True))
    assert result["completed"] == 5 and result["errors"] == 1
    starts = [at for at, name, _ms in result["slowest"] if name == "later"]
    assert len(starts) == 5 and min(starts) >= 0.3  # nobody went on before the slow log-in was done
    after = result["after_login"]
    assert after["steps"] == 5 and after["wall_s"] < 0.3 and after["steps_per_s"] > 0
