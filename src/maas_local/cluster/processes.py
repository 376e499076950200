"""Child processes of the node-less cluster: started in their own process group, logged to a
file each, checked for an early death, and stopped so that nothing is left behind.

A component that dies is reported by name with the end of its log, which is what a person needs
to see first (a port in use, a bad flag, etcd's data directory).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 15


class ComponentDied(RuntimeError):
    """A component exited; the message names it and quotes the end of its log."""


@dataclass
class Component:
    """One running upstream binary."""

    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        """Raise ComponentDied if the process has exited."""
        code = self.process.poll()
        if code is not None:
            raise ComponentDied(
                f"{self.name} exited with code {code}; the end of its log ({self.log}):\n"
                + self.tail()
            )


@dataclass
class Supervisor:
    """Starts components in order and stops them in reverse order."""

    logs: Path
    components: list[Component] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        """Start `argv` (with `env`, else ours) logging to `<logs>/<name>.log`."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C in the terminal reaches us, not them
            )
        component = Component(name, process, log)
        self.components.append(component)
        return component

    def check(self) -> None:
        for component in self.components:
            component.check()

    def stop(self) -> None:
        """SIGTERM to each process group, newest first; SIGKILL what is still there after the
        grace period. Safe to call twice."""
        for component in reversed(self.components):
            _signal(component.process, signal.SIGTERM)
        for component in reversed(self.components):
            try:
                component.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal(component.process, signal.SIGKILL)
                component.process.wait(timeout=STOP_GRACE_S)
        self.components.clear()


def _signal(process: subprocess.Popen, sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
