"""What two sides may legitimately answer differently is replaced before comparing.

A fresh cluster and a fresh embedded stack mint different UIDs, keys, tokens and timestamps, and
listen on different ports; none of that is a fidelity gap. Everything else is kept: keys, types,
error texts, the claims of an issued token (with its lifetime as exp - iat) are compared as they
are. A token's claims are read without verifying its signature: the harness compares, it does
not authenticate.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from maas_fidelity.exchange import Observation

JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_OPAQUE = re.compile(r"sha256~[A-Za-z0-9_-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
# kube-apiserver's key id: base64url(sha256(DER)), 43 characters.
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{43}")
UNIX_TIME_KEYS = frozenset({"exp", "iat", "nbf", "expiresAt", "created"})
"""Keys whose integer values are instants (the time of the run, not of the side)."""
# Values that are the server's bookkeeping of this very request: their presence is compared.
_OPAQUE_KEYS = {
    "n": "<rsa-modulus>",
    "resourceVersion": "<resource-version>",
    "managedFields": "<managed-fields>",
}
ISSUED_TOKEN_PATHS = (("status", "token"), ("token",))
"""Where TokenRequest and maas-api put the token they issue (a TokenReview's echoed
`spec.token` is the caller's, not issued)."""


class Normaliser:
    """Replaces the run's own values; `replacements` are a side's own strings (its URLs, the
    run's names) and the placeholders they become, longest first so a URL wins over its host;
    `patterns` go first, for names the run only partly chose (a name and a hash of it)."""

    def __init__(
        self,
        replacements: Mapping[str, str] | None = None,
        patterns: Sequence[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = (),
    ) -> None:
        self.replacements = sorted((replacements or {}).items(), key=lambda kv: -len(kv[0]))
        self.patterns = tuple(patterns)

    def text(self, value: str) -> str:
        for pattern, placeholder in self.patterns:
            value = pattern.sub(placeholder, value)
        for own, placeholder in self.replacements:
            value = value.replace(own, placeholder)
        value = JWT.sub("<jwt>", value)
        value = _OPAQUE.sub("<opaque-token>", value)
        value = _UUID.sub("<uuid>", value)
        return _RFC3339.sub("<time>", value)

    def value(self, value: Any, key: str = "") -> Any:
        if key in _OPAQUE_KEYS and value is not None:
            return _OPAQUE_KEYS[key]
        if key == "kid" and isinstance(value, str) and _KEY_ID.fullmatch(value):
            return "<key-id>"
        if key in UNIX_TIME_KEYS and isinstance(value, int) and not isinstance(value, bool):
            return "<unix-time>"
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def observation(self, obs: Observation) -> dict[str, Any]:
        """The aspects compared: status, media type, body, and the claims of the token the reply
        issues (absent when it issues none)."""
        aspects: dict[str, Any] = {
            "status": obs.status,
            "content-type": obs.content_type,
            "body": self.value(obs.body),
        }
        token = issued_token(obs.body)
        if token is not None:
            aspects["claims"] = self.value(token_shape(token))
        return aspects


def issued_token(body: Any) -> str | None:
    """The JWT a reply issues, if it issues one."""
    for path in ISSUED_TOKEN_PATHS:
        node = body
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and JWT.fullmatch(node):
            return node
    return None


def _segment(part: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return "<not base64url JSON>"


def token_shape(token: str) -> dict[str, Any]:
    """A JWT's header and claims, with its lifetime (exp - iat) kept as a figure of its own."""
    header, payload, _ = token.split(".")
    claims = _segment(payload)
    shape: dict[str, Any] = {"header": _segment(header), "claims": claims}
    if isinstance(claims, dict) and all(isinstance(claims.get(k), int) for k in ("exp", "iat")):
        shape["exp-iat"] = claims["exp"] - claims["iat"]
    return shape
