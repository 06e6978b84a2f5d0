"""信用分租机 (seed 003) as pure decisions: what deposit a credit score earns, how much of the
waived part the shopper's 先用后付 credit can hold, when each month's rent falls due, which rent is
still owed after an early return or a buy-out, and how a repair charge is taken from the deposit.
Nothing here reads or writes a database; time is always an argument. ``services/rental.py`` and
the rental screens call these, so each rule is written once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .clock import add_months
from .policy import POLICY, Policy

# The deposit bands of the credit review (``POLICY.rental_*``).
WAIVED_FULL, WAIVED_HALF, PAID_FULL, REFUSED = "full", "half", "paid", "refused"
BANDS = (WAIVED_FULL, WAIVED_HALF, PAID_FULL, REFUSED)
_WHY = {WAIVED_FULL: "rental.why.full", WAIVED_HALF: "rental.why.half", PAID_FULL: "rental.why.paid"}
BAND_LABEL = {WAIVED_FULL: "rental.band.full", WAIVED_HALF: "rental.band.half", PAID_FULL: "rental.band.paid",
              REFUSED: "rental.band.refused"}


def deposit_band(score: int, *, policy: Policy = POLICY) -> str:
    """≥ ``rental_waive_full_score``: waived in full (免押); ≥ ``rental_waive_half_score``: half
    waived; ≥ ``rental_min_score``: paid in full; below: refused."""
    if score >= policy.rental_waive_full_score:
        return WAIVED_FULL
    if score >= policy.rental_waive_half_score:
        return WAIVED_HALF
    if score >= policy.rental_min_score:
        return PAID_FULL
    return REFUSED


def waived_of(band: str, deposit_fen: int) -> int:
    """The part of the deposit the band waives (half rounds down: the shopper never pays less
    than half)."""
    return {WAIVED_FULL: deposit_fen, WAIVED_HALF: deposit_fen // 2}.get(band, 0)


@dataclass(frozen=True)
class DepositDecision:
    """The deposit as the credit review decides it: ``waived`` by the score band, of which ``held``
    is frozen on the shopper's 先用后付 credit (预授权) and ``paid`` taken from a payment method;
    ``held + paid = deposit``. ``why``: each reason, as (message key, parameters)."""

    band: str
    deposit_fen: int
    waived_fen: int
    held_fen: int
    paid_fen: int
    why: tuple[tuple[str, dict], ...]

    @property
    def refused(self) -> bool:
        return self.band == REFUSED


def decide_deposit(*, score: int, deposit_fen: int, bnpl_active: bool, available_fen: int,
                   policy: Policy = POLICY) -> DepositDecision:
    """The band by score; its waived part is held on the 先用后付 credit as far as it can be: not
    at all when 先用后付 is not active, up to the available limit otherwise. What cannot be held is
    paid, like the rest of the deposit (and refunded at the end)."""
    band = deposit_band(score, policy=policy)
    if band == REFUSED:
        return DepositDecision(band, deposit_fen, 0, 0, 0, (("rental.why.refused", {"score": score,
                                                                                  "min": policy.rental_min_score}),))
    waived = waived_of(band, deposit_fen)
    why: list[tuple[str, dict]] = [(_WHY[band], {"score": score, "full": policy.rental_waive_full_score,
                                                           "half": policy.rental_waive_half_score,
                                                           "min": policy.rental_min_score})]
    held = 0
    if waived and not bnpl_active:
        why.append(("rental.why.bnpl_off", {}))
    elif waived:
        held = min(waived, max(0, available_fen))
        if held < waived:
            why.append(("rental.why.limit_short", {"available": available_fen, "waived": waived}))
    return DepositDecision(band, deposit_fen, waived, held, deposit_fen - held, tuple(why))


def rent_due_dates(delivered_at: datetime, term_months: int) -> list[datetime]:
    """Rent is paid month by month in advance: month k (1..term) is due k − 1 months after delivery."""
    return [add_months(delivered_at, k) for k in range(term_months)]


def rent_not_due(due_at: datetime, now: datetime) -> bool:
    """After an early return is shipped or a buy-out, a month that has not begun is not owed."""
    return due_at > now


@dataclass(frozen=True)
class RepairSplit:
    """A repair charge taken from the deposit: first from the paid part (to the merchant), then
    from the part held on credit (it becomes a debt); what is left of each is given back."""

    from_paid: int
    refund_paid: int
    from_held: int
    release_held: int


def repair_split(*, repair_fen: int, paid_fen: int, held_fen: int) -> RepairSplit:
    """``repair_fen`` must be within the deposit (``paid + held``); the caller checks."""
    from_paid = min(repair_fen, paid_fen)
    from_held = min(repair_fen - from_paid, held_fen)
    return RepairSplit(from_paid, paid_fen - from_paid, from_held, held_fen - from_held)


def terms_offered(raw: str, *, policy: Policy = POLICY) -> tuple[int, ...]:
    """The terms (months) a listing's stored list offers, in the policy's order."""
    wanted = {x.strip() for x in (raw or "").split(",")}
    return tuple(t for t in policy.rental_terms if str(t) in wanted)
