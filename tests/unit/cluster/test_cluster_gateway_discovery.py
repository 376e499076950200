"""Finding the gateway: the seed's Route only when it leads to this cluster, else the Gateway's
address; either way with the Host its listener answers (upstream's `maas-api.${CLUSTER_DOMAIN}`).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kubefake import (
    APPS_DOMAIN,
    NO_INGRESS_CONFIG,
    FakeKubectl,
    cond,
    e2e_manifests,
    ingress_config,
    kube,
    openshift_route,
    with_status,
)

from maas_e2e.targets.gateway import GatewayEndpoint, discover_gateway, listener_host
from maas_e2e.targets.openshift_route import hostname_matches, under_domain

GATEWAY = e2e_manifests().of_kind("Gateway")[0]
HOSTNAME = f"maas-api.{APPS_DOMAIN}"
ROUTE_HOST = f"maas.{APPS_DOMAIN}"
NO_ROUTE = 'error: the server doesn\'t have a resource type "routes"'
ROUTE_NOT_FOUND = (
    'Error from server (NotFound): routes.route.openshift.io "gateway-route" not found'
)
FORBIDDEN = (
    'Error from server (Forbidden): ingresses.config.openshift.io "cluster" is forbidden: User '
    '"system:serviceaccount:ci:runner" cannot get resource "ingresses" in API group '
    '"config.openshift.io" at the cluster scope'
)
IP = {"type": "IPAddress", "value": "10.0.0.5"}
ELB = {"type": "Hostname", "value": "a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com"}
ALL_NAMESPACES = {"namespaces": {"from": "All"}}


def http_listener(hostname: str | None = HOSTNAME, port: int = 80) -> dict[str, Any]:
    """A listener of upstream's Gateway, with `hostname:` as envsubst renders it."""
    listener = {"name": "http", "port": port, "protocol": "HTTP", "allowedRoutes": ALL_NAMESPACES}
    return {**listener, "hostname": hostname} if hostname else listener


def https_listener(hostname: str | None = HOSTNAME) -> dict[str, Any]:
    tls = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "maas-gw-tls"}]}
    listener = {
        "name": "https",
        "port": 443,
        "protocol": "HTTPS",
        "tls": tls,
        "allowedRoutes": ALL_NAMESPACES,
    }
    return {**listener, "hostname": hostname} if hostname else listener


