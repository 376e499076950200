"""Turn a request body into a validated completion request, in the simulator's order.

Type errors come first (the Go simulator fails while decoding JSON), then the model name (404),
then the token limits. Fields the simulator does not know are ignored, which is why the seed's
chat request with ``prompt`` and ``max_prompts`` but no ``messages`` is served (the model reads
no prompt there: ``prompt_tokens`` is 0), and why ``n`` and ``stop`` change nothing (one choice,
text never cut at a stop string). ``max_completion_tokens`` is a chat field only: it bounds a chat
reply and wins over ``max_tokens``; ``/v1/completions`` ignores it, as v0.5.1 does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from maas_local.simulator.config import SimulatorConfig
from maas_local.simulator.errors import ApiError
from maas_local.simulator.tokens import count_tokens


@dataclass(frozen=True)
class CompletionRequest:
    """What generation needs to know, whichever endpoint the request came through."""

    prompt_tokens: int
    echo_text: str
    max_tokens: int | None
    stream: bool
    include_usage: bool
    ignore_eos: bool = False
    """Answer exactly ``max_tokens`` tokens, cut (``length``), as a model ignoring its EOS."""


def decode_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else is the client's fault, never a 500."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ApiError(f"Failed to read and parse request body, {exc}") from None
    if not isinstance(body, dict):
        raise ApiError("Failed to read and parse request body, expected a JSON object")
    return body


def parse_chat(body: dict[str, Any], config: SimulatorConfig) -> CompletionRequest:
    """Validate a ``/v1/chat/completions`` body; echo mode answers with the last user message."""
    messages = _optional(body, "messages", list, "an array") or []
    contents: list[str] = []
    last_user = ""
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError("messages must be an array of objects")
        role = _optional(message, "role", str, "a string")
        text = _content_text(message.get("content"))
        contents.append(text)
        if role == "user":
            last_user = text
    prompt_tokens = sum(count_tokens(text) for text in contents)
    max_completion_tokens = _optional_int(body, "max_completion_tokens")
    return _finish(body, config, prompt_tokens, last_user, max_completion_tokens)


def parse_text(body: dict[str, Any], config: SimulatorConfig) -> CompletionRequest:
    """Validate a ``/v1/completions`` body; the prompt is a string or a list of strings."""
    prompt = body.get("prompt")
    if prompt is None:
        prompt = ""
    elif isinstance(prompt, list) and all(isinstance(part, str) for part in prompt):
        prompt = " ".join(prompt)
    elif not isinstance(prompt, str):
        raise ApiError("prompt must be a string or an array of strings")
    return _finish(body, config, count_tokens(prompt), prompt, max_completion_tokens=None)


def _finish(
    body: dict[str, Any],
    config: SimulatorConfig,
    prompt_tokens: int,
    echo_text: str,
    max_completion_tokens: int | None,
) -> CompletionRequest:
    max_tokens = _optional_int(body, "max_tokens")
    stream = _optional(body, "stream", bool, "a boolean") or False
    options = _optional(body, "stream_options", dict, "an object") or {}
    include_usage = _optional(options, "include_usage", bool, "a boolean") or False
    model = _optional(body, "model", str, "a string")
    if not model:
        raise ApiError("model is required")
    if model != config.model:
        raise ApiError(f"The model `{model}` does not exist.", 404)
    if max_tokens is None and "no-max-tokens-500" in config.faults:
        # The regression: the length draw assumes every request names max_tokens.
        raise ApiError("failed to create response: max_tokens is not set", 500)
    # As in vLLM, max_completion_tokens supersedes the older max_tokens.
    limit = max_completion_tokens if max_completion_tokens is not None else max_tokens
    if "max-completion-tokens-ignored" in config.faults:
        limit = max_tokens  # the regression: only the older field is read
    if limit is not None and limit <= 0:
        raise ApiError("Max completion tokens and max tokens should be positive")
    ignore_eos = _optional(body, "ignore_eos", bool, "a boolean") or False
    if ignore_eos and limit is None:
        raise ApiError("Ignore_eos is true but max_completion_tokens (or max_tokens) is not set")
    requested = prompt_tokens + (limit or 0)
    if requested > config.max_model_len:
        raise ApiError(
            f"This model's maximum context length is {config.max_model_len} tokens. "
            f"However, you requested {requested} tokens ({prompt_tokens} in the messages, "
            f"{limit or 0} in the completion). "
            "Please reduce the length of the messages or completion"
        )
    return CompletionRequest(prompt_tokens, echo_text, limit, stream, include_usage, ignore_eos)


def _content_text(content: Any) -> str:
    """A message's text: a string, null, or OpenAI content parts (only text parts count)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        texts = [part.get("text") for part in content if part.get("type") == "text"]
        if all(isinstance(text, str) for text in texts):
            return " ".join(texts)
    raise ApiError("message content must be a string or an array of content parts")


def _optional(body: dict[str, Any], key: str, kind: type, described: str) -> Any:
    value = body.get(key)
    # bool is an int in Python but not in JSON; keep them apart as the Go decoder does.
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise ApiError(f"{key} must be {described}, got {json.dumps(value)}")


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    return _optional(body, key, int, "an integer")
