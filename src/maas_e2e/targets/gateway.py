"""Where users reach the gateway, found the way the seed finds it, and the Host it wants.

The seed takes the host of the OpenShift Route `gateway-route` in the gateway's namespace when
there is one (it carries the cluster's public hostname and TLS), else the Gateway's
`status.addresses[0].value` with its listener's scheme. `--maas-gateway-url` overrides both. The
Route is taken only when it leads to this cluster's gateway (see `openshift_route`).

Istio routes by Host: a listener with a hostname (upstream's `maas-api.${CLUSTER_DOMAIN}`) answers
404 to requests whose Host is the address they were sent to (an IP, a load balancer's name, a
`kubectl port-forward`). So where the live Gateway's listener names a hostname, requests go to the
address (or to `--maas-gateway-url`) and carry that hostname as Host: `GatewayEndpoint.host`.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from maas_e2e.manifests import object_ref
from maas_e2e.targets.kube import Kube
from maas_e2e.targets.openshift_route import trusted_route
from maas_e2e.targets.status import gateway_addresses

LOG = logging.getLogger("maas_e2e.cluster")

GATEWAY_RESOURCE = "gateways.gateway.networking.k8s.io"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class GatewayEndpoint:
    """Where requests to the gateway go, and the Host they carry (None: the URL's own host)."""

    url: str
    host: str | None = None


def discover_gateway(kube: Kube, gateway: dict[str, Any]) -> GatewayEndpoint | None:
    """The gateway's endpoint, or None when neither a usable Route nor an address exists yet."""
    live = _live(kube, gateway)
    listener = _listener(live or gateway)
    namespace = gateway["metadata"].get("namespace")
    route = trusted_route(kube, namespace, listener_hostname=listener.get("hostname"))
    if route is not None:
        # The Route's host is the listener's (or matches its wildcard): the URL names it already.
        scheme = "https" if route["spec"].get("tls") else "http"
        return GatewayEndpoint(f"{scheme}://{route['spec']['host']}")
    addresses = gateway_addresses(live or {})
    if not addresses:
        return None
    scheme, port = _scheme_port(listener)
    host = _host(addresses[0])
    url = f"{scheme}://{host}" if DEFAULT_PORTS[scheme] == port else f"{scheme}://{host}:{port}"
    return GatewayEndpoint(url, _host_header(live or gateway, listener, url))


def listener_host(kube: Kube, gateway: dict[str, Any], url: str) -> str | None:
    """The Host that requests to `url` (a `--maas-gateway-url`) carry: the hostname of the live
    Gateway's listener, None where it has none (or only a wildcard)."""
    live = _live(kube, gateway) or gateway
    return _host_header(live, _listener(live), url)


def _live(kube: Kube, gateway: dict[str, Any]) -> dict[str, Any] | None:
    meta = gateway["metadata"]
    return kube.get(GATEWAY_RESOURCE, meta["name"], meta.get("namespace"))


def _host_header(gateway: dict[str, Any], listener: dict[str, Any], url: str) -> str | None:
    hostname = str(listener.get("hostname") or "").strip()
    where = f"{object_ref(gateway)} listener {listener.get('name')}"
    if not hostname:
        return None
    if hostname.startswith("*"):
        LOG.warning(
            "%s has the wildcard hostname %s, which cannot be sent as a Host: requests to %s carry "
            "that URL's host, and the gateway answers 404 unless it matches; pass "
            "--maas-gateway-url with a hostname under %s that reaches the gateway",
            where,
            hostname,
            url,
            hostname.removeprefix("*."),
        )
        return None
    LOG.info(
        "requests to the gateway at %s carry Host: %s (the hostname of %s)", url, hostname, where
    )
    return hostname


def _listener(gateway: dict[str, Any]) -> dict[str, Any]:
    """The first HTTP(S) listener (an empty one, read as plain HTTP on 80, when there is none)."""
    for listener in gateway.get("spec", {}).get("listeners") or []:
        if str(listener.get("protocol", "")).lower() in DEFAULT_PORTS:
            return dict(listener)
    return {}


def _scheme_port(listener: dict[str, Any]) -> tuple[str, int]:
    protocol = str(listener.get("protocol") or "HTTP").lower()
    return protocol, int(listener.get("port") or DEFAULT_PORTS[protocol])


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address
