"""Requests to the gateway at bring-up, through one small callable the unit tests can fake.

The readiness and leak probes only need a status, the response headers and the body of a few
requests; `Send` is that, and `HttpGateway` does it over real HTTP with the suite's TLS settings
(and, where the gateway's listener wants its hostname, that hostname as Host: see `host_pin`).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from maas_e2e.host_pin import pin_host

PROBE_TIMEOUT_S = 10.0
PROBE_PROMPT = [{"role": "user", "content": "maas-e2e bring-up probe"}]


@dataclass(frozen=True)
class Reply:
    """What the gateway answered; header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""


class Send(Protocol):
    def __call__(
        self, method: str, url: str, *, token: str | None = None, json: Any = None
    ) -> Reply: ...


class GatewayClient(Protocol):
    """The status of a GET without credentials (the gateway probe), and any request (`send`)."""

    def __call__(self, url: str) -> int: ...

    def send(
        self, method: str, url: str, *, token: str | None = None, json: Any = None
    ) -> Reply: ...

    def with_host(self, host: str | None) -> GatewayClient:
        """The same client, with `host` as the Host of every request (None: the URL's own)."""
        ...


@dataclass(frozen=True)
class HttpGateway:
    """Real HTTP with the suite's TLS settings; transport failures raise httpx errors."""

    verify: ssl.SSLContext | bool
    host: str | None = None

    def __call__(self, url: str) -> int:
        return self.send("GET", url).status

    def with_host(self, host: str | None) -> HttpGateway:
        return replace(self, host=host)

    def send(self, method: str, url: str, *, token: str | None = None, json: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        with httpx.Client(verify=self.verify, timeout=PROBE_TIMEOUT_S) as client:
            request = client.build_request(method, url, headers=headers, json=json)
            if self.host:
                pin_host(request, self.host)
            resp = client.send(request)
        return Reply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.text)


@dataclass(frozen=True)
class ModelCall:
    """One small chat completion to a model through the gateway, as a user (or no one) sends it."""

    gateway_url: str
    path: str
    model: str
    token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{self.gateway_url}{self.path}/v1/chat/completions"

    def __call__(self, send: Send) -> Reply:
        body = {"model": self.model, "messages": PROBE_PROMPT, "max_tokens": 1}
        return send("POST", self.url, token=self.token, json=body)


TRANSPORT_ERRORS = (httpx.HTTPError, OSError)
