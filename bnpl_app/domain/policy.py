"""Every tunable number of the platform (DOMAIN.md's *(default)* values) in one object.
Screens, services and tests read these; nothing repeats a literal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

PLANS = ("full", "3", "6", "12")


@dataclass(frozen=True)
class ScoreBand:
    low: int  # inclusive
    high: int  # inclusive
    name_zh: str
    name_en: str
    start_limit_fen: int  # limit granted when 先用后付 is opened in this band
    ceiling_fen: int  # on-time rewards may raise the limit up to here, never above


@dataclass(frozen=True)
class CashBand:
    """备用金: the line granted at this score (inclusive bounds)."""

    low: int
    high: int
    line_fen: int


@dataclass(frozen=True)
class Policy:
    score_min: int = 350
    score_max: int = 950
    platform_min_score: int = 550
    new_user_score: int = 600

    bands: tuple[ScoreBand, ...] = (
        ScoreBand(350, 549, "较差", "Poor", 0, 0),
        ScoreBand(550, 599, "中等", "Fair", 50_000, 100_000),
        ScoreBand(600, 649, "良好", "Good", 100_000, 200_000),
        ScoreBand(650, 699, "优秀", "Very good", 200_000, 500_000),
        ScoreBand(700, 749, "很好", "Excellent", 500_000, 1_000_000),
        ScoreBand(750, 950, "极好", "Outstanding", 1_000_000, 2_000_000),
    )
    # The steps a limit climbs one at a time after on-time orders (¥500 → ¥1,000 → …).
    limit_steps_fen: tuple[int, ...] = (50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000)

    trial_days_default: int = 7
    trial_days_min: int = 1
    trial_days_max: int = 30
    # Before every automatic deduction (each installment, each hardship-plan payment, each early
    # auto-repay attempt) the shopper is told at these offsets; no deduction is taken before the
    # first notice about it is ``min_notice`` old.
    reminder_days_before: tuple[int, ...] = (3, 1)

    plans: tuple[str, ...] = PLANS
    installment_periods: tuple[int, ...] = (3, 6, 12)
    installment_fee_bps: int = 60  # 0.6% of principal per period unless 免息

    on_time_score_bonus: int = 5
    on_time_orders_for_step: int = 3

    grace_days: int = 3
    overdue_score_penalty: int = 20
    overdue_limit_divisor: int = 2  # the limit is halved
    late_fee_bps_per_day: int = 5  # 0.05% of overdue principal per day after grace
    late_fee_cap_bps: int = 2400  # total late fees ≤ 24% of that principal
    suspend_after_days: int = 30
    bad_debt_after_days: int = 90
    hardship_min_overdue_days: int = 30
    hardship_max_installments: int = 24
    retry_every: timedelta = timedelta(days=1)
    autopay_days_before_max: int = 3

    inspection_days: int = 3
    return_transit_days_max: int = 10  # a parcel never announced as received is taken as received
    platform_fee_bps: int = 200  # 2% of captured principal

    default_shop_cap_fen: int = 2_000_000  # ¥20,000 per shopper per shop
    session_ttl: timedelta = timedelta(hours=12)
    # A session unused this long ends too (whatever is left of its ttl); its last-seen time is
    # written at most once per ``session_touch_every``, so a busy tab costs one write a minute.
    session_idle: timedelta = timedelta(minutes=30)
    session_touch_every: timedelta = timedelta(minutes=1)
    # Log-in throttling (``domain/throttle.py``): attempts counted per account name and per client
    # address in a window; reaching the limit locks the key, each lock twice as long as the last
    # (up to ``login_lock_max``); a key quiet for ``login_forget`` starts over.
    login_attempts_per_account: int = 5
    login_attempts_per_address: int = 20
    signups_per_address: int = 10
    login_window: timedelta = timedelta(minutes=15)
    login_lock_first: timedelta = timedelta(minutes=5)
    login_lock_max: timedelta = timedelta(hours=24)
    login_forget: timedelta = timedelta(hours=24)
    login_refusal_pause: timedelta = timedelta(seconds=1)  # "too many attempts" is answered after this pause
    upload_max_bytes: int = 5 * 1024 * 1024
    upload_max_files: int = 5
    sweep_interval_seconds: int = 30
    password_min_len: int = 8
    page_size: int = 20  # rows of a long list per page (catalog, orders, bills, inbox, consoles)
    page_size_max: int = 100  # no caller may ask for more in one page
    terms_version: str = "2026-11"

    # 备用金 (seed 004): a revolving cash line, separate from the 先用后付 limit.
    cash_min_score: int = 600
    cash_bands: tuple[CashBand, ...] = (
        CashBand(600, 649, 200_000), CashBand(650, 699, 500_000),
        CashBand(700, 749, 1_000_000), CashBand(750, 950, 2_000_000),
    )
    cash_draw_min_fen: int = 10_000  # ¥100
    cash_terms: tuple[int, ...] = (3, 6, 12)  # months
    cash_daily_rate_ppm: int = 400  # 0.04 % a day on outstanding principal (APR 14.6 %)
    cash_apr_cap_bps: int = 2400  # APR never above 24 %

    # 信用分租机 (seed 003): the credit review sets the deposit.
    rental_terms: tuple[int, ...] = (6, 12)  # months a listing may offer
    rental_waive_full_score: int = 700  # ≥ : deposit waived in full (免押)
    rental_waive_half_score: int = 600  # ≥ : half waived
    rental_min_score: int = 550  # ≥ : deposit paid in full; below: refused

    @property
    def min_notice(self) -> timedelta:
        """How long before an automatic deduction the shopper must have been told of it, at least."""
        return timedelta(days=min(self.reminder_days_before))

    def cash_line_for(self, score: int) -> int:
        """The 备用金 line a score is granted (0 below ``cash_min_score``)."""
        return next((b.line_fen for b in self.cash_bands if b.low <= score <= b.high), 0)

    def band_for(self, score: int) -> ScoreBand:
        for b in self.bands:
            if b.low <= score <= b.high:
                return b
        return self.bands[0] if score < self.score_min else self.bands[-1]

    def start_limit(self, score: int) -> int:
        return self.band_for(score).start_limit_fen

    def next_step(self, limit_fen: int, score: int) -> int:
        """The limit one step up the ladder, never above the score band's ceiling."""
        ceiling = self.band_for(score).ceiling_fen
        higher = [s for s in self.limit_steps_fen if limit_fen < s <= ceiling]
        return higher[0] if higher else limit_fen

    def clamp_score(self, score: int) -> int:
        return max(self.score_min, min(self.score_max, score))

    def periods_of(self, plan: str) -> int:
        return 1 if plan == "full" else int(plan)


POLICY = Policy()
