"""One deploy and one teardown per test run, however many pytest-xdist workers there are.

The run's directory holds a file lock, the state of the deployment, and the identities the
workers created. The first worker that needs the cluster deploys under the lock while the others
wait on it; they then read the state (or the first worker's error, so a failed deploy is not
retried once per worker). The teardown belongs to the process that outlives every worker: the
xdist controller, or the single pytest process without xdist. A reference count kept by the
workers could reach zero while another worker has not yet asked for the cluster, which would
deploy the stack a second time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from maas_e2e.naming import expected_sa_name
from maas_e2e.targets.base import TargetUnavailable

STATE_FILE = "state.json"
IDENTITIES_FILE = "identities.jsonl"
LOCK_FILE = "run.lock"
DIR_PREFIX = "maas-e2e-run-"


@dataclass(frozen=True)
class IdentityRecord:
    """A test identity: the ServiceAccount the suite made, and the one maas-api makes for it."""

    namespace: str
    name: str
    tier_namespace: str

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def maas_sa_name(self) -> str:
        return expected_sa_name(self.username)


@dataclass
class RunState:
    """What the run did to the cluster, written as it happens so a failed deploy is undone."""

    run_id: str = ""  # the value of the run label on everything the run creates
    status: str = "starting"  # "ready" or "failed" once setup returns
    error: str | None = None
    gateway_url: str | None = None
    gateway_host: str | None = None  # the Host requests to gateway_url carry (None: its own)
    kuadrant_namespace: str = "kuadrant-system"
    instance: str = ""
    deployed: bool = False  # this run applied manifests: teardown owes their deletion
    owned: str = ""  # YAML of the objects that did not exist before the apply
    preexisting_tier_namespaces: list[str] = field(default_factory=list)
    # The bring-up probes' own identities (IdentityRecord fields), removed with the test ones.
    probe_identities: list[dict[str, str]] = field(default_factory=list)
    # What the bring-up leak proof found, for the report of every test's leak check.
    leak_proof: str = ""
    torn_down: bool = False

    def probe_records(self) -> list[IdentityRecord]:
        return [IdentityRecord(**record) for record in self.probe_identities]


class SharedRun:
    """The coordination directory of one test run."""

    def __init__(self, directory: Path, *, lock_timeout: float) -> None:
        self.directory = directory
        self.lock_timeout = lock_timeout

    @classmethod
    def create(cls, *, lock_timeout: float, parent: Path | None = None) -> SharedRun:
        run_id = uuid.uuid4().hex[:12]
        directory = Path(parent or tempfile.gettempdir()) / f"{DIR_PREFIX}{run_id}"
        directory.mkdir(mode=0o700)
        return cls(directory, lock_timeout=lock_timeout)

    @property
    def run_id(self) -> str:
        """Label value that marks this run's objects."""
        return self.directory.name.removeprefix(DIR_PREFIX)

    def _lock(self) -> FileLock:
        return FileLock(self.directory / LOCK_FILE, timeout=self.lock_timeout)

    def setup(self, start: Callable[[RunState], None]) -> RunState:
        """The run's state; the first caller brings the stack up with `start`, which fills in
        the state as it goes. A failure is recorded and raised to every caller."""
        try:
            with self._lock():
                state = self._read()
                if state is None:
                    state = RunState(run_id=self.run_id)
                    try:
                        start(state)
                        state.status = "ready"
                    except BaseException as exc:
                        state.status, state.error = "failed", str(exc) or repr(exc)
                        raise
                    finally:
                        self._write(state)
                    return state
        except Timeout:
            raise TargetUnavailable(
                f"waited {self.lock_timeout:.0f}s for another worker to bring the cluster up "
                f"(lock {self.directory / LOCK_FILE})"
            ) from None
        if state.status != "ready":
            raise TargetUnavailable(
                f"the MaaS stack could not be brought up (by another worker): {state.error}"
            )
        return state

    def state(self) -> RunState | None:
        return self._read()

    def record_identity(self, record: IdentityRecord) -> None:
        """Noted before the ServiceAccount is created, so teardown finds it even if a worker
        dies right after creating it."""
        with self._lock(), (self.directory / IDENTITIES_FILE).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(record)) + "\n")

    def identities(self) -> list[IdentityRecord]:
        path = self.directory / IDENTITIES_FILE
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [IdentityRecord(**json.loads(line)) for line in lines if line.strip()]

    def finish(self, teardown: Callable[[RunState, list[IdentityRecord]], list[str]]) -> list[str]:
        """Tear down once: what setup applied and the identities; returns what could not be
        deleted. A run that never reached the cluster has nothing to undo."""
        with self._lock():
            state = self._read()
            identities = self.identities()
            if state is None or state.torn_down:
                return []
            if not (state.deployed or identities or state.probe_identities):
                return []
            problems = teardown(state, identities)
            state.torn_down = True
            self._write(state)
            return problems

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _read(self) -> RunState | None:
        path = self.directory / STATE_FILE
        if not path.exists():
            return None
        return RunState(**json.loads(path.read_text(encoding="utf-8")))

    def _write(self, state: RunState) -> None:
        tmp = self.directory / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(tmp, self.directory / STATE_FILE)
