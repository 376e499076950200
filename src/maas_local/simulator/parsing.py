"""Turn a request body into a validated completion request, in the simulator's order.

v0.5.1 first decodes the body into its Go structs and validates each tool definition; a failure
there is a plain-text 400 (``Failed to read and parse request body, <error>``). Then come the
model name (404), the token limits and the context length, as OpenAI-style JSON errors. Fields
the simulator does not know are ignored, which is why the seed's chat request with ``prompt``
and ``max_prompts`` but no ``messages`` is served (the model reads no prompt there:
``prompt_tokens`` is 0), and why ``n`` and ``stop`` change nothing (one choice, text never cut
at a stop string). ``max_completion_tokens`` is a chat field only: it bounds a chat reply and
wins over ``max_tokens``; ``/v1/completions`` ignores it, as it ignores ``tools``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from maas_local.simulator.config import SimulatorConfig
from maas_local.simulator.decoding import CHAT_REQUEST, TEXT_REQUEST, BodyError, decode
from maas_local.simulator.errors import ApiError, PlainError
from maas_local.simulator.tokens import count_tokens
from maas_local.simulator.toolschema import ToolSchemaError, validate_tool


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
    tools: list[dict[str, Any]] | None = None
    """The chat request's tools as decoded; None when it sent none (an empty list is a list)."""
    tool_choice: str = ""


def parse_chat(raw: bytes, config: SimulatorConfig) -> CompletionRequest:
    """Validate a ``/v1/chat/completions`` body; echo mode answers with the last user message.

    The prompt is every message's text followed by a space, as v0.5.1 joins them.
    """
    body = _decode(raw, CHAT_REQUEST)
    tools = body.get("tools")
    try:
        for tool in tools or ():
            validate_tool(tool.get("function", {}))
    except (ToolSchemaError, RecursionError) as error:
        # RecursionError: a schema nested past Python's stack (v0.5.1's Go validator has none):
        # refused like a tool it cannot read rather than a 500.
        raise PlainError(f"Failed to read and parse request body, {error}") from None
    messages = body.get("messages") or []
    prompt = "".join(_plain_text(message.get("content", "")) + " " for message in messages)
    users = [message for message in messages if message.get("role") == "user"]
    last_user = _plain_text(users[-1].get("content", "")) if users else ""
    max_completion_tokens = body.get("max_completion_tokens")
    if "tool-calls-ignored" in config.faults:
        tools = None  # the regression: the request's tools never reach generation
    request = _finish(body, config, count_tokens(prompt), last_user, max_completion_tokens)
    return replace(request, tools=tools, tool_choice=body.get("tool_choice", ""))


def parse_text(raw: bytes, config: SimulatorConfig) -> CompletionRequest:
    """Validate a ``/v1/completions`` body; the prompt is one string."""
    body = _decode(raw, TEXT_REQUEST)
    prompt = body.get("prompt", "")
    return _finish(body, config, count_tokens(prompt), prompt, max_completion_tokens=None)


def _decode(raw: bytes, request: Any) -> dict[str, Any]:
    try:
        return decode(raw, request)
    except (BodyError, RecursionError) as error:  # RecursionError: a value nested ~700 deep
        raise PlainError(f"Failed to read and parse request body, {error}") from None


def _finish(
    body: dict[str, Any],
    config: SimulatorConfig,
    prompt_tokens: int,
    echo_text: str,
    max_completion_tokens: int | None,
) -> CompletionRequest:
    max_tokens = body.get("max_tokens")
    stream = body.get("stream", False)
    include_usage = body.get("stream_options", {}).get("include_usage", False)
    model = body.get("model", "")
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
    ignore_eos = body.get("ignore_eos", False)
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


def _plain_text(content: str | list[dict[str, Any]]) -> str:
    """A message's text: the string, or each text block's text followed by a space."""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") + " " for block in content if block.get("type") == "text")
