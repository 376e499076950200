"""The ServiceAccount name and token subject maas-api must derive from a username.

A MaaS token's `sub` is the only link between a token and the person it was minted for, so the
suite predicts it from the contract's naming rule rather than trusting what the server says.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

MAX_NAME_LENGTH: Final = 63
HASH_LENGTH: Final = 8

_INVALID_RUN = re.compile(r"[^a-z0-9-]+")
_DASH_RUN = re.compile(r"-+")


def _go_lower(text: str) -> str:
    """Go's strings.ToLower maps each rune on its own (simple case mapping); Python's
    str.lower may expand one (U+0130 -> "i" + U+0307), whose first rune is Go's answer."""
    return "".join(char.lower()[:1] for char in text)


def expected_sa_name(username: str) -> str:
    """The ServiceAccount maas-api creates for `username` (a DNS-1123 label, <= 63 chars).

    Raises ValueError for a username with no usable character: maas-api refuses it too.
    """
    name = _INVALID_RUN.sub("-", _go_lower(username))
    name = _DASH_RUN.sub("-", name).strip("-")
    if not name:
        raise ValueError(f"username {username!r} leaves no valid ServiceAccount name characters")
    suffix = hashlib.sha1(username.encode("utf-8"), usedforsecurity=False).hexdigest()[:HASH_LENGTH]
    room = MAX_NAME_LENGTH - 1 - HASH_LENGTH
    if len(name) > room:
        name = name[:room].strip("-")
    return f"{name}-{suffix}"


def expected_namespace(instance: str, tier: str) -> str:
    """The namespace holding a tier's ServiceAccounts: `<instance>-tier-<tier>`."""
    return f"{instance}-tier-{tier}"


def expected_subject(instance: str, tier: str, username: str) -> str:
    """The `sub` of a MaaS token: `system:serviceaccount:<instance>-tier-<tier>:<sa-name>`."""
    return (
        f"system:serviceaccount:{expected_namespace(instance, tier)}:{expected_sa_name(username)}"
    )
