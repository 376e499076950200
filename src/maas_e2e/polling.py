"""The one way the suite waits: call a probe with a deadline, never sleep blind.

Revocation spreading, a rate-limit window reopening, a token expiring, the embedded stack
starting and a cluster becoming ready are all the same question: what did the probe answer, and
when, until the awaited answer came or time ran out. `poll` asks it (tenacity underneath) and
returns everything it saw, so the caller's assertion can show the history, not just a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import Retrying, retry_if_not_result

T = TypeVar("T")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Seen(Generic[T]):
    """One answer of the probe, `at` seconds after the wait began."""

    at: float
    value: T


@dataclass(frozen=True)
class Polled(Generic[T]):
    """Every answer of one wait, in order; the last is the awaited one, or the one at the
    deadline (`done` tells which)."""

    seen: tuple[Seen[T], ...]
    done: bool

    @property
    def last(self) -> T:
        return self.seen[-1].value

    @property
    def at(self) -> float:
        """Seconds after the wait began when the last answer came."""
        return self.seen[-1].at

    def history(self, most: int = 5) -> str:
        """The last answers with their times, e.g. `118s:429, 119s:200`."""
        return ", ".join(f"{s.at:.0f}s:{s.value}" for s in self.seen[-most:])


def poll(
    probe: Callable[[], T],
    until: Callable[[T], bool],
    *,
    within: float,
    every: float,
    clock: Clock = time.monotonic,
    sleep: Sleep | None = None,
) -> Polled[T]:
    """Call `probe` every `every` seconds until `until(answer)` or `within` seconds passed.

    The probe is called at least once (even when `within` is not positive: a wait that shares a
    deadline already spent still looks once) and not started after the deadline (as far as
    `sleep` keeps time); what it raises propagates (a probe that must not be repeated on error
    says so by raising). `until` is asked once per answer. `clock` and `sleep` are injectable so
    unit tests wait on a fake clock.
    """
    if every <= 0:
        raise ValueError(f"poll: every must be positive, got {every}")
    started = clock()
    deadline = started + within
    seen: list[Seen[T]] = []

    def attempt() -> bool:
        value = probe()
        seen.append(Seen(clock() - started, value))
        return bool(until(value))

    # tenacity's own sleep unless one is given (None: the suite bans naming time.sleep).
    options: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    retrying = Retrying(
        stop=lambda _state: clock() >= deadline,
        wait=lambda _state: max(0.0, min(every, deadline - clock())),
        retry=retry_if_not_result(bool),
        retry_error_callback=lambda state: state.outcome.result(),
        **options,
    )
    done = retrying(attempt)
    return Polled(tuple(seen), done)
