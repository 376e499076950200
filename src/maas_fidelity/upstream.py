"""The real upstream maas-api, started from a binary given on the command line.

It runs as its pod would, against the cluster's kube-apiserver: a kubeconfig holding a token of
maas-api's own ServiceAccount (so the manifests' ClusterRole is what it may do), the
Deployment's literal environment, and INSTANCE_NAME, NAMESPACE and PORT set as the manifests
imply. Its version is what the caller says it built (the binary carries no VCS stamp); its
sha256 goes into the report so two reports can tell whether they ran the same build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from maas_fidelity.cluster import Cluster
from maas_fidelity.processes import free_port, started, wait_for

START_TIMEOUT_S = 60.0
SA_TOKEN_SECONDS = 24 * 3600
SERVICE_ACCOUNT = "maas-api"


@dataclass(frozen=True)
class UpstreamMaasApi:
    url: str
    version: str


def describe(binary: Path, commit: str) -> str:
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    return f"upstream maas-api {commit} (binary sha256 {digest}) on {{cluster}}"


@contextlib.contextmanager
def upstream_maas_api(
    binary: Path, commit: str, cluster: Cluster, workdir: Path
) -> Iterator[UpstreamMaasApi]:
    deployment = cluster.deployment
    token = cluster.service_account_token(
        deployment.maas_api_namespace, SERVICE_ACCOUNT, SA_TOKEN_SECONDS
    )
    kubeconfig = workdir / "upstream-maas-api.kubeconfig"
    kubeconfig.write_text(cluster.kubeconfig_for(token), encoding="utf-8")
    kubeconfig.chmod(0o600)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(workdir)),
        **deployment.maas_api_env,
        "KUBECONFIG": str(kubeconfig),
        "INSTANCE_NAME": deployment.instance,
        "NAMESPACE": deployment.maas_api_namespace,
        "PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    log = workdir / "logs" / "upstream-maas-api.log"
    with started("upstream maas-api", [str(binary)], log, env) as child:
        wait_for(child, "/health", START_TIMEOUT_S, lambda: _healthy(url))
        version = describe(binary, commit).format(cluster=cluster.version)
        yield UpstreamMaasApi(url, version)


def _healthy(url: str) -> bool | None:
    return True if httpx.get(f"{url}/health", timeout=5).status_code == 200 else None
