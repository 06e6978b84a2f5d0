"""Small dataclasses the UI renders, built from what the services return, in the reader's language.

Never ORM rows in state: only what a screen shows, money pre-formatted from int fen (plus the int
where a screen must send it back), times as China time (``domain.clock.china_time``) plus epoch
seconds for countdowns. Views do not read the database: the services do, and each screen's module
here (``shop``, ``account``, ``merchant``, ``ops``) turns their results into dataclasses. Nothing
here imports a page or a state.

This module holds what the screens share: the policy's numbers as prose names them, percentages,
plain yuan for inputs, the masked phone, payment methods, score bands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from ..domain.money import percent, yuan
from ..domain.policy import POLICY, ScoreBand
from ..models import MethodKind as MK, PaymentMethod
from ..words import LANGS, has, pick, render, text


def epoch(dt: datetime | None) -> int:
    """Seconds since the epoch for a browser countdown; 0 for none."""
    return int(dt.timestamp()) if dt else 0


def pct(bps: int) -> str:
    """Basis points as a percentage for reading (60 → 0.6%, 2400 → 24%): ``domain.money.percent``."""
    return percent(bps)


def mask_phone(phone: str | None) -> str:
    """``138****5678``; "" when there is no phone to show."""
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else ""


def capital(word: str) -> str:
    """A label that starts a line ("Wallet"); Chinese is unchanged."""
    return word[:1].upper() + word[1:]


def band_name(band: ScoreBand, lang: str) -> str:
    return pick((band.name_zh, band.name_en), lang)


@cache
def figures(lang: str) -> dict[str, object]:
    """Every policy number the words name (``{grace_days}``), formatted for reading."""
    P = POLICY
    return dict(
        trial_days_min=P.trial_days_min, trial_days_max=P.trial_days_max, trial_days_default=P.trial_days_default,
        reminder_days=text("list.and", lang).join(str(d) for d in P.reminder_days_before),
        installment_fee=pct(P.installment_fee_bps), platform_fee=pct(P.platform_fee_bps),
        grace_days=P.grace_days, overdue_score_penalty=P.overdue_score_penalty,
        late_fee_per_day=pct(P.late_fee_bps_per_day), late_fee_cap=pct(P.late_fee_cap_bps),
        suspend_after_days=P.suspend_after_days, bad_debt_after_days=P.bad_debt_after_days,
        platform_min_score=P.platform_min_score, score_min=P.score_min, score_max=P.score_max,
        shop_cap=yuan(P.default_shop_cap_fen), inspection_days=P.inspection_days,
        on_time_score_bonus=P.on_time_score_bonus, on_time_orders_for_step=P.on_time_orders_for_step,
        autopay_days_before_max=P.autopay_days_before_max,
        hardship_min_overdue_days=P.hardship_min_overdue_days, hardship_max_installments=P.hardship_max_installments,
        upload_max_files=P.upload_max_files, upload_max_mb=P.upload_max_bytes // (1024 * 1024),
        rental_full=P.rental_waive_full_score, rental_half=P.rental_waive_half_score, rental_min=P.rental_min_score,
        rental_terms="/".join(map(str, P.rental_terms)),
        **cash_figures(lang),
    )


def cash_figures(lang: str) -> dict[str, object]:
    """备用金's policy numbers as its words name them."""
    from ..domain import loans

    P = POLICY
    return dict(
        cash_min_score=P.cash_min_score, cash_draw_min=yuan(P.cash_draw_min_fen),
        cash_terms=" / ".join(str(n) for n in P.cash_terms),
        cash_daily_rate=loans.rate_percent(P.cash_daily_rate_ppm),
        cash_apr=pct(loans.apr_bps(P.cash_daily_rate_ppm)), cash_apr_cap=pct(P.cash_apr_cap_bps),
        cash_bands=" · ".join(f"{b.low}–{b.high} {yuan(b.line_fen)}" for b in P.cash_bands),
    )


def say(key: str, lang: str, /, **params: object) -> str:
    """``words.render`` with the policy's numbers at hand: what a screen shows for ``key``."""
    return render(key, lang, **{**figures(lang), **params})


def both(key: str, /, **params: object) -> tuple[str, ...]:
    """``key`` in every language (中文, English), for a page that holds both and shows one."""
    if not has(key):
        raise KeyError(f"no words for {key!r}")
    return tuple(say(key, lang, **params) for lang in LANGS)


# ── payment methods ──────────────────────────────────────────────────────────────────────────
def method_name(kind: str | None, label: str, lang: str) -> str:
    """How a payment method is called. The wallet's stored label is only a stand-in: it is named
    by its kind (``method.wallet``); a card by the label it was bound with (bank and last digits)."""
    return capital(text("method.wallet", lang)) if kind == MK.WALLET else label


@dataclass
class MethodView:
    id: int = 0
    kind: str = ""
    label: str = ""
    balance: str = ""
    rank: int = 0  # 1 = tried first
    autopay: bool = True  # automatic deduction may use it (else: manual payments only)
    last: bool = False  # last in the order (nothing to move below)


def method_views(methods: list[PaymentMethod], lang: str) -> list[MethodView]:
    """The methods in the order automatic deductions try them (those it may use)."""
    return [MethodView(m.id, m.kind, method_name(m.kind, m.label, lang), yuan(m.balance_fen), k + 1, bool(m.autopay),
                       k == len(methods) - 1)
            for k, m in enumerate(methods)]
