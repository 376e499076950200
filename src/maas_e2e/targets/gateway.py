"""Where users reach the gateway, found the way the seed finds it.

The seed takes the host of the OpenShift Route `gateway-route` in the gateway's namespace when
there is one (it carries the cluster's public hostname and TLS), else the Gateway's
`status.addresses[0].value` with its listener's scheme. `--maas-gateway-url` overrides both.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from maas_e2e.targets.kube import Kube
from maas_e2e.targets.readiness import gateway_addresses

ROUTE_NAME = "gateway-route"
# Fully qualified: Knative also has a kind named Route.
ROUTE_RESOURCE = "routes.route.openshift.io"
DEFAULT_PORTS = {"http": 80, "https": 443}


def discover_gateway_url(kube: Kube, gateway: dict[str, Any]) -> str | None:
    """The gateway's base URL, or None when neither a Route nor an address exists yet."""
    namespace = gateway["metadata"].get("namespace")
    route = kube.get(ROUTE_RESOURCE, ROUTE_NAME, namespace)
    if route is not None and route.get("spec", {}).get("host"):
        scheme = "https" if route["spec"].get("tls") else "http"
        return f"{scheme}://{route['spec']['host']}"
    live = kube.get("gateways.gateway.networking.k8s.io", gateway["metadata"]["name"], namespace)
    addresses = gateway_addresses(live or {})
    if not addresses:
        return None
    scheme, port = _listener(live or gateway)
    host = _host(addresses[0])
    return f"{scheme}://{host}" if DEFAULT_PORTS[scheme] == port else f"{scheme}://{host}:{port}"


def _listener(gateway: dict[str, Any]) -> tuple[str, int]:
    """The first HTTP(S) listener's scheme and port (plain HTTP on 80 when there is none)."""
    for listener in gateway.get("spec", {}).get("listeners") or []:
        protocol = str(listener.get("protocol", "")).lower()
        if protocol in DEFAULT_PORTS:
            return protocol, int(listener.get("port") or DEFAULT_PORTS[protocol])
    return "http", 80


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address
