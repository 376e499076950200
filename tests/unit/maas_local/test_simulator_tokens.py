"""The simulator's token arithmetic: v0.5.1's tokenizer, reply-length draws and random text.

Token counts are v0.5.1's own ``usage.prompt_tokens`` for the same texts, measured against the
released binary; the length draws are checked over seeded samples.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from maas_local.simulator.lengths import (
    BUCKET_PROBABILITIES,
    MAX_RANDOM_LENGTH,
    bucket_bounds,
    random_length,
)
from maas_local.simulator.tokens import count_tokens, random_text, tokenize
from maas_local.simulator.toolcalls import go_json

SAMPLE = 20_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Say 'hello' in one word.", 6),
        ("It's 5 o'clock \u2014 time for tea!", 9),
        ("h\u00e9llo w\u00f6rld \u65e5\u672c x_y _z a-b", 10),
        ("snake_case and __dunder__ _x", 7),
        ("e.g. U.S.A. 3.14 1,000", 16),
        ('{"a": [1, 2.5, true]}', 15),
        ("Testing@, #testing 1$ ,2%,3^, [4&*5], 6~, 7-_ + (8 : 9) / \\ < > .", 38),
        ("", 0),
        ("   ", 0),
    ],
)
def test_token_counts_match_v0_5_1(text: str, expected: int) -> None:
    assert count_tokens(text) == expected, f"expected {expected} for {text!r}: {tokenize(text)}"


def test_a_token_keeps_the_whitespace_after_it_but_not_a_vertical_tab() -> None:
    # RE2's \s has no \v: the tab and newline stay with their words, the \v belongs to nothing.
    tokens = tokenize("tabs\tand\nnewlines\x0bhere")
    assert tokens == ["tabs\t", "and\n", "newlines", "here"], f"got {tokens}"


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (7, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 6)]),
        (8, [(1, 1), (2, 2), (3, 4), (5, 5), (6, 7)]),
        (101, [(1, 20), (21, 40), (41, 60), (61, 80), (81, 100)]),
        (102, [(1, 20), (21, 40), (41, 60), (61, 82), (83, 101)]),
        (1000, [(1, 20), (21, 40), (41, 60), (61, 980), (981, 999)]),
    ],
)
def test_histogram_buckets(maximum: int, expected: list[tuple[int, int]]) -> None:
    buckets = [bucket_bounds(maximum, b) for b in range(5)]
    assert buckets == expected, f"expected {expected} for {maximum}, got {buckets}"


def test_histogram_buckets_split_everything_below_the_bound() -> None:
    """For every bound above six (below, there is no histogram), the five buckets tile
    1..bound-1 in order, without gap or overlap."""
    for maximum in range(7, 400):
        bounds = [bucket_bounds(maximum, b) for b in range(5)]
        covered = [n for low, high in bounds for n in range(low, high + 1)]
        assert covered == list(range(1, maximum)), f"buckets of {maximum}: {bounds}"


@pytest.mark.parametrize("maximum", [8, 101, 1000])
def test_lengths_with_a_bound_follow_the_bucket_probabilities(maximum: int) -> None:
    rng = random.Random(2024)
    buckets = [bucket_bounds(maximum, b) for b in range(5)]

    def bucket_of(length: int) -> int:
        if length == maximum:
            return 5
        return next(b for b, (low, high) in enumerate(buckets) if low <= length <= high)

    counts = Counter(bucket_of(random_length(maximum, rng)) for _ in range(SAMPLE))
    shares = [round(counts[b] / SAMPLE, 3) for b in range(6)]
    gaps = [abs(s - p) for s, p in zip(shares, BUCKET_PROBABILITIES, strict=True)]
    assert max(gaps) < 0.01, f"expected shares {BUCKET_PROBABILITIES}, got {shares}"


@pytest.mark.parametrize("maximum", [2, 3, 6])
def test_small_bounds_draw_uniformly(maximum: int) -> None:
    rng = random.Random(7)
    counts = Counter(random_length(maximum, rng) for _ in range(SAMPLE))
    shares = [counts[n] / SAMPLE for n in range(1, maximum + 1)]
    assert set(counts) == set(range(1, maximum + 1)), f"expected 1..{maximum}, got {counts}"
    assert max(abs(s - 1 / maximum) for s in shares) < 0.015, f"expected uniform, got {shares}"


def test_a_bound_of_one_is_one() -> None:
    assert {random_length(1, random.Random(seed)) for seed in range(50)} == {1}


def test_lengths_without_a_bound_are_around_40_within_1_to_128() -> None:
    rng = random.Random(11)
    lengths = [random_length(None, rng) for _ in range(SAMPLE)]
    extremes = (min(lengths), max(lengths))
    assert extremes[0] >= 1, f"expected lengths from 1, got {extremes}"
    assert extremes[1] <= MAX_RANDOM_LENGTH, f"expected lengths to 128, got {extremes}"
    # N(40, 20) with the tails below 1 and above 128 drawn again.
    shape = (statistics.fmean(lengths), statistics.pstdev(lengths))
    assert 40 <= shape[0] <= 42, f"expected a mean near 40, got {shape}"
    assert 18 <= shape[1] <= 20, f"expected a spread near 20, got {shape}"


@pytest.mark.parametrize("count", [1, 2, 9, 10, 11, 57, 128, 1000])
def test_random_text_has_the_drawn_number_of_tokens(count: int) -> None:
    text = random_text(count, random.Random(count))
    assert count_tokens(text) == count, f"expected {count} tokens in {text!r}"
    assert "".join(tokenize(text)) == text, f"expected every character in a token: {text!r}"


def test_arguments_are_written_as_go_writes_json() -> None:
    value = {"b": [1.0, 2.5, 1e-7, 1e21, 5e-05, True, None], "a": "x<y&z"}
    expected = '{"a":"x\\u003cy\\u0026z","b":[1,2.5,1e-7,1e+21,0.00005,true,null]}'
    assert go_json(value) == expected, f"expected {expected}, got {go_json(value)}"
