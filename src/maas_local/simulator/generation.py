"""Decide what the model "answers": tool calls, random text or an echo, and why it stopped."""

from __future__ import annotations

import random
from dataclasses import dataclass

from maas_local.simulator.lengths import random_length
from maas_local.simulator.parsing import CompletionRequest
from maas_local.simulator.tokens import random_text, tokenize
from maas_local.simulator.toolcalls import ToolCall, make_tool_calls


@dataclass(frozen=True)
class Completion:
    """The answer: full text for plain responses, tokens for streaming, or tool calls."""

    text: str
    tokens: tuple[str, ...]
    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def completion_tokens(self) -> int:
        """What ``usage`` counts: the text's tokens, or each call's (3 + its arguments')."""
        if self.tool_calls:
            return sum(call.completion_tokens for call in self.tool_calls)
        return len(self.tokens)


def generate(request: CompletionRequest, mode: str, rng: random.Random) -> Completion:
    """Tool calls first, when the request offers tools and does not say ``none`` (in either
    mode; zero calls drawn means a text reply). Random text stops with ``length`` only when it
    used the whole allowance (always, with ``ignore_eos``); echo mode returns the input, cut to
    the allowance (``length``). Either way the reply is its tokens joined: what no token covers
    is left out.
    """
    if request.tools is not None and request.tool_choice != "none":
        calls = make_tool_calls(request.tools, request.tool_choice, rng)
        if calls:
            return Completion("", (), "tool_calls", calls)
    if mode == "echo":
        text, finish = _echo(request.echo_text, request.max_tokens)
    else:
        if request.ignore_eos and request.max_tokens is not None:
            count = request.max_tokens  # no end of sequence: the whole allowance, always
        else:
            count = random_length(request.max_tokens, rng)
        text = random_text(count, rng)
        finish = "length" if count == request.max_tokens else "stop"
    tokens = tuple(tokenize(text))
    return Completion("".join(tokens), tokens, finish)


def _echo(text: str, limit: int | None) -> tuple[str, str]:
    tokens = tokenize(text)
    if limit is None or len(tokens) <= limit:
        return text, "stop"
    # v0.5.1 joins the kept tokens with a space (their own trailing spaces stay).
    return " ".join(tokens[:limit]), "length"
