"""maas-api's expiration rules and Go's duration parsing/formatting, checked without a server."""

from __future__ import annotations

from typing import Any

import pytest

from maas_local.maas_api.expiration import (
    DEFAULT_EXPIRATION,
    HOUR,
    MICROSECOND,
    MILLISECOND,
    MINUTE,
    NANOSECOND,
    SECOND,
    ExpirationError,
    format_go_duration,
    parse_go_duration,
    requested_expiration,
    token_seconds,
)

MAX_DURATION = (1 << 63) - 1
MIN_DURATION = -(1 << 63)


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("4h", 4 * HOUR),
        ("1h30m45s", HOUR + 30 * MINUTE + 45 * SECOND),
        ("1.5h", 90 * MINUTE),
        ("90m", 90 * MINUTE),
        ("0", 0),
        ("0s", 0),
        ("-30h", -30 * HOUR),
        ("+5s", 5 * SECOND),
        (".5s", 500 * MILLISECOND),
        ("1.s", SECOND),
        ("1ms", MILLISECOND),
        ("1.5us", 1500 * NANOSECOND),
        ("2µs", 2 * MICROSECOND),
        ("10ns", 10 * NANOSECOND),
        ("1h0m30.5s", HOUR + 30 * SECOND + 500 * MILLISECOND),
        ("2562047h", 2562047 * HOUR),
        ("9223372036854775807ns", MAX_DURATION),
        ("-9223372036854775808ns", MIN_DURATION),
        ("0.3333333333333333333h", 1_200_000_000_000),
    ],
)
def test_parse_go_duration_accepts_go_durations(text: str, nanos: int) -> None:
    assert parse_go_duration(text) == nanos, f"{text!r}: expected {nanos} ns"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("30", 'time: missing unit in duration "30"'),
        ("1 h", 'time: unknown unit " h" in duration "1 h"'),
        ("4hours", 'time: unknown unit "hours" in duration "4hours"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        (".s", 'time: invalid duration ".s"'),
        ("-", 'time: invalid duration "-"'),
        ("abc", 'time: invalid duration "abc"'),
        ("2562048h", 'time: invalid duration "2562048h"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("99999999999999999999s", 'time: invalid duration "99999999999999999999s"'),
    ],
)
def test_parse_go_duration_refuses_what_go_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^time: ") as info:
        parse_go_duration(text)
    assert str(info.value) == message, f"{text!r}: expected {message!r}, got {info.value}"


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1100, "1.1µs"),
        (2_200_000, "2.2ms"),
        (1_500_000_000, "1.5s"),
        (90_500_000_000, "1m30.5s"),
        (600 * SECOND, "10m0s"),
        (5400 * SECOND, "1h30m0s"),
        (4 * HOUR, "4h0m0s"),
        (HOUR + 30 * SECOND + 500 * MILLISECOND, "1h0m30.5s"),
        (100 * HOUR + 1, "100h0m0.000000001s"),
        (-SECOND, "-1s"),
        (MAX_DURATION, "2562047h47m16.854775807s"),
        (MIN_DURATION, "-2562047h47m16.854775808s"),
    ],
)
def test_format_go_duration_matches_go_string(nanos: int, text: str) -> None:
    assert format_go_duration(nanos) == text, f"{nanos} ns: expected {text!r}"


@pytest.mark.parametrize("value", [None, "", "0", 0, 0.0, -0.0, "0s", "0h0m", 1e-10])
def test_zero_or_missing_expiration_defaults_to_4h(value: Any) -> None:
    granted = requested_expiration(value)
    assert granted == DEFAULT_EXPIRATION, f"{value!r}: expected 4h, got {granted} ns"


@pytest.mark.parametrize(
    ("value", "nanos"),
    [
        ("4h", 4 * HOUR),
        ("1h30m45s", HOUR + 30 * MINUTE + 45 * SECOND),
        ("1.5h", 90 * MINUTE),
        ("10m", 10 * MINUTE),
        ("600s", 10 * MINUTE),
        ("1000h", 1000 * HOUR),
        (600, 10 * MINUTE),
        (3630.5, HOUR + 30 * SECOND + 500 * MILLISECOND),
        (86400 * 365, 86400 * 365 * SECOND),
    ],
)
def test_valid_expiration_is_granted_as_requested(value: Any, nanos: int) -> None:
    assert requested_expiration(value) == nanos, f"{value!r}: expected {nanos} ns"


@pytest.mark.parametrize("value", ["9m59s", "599s", "1m", "1s", 599.999, 60, 1])
def test_expiration_below_10m_is_refused(value: Any) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration(value)
    assert str(info.value) == "token expiration must be at least 10 minutes", str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "30",
        "1 h",
        "-30h",
        "4hours",
        "1ms",
        "1d",
        "1.5",
        "abc",
        " 4h",
        "4h ",
        "4h\n",
        "4H",
        "１h",  # noqa: RUF001 - a full-width digit is not [0-9]
        "+4h",
        ".5h",
        "9999999h",
    ],
)
def test_malformed_expiration_string_is_refused(value: str) -> None:
    with pytest.raises(ExpirationError):
        requested_expiration(value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "bool"), ([], "[]interface {}"), ({}, "map[string]interface {}")],
)
def test_expiration_of_wrong_json_type_is_refused(value: Any, kind: str) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration(value)
    expected = f"json: cannot unmarshal {kind} into Go value of type Duration"
    assert str(info.value) == expected, f"expected {expected!r}, got {info.value}"


@pytest.mark.parametrize("value", [-5, -600, -0.5])
def test_negative_expiration_number_is_refused(value: float) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration(value)
    assert str(info.value) == "expiration must be positive", str(info.value)


@pytest.mark.parametrize("value", [float("inf"), 1e300, 10**400, 10**10])
def test_expiration_number_beyond_go_duration_is_refused(value: float) -> None:
    with pytest.raises(ExpirationError, match="out of range"):
        requested_expiration(value)


@pytest.mark.parametrize(
    ("nanos", "seconds"),
    [
        (4 * HOUR, 14400),
        (10 * MINUTE, 600),
        (HOUR + 30 * SECOND + 500 * MILLISECOND, 3630),
        (600 * SECOND + 999_999_999, 600),
    ],
)
def test_token_request_seconds_are_truncated(nanos: int, seconds: int) -> None:
    assert token_seconds(nanos) == seconds, f"{nanos} ns: expected {seconds} s"
