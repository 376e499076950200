"""Kuadrant's `window` strings (`2m`, `1h30m`, `500ms`) as whole seconds, like the operator."""

from __future__ import annotations

import re

WINDOW_PATTERN = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
_PART = re.compile(r"([0-9]{1,5})(ms|h|m|s)")
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def window_seconds(window: str) -> int:
    """Seconds of a window; raises ValueError for a string the CRD's pattern refuses."""
    if not WINDOW_PATTERN.match(window):
        raise ValueError(f"window {window!r} does not match {WINDOW_PATTERN.pattern}")
    millis = sum(int(n) * _UNIT_MS[unit] for n, unit in _PART.findall(window))
    return millis // 1000
