"""Whether the seed's OpenShift Route `gateway-route` may be trusted to lead to this gateway.

The seed ships that Route with another cluster's host hard-coded. Such a Route exists, has a
`spec.host`, and leads nowhere: either no router admits it, or its name resolves to the other
cluster. So the suite takes a Route only when a router admitted it (`status.ingress[]` has
`Admitted=True`) and its host is under this cluster's apps domain (`spec.domain` of
`ingresses.config.openshift.io/cluster`, what the seed's `CLUSTER_DOMAIN` is). When the domain
cannot be read (not OpenShift, no permission) nothing vouches for the host, and the Route is not
used. Every Route passed over is logged with the reason.
"""

from __future__ import annotations

import logging
from typing import Any

from maas_e2e.targets.kube import Kube, KubeError

LOG = logging.getLogger("maas_e2e.cluster")

ROUTE_NAME = "gateway-route"
# Fully qualified: Knative also has a kind named Route.
ROUTE_RESOURCE = "routes.route.openshift.io"
INGRESS_CONFIG = "ingresses.config.openshift.io"


def trusted_route(
    kube: Kube, namespace: str | None, *, listener_hostname: str | None = None
) -> dict[str, Any] | None:
    """The Route `gateway-route` in `namespace` when it leads to this cluster's gateway, else None.

    `listener_hostname` is the Gateway listener's hostname, if it has one: the router keeps the
    Route's host as the Host header, and Istio answers 404 to a Host its listener does not match.
    """
    route = kube.get(ROUTE_RESOURCE, ROUTE_NAME, namespace)
    host = str(((route or {}).get("spec") or {}).get("host") or "")
    if route is None or not host:
        return None
    what = f"Route {namespace}/{ROUTE_NAME} host {host}"
    if not admitted(route):
        LOG.warning("%s is not admitted by any router (status.ingress): ignored", what)
        return None
    domain = apps_domain(kube)
    if domain is None:
        LOG.warning(
            "%s: the cluster's apps domain (%s cluster, spec.domain) cannot be read, so nothing "
            "says the host is this cluster's: ignored",
            what,
            INGRESS_CONFIG,
        )
        return None
    if not under_domain(host, domain):
        LOG.warning("%s is not under the cluster's apps domain %s: ignored", what, domain)
        return None
    if listener_hostname and not hostname_matches(host, listener_hostname):
        LOG.warning(
            "%s does not match the Gateway listener's hostname %s (the gateway would answer 404 "
            "to it): ignored",
            what,
            listener_hostname,
        )
        return None
    return route


def admitted(route: dict[str, Any]) -> bool:
    """A router took the Route: some `status.ingress[]` entry has `Admitted=True`."""
    for ingress in (route.get("status") or {}).get("ingress") or []:
        for cond in (ingress or {}).get("conditions") or []:
            if cond.get("type") == "Admitted" and cond.get("status") == "True":
                return True
    return False


def apps_domain(kube: Kube) -> str | None:
    """The cluster's apps domain (e.g. `apps.ci.example.com`), or None where it cannot be read."""
    try:
        config = kube.get(INGRESS_CONFIG, "cluster")
    except KubeError as exc:
        LOG.info("cannot read %s cluster: %s", INGRESS_CONFIG, exc)
        return None
    domain = ((config or {}).get("spec") or {}).get("domain")
    if not isinstance(domain, str) or not _name(domain):
        return None
    return _name(domain)


def under_domain(host: str, domain: str) -> bool:
    """`host` is a name inside `domain` (`maas.apps.x` is under `apps.x`; `apps.x` is not)."""
    return _name(host).endswith("." + _name(domain))


def hostname_matches(host: str, listener_hostname: str) -> bool:
    """Gateway API listener matching: exact, or `*.suffix` for one or more labels before it."""
    host, pattern = _name(host), _name(listener_hostname)
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _name(host: str) -> str:
    return host.strip().rstrip(".").lower()
