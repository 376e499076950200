"""Credentials never reach the report or the console: tokens are masked wherever they appear.

A mask keeps the kind of credential and a short hash, so two mentions of one token still read
as the same token.
"""

from __future__ import annotations

import hashlib
import re

_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")
_OPAQUE = re.compile(r"(?<![A-Za-z0-9_-])sha256~[A-Za-z0-9_-]+")
_BEARER = re.compile(r"\b(Bearer\s+)(?!\[)([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)


def _mask(kind: str, secret: str) -> str:
    return f"[{kind} sha256:{hashlib.sha256(secret.encode()).hexdigest()[:8]}]"


def redact(text: str) -> str:
    """`text` with every JWT, OpenShift-style opaque token and bearer credential masked."""
    text = _JWT.sub(lambda m: _mask("jwt", m.group(0)), text)
    text = _OPAQUE.sub(lambda m: _mask("opaque token", m.group(0)), text)
    return _BEARER.sub(lambda m: m.group(1) + _mask("credential", m.group(2)), text)
