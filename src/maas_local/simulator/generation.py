"""Decide what the model "answers": random text or an echo, and why it stopped."""

from __future__ import annotations

import random
from dataclasses import dataclass

from maas_local.simulator.parsing import CompletionRequest
from maas_local.simulator.tokens import random_length, random_tokens, tokenize


@dataclass(frozen=True)
class Completion:
    """The answer: full text for plain responses, tokens for streaming and ``usage``."""

    text: str
    tokens: tuple[str, ...]
    finish_reason: str


def generate(request: CompletionRequest, mode: str, rng: random.Random) -> Completion:
    """Random mode stops with ``length`` only when it used the whole allowance (always, with
    ``ignore_eos``); echo mode returns the input and is cut to the allowance (``length``) as the
    simulator does.
    """
    if mode == "echo":
        return _echo(request.echo_text, request.max_tokens)
    if request.ignore_eos and request.max_tokens is not None:
        count = request.max_tokens  # no end of sequence: the whole allowance, always
    else:
        count = random_length(request.max_tokens, rng)
    tokens = tuple(random_tokens(count, rng))
    finish = "length" if count == request.max_tokens else "stop"
    return Completion("".join(tokens), tokens, finish)


def _echo(text: str, limit: int | None) -> Completion:
    tokens = tuple(tokenize(text))
    if limit is None or len(tokens) <= limit:
        return Completion(text, tokens, "stop")
    kept = tokens[:limit]
    return Completion("".join(kept), kept, "length")
