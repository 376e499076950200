"""The oracle's expiration rules and Go duration printing, per docs/contract.md#maas-api."""

from __future__ import annotations

import pytest

from maas_e2e.durations import (
    MISSING,
    asks_for_a_zero_second_token,
    expected_grant_seconds,
    go_duration_string,
)


@pytest.mark.parametrize("value", ["", "0", 0, 0.0, -0.0])
def test_zero_values_ask_for_a_zero_second_token_and_get_no_grant(value: object) -> None:
    assert asks_for_a_zero_second_token(value), f"{value!r} should reach the TokenRequest as 0 s"
    assert expected_grant_seconds(value) is None, f"{value!r}: no grant expected"


@pytest.mark.parametrize("value", [MISSING, None, "0s", False, "00"])
def test_other_values_do_not_ask_for_a_zero_second_token(value: object) -> None:
    assert not asks_for_a_zero_second_token(value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (MISSING, 14400),
        (None, 14400),
        ("4h", 14400),
        ("1h30m45s", 5445),
        ("1.5h", 5400),
        ("10m", 600),
        ("600s", 600),
        ("0.25h", 900),
        ("1h1h", 7200),
        (600, 600),
        (600.5, 600.5),
        (3600.25, 3600.25),
        ("2562047h", 2562047 * 3600),
    ],
)
def test_expiration_is_granted(value: object, seconds: float) -> None:
    actual = expected_grant_seconds(value)
    assert actual == seconds, f"expiration {value!r}: expected {seconds}s, got {actual}"


@pytest.mark.parametrize(
    "value",
    [
        "30", "1 h", "-30h", "4hours", "1ms", "1d", "4H", " 4h", "4h\n", "1.h", ".5h", "1e3s",
        "\u0663h", "9m59s", "9.99m", "2562048h", "0s", "0h0m", 1e-10, 599, 599.999, -600, 1,
        1e30, True, False,
        [], {}, ["4h"],
    ],
)  # fmt: skip
def test_expiration_is_rejected(value: object) -> None:
    actual = expected_grant_seconds(value)
    assert actual is None, f"expiration {value!r}: expected rejection (400), got {actual}s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (14400, "4h0m0s"),
        (5400, "1h30m0s"),
        (600, "10m0s"),
        (90.5, "1m30.5s"),
        (5445, "1h30m45s"),
        (30, "30s"),
        (0, "0s"),
        (600.5, "10m0.5s"),
        (1.5, "1.5s"),
        (0.0015, "1.5ms"),
        (0.0000015, "1.5µs"),
        (1e-9, "1ns"),
        (-90, "-1m30s"),
        (100 * 3600, "100h0m0s"),
    ],
)
def test_go_duration_string_matches_go(seconds: float, text: str) -> None:
    assert go_duration_string(seconds) == text
