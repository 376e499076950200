"""The `expiration` of POST /v1/tokens, read and checked the way maas-api (Go) does it.

Durations are integer nanoseconds, like Go's `time.Duration`, so parsing, truncation, overflow
and the `String()` form come out exactly as the real service reports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from maas_local.maas_api.body import UnmarshalTypeError, go_interface, go_quote

NANOSECOND = 1
MICROSECOND = 1_000 * NANOSECOND
MILLISECOND = 1_000 * MICROSECOND
SECOND = 1_000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

DEFAULT_EXPIRATION = 4 * HOUR
MIN_EXPIRATION = 10 * MINUTE

_MAX_DURATION = (1 << 63) - 1
_GO_LIMIT = 1 << 63
# Go's regexp: `\d` is ASCII only and `$` is the end of the text (no trailing newline).
_FORMAT = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?[hms])+", re.ASCII)
_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,  # U+00B5 micro sign
    "μs": MICROSECOND,  # U+03BC Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
# `%T` of what json.Unmarshal leaves in an interface{} that is neither a string nor a number.
_GO_TYPES = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
_DAYS = re.compile(r"([0-9]+(?:\.[0-9]+)?)d", re.ASCII)
_TOO_SHORT = "token expiration must be at least 10 minutes"


class ExpirationError(ValueError):
    """The expiration is malformed or too short; the message is the 400 body's `error`."""


class NegativeExpirationError(ExpirationError):
    """handler.go's own check for a negative grant, whose 400 also shows the expiration."""

    def __init__(self, expiration: int) -> None:
        super().__init__("Invalid expiration format, must be positive")
        self.expiration = expiration


def requested_expiration(values: Iterable[Any], faults: frozenset[str] = frozenset()) -> int:
    """The granted duration (ns) for the `expiration` values of a body, in document order.

    Go decodes every occurrence into the one `*Duration` field: null (None) sets it to nil,
    anything else allocates it and goes through `Duration.UnmarshalJSON`, which keeps the value
    it had for "", "0" and 0. Only a nil field gets the 4h default: a first "", "0" or 0 leaves
    a zero duration, which maas-api sends on as a zero-second TokenRequest (refused by the API
    server, so the caller gets the 500 "Failed to generate token"). There is no maximum.
    """
    duration: int | None = None
    for value in values:
        duration = None if value is None else unmarshal_duration(value, duration or 0, faults)
    if duration is None:
        return DEFAULT_EXPIRATION
    if duration < 0:
        raise NegativeExpirationError(duration)
    return duration


def unmarshal_duration(value: Any, current: int = 0, faults: frozenset[str] = frozenset()) -> int:
    """maas-api's `Duration.UnmarshalJSON`: the Duration after decoding one JSON value into it.

    Its errors are Go's texts word for word (they are the 400's `error`); a number too large for
    float64 is the decoder's error for the field `Request.expiration`.
    """
    try:
        value = go_interface(value)
    except UnmarshalTypeError as exc:
        raise exc.in_field("Request.expiration") from None
    if isinstance(value, str):
        if value in ("", "0"):
            return current
        duration = _duration_of_string(value, faults)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if value == 0:
            return current
        duration = _duration_of_seconds(value)
    else:
        kind = _GO_TYPES.get(type(value), type(value).__name__)
        raise ExpirationError(f"json: cannot unmarshal {kind} into Go value of type Duration")
    if duration < MIN_EXPIRATION and "expiration-minimum-unchecked" not in faults:
        raise ExpirationError(_TOO_SHORT)
    return duration


def _duration_of_string(value: str, faults: frozenset[str]) -> int:
    if "expiration-days-accepted" in faults:
        # The regression: a "helpful" rewrite of days into hours before validation.
        value = _DAYS.sub(lambda m: f"{Decimal(m[1]) * 24}h", value)
    if not _FORMAT.fullmatch(value):
        raise ExpirationError(
            f"invalid duration {go_quote(value)}: must be a positive number ending in s, m, or h "
            '(e.g. "10s", "5m", "2h")'
        )
    try:
        return parse_go_duration(value)
    except ValueError as exc:
        raise ExpirationError(str(exc)) from None


