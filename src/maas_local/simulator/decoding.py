"""Request bodies decoded as v0.5.1 decodes them: Go's ``json.Unmarshal`` into its structs.

The simulator refuses a body it cannot decode before it looks at anything else, with a plain-text
400 carrying Go's own error (``pkg/llm-d-inference-sim/server.go``), so the embedded one decodes
against the same struct layout (``pkg/openai-server-api/request.go``) to give the same words:
a JSON value of the wrong kind is ``json: cannot unmarshal <kind> into Go struct field
<Struct>.<path> of type <type>`` for the first one in document order (decoding goes on after
it), field names match case-insensitively, ``null`` leaves a value as it was (a pointer, slice or
map it resets), fields Go does not know are ignored whatever they hold, and a message ``content``
that is neither a string nor an array of content blocks stops decoding at once with the
``Content`` type's own "content format not supported".

Syntax errors keep Python's wording (Go's scanner messages are not reproduced); bytes that are
not UTF-8 are read as U+FFFD, as Go reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

_GO_PACKAGE = "openaiserverapi"
_INT_LIMIT = 2**63  # int64, and int on the 64-bit platforms the simulator's image is built for


class BodyError(ValueError):
    """The body cannot be decoded into the request struct; the message is Go's ``err.Error()``."""


class _Literal(float):
    """A JSON number written with a fraction or exponent; Go's int errors quote it as written."""

    text: str

    def __new__(cls, text: str) -> _Literal:
        number = super().__new__(cls, text)
        number.text = text
        return number


class _Pairs(list):
    """A JSON object as its (key, value) pairs in document order, duplicates kept (Go sees all)."""


@dataclass(frozen=True)
class Scalar:
    """A Go string, bool or integer; a pointer (``*int64``) is reset by ``null``."""

    go: str
    pointer: bool = False


@dataclass(frozen=True)
class Slice:
    """A Go slice: a JSON array, each item decoded as ``elem``; ``null`` resets it."""

    elem: GoType

    @property
    def go(self) -> str:
        return "[]" + self.elem.go


@dataclass(frozen=True)
class AnyMap:
    """``map[string]any``: any JSON object, kept as decoded (tool parameters)."""

    go: ClassVar[str] = "map[string]interface {}"


@dataclass(frozen=True)
class Content:
    """The message ``Content`` type, with its own ``UnmarshalJSON``: a string or content blocks."""

    blocks: Slice


@dataclass(frozen=True)
class Field:
    """A struct field, by its JSON name in the struct's table."""

    type: GoType
    via: tuple[str, ...] = ()
    """Embedded structs the field is promoted from; Go names them in the error's path."""


@dataclass(frozen=True)
class Struct:
    """A Go struct of the simulator's API package; errors inside it name it."""

    name: str
    fields: Mapping[str, Field]

    @property
    def go(self) -> str:
        return f"{_GO_PACKAGE}.{self.name}"

    def find(self, key: str) -> tuple[str, Field] | None:
        """The field a JSON key sets: its exact name, else a case-insensitive match."""
        if key in self.fields:
            return key, self.fields[key]
        folded = key.casefold()
        return next(((n, f) for n, f in self.fields.items() if n.casefold() == folded), None)


GoType = Scalar | Slice | AnyMap | Content | Struct

STRING, BOOL, INT = Scalar("string"), Scalar("bool"), Scalar("int")
OPTIONAL_INT64 = Scalar("int64", pointer=True)

_BASE = "baseCompletionRequest"
_BASE_FIELDS = {
    name: Field(kind, (_BASE,))
    for name, kind in {
        "RequestID": STRING,  # no json tag: Go matches the field's own name
        "stream": BOOL,
        "stream_options": Struct("StreamOptions", {"include_usage": Field(BOOL)}),
        "model": STRING,
        "do_remote_decode": BOOL,
        "do_remote_prefill": BOOL,
        "remote_block_ids": Slice(STRING),
        "remote_engine_id": STRING,
        "remote_host": STRING,
        "remote_port": INT,
        "ignore_eos": BOOL,
    }.items()
}
_CONTENT_BLOCK = Struct(
    "ContentBlock",
    {
        "type": Field(STRING),
        "text": Field(STRING),
        "image_url": Field(Struct("ImageBlock", {"url": Field(STRING)})),
    },
)
_FUNCTION_CALL = Struct(
    "FunctionCall",
    {
        "name": Field(Scalar("string", pointer=True)),
        "arguments": Field(STRING),
        "TokenizedArguments": Field(Slice(STRING)),
    },
)
_TOOL_CALL = Struct(
    "ToolCall",
    {
        "function": Field(_FUNCTION_CALL),
        "id": Field(STRING),
        "type": Field(STRING),
        "index": Field(INT),
    },
)
_MESSAGE = Struct(
    "Message",
    {
        "role": Field(STRING),
        "content": Field(Content(Slice(_CONTENT_BLOCK))),
        "tool_calls": Field(Slice(_TOOL_CALL)),
    },
)
_TOOL = Struct(
    "Tool",
    {
        "function": Field(
            Struct(
                "function",
                {
                    "name": Field(STRING),
                    "parameters": Field(AnyMap()),
                    "description": Field(STRING),
                },
            )
        ),
        "type": Field(STRING),
    },
)
CHAT_REQUEST = Struct(
    "ChatCompletionRequest",
    {
        **_BASE_FIELDS,
        "messages": Field(Slice(_MESSAGE)),
        "max_tokens": Field(OPTIONAL_INT64),
        "max_completion_tokens": Field(OPTIONAL_INT64),
        "tools": Field(Slice(_TOOL)),
        "tool_choice": Field(STRING),
    },
)
TEXT_REQUEST = Struct(
    "TextCompletionRequest",
    {**_BASE_FIELDS, "prompt": Field(STRING), "max_tokens": Field(OPTIONAL_INT64)},
)

