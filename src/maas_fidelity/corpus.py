"""Cases, and playing one corpus of them against two sides.

A case is a function of a side's context that returns what the side answered, step by step
(most cases have one step, named ""). Each side plays the whole corpus in its own thread, in
order, so stateful cases (issue, revoke, try again) keep their order while the two sides run at
once; the answers are compared afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from maas_fidelity.compare import Difference, Sides, compare_case
from maas_fidelity.exchange import Observation
from maas_fidelity.normalise import Normaliser

C = TypeVar("C")
Steps = Mapping[str, Observation]


@dataclass(frozen=True)
class Case(Generic[C]):
    id: str
    run: Callable[[C], Steps]


def one(observation: Observation) -> Steps:
    """The steps of a single-request case."""
    return {"": observation}


@dataclass(frozen=True)
class Outcome:
    """One component's comparison, or why it was not made."""

    component: str
    title: str
    embedded: str
    """What the embedded side was (with its version)."""
    real: str
    cases: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    not_made: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def matched(self) -> int:
        differing = {d.case for d in self.differences}
        return sum(1 for case in self.cases if case not in differing)


def play(
    component: str,
    cases: Sequence[Case[C]],
    embedded: tuple[C, Normaliser],
    real: tuple[C, Normaliser],
) -> tuple[tuple[str, ...], tuple[Difference, ...]]:
    """Run every case on both sides (each side in its own thread) and compare the answers."""
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise ValueError(
            f"{component}: case ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}"
        )

    def run_all(context: C) -> list[Steps]:
        return [case.run(context) for case in cases]

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=component) as pool:
        left_future = pool.submit(run_all, embedded[0])
        right_future = pool.submit(run_all, real[0])
        left, right = left_future.result(), right_future.result()
    found: list[Difference] = []
    for case, left_steps, right_steps in zip(cases, left, right, strict=True):
        sides = Sides(left_steps, right_steps)
        found += compare_case(component, case.id, sides, embedded[1], real[1])
    return tuple(ids), tuple(found)
