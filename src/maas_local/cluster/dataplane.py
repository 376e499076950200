"""The data plane of `maas-local cluster`: the gateway, maas-api and the models, fed by the API.

What runs is what the API server holds: the objects the stack is configured from (the maas-api
Deployment, its tier ConfigMap and route, the Gateway and its policies, the models and their
RBAC) are read from the real API server and given to the same loader as rendered manifests.
Delete a policy and the gateway stops enforcing it. The gateway authenticates with a real
TokenReview and authorises with a real SubjectAccessReview; maas-api calls the API server with
its own ServiceAccount's token, so its ClusterRole from the manifests is what it may do.

The components restart when what they are made from changes: the stack's configuration, or
maas-api's ServiceAccount (a re-created one voids the token maas-api holds; on a cluster the
kubelet would mount a new one). Labels, annotations and objects the stack does not read restart
nothing: a run that takes over an interrupted run's objects re-labels every one of them, and a
restart then would reset the gateway's counters under its first tests. The gateway's socket
stays open across a restart, so a request then waits instead of being refused (see `front`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cluster import real_components
from maas_local.cluster.controlplane import free_port
from maas_local.cluster.front import GatewayFront
from maas_local.cluster.processes import ComponentDied, Supervisor
from maas_local.cluster.real_components import NotReady, RealBinaries
from maas_local.config import ManifestError, StackConfig, load_config
from maas_local.config.model import ModelSpec
from maas_local.gateway.app import build_app as build_gateway
from maas_local.maas_api.app import build_app as build_maas_api
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread
from maas_local.simulator import SimulatorConfig
from maas_local.simulator import build_app as build_simulator
from maas_local.stack import in_stack

LOG = logging.getLogger("maas_local.cluster")
FOLLOW_INTERVAL_S = 1.0
TOKEN_SECONDS = 24 * 3600
MAAS_API_ACCOUNT = "maas-api"
# Everything the loader reads, cluster-wide; of Deployments and ConfigMaps only maas-api's
# and its tier mapping (a new namespace gets a ConfigMap of its own, which must not restart the
# data plane).
ONLY_NAMED = {"Deployment": "maas-api", "ConfigMap": "tier-to-group-mapping"}
SOURCES = (
    "/apis/apps/v1/deployments",
    "/api/v1/configmaps",
    "/apis/gateway.networking.k8s.io/v1/gateways",
    "/apis/gateway.networking.k8s.io/v1/httproutes",
    "/apis/kuadrant.io/v1/authpolicies",
    "/apis/kuadrant.io/v1/ratelimitpolicies",
    "/apis/kuadrant.io/v1alpha1/tokenratelimitpolicies",
    "/apis/serving.kserve.io/v1alpha1/llminferenceservices",
    "/apis/rbac.authorization.k8s.io/v1/roles",
    "/apis/rbac.authorization.k8s.io/v1/rolebindings",
)
_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "generation")


def live_objects(api: httpx.Client) -> list[dict[str, Any]]:
    """The objects of every source kind, as manifests (no status, no server bookkeeping)."""
    found = []
    for path in SOURCES:
        response = api.get(path)
        response.raise_for_status()
        body = response.json()
        api_version = body.get("apiVersion", "v1")
        kind = str(body.get("kind", "")).removesuffix("List")
        for item in body.get("items") or []:
            if ONLY_NAMED.get(kind, item["metadata"]["name"]) != item["metadata"]["name"]:
                continue
            meta = {k: v for k, v in item["metadata"].items() if k not in _SERVER_FIELDS}
            spec = {k: v for k, v in item.items() if k not in ("status", "metadata")}
            found.append({"apiVersion": api_version, "kind": kind, **spec, "metadata": meta})
    return found


def digest(objects: list[dict[str, Any]]) -> str:
    return hashlib.sha256(yaml.safe_dump_all(objects, sort_keys=True).encode()).hexdigest()


class DataPlane:
    """Follows the API server and keeps the components in step with it."""

    def __init__(
        self,
        api: Callable[[], httpx.Client],
        connection: ApiServerConnection,
        workdir: Path,
        *,
        gateway_port: int,
        gateway_host: str = "127.0.0.1",
        real: RealBinaries | None = None,
    ) -> None:
        self.api = api
        self.real = real or RealBinaries()
        self._processes = Supervisor(workdir / "logs")  # the real components, when given
        self._failure: NotReady | None = None
        self.connection = connection
        self.workdir = workdir
        self.gateway_port = gateway_port
        self.gateway_host = gateway_host
        self._stop = threading.Event()
        self.problem = "nothing deployed yet"  # why no stack serves; "" while one does
        self._front = GatewayFront(lambda: self.problem)
        self._listening = contextlib.ExitStack()  # the gateway's socket, from start to stop
        self._running = contextlib.ExitStack()  # maas-api and the models serving now
        self._seen = ""  # the digest of the objects last read
        self._config: StackConfig | None = None  # what they configure; None: no complete stack
        # The configuration and maas-api's ServiceAccount uid the running components were made
        # from; None while none run.
        self._serving: tuple[StackConfig, str] | None = None
        self.gateway_url = ""  # where the gateway listens, once it does
        self._thread: threading.Thread | None = None

    def listen(self) -> None:
        """Open the gateway's socket for good (a port in use raises PortInUseError here); until
        `sync` serves a stack it answers 503 with the problem."""
        gateway = Component("gateway", bind(self.gateway_port, self.gateway_host), self._front)
        self._listening.enter_context(serve_in_thread(ServerGroup([gateway])))
        self.gateway_url = gateway.url

    def start(self) -> None:
        """Listen, then follow the API server in a thread until `stop`."""
        self.listen()
        self._thread = threading.Thread(target=self._follow, name="dataplane", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.gateway_url:
            self.problem = "the data plane stopped"
            self._halt()
        self._listening.close()

    def check(self) -> None:
        """Raise ComponentDied when a real component died or never answered."""
        if self._failure is not None:
            raise ComponentDied(str(self._failure))
        self._processes.check()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except (httpx.HTTPError, OSError) as exc:
                LOG.info("reading the API server failed, trying again: %s", exc)
            self._stop.wait(FOLLOW_INTERVAL_S)

    def sync(self) -> bool:
        """Restart the components when what they are made from changed, stop them when the API
        server holds no complete stack; True when either happened."""
        with self.api() as api:
            objects = live_objects(api)
            now = digest(objects)
            if now != self._seen:
                self._config = self._read(objects)
                self._seen = now
            config = self._config
            if config is None:
                if self._serving is None:
                    return False
                self._halt()
                return True
            account = self._maas_api_account(api, config)
            if account is None:
                # As on a cluster, what runs keeps running; a new account restarts it.
                if self._serving is None:
                    self.problem = (
                        f"maas-api's ServiceAccount {config.maas_api_namespace}/"
                        f"{MAAS_API_ACCOUNT} does not exist yet"
                    )
                return False
            if self._serving == (config, account):
                return False
            connection = self._maas_api_connection(api, config)
        self.problem = "the data plane is restarting"
        self._front.hold()  # requests wait from here until serve() or refuse()
        self._running.close()
        self._serving = None
        with contextlib.ExitStack() as failed:
            failed.callback(self._halt)  # on any failure: nothing half-started, nobody waiting
            try:
                self._front.serve(self._serve(config, connection))
            except NotReady as exc:
                self._failure, self.problem = exc, str(exc)
                return True
            failed.pop_all()
        self._serving = (config, account)
        self.problem = ""
        LOG.info("data plane serving %d models", len(config.models))
        return True

    def _read(self, objects: list[dict[str, Any]]) -> StackConfig | None:
        """The stack the objects configure; None (and the reason in `problem`) when incomplete."""
        source = self.workdir / "live.yaml"
        source.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
        try:
            return load_config(source)
        except ManifestError as exc:
            self.problem = f"the API server holds no complete stack yet: {exc}"
            return None

    def _maas_api_account(self, api: httpx.Client, config: StackConfig) -> str | None:
        """The uid of maas-api's ServiceAccount; None while there is none."""
        path = f"/api/v1/namespaces/{config.maas_api_namespace}/serviceaccounts/{MAAS_API_ACCOUNT}"
        response = api.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return str(response.json()["metadata"]["uid"])

    def _maas_api_connection(self, api: httpx.Client, config: StackConfig) -> ApiServerConnection:
        """A token of maas-api's own ServiceAccount (as its pod would mount)."""
        ns, account = config.maas_api_namespace, MAAS_API_ACCOUNT
        response = api.post(
            f"/api/v1/namespaces/{ns}/serviceaccounts/{account}/token",
            json={"spec": {"expirationSeconds": TOKEN_SECONDS}},
        )
        response.raise_for_status()
        token = response.json()["status"]["token"]
        return ApiServerConnection(self.connection.url, token, self.connection.ca_cert)

    def _serve(self, config: StackConfig, maas_api_connection: ApiServerConnection) -> Starlette:
        """Start maas-api and the models; the gateway app in front of them."""
        # The real processes first: when one never answers, nothing embedded is serving yet.
        self._running.callback(self._processes.stop)
        maas_api_url = ""
        if self.real.maas_api is not None:
            maas_api_url = self._start_real_maas_api(config, maas_api_connection)
        model_urls = {}
        if self.real.simulator is not None:
            model_urls = {(m.namespace, m.name): self._start_real_model(m) for m in config.models}
        embedded: list[Component] = []
        if not maas_api_url:
            maas_api = Component("maas-api", bind(0))
            maas_api.app = build_maas_api(
                config, apiserver_url=self.connection.url, apiserver=maas_api_connection
            )
            embedded.append(maas_api)
            maas_api_url = maas_api.url
        for spec in config.models if self.real.simulator is None else ():
            model = Component(f"model {spec.namespace}/{spec.name}", bind(0))
            model.app = build_simulator(
                SimulatorConfig(model=spec.served_model_name, mode=spec.mode, faults=config.faults)
            )
            embedded.append(model)
            model_urls[(spec.namespace, spec.name)] = model.url
        if embedded:
            self._running.enter_context(serve_in_thread(ServerGroup(embedded)))
        return build_gateway(
            config,
            apiserver_url=self.connection.url,
            apiserver=self.connection,
            maas_api_url=maas_api_url,
            tier_lookup_url=in_stack(config.tier_lookup_url, maas_api_url),
            model_urls=model_urls,
        )

    def _start_real_maas_api(self, config: StackConfig, connection: ApiServerConnection) -> str:
        assert self.real.maas_api is not None
        port = free_port()
        kubeconfig = real_components.write_kubeconfig(
            self.workdir / "maas-api.kubeconfig", connection
        )
        env = real_components.maas_api_environment(config, kubeconfig, port)
        return real_components.start(
            self._processes,
            "maas-api",
            [str(self.real.maas_api)],
            f"http://127.0.0.1:{port}",
            "/health",
            env=env,
        )

    def _start_real_model(self, spec: ModelSpec) -> str:
        assert self.real.simulator is not None
        port = free_port()
        return real_components.start(
            self._processes,
            f"model-{spec.namespace}-{spec.name}",
            real_components.simulator_argv(self.real.simulator, spec, port),
            f"http://127.0.0.1:{port}",
            "/health",
        )

    def _halt(self) -> None:
        """Stop maas-api and the models; the gateway answers 503 with the problem meanwhile."""
        self._front.refuse()
        self._running.close()
        self._serving = None
