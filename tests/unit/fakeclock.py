"""Monotonic time for the tests of waits: it moves only when the code under test sleeps (or a
test moves it), so a test says exactly when each probe was asked."""

from __future__ import annotations


class FakeClock:
    """A clock and its `sleep`, to hand to the code under test as a pair."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
