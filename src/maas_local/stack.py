"""Assemble the embedded MaaS: bind every component's socket, build its app, serve them all.

Components only learn each other's URLs, as pods learn Service names on a cluster: the gateway
reaches maas-api and the models over HTTP, and both reach the identity plane over HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from maas_local.apiserver.app import build_app as build_apiserver
from maas_local.config import StackConfig
from maas_local.gateway.app import build_app as build_gateway
from maas_local.maas_api.app import build_app as build_maas_api
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread
from maas_local.simulator import SimulatorConfig
from maas_local.simulator import build_app as build_simulator


@dataclass(frozen=True)
class StackUrls:
    """Where each component listens; the gateway's is the one users are given."""

    gateway: str
    apiserver: str
    maas_api: str
    models: dict[tuple[str, str], str]

    def describe(self) -> dict[str, Any]:
        """JSON-ready: what `--ready-file` and the API server's `/local/v1/stack` report."""
        return {
            "gateway": self.gateway,
            "apiserver": self.apiserver,
            "maas_api": self.maas_api,
            "models": {f"{ns}/{name}": url for (ns, name), url in self.models.items()},
        }


def assemble(
    config: StackConfig, gateway_port: int = 0, api_port: int = 0
) -> tuple[ServerGroup, StackUrls]:
    """Bind all sockets first (a taken port fails before anything starts), then build the apps."""
    gateway = Component("gateway", bind(gateway_port))
    apiserver = Component("apiserver", bind(api_port))
    maas_api = Component("maas-api", bind(0))
    models = {
        (m.namespace, m.name): Component(f"model {m.namespace}/{m.name}", bind(0))
        for m in config.models
    }
    urls = StackUrls(
        gateway=gateway.url,
        apiserver=apiserver.url,
        maas_api=maas_api.url,
        models={key: comp.url for key, comp in models.items()},
    )
    apiserver.app = build_apiserver(
        config, gateway_url=urls.gateway, self_url=urls.apiserver, stack_info=urls.describe()
    )
    maas_api.app = build_maas_api(config, apiserver_url=urls.apiserver)
    for spec in config.models:
        models[(spec.namespace, spec.name)].app = build_simulator(
            SimulatorConfig(model=spec.served_model_name, mode=spec.mode, faults=config.faults)
        )
    gateway.app = build_gateway(
        config,
        apiserver_url=urls.apiserver,
        maas_api_url=urls.maas_api,
        tier_lookup_url=in_stack(config.tier_lookup_url, urls.maas_api),
        model_urls=urls.models,
    )
    return ServerGroup([apiserver, maas_api, *models.values(), gateway]), urls


def in_stack(cluster_url: str, service_url: str) -> str:
    """A cluster Service URL from the manifests, pointed at the component serving it here."""
    cluster, local = urlsplit(cluster_url), urlsplit(service_url)
    return urlunsplit((local.scheme, local.netloc, cluster.path, cluster.query, ""))


@contextlib.contextmanager
def running_stack(config: StackConfig, gateway_port: int = 0) -> Iterator[StackUrls]:
    """The whole stack served from a background thread, for tests and embedding."""
    group, urls = assemble(config, gateway_port)
    with serve_in_thread(group):
        yield urls
