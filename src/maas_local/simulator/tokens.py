"""The simulator's tokenizer, reply lengths and random text, so ``usage`` counts as v0.5.1's does.

llm-d-inference-sim v0.5.1 counts tokens with a regular expression, not a model tokenizer
(``pkg/common/utils.go``): a token is an ASCII word (letters, digits, ``_``) or one character
of a fixed punctuation set, with the whitespace after it. Anything else (an apostrophe, a
non-ASCII letter) belongs to no token: it is not counted, and an echo leaves it out. Joining the
tokens of a generated text gives the text back.
"""

from __future__ import annotations

import random
import re
from itertools import accumulate

# Go's RE2 is leftmost-first like Python's re: at "_" the punctuation alternative wins, so "_x"
# is two tokens while "x_y" is one word. \w and \s are ASCII in RE2, and RE2's \s has no \v.
_PUNCTUATION = '{}:,-.?!;@#$%^&*()+_~/\\><[]="'
_TOKEN = re.compile(f"(?:[{re.escape(_PUNCTUATION)}]|[0-9A-Za-z_]+)[\t\n\f\r ]*")

# Plain sentences to draw random completions from; their content carries no meaning. Every
# character belongs to a token, so a random text re-tokenizes to the count it was drawn with.
_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Hello! How can I help you today?",
    "It is a sunny day, with a light breeze from the west.",
    "Testing, testing: one, two, three.",
    "Models answer questions; simulators only pretend to.",
    "A journey of a thousand miles begins with a single step.",
    "Rate limits keep a shared service fair for everyone.",
)

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


def tokenize(text: str) -> list[str]:
    """Split text into tokens; the counts feed ``usage`` and so the gateway's token limits."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(tokenize(text))


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


def random_text(count: int, rng: random.Random) -> str:
    """``count`` tokens of sentence-like text: whole sentences, the last one cut short if needed,
    joined by a space."""
    tokens: list[str] = []
    while len(tokens) < count:
        sentence = tokenize(rng.choice(_SENTENCES))[: count - len(tokens)]
        if tokens:
            sentence[0] = " " + sentence[0]
        tokens.extend(sentence)
    return "".join(tokens)
