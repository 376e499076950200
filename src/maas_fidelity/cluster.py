"""The real side: `maas-local cluster up` (real etcd and kube-apiserver from the pinned upstream
builds, our data plane fed by them) started as a process, with `manifests/e2e` applied to it.

Only HTTP and the kubeconfig the CLI writes are used: the admin token and the cluster's CA come
from it, the manifests go in with `kubectl apply --server-side`, users are ServiceAccounts of
each tier's identity namespace with a TokenRequest token (how the e2e suite's cluster target
makes them). A cluster whose builds are missing is `NotBuilt`, which makes its components
"not made" instead of failing the run.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_fidelity.manifests import Deployment
from maas_fidelity.processes import SideUnavailable, free_port, started, wait_for

START_TIMEOUT_S = 120.0
APPLY_TIMEOUT_S = 60.0
APPLY_RETRY_S = 1.0
SERVE_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 15.0
USER_TOKEN_SECONDS = 3600
FIELD_MANAGER = "maas-fidelity"
GATEWAY_STATUS_URL = "http://127.0.0.1"
"""What the cluster's Gateway status gives as its address (port 80 of its listener implied),
which the models' URLs are made of, whatever port the harness runs the gateway on."""
NOT_BUILT_MARK = "are not built"
"""What `maas-local cluster up` says when scripts/build-upstream.sh has not been run."""


class NotBuilt(SideUnavailable):
    """The pinned upstream builds are missing; the message says how to make them."""


@dataclass(frozen=True)
class Cluster:
    server: str
    ca_file: Path
    admin_token: str
    kubeconfig: Path
    gateway_url: str
    deployment: Deployment

    def client(self) -> httpx.Client:
        """A client of the API server that sends no credential of its own."""
        trust = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(base_url=self.server, verify=trust, timeout=HTTP_TIMEOUT_S)

    def api(self) -> httpx.Client:
        """A client of the API server as its admin."""
        client = self.client()
        client.headers["Authorization"] = f"Bearer {self.admin_token}"
        return client

    @property
    def version(self) -> str:
        with self.api() as api:
            info = api.get("/version").json()
        return f"kube-apiserver {info.get('gitVersion', '?')} (maas-local cluster)"

    def service_account_token(self, namespace: str, name: str, seconds: int) -> str:
        with self.api() as api:
            response = api.post(
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                json={"spec": {"expirationSeconds": seconds}},
            )
        _expect(response, 201, f"a token of {namespace}/{name}")
        return str(response.json()["status"]["token"])

    def user_token(self, tier: str, name: str) -> str:
        """A new identity of `tier`: a ServiceAccount of its identity namespace, and a token of
        the API server's own audience for it (the cluster's `oc whoami -t`)."""
        namespace = self.deployment.identity_namespace(tier)
        with self.api() as api:
            response = api.post(
                f"/api/v1/namespaces/{namespace}/serviceaccounts",
                json={"metadata": {"name": name}},
            )
        _expect(response, 201, f"ServiceAccount {namespace}/{name}")
        return self.service_account_token(namespace, name, USER_TOKEN_SECONDS)

    def kubeconfig_for(self, token: str) -> str:
        """The admin kubeconfig with `token` as its credential."""
        config: dict[str, Any] = yaml.safe_load(self.kubeconfig.read_text(encoding="utf-8"))
        for user in config.get("users") or []:
            user["user"] = {"token": token}
        return yaml.safe_dump(config, sort_keys=False)


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise SideUnavailable(
            f"the cluster refused {what}: {response.status_code} {response.text[:300]}"
        )


@contextlib.contextmanager
def cluster(workdir: Path, deployment: Deployment) -> Iterator[Cluster]:
    """A running cluster with the deployment applied and its data plane serving maas-api."""
    kubeconfig = workdir / "cluster.kubeconfig"
    gateway_port = free_port()
    argv = [sys.executable, "-m", "maas_local", "cluster", "up"]
    argv += ["--kubeconfig-out", str(kubeconfig), "--gateway-port", str(gateway_port)]
    # Our data plane, whatever real builds the environment would have it run instead.
    env = {k: v for k, v in os.environ.items() if not _chooses_a_build(k)}
    log = workdir / "logs" / "cluster.log"
    with started("maas-local cluster up", argv, log, env) as child:
        try:
            wait_for(
                child,
                "its kubeconfig",
                START_TIMEOUT_S,
                lambda: kubeconfig.stat().st_size > 0 or None,
            )
        except SideUnavailable as exc:
            if NOT_BUILT_MARK in str(exc):
                raise NotBuilt(_not_built_reason(child.tail())) from None
            raise
        found = _from_kubeconfig(kubeconfig, workdir)
        running = Cluster(
            server=found["server"],
            ca_file=found["ca_file"],
            admin_token=found["token"],
            kubeconfig=kubeconfig,
            gateway_url=f"http://127.0.0.1:{gateway_port}",
            deployment=deployment,
        )
        _apply(kubeconfig, deployment.text)
        probe = running.user_token(next(iter(deployment.identity_namespaces)), "fidelity-probe")
        wait_for(
            child,
            "maas-api behind its gateway",
            SERVE_TIMEOUT_S,
            lambda: _serves(running.gateway_url, probe),
        )
        yield running


def _chooses_a_build(variable: str) -> bool:
    """`MAAS_LOCAL_*_BINARY`: the variables that swap a real build into the data plane."""
    return variable.startswith("MAAS_LOCAL_") and variable.endswith("_BINARY")


def _not_built_reason(output: str) -> str:
    line = next((ln for ln in output.splitlines() if NOT_BUILT_MARK in ln), output.strip())
    return line.removeprefix("maas-local cluster: ")


def _from_kubeconfig(path: Path, workdir: Path) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    cluster = config["clusters"][0]["cluster"]
    ca_file = workdir / "cluster-ca.crt"
    ca_file.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return {
        "server": cluster["server"],
        "ca_file": ca_file,
        "token": config["users"][0]["user"]["token"],
    }


def _apply(kubeconfig: Path, text: str) -> None:
    """Server-side apply, retried while the API server settles (a CRD not served yet)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SideUnavailable("kubectl not found on PATH: it applies the manifests")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    argv = [kubectl, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-"]

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, input=text, capture_output=True, text=True, env=env, check=False, timeout=60
        )

    result = Retrying(
        stop=stop_after_delay(APPLY_TIMEOUT_S),
        wait=wait_fixed(APPLY_RETRY_S),
        retry=retry_if_result(lambda r: r.returncode != 0),
        retry_error_callback=lambda state: state.outcome.result(),
    )(once)
    if result.returncode != 0:
        raise SideUnavailable(f"kubectl apply of the manifests failed: {result.stderr.strip()}")


def _serves(gateway_url: str, token: str) -> bool | None:
    response = httpx.get(
        f"{gateway_url}/maas-api/health",
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT_S,
    )
    return True if response.status_code == 200 else None
