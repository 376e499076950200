"""Kubernetes names maas-api derives for a caller: the tier namespace and the ServiceAccount."""

from __future__ import annotations

import hashlib
import re

_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-+")
_MAX_NAME = 63
_SUFFIX_LEN = 8


class InvalidUsernameError(ValueError):
    """Nothing of the username survives sanitising (e.g. "@@@"): no ServiceAccount name."""


def service_account_name(username: str) -> str:
    """A DNS-1123 label unique per username: readable part + `-` + 8 hex of sha1(username).

    TokenReview usernames come in many shapes (emails, LDAP DNs, `system:serviceaccount:...`),
    so the readable part is sanitised and the hash keeps distinct users apart.
    """
    name = _DASHES.sub("-", _INVALID.sub("-", _go_lower(username))).strip("-")
    if not name:
        raise InvalidUsernameError(f"invalid username {username!r}")
    suffix = hashlib.sha1(username.encode("utf-8", "surrogatepass")).hexdigest()[:_SUFFIX_LEN]
    base_max = _MAX_NAME - 1 - _SUFFIX_LEN
    if len(name) > base_max:
        name = name[:base_max].strip("-")
    return f"{name}-{suffix}"


def _go_lower(text: str) -> str:
    """Go's `strings.ToLower` maps rune to rune; Python turns "İ" into two characters."""
    return "".join(c.lower()[0] for c in text)


def tier_namespace(instance: str, tier: str) -> str:
    """`<instance>-tier-<tier>`: where a tier's ServiceAccounts (and so its tokens) live."""
    return f"{instance}-tier-{tier}"


def tier_group(instance: str, tier: str) -> str:
    """The group every ServiceAccount of a tier namespace has, mapping MaaS tokens to their tier."""
    return f"system:serviceaccounts:{tier_namespace(instance, tier)}"
