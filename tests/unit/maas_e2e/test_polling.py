"""The suite's one way to wait: a probe asked until its answer is awaited or the deadline passes.

Every wait runs on a fake clock that moves only when `poll` sleeps (or a slow probe takes time),
so the tests say exactly when the probe was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.unit.fakeclock import FakeClock

from maas_e2e.polling import Polled, Seen, poll


def answers(*values: int) -> Callable[[], int]:
    """A probe that answers `values` in turn and fails the test if asked once more."""
    it: Iterator[int] = iter(values)
    return lambda: next(it)


def test_an_awaited_first_answer_returns_at_once() -> None:
    clock = FakeClock(1000.0)
    polled = poll(
        answers(200), lambda s: s == 200, within=60, every=5, clock=clock, sleep=clock.sleep
    )
    assert polled.done, polled
    assert (polled.last, polled.at) == (200, 0.0), polled
    assert clock.sleeps == [], f"nothing to wait for, yet slept {clock.sleeps}"


def test_the_probe_is_asked_every_interval_until_the_awaited_answer() -> None:
    clock = FakeClock(1000.0)
    polled = poll(
        answers(429, 429, 200),
        lambda s: s == 200,
        within=60,
        every=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert polled.done, polled
    assert polled.seen == (Seen(0.0, 429), Seen(2.0, 429), Seen(4.0, 200)), polled.seen
    assert (polled.last, polled.at) == (200, 4.0), polled
    assert clock.sleeps == [2, 2], clock.sleeps


def test_the_deadline_is_respected_and_the_last_answer_kept() -> None:
    clock = FakeClock(1000.0)
    asked_at: list[float] = []

    def probe() -> int:
        asked_at.append(clock() - 1000.0)
        return 429

    polled = poll(probe, lambda s: s == 200, within=10, every=3, clock=clock, sleep=clock.sleep)
    assert not polled.done, polled
    assert asked_at == [0, 3, 6, 9, 10], "the last look is at the deadline, none after it"
    assert clock.sleeps == [3, 3, 3, 1], "the last wait is cut short by the deadline"
    assert (polled.last, polled.at) == (429, 10.0), polled


def test_a_slow_probe_is_not_started_after_the_deadline() -> None:
    clock = FakeClock(1000.0)
    started: list[float] = []

    def slow() -> int:
        started.append(clock() - 1000.0)
        clock.now += 4  # the probe itself takes 4 s
        return 503

    polled = poll(slow, lambda s: s == 200, within=10, every=1, clock=clock, sleep=clock.sleep)
    assert not polled.done, polled
    assert started == [0, 5, 10], started
    assert [s.at for s in polled.seen] == [4, 9, 14], "`at` is when each answer came"


@pytest.mark.parametrize("within", [0.0, -30.0])
def test_the_probe_is_asked_once_even_when_no_time_is_left(within: float) -> None:
    clock = FakeClock(1000.0)
    polled = poll(
        answers(429), lambda s: s == 200, within=within, every=1, clock=clock, sleep=clock.sleep
    )
    assert not polled.done, polled
    assert polled.seen == (Seen(0.0, 429),), polled.seen
    assert clock.sleeps == [], clock.sleeps


def test_what_the_probe_raises_propagates_without_a_retry() -> None:
    clock = FakeClock(1000.0)
    calls: list[float] = []

    def probe() -> int:
        calls.append(clock())
        if len(calls) == 2:
            raise RuntimeError("the process exited")
        return 429

    with pytest.raises(RuntimeError, match="the process exited"):
        poll(probe, lambda s: s == 200, within=60, every=1, clock=clock, sleep=clock.sleep)
    assert len(calls) == 2, f"a raising probe must not be asked again, was asked {len(calls)} times"


def test_what_until_raises_propagates() -> None:
    clock = FakeClock(1000.0)

    def until(_answer: int) -> bool:
        raise KeyError("status")

    with pytest.raises(KeyError, match="status"):
        poll(answers(200), until, within=60, every=1, clock=clock, sleep=clock.sleep)


def test_until_is_asked_once_per_answer() -> None:
    clock = FakeClock(1000.0)
    judged: list[int] = []

    def until(answer: int) -> bool:
        judged.append(answer)
        return answer == 200

    poll(answers(429, 200), until, within=60, every=1, clock=clock, sleep=clock.sleep)
    assert judged == [429, 200], judged


def test_done_is_a_bool_even_for_a_truthy_until() -> None:
    clock = FakeClock(1000.0)
    polled = poll(answers(3), lambda n: n, within=60, every=1, clock=clock, sleep=clock.sleep)
    assert polled.done is True, polled


def test_history_shows_the_last_answers_with_their_times() -> None:
    seen = tuple(Seen(float(t), 429 if t < 119 else 200) for t in range(110, 120))
    polled = Polled(seen, done=True)
    assert polled.history() == "115s:429, 116s:429, 117s:429, 118s:429, 119s:200"
    assert polled.history(most=2) == "118s:429, 119s:200"


@pytest.mark.parametrize("every", [0.0, -1.0])
def test_an_interval_that_is_not_positive_is_refused(every: float) -> None:
    with pytest.raises(ValueError, match="every must be positive"):
        poll(answers(200), lambda s: s == 200, within=1, every=every)


def test_the_real_clock_and_sleep_are_the_defaults() -> None:
    count = iter(range(100))
    polled = poll(lambda: next(count), lambda n: n == 3, within=5, every=0.001)
    assert polled.done, polled
    assert [s.value for s in polled.seen] == [0, 1, 2, 3], polled.seen
