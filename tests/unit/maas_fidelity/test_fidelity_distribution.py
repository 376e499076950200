"""Random answers compared by distribution: the same law passes, a different one fails."""

from __future__ import annotations

import random

from maas_fidelity.distribution import ks_statistic, same_categories, same_numbers, summary


def test_ks_statistic_is_the_largest_gap_between_the_two_cdfs() -> None:
    assert ks_statistic([1, 2, 3, 4], [1, 2, 3, 4]) == 0
    assert ks_statistic([1, 1, 1, 1], [2, 2, 2, 2]) == 1
    assert ks_statistic([1, 2], [2, 3]) == 0.5


def test_samples_of_one_law_pass_and_of_another_fail() -> None:
    rng = random.Random(7)
    a = [rng.randint(1, 50) for _ in range(300)]
    b = [rng.randint(1, 50) for _ in range(300)]
    shorter = [rng.randint(1, 30) for _ in range(300)]
    assert same_numbers(a, b).same
    judged = same_numbers(a, shorter)
    assert not judged.same
    assert "KS D=" in judged.statistic


def test_category_shares_pass_alike_and_fail_apart() -> None:
    rng = random.Random(3)
    a = [rng.choice(["stop", "length"]) for _ in range(300)]
    b = [rng.choice(["stop", "length"]) for _ in range(300)]
    assert same_categories(a, b).same
    assert not same_categories(a, ["stop"] * 300).same


def test_an_empty_side_is_not_the_same_as_a_full_one() -> None:
    assert not same_numbers([], [1.0]).same
    assert summary([]) == "no values"
    assert summary([3, 1, 2]).startswith("n=3, min/q1/median/q3/max 1/")
