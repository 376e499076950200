"""Rendered Kubernetes manifests as plain objects.

The suite reads every expected figure from the very YAML that gets deployed, so it renders the
overlay with the same `kubectl kustomize` users run (or reads an already rendered file) instead
of re-implementing kustomize.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from maas_e2e.kubectl import KubectlNotFound, find_kubectl

RENDER_TIMEOUT_SECONDS = 120


class ManifestError(Exception):
    """The manifests cannot be rendered, parsed, or lack something the suite needs."""


def object_ref(obj: Mapping[str, Any]) -> str:
    """`Kind ns/name` (or `Kind name` when cluster-scoped): how errors name an object."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "<unnamed>")
    namespace = meta.get("namespace")
    return (
        f"{obj.get('kind', '<no kind>')} {namespace}/{name}"
        if namespace
        else f"{obj.get('kind')} {name}"
    )


def render_overlay(directory: str | os.PathLike[str], *, kubectl: str | None = None) -> str:
    """Render a kustomize overlay with `kubectl kustomize DIR`.

    `kubectl` defaults to `$KUBECTL`, else `kubectl` on PATH: the tool users already need.
    """
    try:
        tool = find_kubectl(kubectl)
    except KubectlNotFound as exc:
        raise ManifestError(
            f"cannot render {directory}: {exc}; or pass an already rendered YAML file"
        ) from exc
    try:
        completed = subprocess.run(
            [tool, "kustomize", os.fspath(directory)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ManifestError(
            f"`{tool} kustomize {directory}` did not finish in {RENDER_TIMEOUT_SECONDS}s"
        ) from exc
    if completed.returncode != 0:
        raise ManifestError(
            f"`{tool} kustomize {directory}` failed (exit {completed.returncode}): "
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )
    return completed.stdout


def read_rendered(path: str | os.PathLike[str]) -> str:
    """Read an already rendered multi-document YAML file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read rendered manifests {path}: {exc}") from exc


@dataclass(frozen=True)
class RenderedManifests:
    """The rendered YAML text (hashed for reports) and its objects, in document order."""

    text: str
    documents: tuple[dict[str, Any], ...]
    source: str

    def error(self, where: Mapping[str, Any] | str, message: str) -> ManifestError:
        """An error naming this rendering, then the object (or kind) at fault and the problem."""
        ref = where if isinstance(where, str) else object_ref(where)
        return ManifestError(f"{self.source}: {ref}: {message}")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind, in document order."""
        return [doc for doc in self.documents if doc.get("kind") == kind]

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object of that kind and name (and namespace, if given), or None."""
        matches = [
            doc
            for doc in self.of_kind(kind)
            if doc["metadata"].get("name") == name
            and (namespace is None or doc["metadata"].get("namespace") == namespace)
        ]
        if len(matches) > 1:
            where = f" in namespace {namespace}" if namespace else ""
            raise ManifestError(
                f"{self.source}: {len(matches)} {kind} objects named {name!r}{where}: "
                + ", ".join(object_ref(m) for m in matches)
            )
        return matches[0] if matches else None


def parse_manifests(text: str, *, source: str = "<rendered YAML>") -> RenderedManifests:
    """Parse multi-document YAML; `kind: List` documents are flattened into their items."""
    try:
        raw = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from exc
    documents = tuple(_flatten(raw, source))
    return RenderedManifests(text=text, documents=documents, source=source)


def _flatten(raw: list[Any], source: str) -> Iterator[dict[str, Any]]:
    for index, doc in enumerate(raw):
        if not isinstance(doc, dict):
            raise ManifestError(f"{source}: document #{index} is not a mapping: {doc!r:.80}")
        if doc.get("kind") == "List":
            yield from _flatten(list(doc.get("items") or []), f"{source} (List #{index})")
            continue
        meta = doc.get("metadata")
        if not doc.get("kind") or not isinstance(meta, dict) or not meta.get("name"):
            raise ManifestError(
                f"{source}: document #{index} lacks kind or metadata.name: {doc!r:.120}"
            )
        yield doc


def load_manifests(
    source: str | os.PathLike[str], *, kubectl: str | None = None
) -> RenderedManifests:
    """Render a kustomize directory, or read a rendered YAML file, and parse it."""
    path = Path(source)
    if path.is_dir():
        text = render_overlay(path, kubectl=kubectl)
    elif path.is_file():
        text = read_rendered(path)
    else:
        raise ManifestError(f"manifests source {source} is neither a directory nor a file")
    return parse_manifests(text, source=os.fspath(source))
