"""Reading Kubernetes status conditions the same way in preflight, waits and diagnostics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    """The `status.conditions` entry of that type, or None when the controller set none."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_true(obj: Mapping[str, Any], kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def describe_condition(cond: Mapping[str, Any] | None) -> str:
    """`False (Reason: message)`, or why there is nothing to show."""
    if cond is None:
        return "not reported yet"
    reason = cond.get("reason") or ""
    message = (cond.get("message") or "").strip()
    detail = ": ".join(part for part in (reason, message[:300]) if part)
    return f"{cond.get('status', '?')} ({detail})" if detail else str(cond.get("status", "?"))
