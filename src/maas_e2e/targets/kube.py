"""A thin kubectl runner: the only place the cluster target starts a process.

Everything the cluster target does goes through `Kube`, which runs `kubectl` through a `Runner`.
Unit tests inject a scripted runner and so see every command, its stdin, and the order; on a real
cluster the runner is `KubectlRunner`, pointed at the cluster that pytest-kubernetes' external
provider resolves (`--k8s-kubeconfig-override`, `--k8s-kubeconfig`, `--kubeconfig`, `KUBECONFIG`).
The suite never creates or deletes the cluster itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pytest_kubernetes.providers import select_provider_manager

from maas_e2e.kubectl import KubectlNotFound, find_kubectl
from maas_e2e.targets.base import TargetUnavailable

DEFAULT_TIMEOUT_S = 30.0
# kubectl's own per-request timeout, so a dead API server fails a call in seconds, not minutes.
REQUEST_TIMEOUT = "20s"


@dataclass(frozen=True)
class KubectlResult:
    """What one kubectl run gave back."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    def __call__(
        self, args: Sequence[str], *, stdin: str | None, timeout: float
    ) -> KubectlResult: ...


class KubeError(RuntimeError):
    """A kubectl command failed. The message shows the command and stderr, never stdin or
    stdout, which may hold tokens."""

    def __init__(self, result: KubectlResult) -> None:
        self.result = result
        detail = result.stderr.strip() or f"exit code {result.returncode}"
        super().__init__(f"`kubectl {' '.join(result.args)}` failed: {detail[:1500]}")

    @property
    def not_found(self) -> bool:
        """The object (or its kind) does not exist."""
        stderr = self.result.stderr
        return "NotFound" in stderr or "not found" in stderr


@dataclass(frozen=True)
class KubectlRunner:
    """Runs the real kubectl with the resolved kubeconfig and context."""

    kubectl: str
    kubeconfig: str | None = None
    context: str | None = None

    def __call__(self, args: Sequence[str], *, stdin: str | None, timeout: float) -> KubectlResult:
        argv = [self.kubectl, f"--request-timeout={REQUEST_TIMEOUT}"]
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context:
            argv += ["--context", self.context]
        argv += list(args)
        # Without input the child gets no stdin at all: kubectl must never wait on a terminal.
        feed: dict = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False, **feed
            )
        except subprocess.TimeoutExpired:
            return KubectlResult(tuple(args), 124, "", f"timed out after {timeout:.0f}s")
        except OSError as exc:
            return KubectlResult(tuple(args), 127, "", f"cannot run {self.kubectl}: {exc}")
        return KubectlResult(tuple(args), done.returncode, done.stdout, done.stderr)


class Kube:
    """kubectl calls with JSON results; every failure is a KubeError naming the command."""

    def __init__(self, runner: Runner, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.runner = runner
        self.timeout = timeout

    def attempt(
        self, *args: str, stdin: str | None = None, timeout: float | None = None
    ) -> KubectlResult:
        """Run and return the result whatever the exit code (for callers that classify it)."""
        return self.runner(args, stdin=stdin, timeout=timeout or self.timeout)

    def run(self, *args: str, stdin: str | None = None, timeout: float | None = None) -> str:
        """Run and return stdout; a non-zero exit raises KubeError."""
        result = self.attempt(*args, stdin=stdin, timeout=timeout)
        if result.returncode != 0:
            raise KubeError(result)
        return result.stdout

    def json(
        self, *args: str, stdin: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Run with `-o json` and parse the output."""
        out = self.run(*args, "-o", "json", stdin=stdin, timeout=timeout)
        return _parse(args, out)

    def raw(self, path: str, *, timeout: float | None = None) -> dict[str, Any]:
        """`kubectl get --raw PATH`: an API path read with the kubeconfig's credentials."""
        return _parse(("get", "--raw", path), self.run("get", "--raw", path, timeout=timeout))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """One object, or None when it (or its kind) does not exist."""
        args = ["get", kind, name]
        if namespace:
            args += ["-n", namespace]
        try:
            return self.json(*args)
        except KubeError as exc:
            if exc.not_found or "doesn't have a resource type" in exc.result.stderr:
                return None
            raise


def items(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a `kubectl get -o json` answer: a List's items, or the single object."""
    if document.get("kind", "").endswith("List") and "items" in document:
        return list(document.get("items") or [])
    return [document] if document else []


def _parse(args: Sequence[str], out: str) -> dict[str, Any]:
    try:
        parsed = json.loads(out) if out.strip() else {}
    except ValueError:
        raise KubeError(
            KubectlResult(tuple(args), 0, "", f"output is not JSON: {out[:200]!r}")
        ) from None
    if not isinstance(parsed, dict):
        raise KubeError(KubectlResult(tuple(args), 0, "", f"output is no object: {out[:200]!r}"))
    return parsed


def connect(
    *,
    kubeconfig_override: str | None = None,
    k8s_kubeconfig: str | None = None,
    kubeconfig: str | None = None,
    kubectl: str | None = None,
) -> KubectlRunner:
    """A runner for the cluster pytest-kubernetes' external provider resolves.

    Precedence: `--k8s-kubeconfig-override`, `--k8s-kubeconfig`, then `--kubeconfig` /
    `KUBECONFIG` (a single file; a `:`-separated list is left to kubectl itself), then kubectl's
    own default. Only the manager's kubeconfig and context are used: its `delete()` would unlink
    the kubeconfig file, and this suite never creates or deletes a cluster.
    """
    single = kubeconfig if kubeconfig and os.pathsep not in kubeconfig else None
    options = {"kubeconfig_override": kubeconfig_override, "kubeconfig": k8s_kubeconfig or single}
    manager = select_provider_manager("external", options)()
    path: Path | None = manager.kubeconfig
    if path is not None and not path.is_file():
        raise TargetUnavailable(f"kubeconfig {path} does not exist or is not a file")
    try:
        executable = find_kubectl(kubectl)
    except KubectlNotFound as exc:
        raise TargetUnavailable(f"{exc}: the cluster target drives the cluster with it") from exc
    return KubectlRunner(
        kubectl=executable,
        kubeconfig=str(path) if path is not None else None,
        context=manager.context,
    )
