"""maas-api's expiration rules and Go's duration parsing/formatting, checked without a server."""

from __future__ import annotations

from typing import Any

import pytest

from maas_local.maas_api.body import BodyError, JsonNumber
from maas_local.maas_api.expiration import (
    DEFAULT_EXPIRATION,
    HOUR,
    MICROSECOND,
    MILLISECOND,
    MINUTE,
    NANOSECOND,
    SECOND,
    ExpirationError,
    NegativeExpirationError,
    format_go_duration,
    parse_go_duration,
    requested_expiration,
    token_seconds,
)

MAX_DURATION = (1 << 63) - 1
MIN_DURATION = -(1 << 63)
TOO_SHORT = "token expiration must be at least 10 minutes"


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


@pytest.mark.parametrize("values", [[], [None], ["4h", None]])
def test_an_unset_expiration_defaults_to_4h(values: list[Any]) -> None:
    granted = requested_expiration(values)
    assert granted == DEFAULT_EXPIRATION, f"{values!r}: expected 4h, got {granted} ns"


@pytest.mark.parametrize("values", [[""], ["0"], [0], [0.0], [-0.0], [None, ""]])
def test_a_first_zero_value_sets_the_expiration_to_zero(values: list[Any]) -> None:
    """UnmarshalJSON returns early for "", "0" and 0 after Go allocated the field: it is set,
    and zero, so the default does not apply."""
    assert requested_expiration(values) == 0, f"{values!r}: expected a zero duration"


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
        (JsonNumber("1e3"), 1000 * SECOND),
    ],
)
def test_valid_expiration_is_granted_as_requested(value: Any, nanos: int) -> None:
    assert requested_expiration([value]) == nanos, f"{value!r}: expected {nanos} ns"


@pytest.mark.parametrize(
    ("values", "nanos"),
    [
        (["2h", ""], 2 * HOUR),  # "", "0" and 0 leave the Duration as it was
        (["2h", 0], 2 * HOUR),
        (["2h", None], DEFAULT_EXPIRATION),  # null sets the pointer back to nil
        ([None, "2h"], 2 * HOUR),
        (["1h", "2h"], 2 * HOUR),
    ],
)
def test_repeated_expiration_decodes_into_one_duration(values: list[Any], nanos: int) -> None:
    assert requested_expiration(values) == nanos, f"{values!r}: expected {nanos} ns"


def test_repeated_expiration_stops_at_the_first_error() -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration(["x", "2h"])
    assert str(info.value).startswith('invalid duration "x": '), str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "9m59s",
        "599s",
        "1m",
        "1s",
        "0s",  # a zero with a unit is a duration of 0, not the default
        "0h0m",
        599.999,
        60,
        1,
        1e-10,  # truncates to 0 ns
        -5,
        -600,
        -3600,
        -0.5,
        # beyond int64 nanoseconds: amd64 converts the float to the minimum int64
        float("inf"),
        1e300,
        10**400,
        10**10,
        JsonNumber("9.3e9"),
        JsonNumber("-9.3e9"),
    ],
)
def test_expiration_below_10m_is_refused(value: Any) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration([value])
    assert str(info.value) == TOO_SHORT, str(info.value)


UNCHECKED = frozenset({"expiration-minimum-unchecked"})


def test_unchecked_minimum_grants_a_short_expiration() -> None:
    assert requested_expiration(["1m"], UNCHECKED) == MINUTE


@pytest.mark.parametrize("value", [-5, -3600, 1e300])
def test_unchecked_minimum_still_meets_the_handlers_positive_check(value: Any) -> None:
    """Under the `expiration-minimum-unchecked` fault, handler.go's own check refuses a
    negative grant and shows it, as upstream's handler would."""
    with pytest.raises(NegativeExpirationError) as info:
        requested_expiration([value], UNCHECKED)
    assert str(info.value) == "Invalid expiration format, must be positive", str(info.value)
    assert info.value.expiration < 0, info.value.expiration


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("30", '"30"'),
        ("1 h", '"1 h"'),
        ("-30h", '"-30h"'),
        ("4hours", '"4hours"'),
        ("1ms", '"1ms"'),
        ("1d", '"1d"'),
        ("1.5", '"1.5"'),
        ("abc", '"abc"'),
        (" 4h", '" 4h"'),
        ("4h ", '"4h "'),
        ("4H", '"4H"'),
        ("+4h", '"+4h"'),
        (".5h", '".5h"'),
        ("1.h", '"1.h"'),
        # Go's %q, as a Go program prints it for each value
        ("1h\n", '"1h\\n"'),
        ("\x07", '"\\a"'),
        ("\x01", '"\\x01"'),
        ("\x7f", '"\\x7f"'),
        ("\u00ad", '"\\u00ad"'),
        ("\u2028", '"\\u2028"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("é", '"é"'),
        ("\ufffd", '"\ufffd"'),
        ("\U0001f600", '"\U0001f600"'),
        ("１h", '"１h"'),  # noqa: RUF001 - a full-width digit is not [0-9]
        ('"4h"', '"\\"4h\\""'),
        ("a\\b", '"a\\\\b"'),
    ],
)
def test_malformed_expiration_string_is_refused_in_gos_words(value: str, quoted: str) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration([value])
    expected = (
        f"invalid duration {quoted}: must be a positive number ending in s, m, or h "
        '(e.g. "10s", "5m", "2h")'
    )
    assert str(info.value) == expected, f"{value!r}: expected {expected!r}, got {info.value}"


@pytest.mark.parametrize(
    "value", ["9999999h", "2562048h", "2562047h47m16.854775808s", "99999999999999999999s"]
)
def test_expiration_beyond_int64_is_refused_with_parse_durations_error(value: str) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration([value])
    expected = f'time: invalid duration "{value}"'
    assert str(info.value) == expected, f"{value!r}: expected {expected!r}, got {info.value}"


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "bool"), ([], "[]interface {}"), ({}, "map[string]interface {}")],
)
def test_expiration_of_wrong_json_type_is_refused(value: Any, kind: str) -> None:
    with pytest.raises(ExpirationError) as info:
        requested_expiration([value])
    expected = f"json: cannot unmarshal {kind} into Go value of type Duration"
    assert str(info.value) == expected, f"expected {expected!r}, got {info.value}"


@pytest.mark.parametrize(
    "value",
    [
        JsonNumber("1" + "0" * 4999),
        JsonNumber("-1e400"),
        [JsonNumber("1"), JsonNumber("1e400"), JsonNumber("2e400")],  # the first one is named
    ],
)
def test_expiration_number_beyond_float64_is_the_decoders_error(value: Any) -> None:
    with pytest.raises(BodyError) as info:
        requested_expiration([value])
    text = value[1].text if isinstance(value, list) else value.text
    expected = f"json: cannot unmarshal number {text} into Go struct field Request.expiration"
    expected += " of type float64"
    assert str(info.value) == expected, f"expected {expected[:120]!r}, got {str(info.value)[:120]}"


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
