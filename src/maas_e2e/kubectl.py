"""Which kubectl the suite runs: one rule for rendering manifests and for driving a cluster.

The suite renders overlays with `kubectl kustomize` and drives the cluster target with kubectl;
both must pick the same binary, or the manifests the suite reads could come from another
kustomize than the one that deployed them.
"""

from __future__ import annotations

import os
import shutil

KUBECTL_ENV = "KUBECTL"


class KubectlNotFound(LookupError):
    """No kubectl where the suite looks; the message says what was looked for and how to fix it."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        super().__init__(f"{tool!r} not found (install kubectl, or set ${KUBECTL_ENV})")


def find_kubectl(kubectl: str | None = None) -> str:
    """The kubectl executable: `kubectl` if given, else `$KUBECTL`, else `kubectl` on PATH.

    Raises KubectlNotFound when that name or path is not an executable.
    """
    tool = kubectl or os.environ.get(KUBECTL_ENV) or "kubectl"
    executable = shutil.which(tool)
    if executable is None:
        raise KubectlNotFound(tool)
    return executable
