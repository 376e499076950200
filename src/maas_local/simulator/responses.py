"""OpenAI response bodies and stream chunks for both completion endpoints, as v0.5.1 writes them.

Every body and chunk carries v0.5.1's common fields: a fresh ``chatcmpl-<uuid4>`` id (on text
completions and on each chunk too), ``created``, ``model``, ``usage`` (null in the chunks before
the usage chunk), ``object`` and the disaggregated-serving fields, unused here and so false,
null or empty (``pkg/openai-server-api/response.go``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from maas_local.simulator.generation import Completion
from maas_local.simulator.toolcalls import ToolCall


@dataclass(frozen=True)
class Endpoint:
    """What differs between chat and text completions: object names and the choice shape."""

    chat: bool

    @property
    def object(self) -> str:
        return "chat.completion" if self.chat else "text_completion"

    @property
    def chunk_object(self) -> str:
        return "chat.completion.chunk" if self.chat else "text_completion"


CHAT = Endpoint(chat=True)
TEXT = Endpoint(chat=False)


def new_id() -> str:
    """A fresh response id; v0.5.1 uses the chat prefix for both endpoints."""
    return f"chatcmpl-{uuid.uuid4()}"


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


def _envelope(
    object_: str, model: str, created: int, usage_: dict[str, int] | None
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "created": created,
        "model": model,
        "usage": usage_,
        "object": object_,
        "do_remote_decode": False,
        "do_remote_prefill": False,
        "remote_block_ids": None,
        "remote_engine_id": "",
        "remote_host": "",
        "remote_port": 0,
    }


def completion_body(
    endpoint: Endpoint,
    model: str,
    completion: Completion,
    prompt_tokens: int,
    faults: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The whole non-streaming response; a reply of tool calls has an empty ``content``."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": completion.finish_reason}
    if endpoint.chat:
        message: dict[str, Any] = {"role": "assistant", "content": completion.text}
        if completion.tool_calls:
            message["tool_calls"] = [_tool_call(call) for call in completion.tool_calls]
        choice["message"] = message
    else:
        choice["text"] = completion.text
    counted = None
    if "usage-missing" not in faults:
        counted = usage(prompt_tokens, completion.completion_tokens, faults)
    body = _envelope(endpoint.object, model, int(time.time()), counted)
    if counted is None:
        del body["usage"]  # the regression drops the field, not just its value
    return {**body, "choices": [choice]}


def _tool_call(call: ToolCall, token: str | None = None, first: bool = True) -> dict[str, Any]:
    """A call as v0.5.1 encodes it, its Go struct's untagged ``TokenizedArguments`` included; a
    stream sends one argument token per chunk and the name with the first only."""
    function: dict[str, Any] = {
        "name": call.name if first else None,
        "arguments": call.arguments if token is None else token,
        "TokenizedArguments": list(call.tokens) if token is None else None,
    }
    return {"function": function, "id": call.id, "type": "function", "index": call.index}


@dataclass(frozen=True)
class Stream:
    """Chunks of one streamed response; they share its object, created time and model."""

    endpoint: Endpoint
    model: str
    created: int
    faults: frozenset[str] = frozenset()

    @classmethod
    def start(cls, endpoint: Endpoint, model: str, faults: frozenset[str] = frozenset()) -> Stream:
        """Fix the timestamp every chunk of a new response will carry."""
        return cls(endpoint, model, int(time.time()), faults)

    def role(self) -> str:
        """The chat stream's opening chunk, announcing the assistant role."""
        return self._event([self._choice({"role": "assistant", "content": ""}, None)])

    def token(self, token: str, reason: str | None = None) -> str:
        """One token; the last one of a reply cut at its limit also carries ``finish_reason``."""
        return self._event([self._choice({"content": token}, reason, token)])

    def tool_token(self, call: ToolCall, index: int, reason: str | None = None) -> str:
        """One token of a call's arguments (chat only); its last carries ``tool_calls``."""
        delta = {"content": "", "tool_calls": [_tool_call(call, call.tokens[index], index == 0)]}
        return self._event([self._choice(delta, reason)])

    def finish(self, reason: str) -> str:
        """The chunk that carries ``finish_reason`` and no text (v0.5.1: an empty content)."""
        return self._event([self._choice({"content": ""}, reason)])

    def usage(self, prompt_tokens: int, completion_tokens: int) -> str:
        """Sent only with ``stream_options.include_usage``; the gateway counts tokens from it."""
        return self._event([], usage(prompt_tokens, completion_tokens, self.faults))

    @staticmethod
    def done() -> str:
        return "data: [DONE]\n\n"

    def _choice(self, delta: dict[str, Any], reason: str | None, text: str = "") -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": reason}
        if self.endpoint.chat:
            choice["delta"] = delta
        else:
            choice["text"] = text
        return choice

    def _event(self, choices: list[dict[str, Any]], usage_: dict[str, int] | None = None) -> str:
        chunk = _envelope(self.endpoint.chunk_object, self.model, self.created, usage_)
        # Compact, as Go writes JSON.
        text = json.dumps({**chunk, "choices": choices}, ensure_ascii=False, separators=(",", ":"))
        return f"data: {text}\n\n"
