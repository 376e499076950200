"""Keep credentials out of reports while keeping them tell-apart-able.

Reports (Allure attachments, assertion messages) outlive the run and get shared, so every token
is masked before it is stored. Each mask keeps a harmless prefix and a short hash of the secret,
so a reader can still see that two requests carried the same (or a different) token.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

MARK: Final = "[redacted"
SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)
SENSITIVE_JSON_KEYS: Final = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "authorization",
    }
)

# A JWT, or what is left of one cut short: base64url JSON header, then at least one dot.
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")
_OPENSHIFT = re.compile(r"(?<![A-Za-z0-9_-])sha256~[A-Za-z0-9_-]+")
# Possessive so an already masked value ("Bearer eyJhbGci…[redacted") is not masked again;
# `realm="x"` / `error="y"` are challenge parameters, not credentials.
_BEARER = re.compile(r"\b(bearer)(\s+)(?![A-Za-z_-]+=\")([A-Za-z0-9._~+/=-]++)(?!…)", re.I)
_JSON_FIELD = re.compile(
    r'("(' + "|".join(sorted(SENSITIVE_JSON_KEYS)) + r')"\s*:\s*")((?:[^"\\]|\\.)*)("|$)', re.I
)


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def mask_secret(secret: str) -> str:
    """A stand-in for one credential: recognisable kind and prefix, plus a hash to compare."""
    if not secret or MARK in secret:
        return secret
    digest = _fingerprint(secret)
    if secret.startswith("eyJ") and "." in secret:
        return f"{secret.split('.')[0][:8]}…{MARK} jwt sha256:{digest}]"
    if secret.startswith("sha256~"):
        return f"sha256~…{MARK} openshift-token sha256:{digest}]"
    return f"{MARK} {len(secret)} chars sha256:{digest}]"


def mask_authorization(value: str) -> str:
    """An Authorization value with its scheme kept and its credentials masked."""
    scheme, sep, credentials = value.strip().partition(" ")
    if not sep:
        return mask_secret(value)
    return f"{scheme} {mask_secret(credentials.strip())}"


def redact_text(text: str) -> str:
    """Mask every credential found in free text, headers dumps or (possibly cut) JSON."""

    def json_field(match: re.Match[str]) -> str:
        key, value = match.group(2), match.group(3)
        masked = mask_authorization(value) if key.lower() == "authorization" else mask_secret(value)
        return f"{match.group(1)}{masked}{match.group(4)}"

    text = _JSON_FIELD.sub(json_field, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{mask_secret(m.group(3))}", text)
    text = _JWT.sub(lambda m: mask_secret(m.group(0)), text)
    return _OPENSHIFT.sub(lambda m: mask_secret(m.group(0)), text)


def redact_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Headers with credential-bearing values masked (and any token elsewhere too)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    redacted = []
    for name, value in pairs:
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            redacted.append((name, mask_authorization(value)))
        elif lowered in SENSITIVE_HEADERS:
            redacted.append((name, mask_secret(value)))
        else:
            redacted.append((name, redact_text(value)))
    return redacted


def redact_json(value: Any) -> Any:
    """A copy of decoded JSON with sensitive fields and embedded tokens masked."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            lowered = str(key).lower()
            if isinstance(item, str) and lowered == "authorization":
                result[key] = mask_authorization(item)
            elif isinstance(item, str) and lowered in SENSITIVE_JSON_KEYS:
                result[key] = mask_secret(item)
            else:
                result[key] = redact_json(item)
        return result
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
