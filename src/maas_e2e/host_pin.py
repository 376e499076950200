"""Requests to a gateway whose listener only answers its own hostname.

Istio routes by Host and, over TLS, picks the listener (and its certificate) by SNI. A Gateway
listener with `hostname: maas-api.apps.X` therefore answers 404 to a request sent to the gateway's
address (an IP, a load balancer's name, a port-forward) with that address as Host. The suite sends
to the address and names the hostname in the Host header and in the TLS handshake (httpx's
`sni_hostname` request extension), so the certificate is also checked against the hostname.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

RequestHook = Callable[[httpx.Request], None]


def pin_host(request: httpx.Request, host: str) -> None:
    """Name `host` in the request's Host header and, for https, in its TLS SNI."""
    request.headers["Host"] = host
    if request.url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": host}


@dataclass(frozen=True)
class GatewayHost:
    """The gateway's URL and the Host its requests carry (None: the URL's own, as on maas-local).

    Only requests to the gateway's origin (scheme, host, port) are pinned, so a client that also
    calls another URL (a model URL exactly as maas-api lists it) sends that one as it is.
    """

    gateway_url: str
    host: str | None = None

    def event_hooks(self) -> dict[str, list[RequestHook]]:
        """`event_hooks=` for an httpx.Client that talks to the gateway."""
        return {"request": [self._pin]} if self.host else {}

    def sends_to_gateway(self, url: httpx.URL) -> bool:
        return _origin(url) == _origin(httpx.URL(self.gateway_url))

    def _pin(self, request: httpx.Request) -> None:
        if self.host and self.sends_to_gateway(request.url):
            pin_host(request, self.host)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default
