"""OIDC discovery then JWKS, with clear errors when either is wrong."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from maas_e2e.oidc import OidcDiscoveryError, fetch_jwks

ISSUER = "https://kubernetes.default.svc"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _server(discovery: httpx.Response, jwks: httpx.Response) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return discovery
        if request.url.path == "/openid/v1/jwks":
            return jwks
        return httpx.Response(404)

    return _client(handle)


GOOD_DISCOVERY = {"issuer": ISSUER, "jwks_uri": "http://api.test/openid/v1/jwks"}


def test_fetch_returns_issuer_and_jwks() -> None:
    with _server(httpx.Response(200, json=GOOD_DISCOVERY), httpx.Response(200, json=JWKS)) as c:
        assert fetch_jwks(c, "http://api.test/") == (ISSUER, JWKS)


@pytest.mark.parametrize(
    ("discovery", "jwks", "fragment"),
    [
        (httpx.Response(403, text="forbidden"), httpx.Response(200, json=JWKS), "got 403"),
        (httpx.Response(200, text="<html>"), httpx.Response(200, json=JWKS), "is not JSON"),
        (httpx.Response(200, json={"issuer": ISSUER}), httpx.Response(200, json=JWKS),
         "`jwks_uri` is missing"),
        (httpx.Response(200, json=GOOD_DISCOVERY), httpx.Response(200, json={"keys": []}),
         "JWKS has no `keys`"),
        (httpx.Response(200, json=GOOD_DISCOVERY), httpx.Response(500), "got 500"),
    ],
    ids=["discovery-403", "discovery-not-json", "no-jwks-uri", "empty-jwks", "jwks-500"],
)  # fmt: skip
def test_bad_discovery_is_a_clear_error(
    discovery: httpx.Response, jwks: httpx.Response, fragment: str
) -> None:
    with _server(discovery, jwks) as c, pytest.raises(OidcDiscoveryError, match=fragment):
        fetch_jwks(c, "http://api.test")


def test_unreachable_issuer_is_a_clear_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(refuse) as c, pytest.raises(OidcDiscoveryError, match="cannot fetch"):
        fetch_jwks(c, "http://api.test")
