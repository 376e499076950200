"""OpenAI response bodies and stream chunks for both completion endpoints."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from maas_local.simulator.generation import Completion


@dataclass(frozen=True)
class Endpoint:
    """What differs between chat and text completions: ids, object names, choice shape."""

    chat: bool

    @property
    def object(self) -> str:
        return "chat.completion" if self.chat else "text_completion"

    @property
    def chunk_object(self) -> str:
        return "chat.completion.chunk" if self.chat else "text_completion"

    def new_id(self) -> str:
        """A fresh response id, ``chatcmpl-<uuid4>`` or ``cmpl-<uuid4>``."""
        return f"{'chatcmpl' if self.chat else 'cmpl'}-{uuid.uuid4()}"


CHAT = Endpoint(chat=True)
TEXT = Endpoint(chat=False)


def usage(
    prompt_tokens: int, completion_tokens: int, faults: frozenset[str] = frozenset()
) -> dict[str, int]:
    """The ``usage`` object; the gateway's token limits count its ``total_tokens``."""
    if "prompt-tokens-zero" in faults:
        prompt_tokens = 0  # the regression: the prompt is never counted, the total stays a sum
    total = prompt_tokens + completion_tokens
    if "usage-inconsistent" in faults:
        total = completion_tokens  # the regression: the prompt left out of the total
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total,
    }


def completion_body(
    endpoint: Endpoint,
    model: str,
    completion: Completion,
    prompt_tokens: int,
    faults: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The whole non-streaming response."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": completion.finish_reason}
    if endpoint.chat:
        choice["message"] = {"role": "assistant", "content": completion.text}
    else:
        choice["text"] = completion.text
    body: dict[str, Any] = {
        "id": endpoint.new_id(),
        "object": endpoint.object,
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }
    if "usage-missing" not in faults:
        body["usage"] = usage(prompt_tokens, len(completion.tokens), faults)
    return body


@dataclass(frozen=True)
class Stream:
    """Chunks of one streamed response; they all share its id, object, created and model."""

    endpoint: Endpoint
    model: str
    id: str
    created: int
    faults: frozenset[str] = frozenset()

    @classmethod
    def start(cls, endpoint: Endpoint, model: str, faults: frozenset[str] = frozenset()) -> Stream:
        """Fix the id and timestamp every chunk of a new response will carry."""
        return cls(endpoint, model, endpoint.new_id(), int(time.time()), faults)

    def role(self) -> str:
        """The chat stream's opening chunk, announcing the assistant role."""
        return self._event([self._choice({"role": "assistant", "content": ""}, None)])

    def token(self, token: str, reason: str | None = None) -> str:
        """One token; the last one of a reply cut at its limit also carries ``finish_reason``."""
        return self._event([self._choice({"content": token}, reason, token)])

    def finish(self, reason: str) -> str:
        """The chunk that carries ``finish_reason`` and no text (v0.5.1: an empty content)."""
        return self._event([self._choice({"content": ""}, reason)])

    def usage(self, prompt_tokens: int, completion_tokens: int) -> str:
        """Sent only with ``stream_options.include_usage``; the gateway counts tokens from it."""
        return self._event([], usage(prompt_tokens, completion_tokens, self.faults))

    @staticmethod
    def done() -> str:
        return "data: [DONE]\n\n"

    def _choice(self, delta: dict[str, str], reason: str | None, text: str = "") -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": reason}
        if self.endpoint.chat:
            choice["delta"] = delta
        else:
            choice["text"] = text
        return choice

    def _event(self, choices: list[dict[str, Any]], usage_: dict[str, int] | None = None) -> str:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": self.endpoint.chunk_object,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage_ is not None:
            chunk["usage"] = usage_
        return f"data: {json.dumps(chunk)}\n\n"
