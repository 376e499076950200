"""A deterministic stand-in tokenizer and random text, so token counts are reproducible.

Like the simulator, a token is a word or a single punctuation character together with the
whitespace after it; joining the tokens of a generated text gives the text back.
"""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"(?:\w+|[^\w\s])\s*")

# Plain sentences to draw random completions from; their content carries no meaning.
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


def tokenize(text: str) -> list[str]:
    """Split text into tokens; the counts feed ``usage`` and so the gateway's token limits."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(tokenize(text))


def random_length(maximum: int | None, rng: random.Random) -> int:
    """How many tokens a random-mode answer has.

    Without a maximum the simulator draws from N(40, 20), resampling outside 1..128; with one it
    picks a length in 1..maximum, so an answer sometimes stops at the limit.
    """
    if maximum is not None:
        return rng.randint(1, maximum)
    while True:
        value = rng.gauss(MEAN_LENGTH, STDDEV_LENGTH)
        if 1 <= value <= MAX_RANDOM_LENGTH:
            return round(value)


def random_tokens(count: int, rng: random.Random) -> list[str]:
    """``count`` tokens of sentence-like text, cutting the last sentence short if needed."""
    tokens: list[str] = []
    while len(tokens) < count:
        sentence = tokenize(rng.choice(_SENTENCES))[: count - len(tokens)]
        if tokens and not tokens[-1][-1].isspace():
            tokens[-1] += " "
        tokens.extend(sentence)
    return tokens
