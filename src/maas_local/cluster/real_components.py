"""The real upstream maas-api and llm-d-inference-sim as the data plane's processes, when built.

`maas-local cluster up --maas-api-binary PATH --simulator-binary PATH` runs them in place of the
embedded maas-api and simulator, so the whole suite can be pointed at the real components: the
gateway stays ours (Authorino and Limitador cannot run here), everything behind it is upstream's.
Their Go modules are refused by the Go module proxy, so neither is built by
`scripts/build-upstream.sh`; a binary built from the pinned sources by other means is given by
path.

Each process is started the way its manifest starts it: maas-api with its Deployment's
environment and a kubeconfig holding its own ServiceAccount's token (what its pod would mount);
a model with its LLMInferenceService container's arguments, minus the port (a free one here) and
the TLS files (the gateway reaches models over plain HTTP on loopback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cluster.controlplane import Endpoints
from maas_local.cluster.processes import ComponentDied, Supervisor
from maas_local.config import StackConfig
from maas_local.config.model import ModelSpec

READY_TIMEOUT_S = 60.0
POLL_S = 0.1
# Arguments that describe the pod's transport, not the model's behaviour.
_DROPPED_FLAGS = ("--port", "--ssl-certfile", "--ssl-keyfile")


@dataclass(frozen=True)
class RealBinaries:
    """Paths of upstream builds to run instead of the embedded components (None: embedded)."""

    maas_api: Path | None = None
    simulator: Path | None = None

    def check(self) -> None:
        """Stop start-up with one message when a given path cannot be run."""
        given = (("--maas-api-binary", self.maas_api), ("--simulator-binary", self.simulator))
        for what, path in given:
            if path is not None and not (path.is_file() and os.access(path, os.X_OK)):
                raise FileNotFoundError(f"{what} {path}: not an executable file")


class NotReady(RuntimeError):
    """A real component did not answer in time; the message quotes the end of its log."""


def simulator_argv(binary: Path, spec: ModelSpec, port: int) -> list[str]:
    """The container's arguments with this process's port and without the pod's TLS files."""
    argv, args = [str(binary)], list(spec.args)
    i = 0
    while i < len(args):
        flag = args[i].split("=", 1)[0]
        if flag in _DROPPED_FLAGS:
            i += 1 if "=" in args[i] else 2
            continue
        argv.append(args[i])
        i += 1
    return [*argv, "--port", str(port)]


def maas_api_environment(config: StackConfig, kubeconfig: Path, port: int) -> dict[str, str]:
    """The Deployment's environment (NAMESPACE is its namespace), the port and the kubeconfig."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update(config.maas_api_env)
    env.update(NAMESPACE=config.maas_api_namespace, PORT=str(port), KUBECONFIG=str(kubeconfig))
    return env


def write_kubeconfig(path: Path, connection: ApiServerConnection) -> Path:
    """A kubeconfig with the connection's token, verifying the API server against its CA."""
    # A cluster's API server wants TLS and a token: its connections carry both.
    assert connection.token is not None
    assert connection.ca_cert is not None
    endpoints = Endpoints(connection.url, Path(connection.ca_cert), connection.token)
    path.write_text(endpoints.kubeconfig(user="maas-api"), encoding="utf-8")
    path.chmod(0o600)
    return path


def start(
    supervisor: Supervisor,
    name: str,
    argv: list[str],
    base_url: str,
    ready_path: str,
    env: dict[str, str] | None = None,
) -> str:
    """Start one process and wait until `ready_path` answers 200; returns `base_url`."""
    component = supervisor.start(name, argv, env=env)

    def answered() -> bool:
        component.check()  # a process that died is reported at once, with its log
        try:
            return httpx.get(base_url + ready_path, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    waiting = Retrying(
        stop=stop_after_delay(READY_TIMEOUT_S),
        wait=wait_fixed(POLL_S),
        retry=retry_if_result(lambda ok: not ok),
    )
    try:
        waiting(answered)
    except RetryError:
        raise NotReady(
            f"{name} did not answer {base_url}{ready_path} within {READY_TIMEOUT_S:.0f} s; the "
            f"end of its log ({component.log}):\n{component.tail()}"
        ) from None
    except ComponentDied as exc:
        raise NotReady(str(exc)) from None
    return base_url
