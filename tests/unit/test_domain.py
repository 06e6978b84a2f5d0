"""The pure domain: money in fen, time helpers and the test clock, policy bands, the message catalog."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bnpl_app.domain import messages
from bnpl_app.domain.clock import UTC, FixedClock, add_months, parse_duration
from bnpl_app.domain.errors import NotEligible, NotFound, ValidationError
from bnpl_app.domain.money import MAX_INPUT_FEN, bps_of, check_amount, parse_yuan, split_even, yuan, yuan_plain
from bnpl_app.domain.policy import POLICY

# ── money ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("fen, shown", [
    (0, "¥0.00"), (1, "¥0.01"), (99, "¥0.99"), (100, "¥1.00"), (123_456, "¥1,234.56"),
    (100_000_000, "¥1,000,000.00"), (-100, "-¥1.00"), (-5, "-¥0.05"),
])
def test_yuan_formats_fen_with_thousands_separator_and_two_decimals(fen, shown):
    assert yuan(fen) == shown


@pytest.mark.parametrize("bad", [1.5, "100", None, True, False])
def test_yuan_refuses_anything_but_int_fen(bad):
    with pytest.raises(TypeError):
        yuan(bad)


@pytest.mark.parametrize("text, fen", [
    ("12.5", 1250), ("12.50", 1250), ("12", 1200), ("0.01", 1), (" 7 ", 700), ("¥1,234.56", 123_456),
    ("¥ 3", 300), ("1,000", 100_000), ("1000000", MAX_INPUT_FEN), ("1,000,000.00", MAX_INPUT_FEN),
])
def test_parse_yuan_reads_what_a_person_types_into_fen(text, fen):
    assert parse_yuan(text) == fen
    assert isinstance(parse_yuan(text), int)


@pytest.mark.parametrize("text", ["", " ", "abc", "1.234", "-1", "+1", "1e3", "1,00", "12.", ".5", "1 2", "¥", "12元",
                                  "0x10", "NaN", "inf", "1.2.3"])
def test_parse_yuan_refuses_malformed_amounts(text):
    with pytest.raises(ValidationError) as e:
        parse_yuan(text)
    assert e.value.key == "bad_amount" and e.value.field == "amount"


def test_parse_yuan_refuses_zero_unless_allowed():
    with pytest.raises(ValidationError) as e:
        parse_yuan("0.00")
    assert e.value.key == "amount_not_positive"
    assert parse_yuan("0.00", allow_zero=True) == 0


def test_parse_yuan_refuses_more_than_the_maximum_and_says_the_maximum():
    with pytest.raises(ValidationError) as e:
        parse_yuan("1000000.01", field="topup")
    assert e.value.key == "amount_too_large" and e.value.field == "topup"
    assert yuan(MAX_INPUT_FEN) in e.value.message


@pytest.mark.parametrize("amount, bps, want", [
    (10_000, POLICY.installment_fee_bps, 10_000 * POLICY.installment_fee_bps // 10_000),
    (1, 5_000, 1),  # 0.5 fen rounds half up
    (3, 5_000, 2),  # 1.5 → 2
    (1, 4_999, 0),
    (0, POLICY.late_fee_bps_per_day, 0),
    (12_345, 0, 0),
])
def test_bps_of_rounds_half_up_to_the_fen(amount, bps, want):
    assert bps_of(amount, bps) == want
    assert isinstance(bps_of(amount, bps), int)


@pytest.mark.parametrize("total, parts", [(10_000, 3), (1, 3), (29_900, 12), (0, 6), (100, 1), (7, 7)])
def test_split_even_adds_up_exactly_with_the_remainder_first(total, parts):
    out = split_even(total, parts)
    assert len(out) == parts and sum(out) == total
    assert max(out) - min(out) <= 1
    assert out == sorted(out, reverse=True)


def test_split_even_refuses_zero_parts():
    with pytest.raises(ValueError):
        split_even(100, 0)


@pytest.mark.parametrize("ok", [1, 500, MAX_INPUT_FEN])
def test_check_amount_accepts_positive_int_fen(ok):
    assert check_amount(ok) == ok


@pytest.mark.parametrize("bad, key", [
    (0, "amount_not_positive"), (-1, "amount_not_positive"), (MAX_INPUT_FEN + 1, "amount_too_large"),
    (1.0, "bad_amount"), ("100", "bad_amount"), (None, "bad_amount"), (True, "bad_amount"),
])
def test_check_amount_refuses_what_a_browser_should_not_send(bad, key):
    with pytest.raises(ValidationError) as e:
        check_amount(bad, field="price")
    assert e.value.key == key and e.value.field == "price"


# ── clock ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("text, delta", [
    ("90m", timedelta(minutes=90)), ("36h", timedelta(hours=36)), ("7d", timedelta(days=7)),
    ("2w", timedelta(weeks=2)), (" 7D ", timedelta(days=7)), ("3650d", timedelta(days=3650)),
])
def test_parse_duration_reads_minutes_hours_days_weeks(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "7", "d", "-1d", "1.5d", "7y", "7 days", "d7", None, "1234567d"])
def test_parse_duration_refuses_malformed_text(text):
    with pytest.raises(ValidationError) as e:
        parse_duration(text)
    assert e.value.key == "bad_duration"


@pytest.mark.parametrize("text", ["3651d", "522w", "999999h"])
def test_parse_duration_refuses_more_than_ten_years(text):
    with pytest.raises(ValidationError) as e:
        parse_duration(text)
    assert e.value.key == "duration_too_long"


@pytest.mark.parametrize("start, months, want", [
    (datetime(2026, 1, 31, 2, 0, tzinfo=UTC), 1, datetime(2026, 2, 28, 2, 0, tzinfo=UTC)),
    (datetime(2028, 1, 31, 2, 0, tzinfo=UTC), 1, datetime(2028, 2, 29, 2, 0, tzinfo=UTC)),
    (datetime(2026, 11, 30, 9, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, 9, 30, tzinfo=UTC)),
    (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
    (datetime(2026, 11, 8, tzinfo=UTC), 12, datetime(2027, 11, 8, tzinfo=UTC)),
    (datetime(2026, 3, 31, tzinfo=UTC), -1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2026, 5, 31, tzinfo=UTC), 0, datetime(2026, 5, 31, tzinfo=UTC)),
])
def test_add_months_keeps_the_day_clamped_to_the_months_end(start, months, want):
    assert add_months(start, months) == want
    assert add_months(start, months).tzinfo == start.tzinfo


def test_fixed_clock_stands_still_until_advanced():
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 11, 1, tzinfo=UTC)
    assert clock.advance(timedelta(hours=5)) == datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert clock.now() == datetime(2026, 11, 1, 5, tzinfo=UTC)


def test_fixed_clock_refuses_to_go_backwards():
    clock = FixedClock()
    before = clock.now()
    with pytest.raises(ValidationError) as e:
        clock.advance(timedelta(seconds=-1))
    assert e.value.key == "clock_backwards"
    assert clock.now() == before


def test_fixed_clock_is_always_timezone_aware_utc():
    assert FixedClock().now().tzinfo is not None
    naive = FixedClock(datetime(2026, 11, 1, 2, 0))
    assert naive.now() == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    cst = timezone(timedelta(hours=8))
    clock = FixedClock()
    clock.set(datetime(2026, 11, 2, 10, 0, tzinfo=cst))
    assert clock.now() == datetime(2026, 11, 2, 2, 0, tzinfo=UTC) and clock.now().utcoffset() == timedelta(0)


# ── policy ───────────────────────────────────────────────────────────────────────────────────


def test_score_bands_cover_every_score_once_in_order():
    bands = POLICY.bands
    assert bands[0].low == POLICY.score_min and bands[-1].high == POLICY.score_max
    for lower, upper in zip(bands, bands[1:]):
        assert upper.low == lower.high + 1
        assert upper.start_limit_fen > lower.start_limit_fen
    for score in range(POLICY.score_min, POLICY.score_max + 1):
        assert sum(b.low <= score <= b.high for b in bands) == 1


def test_below_the_platform_minimum_no_limit_is_granted():
    assert POLICY.start_limit(POLICY.platform_min_score - 1) == 0
    assert POLICY.start_limit(POLICY.score_min) == 0
    assert POLICY.start_limit(POLICY.platform_min_score) > 0


@pytest.mark.parametrize("band", POLICY.bands, ids=lambda b: b.name_en)
def test_start_limit_comes_from_the_band_at_both_edges(band):
    assert POLICY.band_for(band.low) is band and POLICY.band_for(band.high) is band
    assert POLICY.start_limit(band.low) == POLICY.start_limit(band.high) == band.start_limit_fen
    assert band.start_limit_fen <= band.ceiling_fen


def test_band_for_clamps_scores_outside_the_range():
    assert POLICY.band_for(POLICY.score_min - 100) is POLICY.bands[0]
    assert POLICY.band_for(POLICY.score_max + 100) is POLICY.bands[-1]


def test_next_step_climbs_one_step_at_a_time():
    steps = POLICY.limit_steps_fen
    top = POLICY.bands[-1]
    for lower, upper in zip(steps, steps[1:]):
        assert POLICY.next_step(lower, top.low) == upper


@pytest.mark.parametrize("band", [b for b in POLICY.bands if b.start_limit_fen], ids=lambda b: b.name_en)
def test_next_step_never_rises_above_the_bands_ceiling(band):
    limit = band.start_limit_fen
    for _ in range(len(POLICY.limit_steps_fen) + 1):
        nxt = POLICY.next_step(limit, band.low)
        assert limit <= nxt <= band.ceiling_fen
        limit = nxt
    assert limit == band.ceiling_fen
    assert POLICY.next_step(band.ceiling_fen, band.low) == band.ceiling_fen


def test_next_step_from_a_cut_limit_goes_to_the_next_step_above_it():
    fair = POLICY.band_for(POLICY.platform_min_score)
    cut = fair.start_limit_fen // POLICY.overdue_limit_divisor
    assert POLICY.next_step(cut, fair.low) == fair.start_limit_fen


def test_clamp_score_and_periods_of_plan():
    assert POLICY.clamp_score(POLICY.score_min - 1) == POLICY.score_min
    assert POLICY.clamp_score(POLICY.score_max + 1) == POLICY.score_max
    assert POLICY.periods_of("full") == 1
    assert [POLICY.periods_of(str(n)) for n in POLICY.installment_periods] == list(POLICY.installment_periods)


# ── messages ─────────────────────────────────────────────────────────────────────────────────

_FIELD_RE = re.compile(r"{(\w+)}")


def test_every_message_has_chinese_and_english_with_the_same_placeholders():
    for key, (zh, en) in messages.MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert set(_FIELD_RE.findall(zh)) == set(_FIELD_RE.findall(en)), key


def test_every_hint_belongs_to_a_message():
    for key in messages.MESSAGES:
        if key.endswith(".hint"):
            assert messages.has(key[: -len(".hint")]), key


def test_render_fills_parameters_in_the_readers_language():
    assert messages.render("elig.platform_score", "zh", score=500, min=POLICY.platform_min_score) == \
        f"信用分 500 < 平台最低 {POLICY.platform_min_score}"
    assert messages.render("elig.platform_score", "en", score=500, min=POLICY.platform_min_score) == \
        f"score 500 < platform minimum {POLICY.platform_min_score}"


def test_render_defaults_to_chinese_and_keeps_missing_parameters_visible():
    assert messages.render("not_found", what="订单") == "找不到该订单"
    assert messages.render("not_found", "en") == "{what} not found"


def test_render_of_an_unknown_key_shows_the_key():
    assert messages.render("no.such.key", "en") == "no.such.key"
    assert not messages.has("no.such.key")


def test_domain_error_carries_key_field_message_and_hint():
    e = ValidationError("elig.real_name", field="x")
    assert e.key == "elig.real_name" and e.field == "x"
    assert e.message == messages.render("elig.real_name", "en")
    assert e.hint == messages.render("elig.real_name.hint", "en")
    assert e.text("zh") == messages.render("elig.real_name", "zh") + " — " + messages.render("elig.real_name.hint", "zh")
    assert str(e) == e.text("en")
    assert ValidationError("bad_id").hint == ""


def test_not_found_and_not_eligible_render_their_reasons():
    assert NotFound("order").message == "order not found"
    assert "找不到该" in NotFound("order").text("zh")
    ne = NotEligible([])
    assert ne.text("en") == messages.render("not_eligible", "en")


def test_plain_yuan_is_exact_with_or_without_zero_cents():
    assert [yuan_plain(f) for f in (0, 5, 123_450, -150)] == ["0.00", "0.05", "1234.50", "-1.50"]
    assert [yuan_plain(f, drop_zero_cents=True) for f in (0, 123_400, 123_450, -150)] == ["0", "1234", "1234.50", "-1.50"]
