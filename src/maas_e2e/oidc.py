"""Fetch the token issuer's signing keys the standard way: OIDC discovery, then `jwks_uri`.

The suite verifies MaaS tokens with keys the issuer publishes, not keys it was handed out of
band, which is what any relying party (Authorino included) would do.
"""

from __future__ import annotations

from typing import Any

import httpx

DISCOVERY_PATH = "/.well-known/openid-configuration"


class OidcDiscoveryError(RuntimeError):
    """The discovery document or the JWKS could not be fetched or is malformed."""


def fetch_jwks(client: httpx.Client, base_url: str) -> tuple[str, dict[str, Any]]:
    """(issuer, JWKS) from `<base_url>/.well-known/openid-configuration` and its `jwks_uri`."""
    discovery_url = base_url.rstrip("/") + DISCOVERY_PATH
    document = _get_json(client, discovery_url, "OIDC discovery document")
    issuer = document.get("issuer")
    jwks_uri = document.get("jwks_uri")
    for field, value in (("issuer", issuer), ("jwks_uri", jwks_uri)):
        if not isinstance(value, str) or not value:
            raise OidcDiscoveryError(f"{discovery_url}: `{field}` is missing: {document!r:.300}")
    jwks = _get_json(client, jwks_uri, "JWKS")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise OidcDiscoveryError(f"{jwks_uri}: JWKS has no `keys`: {jwks!r:.300}")
    return issuer, jwks


def _get_json(client: httpx.Client, url: str, what: str) -> dict[str, Any]:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise OidcDiscoveryError(f"cannot fetch {what} from {url}: {exc!r}") from exc
    if response.status_code != 200:
        raise OidcDiscoveryError(
            f"{what} at {url}: expected 200, got {response.status_code}: {response.text[:300]!r}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise OidcDiscoveryError(f"{what} at {url} is not JSON: {response.text[:300]!r}") from exc
    if not isinstance(body, dict):
        raise OidcDiscoveryError(f"{what} at {url} is not a JSON object: {body!r:.300}")
    return body
