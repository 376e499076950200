"""The figures of the deployed manifests the cases need: identity namespaces, maas-api's place.

Both stacks serve `manifests/e2e`; the harness renders it with the same `kubectl kustomize` the
stacks use, applies it to the cluster, and reads from it where each tier's identities live and
what maas-api's instance and namespace are (the environment the upstream binary is given).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from maas_fidelity.processes import SideUnavailable

TIER_LABEL = "maas-e2e.opendatahub.io/tier"
RENDER_TIMEOUT_S = 60


@dataclass(frozen=True)
class Deployment:
    text: str
    """The rendered YAML, as applied."""
    identity_namespaces: dict[str, str]
    """Tier name -> the namespace whose ServiceAccounts the tier mapping puts in that tier."""
    instance: str
    maas_api_namespace: str
    maas_api_env: dict[str, str]
    """The literal environment of maas-api's container (PROVIDER, DEBUG_MODE...)."""

    def identity_namespace(self, tier: str) -> str:
        return self.identity_namespaces[tier]


def render(overlay: Path) -> Deployment:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SideUnavailable(
            "kubectl not found on PATH: it renders the manifests (kubectl kustomize) and "
            "applies them to the cluster; scripts/ensure-kubectl.sh installs it"
        )
    proc = subprocess.run(
        [kubectl, "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise SideUnavailable(f"kubectl kustomize {overlay} failed: {proc.stderr.strip()}")
    return read(proc.stdout)


def read(text: str) -> Deployment:
    docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    tiers = {
        labels[TIER_LABEL]: d["metadata"]["name"]
        for d in docs
        if d.get("kind") == "Namespace"
        and TIER_LABEL in (labels := d["metadata"].get("labels") or {})
    }
    deployment = _one(docs, "Deployment", "maas-api")
    gateway = next((d for d in docs if d.get("kind") == "Gateway"), None)
    if gateway is None:
        raise SideUnavailable("the manifests have no Gateway (maas-api's instance is its name)")
    containers = deployment["spec"]["template"]["spec"].get("containers") or []
    env = {
        e.get("name"): e.get("value")
        for c in containers
        for e in c.get("env") or []
        if "value" in e
    }
    return Deployment(
        text=text,
        identity_namespaces=tiers,
        instance=env.get("INSTANCE_NAME") or gateway["metadata"]["name"],
        maas_api_namespace=deployment["metadata"].get("namespace", "default"),
        maas_api_env=env,
    )


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in docs:
        if doc.get("kind") == kind and doc["metadata"].get("name") == name:
            return doc
    raise SideUnavailable(f"the manifests have no {kind} {name}")
