"""The `expiration` of POST /v1/tokens, read and checked the way maas-api (Go) does it.

Durations are integer nanoseconds, like Go's `time.Duration`, so parsing, truncation, overflow
and the `String()` form come out exactly as the real service reports them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

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
_GO_TYPES = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
_DAYS = re.compile(r"([0-9]+(?:\.[0-9]+)?)d", re.ASCII)


class ExpirationError(ValueError):
    """The expiration is malformed or too short; the message is the 400 body's `error`."""


def requested_expiration(value: Any, faults: frozenset[str] = frozenset()) -> int:
    """The granted duration (ns) for the JSON value of `expiration` (None when absent or null).

    Missing, "", "0" and anything worth zero fall back to the default; below the minimum is
    refused; there is no maximum.
    """
    duration = 0 if value is None else _duration_of(value, faults)
    if duration == 0:
        return DEFAULT_EXPIRATION
    if duration < 0:
        raise ExpirationError("expiration must be positive")
    if duration < MIN_EXPIRATION and "expiration-minimum-unchecked" not in faults:
        raise ExpirationError("token expiration must be at least 10 minutes")
    return duration


def _duration_of(value: Any, faults: frozenset[str]) -> int:
    if isinstance(value, str):
        if "expiration-days-accepted" in faults:
            # The regression: a "helpful" rewrite of days into hours before validation.
            value = _DAYS.sub(lambda m: f"{Decimal(m[1]) * 24}h", value)
        return _duration_of_string(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _duration_of_seconds(value)
    kind = _GO_TYPES.get(type(value), type(value).__name__)
    raise ExpirationError(f"json: cannot unmarshal {kind} into Go value of type Duration")


def _duration_of_string(value: str) -> int:
    if value in ("", "0"):
        return 0
    if not _FORMAT.fullmatch(value):
        raise ExpirationError(
            f"invalid expiration {_quote(value)}: use hours, minutes and seconds "
            'such as "4h", "30m" or "1h30m45s"'
        )
    try:
        return parse_go_duration(value)
    except ValueError as exc:
        raise ExpirationError(str(exc)) from None


def _duration_of_seconds(seconds: float) -> int:
    """`time.Duration(value * float64(time.Second))`: seconds as float64, truncated to ns."""
    try:
        nanos = float(seconds) * SECOND
    except OverflowError:
        nanos = math.inf
    if not math.isfinite(nanos) or abs(nanos) >= _GO_LIMIT:
        raise ExpirationError(f"expiration {seconds} seconds is out of range")
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
        raise ValueError(f"time: invalid duration {_quote(orig)}")
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        whole, s, pre = _leading_int(s, orig)
        frac, scale, post = 0, 1.0, False
        if s.startswith("."):
            frac, scale, s, post = _leading_fraction(s[1:])
        if not pre and not post:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        i = 0
        while i < len(s) and s[i] != "." and not (s[i].isascii() and s[i].isdigit()):
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {_quote(orig)}")
        unit_name, s = s[:i], s[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {_quote(unit_name)} in duration {_quote(orig)}")
        if whole > _GO_LIMIT // unit:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        whole *= unit
        if frac > 0:
            whole += int(float(frac) * (float(unit) / scale))
            if whole > _GO_LIMIT:
                raise ValueError(f"time: invalid duration {_quote(orig)}")
        total += whole
        if total > _GO_LIMIT:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
    if neg:
        return -total
    if total > _MAX_DURATION:
        raise ValueError(f"time: invalid duration {_quote(orig)}")
    return total


def _leading_int(s: str, orig: str) -> tuple[int, str, bool]:
    i, value = 0, 0
    while i < len(s) and s[i].isascii() and s[i].isdigit():
        if value > _GO_LIMIT // 10:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
        value = value * 10 + int(s[i])
        if value > _GO_LIMIT:
            raise ValueError(f"time: invalid duration {_quote(orig)}")
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


def _quote(text: str) -> str:
    """Roughly Go's `strconv.Quote`, enough to show the offending value."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped) + '"'