def live_gateway(*listeners: dict[str, Any], address: dict[str, str] | None = IP) -> dict:
    """The Gateway as Istio writes its status once programmed."""
    doc = {**GATEWAY, "spec": {**GATEWAY["spec"], "listeners": list(listeners)}}
    listener_status = [
        {
            "name": listener["name"],
            "attachedRoutes": 3,
            "conditions": [cond("Accepted"), cond("Programmed"), cond("ResolvedRefs")],
            "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        }
        for listener in listeners
    ]
    return with_status(
        doc,
        addresses=[address] if address else [],
        conditions=[cond("Accepted"), cond("Programmed")],
        listeners=listener_status,
    )


def cluster(
    gateway: dict[str, Any] | None,
    route: dict[str, Any] | None = None,
    *,
    domain: str | None = APPS_DOMAIN,
    domain_error: str = NO_INGRESS_CONFIG,
) -> FakeKubectl:
    """The objects discovery reads: the live Gateway, the Route, the cluster's ingress config
    (None for `domain`: unreadable, with `domain_error`)."""
    fake = FakeKubectl()
    if gateway is None:
        fake.fail("get", "gateways.gateway.networking.k8s.io", stderr="Error (NotFound)")
    else:
        fake.on(
            "get", "gateways.gateway.networking.k8s.io", GATEWAY["metadata"]["name"], json=gateway
        )
    if route is None:
        fake.fail("get", "routes.route.openshift.io", stderr=ROUTE_NOT_FOUND)
    else:
        fake.on("get", "routes.route.openshift.io", "gateway-route", json=route)
    if domain is None:
        fake.fail("get", "ingresses.config.openshift.io", "cluster", stderr=domain_error)
    else:
        fake.on("get", "ingresses.config.openshift.io", "cluster", json=ingress_config(domain))
    return fake


# The Route: trusted only when admitted and under this cluster's apps domain (item 7).


@pytest.mark.parametrize(
    ("tls", "expected"),
    [(True, f"https://{ROUTE_HOST}"), (False, f"http://{ROUTE_HOST}")],
    ids=["tls", "plain"],
)
def test_an_admitted_route_under_the_apps_domain_is_the_gateway_url(
    tls: bool, expected: str
) -> None:
    fake = cluster(live_gateway(http_listener(None)), openshift_route(ROUTE_HOST, tls=tls))
    assert discover_gateway(kube(fake), GATEWAY) == GatewayEndpoint(expected, None)
    [route] = fake.called("get", "routes.route.openshift.io")
    assert route.has("-n", "openshift-ingress"), fake.transcript()


def test_the_seeds_route_for_another_cluster_is_ignored_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    foreign = openshift_route("maas.apps.other.example.com")  # admitted: routers admit any host
    fake = cluster(live_gateway(http_listener(None)), foreign)
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("http://10.0.0.5", None), endpoint
    assert (
        "Route openshift-ingress/gateway-route host maas.apps.other.example.com is not under the "
        f"cluster's apps domain {APPS_DOMAIN}: ignored"
    ) in caplog.text, caplog.text


@pytest.mark.parametrize(
    "route",
    [
        openshift_route(
            ROUTE_HOST,
            admitted=cond(
                "Admitted",
                "False",
                "HostAlreadyClaimed",
                f"route gateway-route already exposes {ROUTE_HOST} and is older",
            ),
        ),
        {**openshift_route(ROUTE_HOST), "status": {}},
    ],
    ids=["refused-by-the-router", "not-looked-at-by-any-router"],
)
def test_a_route_no_router_admitted_is_ignored(
    route: dict, caplog: pytest.LogCaptureFixture
) -> None:
    fake = cluster(live_gateway(http_listener(None)), route)
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("http://10.0.0.5", None), endpoint
    assert f"host {ROUTE_HOST} is not admitted by any router" in caplog.text, caplog.text


@pytest.mark.parametrize("error", [NO_INGRESS_CONFIG, FORBIDDEN], ids=["not-openshift", "denied"])
def test_a_route_is_not_used_when_the_apps_domain_cannot_be_read(
    error: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = cluster(
        live_gateway(http_listener(None)),
        openshift_route(ROUTE_HOST),
        domain=None,
        domain_error=error,
    )
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("http://10.0.0.5", None), endpoint
    assert "the cluster's apps domain (ingresses.config.openshift.io cluster" in caplog.text
    assert f"host {ROUTE_HOST}" in caplog.text, caplog.text


def test_a_route_the_listener_would_refuse_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    """Under the apps domain but not the listener's hostname: the router keeps the Route's host
    as Host, and Istio answers 404 to it."""
    fake = cluster(live_gateway(http_listener(HOSTNAME)), openshift_route(ROUTE_HOST))
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("http://10.0.0.5", HOSTNAME), endpoint
    assert f"does not match the Gateway listener's hostname {HOSTNAME}" in caplog.text


@pytest.mark.parametrize("listener_hostname", [HOSTNAME, f"*.{APPS_DOMAIN}"])
def test_a_route_for_the_listeners_hostname_is_used(listener_hostname: str) -> None:
    fake = cluster(live_gateway(http_listener(listener_hostname)), openshift_route(HOSTNAME))
    assert discover_gateway(kube(fake), GATEWAY) == GatewayEndpoint(f"https://{HOSTNAME}", None)


def test_without_a_route_the_apps_domain_is_not_read() -> None:
    fake = cluster(live_gateway(http_listener(None)))
    fake.rules.insert(
        0, FakeKubectl().fail("get", "routes.route.openshift.io", stderr=NO_ROUTE).rules[0]
    )
    assert discover_gateway(kube(fake), GATEWAY) == GatewayEndpoint("http://10.0.0.5", None)
    assert not fake.called("ingresses.config.openshift.io"), fake.transcript()


@pytest.mark.parametrize(
    ("host", "domain", "under"),
    [
        ("maas.apps.ci.example.com", "apps.ci.example.com", True),
        ("MAAS.Apps.CI.example.com.", "apps.ci.example.com", True),
        ("maas.apps.other.example.com", "apps.ci.example.com", False),
        ("apps.ci.example.com", "apps.ci.example.com", False),
        ("evilapps.ci.example.com", "apps.ci.example.com", False),
    ],
)
def test_under_the_apps_domain(host: str, domain: str, under: bool) -> None:
    assert under_domain(host, domain) is under


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        (HOSTNAME, HOSTNAME, True),
        (ROUTE_HOST, HOSTNAME, False),
        (ROUTE_HOST, f"*.{APPS_DOMAIN}", True),
        (f"a.b.{APPS_DOMAIN}", f"*.{APPS_DOMAIN}", True),
        (APPS_DOMAIN, f"*.{APPS_DOMAIN}", False),
    ],
)
def test_listener_hostname_matching(host: str, pattern: str, matches: bool) -> None:
    assert hostname_matches(host, pattern) is matches