def _duration_of_seconds(seconds: float) -> int:
    """`time.Duration(value * float64(time.Second))`: seconds as float64, truncated to ns.

    Like Go on amd64, a product outside int64 (infinity included) converts to the minimum
    int64, a negative duration.
    """
    try:
        nanos = float(seconds) * SECOND
    except OverflowError:
        return -_GO_LIMIT
    if not -_GO_LIMIT <= nanos < _GO_LIMIT:
        return -_GO_LIMIT
    return int(nanos)


def parse_go_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds, with its errors and overflow rules."""
    orig, s = text, text
    neg = False
    if s and s[0] in "-+":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {go_quote(orig)}")
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        whole, s, pre = _leading_int(s, orig)
        frac, scale, post = 0, 1.0, False
        if s.startswith("."):
            frac, scale, s, post = _leading_fraction(s[1:])
        if not pre and not post:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        i = 0
        while i < len(s) and s[i] != "." and not (s[i].isascii() and s[i].isdigit()):
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {go_quote(orig)}")
        unit_name, s = s[:i], s[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            unknown = go_quote(unit_name)
            raise ValueError(f"time: unknown unit {unknown} in duration {go_quote(orig)}")
        if whole > _GO_LIMIT // unit:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        whole *= unit
        if frac > 0:
            whole += int(float(frac) * (float(unit) / scale))
            if whole > _GO_LIMIT:
                raise ValueError(f"time: invalid duration {go_quote(orig)}")
        total += whole
        if total > _GO_LIMIT:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
    if neg:
        return -total
    if total > _MAX_DURATION:
        raise ValueError(f"time: invalid duration {go_quote(orig)}")
    return total


def _leading_int(s: str, orig: str) -> tuple[int, str, bool]:
    i, value = 0, 0
    while i < len(s) and s[i].isascii() and s[i].isdigit():
        if value > _GO_LIMIT // 10:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        value = value * 10 + int(s[i])
        if value > _GO_LIMIT:
            raise ValueError(f"time: invalid duration {go_quote(orig)}")
        i += 1
    return value, s[i:], i > 0


def _leading_fraction(s: str) -> tuple[int, float, str, bool]:
    """Digits after the point; like Go, digits past int64 precision are consumed but dropped."""
    i, value, scale, overflow = 0, 0, 1.0, False
    while i < len(s) and s[i].isascii() and s[i].isdigit():
        if not overflow:
            if value > _MAX_DURATION // 10:
                overflow = True
            else:
                nxt = value * 10 + int(s[i])
                if nxt > _GO_LIMIT:
                    overflow = True
                else:
                    value = nxt
                    scale *= 10
        i += 1
    return value, scale, s[i:], i > 0


def format_go_duration(nanos: int) -> str:
    """Go's `time.Duration.String()`: "4h0m0s", "1h30m0s", "1m30.5s", "1.5ms", "0s"."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = abs(nanos)
    if u < SECOND:
        if u < MICROSECOND:
            return f"{sign}{u}ns"
        if u < MILLISECOND:
            return f"{sign}{_with_fraction(u, 3)}µs"
        return f"{sign}{_with_fraction(u, 6)}ms"
    seconds, frac = divmod(u, SECOND)
    text = f"{seconds % 60}{_fraction(frac, 9)}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def _with_fraction(value: int, precision: int) -> str:
    whole, frac = divmod(value, 10**precision)
    return f"{whole}{_fraction(frac, precision)}"


def _fraction(frac: int, precision: int) -> str:
    """`.digits` without trailing zeros, or nothing when the fraction is zero."""
    digits = f"{frac:0{precision}d}".rstrip("0")
    return f".{digits}" if digits else ""


def token_seconds(nanos: int) -> int:
    """`int64(expiration.Seconds())`: what maas-api asks the TokenRequest for (truncated)."""
    seconds, frac = divmod(nanos, SECOND)
    return int(float(seconds) + float(frac) / 1e9)
