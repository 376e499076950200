"""Requests to the gateway at bring-up, through one small callable the unit tests can fake.

The readiness and leak probes only need a status, the response headers and the body of a few
requests; `Send` is that, and `HttpGateway` does it over real HTTP with the suite's TLS settings
(and, where the gateway's listener wants its hostname, that hostname as Host: see `host_pin`).
`GatewayProbe` is the first of them: the gateway answers at all, and Authorino guards it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from maas_e2e.expected import Model
from maas_e2e.host_pin import pin_host
from maas_e2e.targets.waiting import Pending

PROBE_TIMEOUT_S = 10.0
PROBE_PROMPT = [{"role": "user", "content": "maas-e2e bring-up probe"}]
# Authorino's answer to a request without credentials: proof that the route and its policy work.
PROBE_STATUS = 401

Probe = Callable[[str], int]


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


class GatewayProbe:
    """Requests without credentials through the gateway, to maas-api's route and to each
    model: Authorino's 401 proves routing, the AuthPolicies and the data plane all work."""

    def __init__(self, probe: Probe, gateway_url: str, models: Iterable[Model]) -> None:
        self.probe = probe
        self.urls = [f"{gateway_url}/v1/models"] + [
            f"{gateway_url}{m.path}/v1/models" for m in models
        ]

    def pending(self) -> list[Pending]:
        found = []
        for url in self.urls:
            try:
                status = self.probe(url)
            except TRANSPORT_ERRORS as exc:
                found.append(Pending(f"GET {url}", f"no answer: {exc}", _PROBE_HINT))
                continue
            if status != PROBE_STATUS:
                state = f"answered {status}, want {PROBE_STATUS} from Authorino (no credentials)"
                found.append(Pending(f"GET {url}", state, _PROBE_HINT))
        return found


_PROBE_HINT = (
    "the gateway must route it and Authorino must guard it; if this address is not reachable "
    "from here, pass --maas-gateway-url"
)


def http_probe(verify: ssl.SSLContext | bool) -> HttpGateway:
    """The gateway over real HTTP with the suite's TLS settings: a `Probe` for the gateway
    probe, and `send` for the data-plane probes."""
    return HttpGateway(verify)
