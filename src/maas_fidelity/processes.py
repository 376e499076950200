"""The processes the harness starts (the stacks' CLIs, the upstream binaries), and nothing else.

Each runs in its own session with its output in a log file, so a side that fails to start is
reported with the end of what it said. Stopping signals the process by its id first (a stack's
CLI then stops its own children) and only then its process group, which it leads: the harness
never ends a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

POLL_S = 0.1
STOP_GRACE_S = 20.0
LOG_TAIL_LINES = 20
T = TypeVar("T")


class SideUnavailable(RuntimeError):
    """A side could not be started or reached; the message says which and why."""


@dataclass
class Child:
    """One started process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        """SideUnavailable when the process has exited."""
        code = self.process.poll()
        if code is not None:
            raise SideUnavailable(
                f"{self.name} exited with code {code} while starting; the end of its output "
                f"({self.log}):\n{self.tail()}"
            )

    def stop(self) -> None:
        """SIGTERM to the process, then (after the grace period) SIGKILL to its group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # what it left of its own group
        self.process.wait(timeout=STOP_GRACE_S)


@contextlib.contextmanager
def started(
    name: str,
    argv: list[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[Child]:
    """Run `argv` (in `cwd`, else ours) for the duration of the block; it is stopped however
    the block ends."""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
    except OSError as exc:
        raise SideUnavailable(f"cannot start {name} ({argv[0]}): {exc}") from None
    child = Child(name, process, log)
    try:
        yield child
    finally:
        child.stop()


class _NotYet(Exception):
    pass


def wait_for(child: Child, what: str, timeout: float, probe: Callable[[], T | None]) -> T:
    """Poll `probe` until it returns a value; the child's death or the deadline ends the wait
    with SideUnavailable quoting the child's output."""

    def attempt() -> T:
        child.check()
        try:
            value = probe()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise _NotYet from exc
        if value is None:
            raise _NotYet
        return value

    try:
        for tried in Retrying(
            stop=stop_after_delay(timeout),
            wait=wait_fixed(POLL_S),
            retry=retry_if_exception_type(_NotYet),
            reraise=True,
        ):
            with tried:
                return attempt()
    except _NotYet:
        pass
    raise SideUnavailable(
        f"{child.name}: {what} not within {timeout:.0f}s; the end of its output "
        f"({child.log}):\n{child.tail()}"
    )


def free_port() -> int:
    """A port nothing listens on now (the child binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
