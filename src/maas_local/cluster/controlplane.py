"""The real control plane on loopback: etcd, kube-apiserver, kube-controller-manager, and CRDs.

Started in dependency order, each waited for by what proves it works (etcd's health, the API
server's /readyz, the ServiceAccount controller making `default/default`); the CRDs go in by
server-side apply and are waited for until Established. The kubeconfig it hands out verifies
TLS against the cluster's own CA, as a kubeconfig of any cluster does.
"""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from maas_local.cluster.pki import ADMIN_USER, Credentials, make_credentials
from maas_local.cluster.processes import Supervisor
from maas_local.cluster.upstream import Upstream

HOST = "127.0.0.1"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
# Addresses the API server hands to Services; config only, no traffic goes there.
SERVICE_RANGE = "10.96.0.0/24"
STAND_IN_CRDS = Path(__file__).with_name("crds") / "stand-ins.yaml"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
POLL_S = 0.2
# Off: what needs nodes or a cloud (there are neither), and the Deployment and ReplicaSet
# controllers, whose pods could never run: maas-local plays a Deployment's status instead.
CONTROLLERS = (
    "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route,"
    "-deployment,-replicaset"
)


class NotStarted(RuntimeError):
    """A component did not become ready in time; the message says which and what it last did."""


@dataclass(frozen=True)
class Endpoints:
    """How to reach the cluster as its admin."""

    api_url: str
    ca_cert: Path
    admin_token: str

    def kubeconfig(self, user: str = ADMIN_USER) -> str:
        """A kubeconfig holding the token, verifying the API server against the cluster's CA;
        `user` only names the entry."""
        ca = base64.b64encode(self.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "maas-local",
                    "cluster": {"server": self.api_url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": user, "user": {"token": self.admin_token}}],
            "contexts": [
                {"name": "maas-local", "context": {"cluster": "maas-local", "user": user}}
            ],
            "current-context": "maas-local",
        }
        return yaml.safe_dump(config, sort_keys=False)

    def client(self, timeout: float = 10.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        trust = ssl.create_default_context(cafile=str(self.ca_cert))
        return httpx.Client(base_url=self.api_url, headers=headers, verify=trust, timeout=timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nothing listens there (connections of a stopped server in TIME_WAIT do not count: a
    server binds with SO_REUSEADDR, as kube-apiserver does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


class ControlPlane:
    """Starts and stops the three processes and installs the CRDs."""

    def __init__(self, upstream: Upstream, workdir: Path, *, api_port: int = 0) -> None:
        self.upstream = upstream
        self.workdir = workdir
        self.api_port = api_port or free_port()
        self.supervisor = Supervisor(workdir / "logs")

    def start(self, timeout: float = 120.0) -> Endpoints:
        """Everything answers when this returns; on failure everything is stopped."""
        try:
            return self._start(timeout)
        except BaseException:
            self.supervisor.stop()
            raise

    def _start(self, timeout: float) -> Endpoints:
        creds = make_credentials(self.workdir / "pki")
        client_port, peer_port = free_port(), free_port()
        etcd_url = f"http://{HOST}:{client_port}"
        self.supervisor.start("etcd", self._etcd(etcd_url, f"http://{HOST}:{peer_port}"))
        self._wait("etcd", timeout, lambda: _etcd_healthy(etcd_url))
        self.supervisor.start("kube-apiserver", self._apiserver(etcd_url, creds))
        endpoints = Endpoints(f"https://{HOST}:{self.api_port}", creds.ca_cert, creds.admin_token)
        with endpoints.client() as api:
            self._wait("kube-apiserver", timeout, lambda: _ok(api.get("/readyz")))
            kubeconfig = self.workdir / "admin.kubeconfig"
            kubeconfig.write_text(endpoints.kubeconfig(), encoding="utf-8")
            kubeconfig.chmod(0o600)
            self.supervisor.start("kube-controller-manager", self._controllers(kubeconfig, creds))
            crds = install_crds(api, [*self.upstream.crds, STAND_IN_CRDS])
            self._wait("the CRDs", timeout, lambda: _established(api, crds))
            account = "/api/v1/namespaces/default/serviceaccounts/default"
            self._wait("kube-controller-manager", timeout, lambda: _ok(api.get(account)))
        return endpoints

    def stop(self) -> None:
        self.supervisor.stop()

    def _wait(self, what: str, timeout: float, ready: Callable[[], bool]) -> None:
        """Poll until `ready` holds; a component that died stops the wait at once."""

        def attempt() -> None:
            self.supervisor.check()
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            raise _NotYet

        try:
            for tried in Retrying(
                stop=stop_after_delay(timeout),
                wait=wait_fixed(POLL_S),
                retry=retry_if_exception_type(_NotYet),
                reraise=True,
            ):
                with tried:
                    attempt()
        except _NotYet:
            logs = "\n".join(f"--- {c.name}:\n{c.tail()}" for c in self.supervisor.components)
            raise NotStarted(f"{what} did not become ready in {timeout:.0f}s\n{logs}") from None

    def _etcd(self, client_url: str, peer_url: str) -> list[str]:
        return [
            str(self.upstream.binary("etcd")),
            "--name=maas-local",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=maas-local={peer_url}",
            "--log-level=warn",
        ]

    def _apiserver(self, etcd_url: str, creds: Credentials) -> list[str]:
        return [
            str(self.upstream.binary("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={self.api_port}",
            f"--tls-cert-file={creds.serving_cert}",
            f"--tls-private-key-file={creds.serving_key}",
            f"--token-auth-file={creds.token_file}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={creds.sa_pub}",
            f"--service-account-signing-key-file={creds.sa_key}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_RANGE}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--profiling=false",
        ]

    def _controllers(self, kubeconfig: Path, creds: Credentials) -> list[str]:
        return [
            str(self.upstream.binary("kube-controller-manager")),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={HOST}",
            f"--secure-port={free_port()}",
            f"--service-account-private-key-file={creds.sa_key}",
            f"--root-ca-file={creds.ca_cert}",
            f"--controllers={CONTROLLERS}",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--profiling=false",
        ]


class _NotYet(Exception):
    pass


def _ok(response: httpx.Response) -> bool:
    return response.status_code == 200


def _etcd_healthy(url: str) -> bool:
    response = httpx.get(f"{url}/health", timeout=2.0)
    return _ok(response) and response.json().get("health") == "true"


def install_crds(api: httpx.Client, files: list[Path]) -> list[str]:
    """Server-side apply every CRD in the files; the names of the CRDs applied."""
    names = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = doc["metadata"]["name"]
            response = api.patch(
                f"{CRD_PATH}/{name}",
                params={"fieldManager": "maas-local", "force": "true"},
                content=yaml.safe_dump(doc),
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            if response.status_code not in (200, 201):
                raise NotStarted(f"installing CRD {name} from {path.name}: {response.text[:500]}")
            names.append(name)
    return names


def _established(api: httpx.Client, names: list[str]) -> bool:
    listing: dict[str, Any] = api.get(CRD_PATH).json()
    established = {
        item["metadata"]["name"]
        for item in listing.get("items") or []
        for cond in (item.get("status") or {}).get("conditions") or []
        if cond.get("type") == "Established" and cond.get("status") == "True"
    }
    return set(names) <= established
