"""Authentication as Authorino does it for a `kubernetesTokenReview` rule, and its 401s.

The credential is the `Authorization: Bearer <token>` header (Authorino's default location; the
header is left on the request for the backend). The token goes to the API server's TokenReview
with the rule's audiences: a token for another audience, expired, badly signed, revoked or
unknown is "not authenticated".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from starlette.datastructures import Headers

from maas_local.gateway import replies
from maas_local.gateway.replies import Denied

TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
BEARER_PREFIX = "Bearer "

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthRule:
    """One AuthPolicy's identity rule: its name (the 401's realm) and TokenReview audiences."""

    name: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """`auth.identity` after a successful TokenReview."""

    username: str
    groups: tuple[str, ...]

    @property
    def userid(self) -> str:
        """The policy's `username.@extract:{"sep":":","pos":3}`: the service account's name.

        A username with fewer parts (a cluster user) is used whole.
        """
        parts = self.username.split(":")
        return parts[3] if len(parts) > 3 else self.username


def credential(headers: Headers) -> str | None:
    """The bearer token, or None when the header is missing or not `Bearer <token>`.

    Envoy joins repeated headers with commas and trims whitespace, so `Bearer` alone (or
    `Bearer ` trimmed) has no credential; nor has `Bearer  <token>`.
    """
    values = headers.getlist("authorization")
    if not values:
        return None
    value = ",".join(v.strip() for v in values)
    if not value.startswith(BEARER_PREFIX):
        return None
    # Authorino splits the header on single spaces and takes the second field: after a double
    # space that field is empty, and there is no credential (kube-apiserver would read the rest
    # as the anonymous user's).
    return value.split(" ")[1] or None


async def authenticate(
    client: httpx.AsyncClient,
    apiserver_url: str,
    headers: Headers,
    rule: AuthRule,
    faults: frozenset[str] = frozenset(),
) -> Identity:
    """The caller's identity; raises Denied with Authorino's 401 otherwise."""
    token = credential(headers)
    if token is None:
        raise Denied(replies.unauthenticated(rule.name, replies.CREDENTIAL_NOT_FOUND))
    trusted = "signature-unverified" in faults
    identity = unverified_identity(token, rule.audiences) if trusted else None
    if identity is None:
        status = await _token_review(client, apiserver_url, token, rule.audiences)
        identity = authenticated_identity(status)
    if identity is None:
        raise Denied(replies.unauthenticated(rule.name, replies.NOT_AUTHENTICATED))
    return identity


def authenticated_identity(status: dict[str, Any]) -> Identity | None:
    """The TokenReview's verdict: an identity only when it says authenticated with a user."""
    user = status.get("user")
    if status.get("authenticated") is not True or not isinstance(user, dict):
        return None
    username, groups = user.get("username"), user.get("groups") or []
    if not isinstance(username, str) or not username or not isinstance(groups, list):
        return None
    return Identity(username, tuple(g for g in groups if isinstance(g, str)))


def unverified_identity(token: str, audiences: Sequence[str]) -> Identity | None:
    """The `signature-unverified` regression: a ServiceAccount JWT's claims taken at their word.

    Expiry and audience are still checked, the signature (and so who made the token) is not.
    None for anything else (an opaque token, a JWT for another audience): TokenReview judges it.
    """
    try:
        claims = jwt.decode(
            token,
            options={"verify_signature": False, "verify_exp": True, "verify_aud": True},
            audience=list(audiences),
        )
    except jwt.PyJWTError:
        return None
    bound = claims.get("kubernetes.io")
    namespace = bound.get("namespace") if isinstance(bound, dict) else None
    username = claims.get("sub")
    if not isinstance(username, str) or not isinstance(namespace, str):
        return None
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    return Identity(username, (*groups, "system:authenticated"))


async def _token_review(
    client: httpx.AsyncClient, apiserver_url: str, token: str, audiences: Sequence[str]
) -> dict[str, Any]:
    """The review's status; an unreachable or failing API server authenticates nobody."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token, "audiences": list(audiences)},
    }
    try:
        resp = await client.post(apiserver_url + TOKEN_REVIEW_PATH, json=body)
        status = resp.json().get("status") if resp.is_success else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        log.warning("TokenReview failed: %s", exc)
        return {}
    return status if isinstance(status, dict) else {}
