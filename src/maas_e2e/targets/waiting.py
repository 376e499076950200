"""Waiting until something is ready, and saying what is late when it never is.

Each wait is a check that returns what is still pending (empty when done). The poller asks it
through `maas_e2e.polling.poll` until it is empty or the deadline passes, logs whenever the
pending set changes, and on timeout raises one error listing every piece still pending with its
last observed state and a hint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from maas_e2e.polling import Clock, Sleep, poll
from maas_e2e.targets.base import TargetUnavailable

LOG = logging.getLogger("maas_e2e.cluster")


@dataclass(frozen=True)
class Pending:
    """Something not ready yet: what it is, what it looks like now, and where to look."""

    what: str
    state: str
    hint: str = ""

    def render(self) -> str:
        line = f"  - {self.what}: {self.state}"
        return f"{line}\n    -> {self.hint}" if self.hint else line


class NotReady(TargetUnavailable):
    """A wait ran out of time; the message lists everything still pending."""

    def __init__(self, stage: str, waited: float, pending: Sequence[Pending]) -> None:
        self.pending = tuple(pending)
        super().__init__(
            f"{stage}: still waiting after {waited:.0f}s for:\n"
            + "\n".join(p.render() for p in self.pending)
        )


@dataclass
class Poller:
    """Calls a check until it reports nothing pending or the deadline passes.

    The deadline is a time on `clock`, so the steps of one bring-up share it. `clock` and `sleep`
    are injectable so unit tests run waits on a fake clock.
    """

    clock: Clock = time.monotonic
    sleep: Sleep | None = None
    interval: float = 5.0

    def until_ready(
        self, check: Callable[[], list[Pending]], *, deadline: float, stage: str
    ) -> None:
        """Return once `check` reports nothing pending; raise `NotReady` at the deadline."""
        logged: list[tuple[str, str]] = []

        def observe() -> list[Pending]:
            pending = check()
            if [(p.what, p.state) for p in pending] != logged:
                logged[:] = [(p.what, p.state) for p in pending]
                if pending:
                    waiting = "; ".join(f"{p.what} ({p.state})" for p in pending)
                    LOG.info("%s: waiting for %s", stage, waiting)
                else:
                    LOG.info("%s: done", stage)
            return pending

        polled = poll(
            observe,
            lambda pending: not pending,
            within=deadline - self.clock(),
            every=self.interval,
            clock=self.clock,
            sleep=self.sleep,
        )
        if not polled.done:
            raise NotReady(stage, polled.at, polled.last)