# The address: with the listener's hostname as Host (item 6).


@pytest.mark.parametrize(
    ("address", "listener", "expected"),
    [
        (IP, http_listener(), GatewayEndpoint("http://10.0.0.5", HOSTNAME)),
        (ELB, https_listener(), GatewayEndpoint(f"https://{ELB['value']}", HOSTNAME)),
        (IP, http_listener(port=8080), GatewayEndpoint("http://10.0.0.5:8080", HOSTNAME)),
        (
            {"type": "IPAddress", "value": "fd00::5"},
            http_listener(),
            GatewayEndpoint("http://[fd00::5]", HOSTNAME),
        ),
        (IP, http_listener(None), GatewayEndpoint("http://10.0.0.5", None)),
        (ELB, https_listener(None), GatewayEndpoint(f"https://{ELB['value']}", None)),
    ],
    ids=["ip", "load-balancer-https", "port", "ipv6", "no-hostname", "no-hostname-https"],
)
def test_the_address_is_the_url_and_the_listener_hostname_the_host(
    address: dict, listener: dict, expected: GatewayEndpoint
) -> None:
    fake = cluster(live_gateway(listener, address=address))
    assert discover_gateway(kube(fake), GATEWAY) == expected


def test_the_listener_hostname_in_use_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    fake = cluster(live_gateway(http_listener()))
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        discover_gateway(kube(fake), GATEWAY)
    assert (
        f"requests to the gateway at http://10.0.0.5 carry Host: {HOSTNAME} (the hostname of "
        "Gateway openshift-ingress/maas-default-gateway listener http)"
    ) in caplog.text, caplog.text


def test_a_wildcard_hostname_is_no_host_and_the_log_says_what_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = cluster(live_gateway(http_listener(f"*.{APPS_DOMAIN}")))
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("http://10.0.0.5", None), endpoint
    assert f"wildcard hostname *.{APPS_DOMAIN}, which cannot be sent as a Host" in caplog.text
    assert f"pass --maas-gateway-url with a hostname under {APPS_DOMAIN}" in caplog.text


def test_the_first_http_listener_is_the_one_used() -> None:
    tcp = {"name": "metrics", "port": 15090, "protocol": "TCP", "hostname": "other.example.com"}
    fake = cluster(live_gateway(tcp, https_listener(), http_listener("plain.example.com")))
    endpoint = discover_gateway(kube(fake), GATEWAY)
    assert endpoint == GatewayEndpoint("https://10.0.0.5", HOSTNAME), endpoint


def test_no_address_and_no_route_is_unknown() -> None:
    fake = cluster(live_gateway(http_listener(), address=None))
    assert discover_gateway(kube(fake), GATEWAY) is None


# --maas-gateway-url (e.g. a `kubectl port-forward`): the live Gateway still names the Host.


def test_a_given_url_carries_the_live_listeners_hostname() -> None:
    fake = cluster(live_gateway(https_listener()))
    assert listener_host(kube(fake), GATEWAY, "https://127.0.0.1:8443") == HOSTNAME
    assert not fake.called("routes.route.openshift.io"), fake.transcript()


def test_a_given_url_without_a_live_gateway_takes_the_manifests_listener() -> None:
    """The suite's own Gateway has no hostname: nothing to name."""
    fake = cluster(None)
    assert listener_host(kube(fake), GATEWAY, "http://127.0.0.1:8080") is None
