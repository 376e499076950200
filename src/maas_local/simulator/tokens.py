"""The simulator's tokenizer and random text, so ``usage`` counts as v0.5.1's does.

llm-d-inference-sim v0.5.1 counts tokens with a regular expression, not a model tokenizer
(``pkg/common/utils.go``): a token is an ASCII word (letters, digits, ``_``) or one character
of a fixed punctuation set, with the whitespace after it. Anything else (an apostrophe, a
non-ASCII letter) belongs to no token: it is not counted, and an echo leaves it out. Joining the
tokens of a generated text gives the text back.
"""

from __future__ import annotations

import random
import re

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


def tokenize(text: str) -> list[str]:
    """Split text into tokens; the counts feed ``usage`` and so the gateway's token limits."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(tokenize(text))


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
