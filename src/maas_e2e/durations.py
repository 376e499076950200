"""What maas-api must grant for an `expiration` request value, how Go prints it, and the
words of its 400 when it refuses one.

maas-api is written in Go: a string expiration goes through `time.ParseDuration`, a JSON
number through float64 nanoseconds, and the reply's `expiration` is `time.Duration.String()`.
The suite predicts all three exactly (integer nanoseconds, Go's overflow rules) so that an
off-by-rounding grant or a mis-printed duration is caught rather than tolerated.
"""

from __future__ import annotations

import re
from typing import Final

NANOS_PER_SECOND: Final = 1_000_000_000
DEFAULT_GRANT_SECONDS: Final = 4 * 3600
MINIMUM_GRANT_SECONDS: Final = 10 * 60

# maas-api's 400 texts for a refused expiration (internal/token/types.go @ e38c15ed).
EXPIRATION_TOO_SHORT: Final = "token expiration must be at least 10 minutes"

_MAX_INT64: Final = (1 << 63) - 1
_UNIT_NANOS: Final = {
    "h": 3600 * NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND,
    "s": NANOS_PER_SECOND,
}
# ASCII digits only (Go's \d), and fullmatch so that a trailing newline is not accepted.
_EXPIRATION_STRING = re.compile(r"([0-9]+(\.[0-9]+)?[hms])+", re.ASCII)
_COMPONENT = re.compile(r"([0-9]+)(?:\.([0-9]+))?([hms])", re.ASCII)


class _Missing:
    """Marks an absent `expiration` field (distinct from an explicit JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def expected_grant_seconds(value: object = MISSING) -> float | None:
    """The lifetime maas-api grants for this `expiration` value, or None when it grants none
    (400, or the 500 of `asks_for_a_zero_second_token`).

    `value` is the decoded JSON value (`MISSING` when the field is absent). A JSON null leaves
    Go's pointer field nil, which maas-api treats like an absent field.
    """
    nanos = _grant_nanos(value)
    return None if nanos is None else nanos / NANOS_PER_SECOND


def _grant_nanos(value: object) -> int | None:
    if _means_default(value):
        return DEFAULT_GRANT_SECONDS * NANOS_PER_SECOND
    if asks_for_a_zero_second_token(value):
        return None
    requested = _requested_nanos(value)
    if requested is None or requested < MINIMUM_GRANT_SECONDS * NANOS_PER_SECOND:
        return None
    return requested


def _means_default(value: object) -> bool:
    """No field or null: Go's `*Duration` stays nil, the one case maas-api grants its default."""
    return value is MISSING or value is None


def asks_for_a_zero_second_token(value: object) -> bool:
    """ "", "0" and the number 0: maas-api's `Duration.UnmarshalJSON` returns early for them, so
    the field is set but zero, the 4h default never applies, and maas-api asks the API server
    for a zero-second token, which it refuses (TokenRequest's minimum is 10 minutes): the
    caller gets 500 "Failed to generate token". Anything else worth zero ("0s", 1e-10) is
    refused by maas-api itself as shorter than the minimum.
    """
    if isinstance(value, str):
        return value in ("", "0")
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _requested_nanos(value: object) -> int | None:
    """Nanoseconds as maas-api decodes a value that is not the default; None means 400."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # Go: time.Duration(value * float64(time.Second)); out of int64 range is no duration.
        try:
            nanos = float(value) * NANOS_PER_SECOND
        except OverflowError:
            return None
        if not -(2.0**63) <= nanos < 2.0**63:
            return None
        return int(nanos)
    if isinstance(value, str):
        if not _EXPIRATION_STRING.fullmatch(value):
            return None
        return _parse_go_duration(value)
    return None


def not_a_duration_error(quoted: str) -> str:
    """The 400 text for a string that is not h/m/s parts; `quoted` is the value as Go's %q
    prints it (`"1d"`, `"1h\\n"`)."""
    return (
        f"invalid duration {quoted}: must be a positive number ending in s, m, or h "
        '(e.g. "10s", "5m", "2h")'
    )


def wrong_type_error(go_type: str) -> str:
    """The 400 text for a JSON value that is neither a string nor a number; `go_type` is how
    Go's %T names what json.Unmarshal made of it (`bool`, `[]interface {}`)."""
    return f"json: cannot unmarshal {go_type} into Go value of type Duration"


def _parse_go_duration(text: str) -> int | None:
    """Go's time.ParseDuration for the unsigned h/m/s strings the expiration regex admits,
    including its truncation of fractions and its int64 overflow errors."""
    total = 0
    for whole, fraction, unit in _COMPONENT.findall(text):
        unit_nanos = _UNIT_NANOS[unit]
        integer = int(whole)
        if integer > (1 << 63) // unit_nanos:
            return None
        nanos = integer * unit_nanos
        if fraction:
            digits, scale = _leading_fraction(fraction)
            nanos += int(float(digits) * (float(unit_nanos) / scale))
            if nanos > 1 << 63:
                return None
        total += nanos
        if total > 1 << 63:
            return None
    return None if total > _MAX_INT64 else total


def _leading_fraction(fraction: str) -> tuple[int, float]:
    """Go keeps fraction digits only while they fit in int64 and ignores the rest."""
    digits, scale = 0, 1.0
    for char in fraction:
        if digits > _MAX_INT64 // 10:
            break
        candidate = digits * 10 + int(char)
        if candidate > 1 << 63:
            break
        digits, scale = candidate, scale * 10
    return digits, scale


def go_duration_string(seconds: float) -> str:
    """Go's time.Duration.String() of a duration given in seconds (rounded to nanoseconds)."""
    return _format_nanos(round(seconds * NANOS_PER_SECOND))


def _format_nanos(nanos: int) -> str:
    sign = "-" if nanos < 0 else ""
    magnitude = abs(nanos)
    if magnitude == 0:
        return "0s"
    if magnitude < NANOS_PER_SECOND:
        for unit, size, digits in (("ms", 1_000_000, 6), ("µs", 1_000, 3), ("ns", 1, 0)):
            if magnitude >= size:
                return f"{sign}{_decimal(magnitude, digits)}{unit}"
    whole_seconds, fraction = divmod(magnitude, NANOS_PER_SECOND)
    seconds_text = _decimal(whole_seconds % 60 * NANOS_PER_SECOND + fraction, 9)
    minutes = whole_seconds // 60
    if minutes == 0:
        return f"{sign}{seconds_text}s"
    hours, minutes = divmod(minutes, 60)
    hours_text = f"{hours}h" if hours else ""
    return f"{sign}{hours_text}{minutes}m{seconds_text}s"


def _decimal(value: int, digits: int) -> str:
    """`value / 10**digits` with trailing fractional zeros (and a bare point) removed."""
    whole, fraction = divmod(value, 10**digits)
    if digits == 0 or fraction == 0:
        return str(whole)
    return f"{whole}.{str(fraction).rjust(digits, '0').rstrip('0')}"
