"""Tool calls the model "makes": how many, which tools, and arguments fitting their parameters.

As v0.5.1 (``pkg/openai-server-api/tools_utils.go``, with the default ``--*-tool-call-*``
flags): ``tool_choice`` ``required`` makes 1..n calls, any other value but ``none`` 0..n (none
means a text reply instead), n being the number of tools, each call to a tool drawn at random
(the same tool may be called twice). Required parameters are always given, others with
probability 1/2; strings are one word, integers 0..100, numbers 0..100 with a fraction,
booleans either, arrays 1..5 items unless ``minItems``/``maxItems`` say otherwise, and an enum
gives one of its values. A call costs 3 completion tokens (name, id and type) plus the tokens of
its arguments' JSON, which Go writes with sorted keys and no spaces.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from maas_local.simulator.tokens import tokenize

_WORDS = ("hello", "testing", "London", "rainy", "answer", "window", "river", "seven", "quiet")
INTEGER_RANGE = (0, 100)
NUMBER_RANGE = (0.0, 100.0)
ARRAY_LENGTH = (1, 5)
OPTIONAL_PROBABILITY = 0.5
_ID_DIGITS = 10
_CALL_OVERHEAD_TOKENS = 3
# Go's encoder escapes these even inside strings (HTML safety, JavaScript line separators).
_GO_ESCAPES = {char: f"\\u{ord(char):04x}" for char in "<>&\u2028\u2029"}


class ToolCallError(ValueError):
    """Arguments v0.5.1 cannot make; it answers 400 with this text after its prefix."""


class ToolCallCrash(ValueError):
    """A request on which v0.5.1's worker panics and the server dies; the text says why."""


@dataclass(frozen=True)
class ToolCall:
    """One call as the response carries it; ``tokens`` are its arguments' tokens (streamed one
    per chunk)."""

    id: str
    index: int
    name: str
    arguments: str
    tokens: tuple[str, ...]

    @property
    def completion_tokens(self) -> int:
        return _CALL_OVERHEAD_TOKENS + len(self.tokens)


def make_tool_calls(
    tools: list[dict[str, Any]], choice: str, rng: random.Random
) -> tuple[ToolCall, ...]:
    """The calls for a request whose ``tool_choice`` is not ``none``; empty means answer text."""
    lowest = 1 if choice == "required" else 0
    if lowest > len(tools):
        raise ToolCallCrash("tool_choice required with an empty tools list")
    calls = []
    for index in range(rng.randint(lowest, len(tools))):
        function = rng.choice(tools).get("function", {})
        parameters = function.get("parameters") or {}
        arguments = go_json(_fields(parameters.get("properties"), parameters, rng))
        call_id = "chatcmpl-tool-" + "".join(str(rng.randint(0, 9)) for _ in range(_ID_DIGITS))
        name = function.get("name", "")
        calls.append(ToolCall(call_id, index, name, arguments, tuple(tokenize(arguments))))
    return tuple(calls)


def _fields(properties: Any, schema: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """An object's fields: the required ones, and each other one with probability 1/2."""
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    required = set(required) if isinstance(required, list) else set()
    return {
        name: _value(spec, rng)
        for name, spec in properties.items()
        if name in required or rng.random() < OPTIONAL_PROBABILITY
    }


def _value(spec: dict[str, Any], rng: random.Random) -> Any:
    """One argument value for a parameter's schema (validated already)."""
    if spec.get("enum"):
        return rng.choice(spec["enum"])
    kind = spec.get("type")
    if kind == "string":
        return rng.choice(_WORDS)
    if kind == "integer":
        return rng.randint(*INTEGER_RANGE)
    if kind == "number":
        low, high = NUMBER_RANGE
        return low + rng.random() * (high - low)
    if kind == "boolean":
        return rng.randint(0, 1) == 1
    if kind == "array":
        items = spec["items"]
        if not isinstance(items, dict):
            raise ToolCallCrash("an array parameter whose items is a list of schemas")
        least = int(spec.get("minItems", ARRAY_LENGTH[0]))
        most = int(spec.get("maxItems", ARRAY_LENGTH[1]))
        if least > most:
            raise ToolCallError(f"minItems ({least}) is greater than maxItems({most})")
        return [_value(items, rng) for _ in range(rng.randint(least, most))]
    if kind == "object":
        return _fields(spec["properties"], spec, rng)
    raise ToolCallError(f"tool parameters of type {kind} are not supported")


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: map keys sorted, no spaces, floats in Go's form."""
    if isinstance(value, dict):
        members = (f"{go_json(key)}:{go_json(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return "".join(_GO_ESCAPES.get(char, char) for char in text)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _go_float(float(value))  # every JSON number is a float64 to Go
    return json.dumps(value)


def _go_float(number: float) -> str:
    """Shortest digits, positional between 1e-6 and 1e21, else exponent form like "1e-7"."""
    size = abs(number)
    if size == 0 or 1e-6 <= size < 1e21:
        if number.is_integer():
            return str(int(number))
        return format(Decimal(repr(number)), "f")
    mantissa, exponent = repr(number).split("e")
    return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
