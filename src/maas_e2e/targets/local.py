"""The `local` target: a `maas-local` process started for this run, or one already running.

The suite meets the embedded stack only as a process it starts and over HTTP, never by import:
the oracle must not share code with the system it judges.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from maas_e2e.oidc import fetch_jwks
from maas_e2e.polling import poll
from maas_e2e.targets.base import Identity, TargetUnavailable

START_TIMEOUT_S = 20.0
START_POLL_S = 0.02
STOP_TIMEOUT_S = 5.0
HTTP_TIMEOUT_S = 5.0
REVOCATION_SETTLE_S = 2.0
"""The embedded API server checks a token's ServiceAccount in its store, so a revocation holds
at once; the bound only leaves room for a loaded machine."""


@dataclass
class LocalTarget:
    gateway_url: str
    apiserver_url: str
    model_backends: dict[str, str]
    process: subprocess.Popen | None = None
    name: str = "local"
    gateway_host: str | None = None  # maas-local's gateway answers any Host
    revocation_settle_s: float = REVOCATION_SETTLE_S
    _workdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _http: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=HTTP_TIMEOUT_S), repr=False
    )
    """One keep-alive client for the identity plane and the leak check, asked after every test."""

    @classmethod
    def start(
        cls, manifests: Path, faults: Sequence[str] = (), timeout: float = START_TIMEOUT_S
    ) -> LocalTarget:
        """Start `maas-local up` on free ports and wait until it reports every server listening."""
        workdir = tempfile.TemporaryDirectory(prefix="maas-local-")
        ready = Path(workdir.name) / "ready.json"
        log = Path(workdir.name) / "maas-local.log"
        command = [
            sys.executable, "-m", "maas_local", "up",
            "--port", "0", "--api-port", "0",
            "--manifests", str(manifests),
            "--ready-file", str(ready),
        ]  # fmt: skip
        for fault in faults:
            command += ["--fault", fault]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            info = _wait_for_ready_file(proc, ready, timeout)
        except TargetUnavailable as exc:
            _terminate(proc)
            output = log.read_text(errors="replace").strip()
            workdir.cleanup()
            raise TargetUnavailable(f"{exc}\n--- maas-local output ---\n{output}") from None
        target = cls._from_info(info)
        target.process, target._workdir = proc, workdir
        return target

    @classmethod
    def attach(cls, api_url: str) -> LocalTarget:
        """Use a stack someone started with `maas-local up`, found through its API server."""
        try:
            resp = httpx.get(f"{api_url}/local/v1/stack", timeout=HTTP_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(
                f"--maas-local-url {api_url} is unreachable ({exc}); start the stack with "
                "`maas-local up` and pass the 'API server' URL it prints"
            ) from None
        if resp.status_code != 200:
            raise TargetUnavailable(
                f"--maas-local-url {api_url} answered {resp.status_code} at /local/v1/stack: it "
                "is not a maas-local API server (pass the 'API server' URL `maas-local up` prints)"
            )
        return cls._from_info(resp.json())

    @classmethod
    def _from_info(cls, info: dict[str, Any]) -> LocalTarget:
        return cls(
            gateway_url=info["gateway"],
            apiserver_url=info["apiserver"],
            model_backends=dict(info.get("models") or {}),
        )

    def new_identity(self, tier: str, group: str, hint: str) -> Identity:
        username = f"e2e-{hint}-{uuid.uuid4().hex[:8]}"
        resp = self._http.post(
            f"{self.apiserver_url}/local/v1/users/{username}/token",
            json={"groups": [group]},
        )
        if resp.status_code != 201:
            raise TargetUnavailable(
                f"could not create user {username} at the local API server: "
                f"{resp.status_code} {resp.text[:200]}"
            )
        return Identity(username=username, tier=tier, token=resp.json()["token"])

    def fetch_issuer_keys(self) -> tuple[str, dict[str, Any]]:
        return fetch_jwks(self._http, self.apiserver_url)

    def served_request_ids(self) -> set[str] | None:
        ids: set[str] = set()
        for backend in self.model_backends.values():
            resp = self._http.get(f"{backend}/_local/served")
            resp.raise_for_status()
            ids.update(resp.json()["ids"])
        return ids

    def leak_check_note(self) -> str | None:
        """Nothing to add: every test checks its own denied requests by id."""
        return None

    def close(self) -> None:
        self._http.close()
        if self.process is not None:
            _terminate(self.process)
            self.process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def _wait_for_ready_file(proc: subprocess.Popen, ready: Path, timeout: float) -> dict[str, Any]:
    """What `maas-local up` wrote to its ready file (atomically, once every server listens);
    a process that exits first fails at once instead of at the timeout."""

    def read() -> dict[str, Any] | None:
        if proc.poll() is not None:
            raise TargetUnavailable(f"maas-local exited with code {proc.returncode} before serving")
        return json.loads(ready.read_text()) if ready.exists() else None

    info = poll(read, lambda info: info is not None, within=timeout, every=START_POLL_S).last
    if info is not None:
        return info
    raise TargetUnavailable(f"maas-local did not report ready within {timeout:.0f}s")


def _terminate(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left: no stray servers or ports."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_TIMEOUT_S)
    except ProcessLookupError:
        pass
