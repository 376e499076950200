"""Turn an overlay directory (or an already rendered file) into Kubernetes objects.

Rendering goes through `kubectl kustomize`, the same renderer users apply to a cluster with, so
the embedded stack sees exactly the objects a cluster would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from maas_local.config.model import ManifestError

RENDER_TIMEOUT_S = 60


def render_overlay(path: str | Path) -> list[dict[str, Any]]:
    """Objects of a kustomize overlay directory, or of a rendered multi-document YAML file."""
    path = Path(path)
    if path.is_file():
        text = path.read_text()
    elif (path / "kustomization.yaml").is_file() or (path / "kustomization.yml").is_file():
        text = _kustomize(path)
    elif path.is_dir():
        raise ManifestError(f"{path}: no kustomization.yaml in this directory")
    else:
        raise ManifestError(f"{path}: no such manifests directory or file")
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    objects = [d for d in docs if d is not None]
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict) or "kind" not in obj:
            raise ManifestError(f"{path}: document {index} is not a Kubernetes object (no kind)")
    return objects


def _kustomize(path: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError(
            "kubectl not found on PATH: it renders the manifests (kubectl kustomize); "
            "install kubectl or pass an already rendered YAML file"
        )
    proc = subprocess.run(
        [kubectl, "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise ManifestError(f"kubectl kustomize {path} failed: {proc.stderr.strip()}")
    return proc.stdout
