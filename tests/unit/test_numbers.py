"""The one parser of whole numbers from a browser (``domain.numbers.whole_number``) and the places
that parse typed text with it: ASCII digits only, bounded, a refusal rather than a traceback."""

from __future__ import annotations

import pytest

from bnpl_app.domain.errors import ValidationError
from bnpl_app.domain.money import parse_yuan
from bnpl_app.domain.numbers import MAX_ID, whole_number
from bnpl_app.services.merchant import parse_stock
from bnpl_app.services.paging import as_id


@pytest.mark.parametrize("value, expected", [
    (12, 12), ("12", 12), (12.0, 12), (" 12 ", 12), ("-1", None), (MAX_ID, MAX_ID), (str(MAX_ID), MAX_ID),
])
def test_numbers_a_browser_sends(value, expected):
    assert whole_number(value) == expected


@pytest.mark.parametrize("value", [
    True, False, None, [], [1], {}, {"id": 1}, 1.5, float("nan"), float("inf"), -float("inf"), 1e300, 2**63,
    MAX_ID + 1, 10**400, "", " ", "²", "１２", "３", "٣", "๓", "1²", "1e3", "1_000", "+1", "0x1", "1.0", "12a",
    "1" * 17, "1" * 1_000_000, "x" * 1_000_000, "1\n", "\u00a01",
])
def test_anything_else_is_no_number(value):
    assert whole_number(value) is None


def test_range_and_sign():
    assert whole_number("-1", lo=-1, hi=1) == -1
    assert whole_number(-1, lo=-1, hi=1) == -1
    assert whole_number("2", lo=-1, hi=1) is None
    assert whole_number("0", lo=0) == 0
    assert whole_number("1234567", max_digits=6) is None


def test_need_int_refuses_in_both_languages():
    from bnpl_app.state.helpers import need_int

    assert need_int("7", lo=1, hi=9) == 7
    with pytest.raises(ValidationError) as e:
        need_int("²", lo=1, hi=9)
    assert "0-9" in e.value.text("zh") and "whole number from 1 to 9" in e.value.text("en")


@pytest.mark.parametrize("text", ["²", "３", "٣", "1" * 1_000_000, "¥１００"])
def test_amounts_are_ascii_digits_and_bounded(text):
    with pytest.raises(ValidationError):
        parse_yuan(text)


def test_amounts_still_parse():
    assert parse_yuan(" ¥1,000.5 ") == 100_050


@pytest.mark.parametrize("text", ["²", "#²", "３", "1" * 100])
def test_a_search_for_a_superscript_is_no_record_number(text):
    assert as_id(text) is None
    assert as_id("#42") == 42


@pytest.mark.parametrize("text", ["²", "３", "1" * 1_000_000, "-1"])
def test_stock_is_ascii_digits(text):
    with pytest.raises(ValidationError):
        parse_stock(text)
    assert parse_stock("12") == 12