_UNCHANGED = object()
_CONTENT_ERROR = "content format not supported"


def decode(raw: bytes, request: Struct) -> dict[str, Any]:
    """The body as ``request`` decodes it: present fields by their Go JSON names, nested structs
    as dicts, message contents as a string or a list of block dicts, tool parameters as plain
    JSON values. Absent fields are left out."""
    try:
        value = json.loads(
            _lone_surrogates_replaced(raw.decode("utf-8", "replace")),
            object_pairs_hook=_Pairs,
            parse_float=_Literal,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise BodyError(str(exc) or type(exc).__name__) from None
    decoder = _Decoder()
    decoded = decoder.value(value, request, None, ())
    if decoder.first is not None:
        raise decoder.first
    return {} if decoded is _UNCHANGED else decoded


# A `\uXXXX` escape of a lone UTF-16 surrogate (a pair is one match), or any other escape, so
# that an escaped backslash is never taken for the start of one.
_ESCAPE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|u[dD][89a-fA-F][0-9a-fA-F]{2}|.)",
    re.DOTALL,
)


def _lone_surrogates_replaced(text: str) -> str:
    """Go decodes the escape of a lone surrogate (`"\ud800"`) as U+FFFD; Python keeps the
    surrogate, which no reply can then encode (a 500 for a model name that echoes it)."""
    return _ESCAPE.sub(lambda m: "\\ufffd" if len(m[0]) == 6 else m[0], text)


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity; JSON, and so Go, does not.
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


class _Decoder:
    """One decoding pass; keeps the first type error, as Go's decodeState does."""

    def __init__(self) -> None:
        self.first: BodyError | None = None

    def value(self, value: Any, kind: GoType, struct: str | None, path: tuple[str, ...]) -> Any:
        """The decoded value, or _UNCHANGED when Go leaves the destination as it was."""
        if isinstance(kind, Content):
            return _content(value, kind)
        if value is None:
            return None if _nullable(kind) else _UNCHANGED
        if isinstance(kind, Struct):
            if isinstance(value, _Pairs):
                return self._struct(value, kind, path)
        elif isinstance(kind, Slice):
            if isinstance(value, list) and not isinstance(value, _Pairs):
                decoded = (self.value(item, kind.elem, struct, path) for item in value)
                return [_zero(kind.elem) if item is _UNCHANGED else item for item in decoded]
        elif isinstance(kind, AnyMap):
            if isinstance(value, _Pairs):
                return _plain(value)
        elif kind.go == "string":
            if isinstance(value, str):
                return value
        elif kind.go == "bool":
            if isinstance(value, bool):
                return value
        elif _is_number(value):
            if isinstance(value, int) and -_INT_LIMIT <= value < _INT_LIMIT:
                return value
            text = value.text if isinstance(value, _Literal) else str(value)
            self._mismatch(f"number {text}", kind, struct, path)
            return _UNCHANGED
        self._mismatch(_json_kind(value), kind, struct, path)
        return _UNCHANGED

    def _struct(self, pairs: _Pairs, kind: Struct, path: tuple[str, ...]) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for key, item in pairs:
            found = kind.find(key)
            if found is None:
                continue  # Go skips what its struct has no field for
            name, spec = found
            value = self.value(item, spec.type, kind.name, (*path, *spec.via, name))
            if value is not _UNCHANGED:
                decoded[name] = value
        return decoded

    def _mismatch(self, what: str, kind: GoType, struct: str | None, path: tuple[str, ...]) -> None:
        if self.first is not None:
            return
        into = f"Go struct field {struct}.{'.'.join(path)}" if struct else "Go value"
        self.first = BodyError(f"json: cannot unmarshal {what} into {into} of type {kind.go}")


def _content(value: Any, kind: Content) -> Any:
    """Content's UnmarshalJSON: a string (null is the empty one) or blocks that decode cleanly;
    its error ends decoding at once, ahead of any type error kept so far."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list) and not isinstance(value, _Pairs):
        inner = _Decoder()
        blocks = inner.value(value, kind.blocks, None, ())
        if inner.first is None:
            return blocks
    raise BodyError(_CONTENT_ERROR)


def _nullable(kind: GoType) -> bool:
    return isinstance(kind, (Slice, AnyMap)) or (isinstance(kind, Scalar) and kind.pointer)


def _zero(kind: GoType) -> Any:
    if isinstance(kind, Struct):
        return {}
    if isinstance(kind, Scalar) and not kind.pointer:
        return {"string": "", "bool": False}.get(kind.go, 0)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_kind(value: Any) -> str:
    """How Go's unmarshal errors name a JSON value's kind."""
    if isinstance(value, _Pairs):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "number"


def _plain(value: Any) -> Any:
    """Decoded JSON without the decoder's markers: objects as dicts (the last duplicate wins)."""
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
