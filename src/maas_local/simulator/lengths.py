"""How long a random-mode reply is: llm-d-inference-sim v0.5.1's draw (``pkg/common/utils.go``).

Only what the model says depends on it, and no MaaS promise reads that: the simulator's unit
tests and the fidelity harness (by distribution, against v0.5.1) judge it.
"""

from __future__ import annotations

import random
from itertools import accumulate

MEAN_LENGTH = 40
STDDEV_LENGTH = 20
MAX_RANDOM_LENGTH = 128

# With a bound, v0.5.1 draws the length from a histogram: five buckets splitting 1..bound-1
# and a sixth holding the bound alone, with these probabilities.
BUCKET_PROBABILITIES = (0.2, 0.3, 0.2, 0.05, 0.1, 0.15)
_CUMULATIVE = tuple(accumulate(BUCKET_PROBABILITIES))
# Above 5 * 20 + 1 the buckets keep 20 values each except the fourth, which stretches.
_FIXED_BUCKET_SIZE = 20
_FLEX_BUCKET = 3


def random_length(maximum: int | None, rng: random.Random) -> int:
    """How many tokens a random-mode answer has (the answer says ``length`` when it is the bound).

    Without a bound v0.5.1 draws from N(40, 20), resampling outside 1..128; with one, from the
    histogram (bounds up to six tokens: uniformly in 1..bound).
    """
    if maximum is None:
        while True:
            value = rng.gauss(MEAN_LENGTH, STDDEV_LENGTH)
            if 1 <= value <= MAX_RANDOM_LENGTH:
                return round(value)
    if maximum <= 1:
        return maximum
    if maximum <= len(BUCKET_PROBABILITIES):
        return rng.randint(1, maximum)
    draw = rng.random()
    if draw > _CUMULATIVE[-2]:
        return maximum
    bucket = next(i for i, edge in enumerate(_CUMULATIVE) if draw <= edge)
    start, end = bucket_bounds(maximum, bucket)
    return rng.randint(start, end)


def bucket_bounds(maximum: int, bucket: int) -> tuple[int, int]:
    """The lengths (inclusive) of one of the five lower buckets of the histogram for ``maximum``."""
    buckets = len(BUCKET_PROBABILITIES) - 1
    if maximum <= _FIXED_BUCKET_SIZE * buckets + 1:
        size = (maximum - 1) / buckets
        start, end = int(size * bucket) + 1, int(size * (bucket + 1))
    elif bucket < _FLEX_BUCKET:
        start, end = _FIXED_BUCKET_SIZE * bucket + 1, _FIXED_BUCKET_SIZE * (bucket + 1)
    else:
        flex = maximum - _FIXED_BUCKET_SIZE * (buckets - 1)
        if bucket == _FLEX_BUCKET:
            start = _FIXED_BUCKET_SIZE * bucket + 1
        else:
            start = _FIXED_BUCKET_SIZE * (bucket - 1) + flex + 1
        end = _FIXED_BUCKET_SIZE * bucket + flex
    # The bound itself belongs to the sixth bucket only.
    return start, min(end, maximum - 1)
