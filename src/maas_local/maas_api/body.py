"""Request bodies decoded the way Go's encoding/json Decoder (behind gin's ShouldBindJSON) does.

maas-api is a Go service, so the embedded one accepts and refuses the same bodies in the same
words: the first JSON value is read and anything after it ignored; an empty body is "EOF", a
cut one "unexpected EOF", bad syntax the scanner's "invalid character ..." message for the
first offending byte; field names match case-insensitively; unknown fields are ignored whatever
they hold; `null` leaves a field unset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_MAX_DEPTH = 10_000  # encoding/json's maxNestingDepth
_SPACE = re.compile(rb"[ \t\r\n]*")
_DIGITS = re.compile(rb"[0-9]*")
_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): (b"true", True), ord("f"): (b"false", False), ord("n"): (b"null", None)}
_KINDS = {str: "string", bool: "bool", list: "array"}


class BodyError(ValueError):
    """The body cannot be decoded into the request struct; the message is Go's `err.Error()`."""


class UnmarshalTypeError(BodyError):
    """Go's `*json.UnmarshalTypeError`: a JSON value that does not fit the Go type it meets."""

    def __init__(self, value: str, go_type: str, field: str = "") -> None:
        self.value, self.go_type, self.field = value, go_type, field
        into = f"Go struct field {field}" if field else "Go value"
        super().__init__(f"json: cannot unmarshal {value} into {into} of type {go_type}")

    def in_field(self, field: str) -> UnmarshalTypeError:
        """The error once Go's decoder adds the struct field it was decoding (`Request.x`)."""
        return UnmarshalTypeError(self.value, self.go_type, field)


@dataclass(frozen=True)
class JsonNumber:
    """A JSON number as written: Go converts it only where a Go type asks for one."""

    text: str


@dataclass(frozen=True)
class JsonObject:
    """A JSON object as its (key, value) pairs in document order, duplicates kept."""

    pairs: list[tuple[str, Any]]


def decode_field(raw: bytes, go_type: str, field: str) -> list[Any]:
    """Every value the body's top-level object gives `field`, in document order (None for null).

    Go decodes each occurrence into the same struct field, so the caller sees them all.
    """
    folded = field.casefold()
    return [value for key, value in _members(raw, go_type) if key.casefold() == folded]


def decode_fields(raw: bytes, go_type: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """The non-null values of `fields` (keyed by their canonical name); the last occurrence wins.

    `go_type` (e.g. `token.Request`) names the struct in errors, as Go's messages do.
    """
    by_folded = {f.casefold(): f for f in fields}
    found: dict[str, Any] = {}
    for key, value in _members(raw, go_type):
        field = by_folded.get(key.casefold())
        if field is None:
            continue
        if value is None:
            found.pop(field, None)
        else:
            found[field] = value
    return found


def go_interface(value: Any) -> Any:
    """What `json.Unmarshal` into a Go `interface{}` makes of a decoded value.

    Numbers become float64 (a number beyond float64's range is Go's UnmarshalTypeError, the
    first in document order); objects become maps, the last duplicate key winning.
    """
    _check_numbers(value)
    if isinstance(value, JsonNumber):
        return float(value.text)
    if isinstance(value, JsonObject):
        return dict(value.pairs)
    return value


def go_kind(value: Any) -> str:
    """How Go's unmarshal errors name a JSON value's kind."""
    if isinstance(value, JsonNumber):
        return "number"
    if isinstance(value, JsonObject):
        return "object"
    return _KINDS.get(type(value), "value")


def _check_numbers(value: Any) -> None:
    """Raise Go's error for the first number (in document order) that float64 cannot hold."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, JsonNumber) and abs(float(item.text)) == float("inf"):
            raise UnmarshalTypeError(f"number {item.text}", "float64")
        if isinstance(item, JsonObject):
            pending.extend(reversed([v for _, v in item.pairs]))
        elif isinstance(item, list):
            pending.extend(reversed(item))


def _members(raw: bytes, go_type: str) -> list[tuple[str, Any]]:
    """The top-level object's members; none for `null`; any other JSON value is refused."""
    value = _first_value(raw)
    if value is None:
        return []
    if not isinstance(value, JsonObject):
        raise UnmarshalTypeError(go_kind(value), go_type)
    return value.pairs


def _first_value(data: bytes) -> Any:
    """The first JSON value of `data`, scanned byte by byte as Go's Decoder scans it."""
    i = _skip(data, 0)
    if i == len(data):
        raise BodyError("EOF")
    open_: list[JsonObject | list[Any]] = []
    keys: list[str] = []
    while True:
        value, i = _value(data, i, open_, keys)
        if value is _OPENED:
            continue
        while True:  # a value is complete: close every container it completes
            if not open_:
                return value
            parent = open_[-1]
            if isinstance(parent, JsonObject):
                parent.pairs.append((keys.pop(), value))
            else:
                parent.append(value)
            i = _at(data, _skip(data, i))
            c = data[i]
            if c == ord(","):
                i += 1
                if isinstance(parent, JsonObject):
                    i = _key(data, _skip(data, i), keys)
                break
            if c == ord("}" if isinstance(parent, JsonObject) else "]"):
                value, i = open_.pop(), i + 1
                continue
            where = "object key:value pair" if isinstance(parent, JsonObject) else "array element"
            raise _syntax(c, f"after {where}")


_OPENED = object()


def _value(
    data: bytes, i: int, open_: list[JsonObject | list[Any]], keys: list[str]
) -> tuple[Any, int]:
    """The value starting at `i` (after spaces), or `_OPENED` if it opens a non-empty container."""
    i = _at(data, _skip(data, i))
    c = data[i]
    if c in b"{[":
        if len(open_) >= _MAX_DEPTH:
            raise _syntax(c, "exceeded max depth")
        container: JsonObject | list[Any] = JsonObject([]) if c == ord("{") else []
        i = _at(data, _skip(data, i + 1))
        if data[i] == ord("}" if c == ord("{") else "]"):
            return container, i + 1
        open_.append(container)
        if c == ord("{"):
            i = _key(data, i, keys)
        return _OPENED, i
    if c == ord('"'):
        end = _string_end(data, i)
        return _unquote(data[i + 1 : end - 1]), end
    if c == ord("-") or ord("0") <= c <= ord("9"):
        end = _number_end(data, i)
        return JsonNumber(data[i:end].decode("ascii")), end
    if c in _LITERALS:
        word, literal = _LITERALS[c]
        for k in range(1, len(word)):
            if data[_at(data, i + k)] != word[k]:
                expecting = chr(word[k])
                raise _syntax(data[i + k], f"in literal {word.decode()} (expecting '{expecting}')")
        return literal, i + len(word)
    raise _syntax(c, "looking for beginning of value")


def _key(data: bytes, i: int, keys: list[str]) -> int:
    """An object key at `i` and the colon after it; the index where its value starts."""
    i = _at(data, _skip(data, i))
    if data[i] != ord('"'):
        raise _syntax(data[i], "looking for beginning of object key string")
    end = _string_end(data, i)
    keys.append(_unquote(data[i + 1 : end - 1]))
    i = _at(data, _skip(data, end))
    if data[i] != ord(":"):
        raise _syntax(data[i], "after object key")
    return i + 1


def _string_end(data: bytes, i: int) -> int:
    """The index after the closing quote of the string whose opening quote is at `i`."""
    i += 1
    while True:
        i = _at(data, _PLAIN.match(data, i).end())
        c = data[i]
        if c == ord('"'):
            return i + 1
        if c != ord("\\"):
            raise _syntax(c, "in string literal")
        i = _at(data, i + 1)
        if data[i] == ord("u"):
            for k in range(1, 5):
                if data[_at(data, i + k)] not in _HEX:
                    raise _syntax(data[i + k], "in \\u hexadecimal character escape")
            i += 5
        elif data[i] in _ESCAPES:
            i += 1
        else:
            raise _syntax(data[i], "in string escape code")


def _number_end(data: bytes, i: int) -> int:
    """The index after the number starting at `i`; a number cut by the end of data is an error."""
    if data[i] == ord("-"):
        i = _at(data, i + 1)
        if not ord("0") <= data[i] <= ord("9"):
            raise _syntax(data[i], "in numeric literal")
    i = i + 1 if data[i] == ord("0") else _DIGITS.match(data, i).end()
    if data[i : i + 1] == b".":
        i = _at(data, i + 1)
        if not ord("0") <= data[i] <= ord("9"):
            raise _syntax(data[i], "after decimal point in numeric literal")
        i = _DIGITS.match(data, i).end()
    if data[i : i + 1] in (b"e", b"E"):
        i = _at(data, i + 1)
        if data[i] in b"+-":
            i = _at(data, i + 1)
        if not ord("0") <= data[i] <= ord("9"):
            raise _syntax(data[i], "in exponent of numeric literal")
        i = _DIGITS.match(data, i).end()
    return i


def _unquote(inner: bytes) -> str:
    """A JSON string's contents as Go decodes them: bad UTF-8 and lone surrogates become U+FFFD."""
    if b"\\" not in inner:
        text = inner.decode("utf-8", "surrogateescape")
    else:
        # The scanner has checked the escapes; Python's decoder expands them (pairs included).
        text = json.loads('"' + inner.decode("utf-8", "surrogateescape") + '"')
    return _SURROGATE.sub("\ufffd", text)


def _skip(data: bytes, i: int) -> int:
    return _SPACE.match(data, i).end()


def _at(data: bytes, i: int) -> int:
    """`i`, or Go's "unexpected EOF" when the data ends before the value does."""
    if i >= len(data):
        raise _cut()
    return i


def _cut() -> BodyError:
    return BodyError("unexpected EOF")


def _syntax(c: int, context: str) -> BodyError:
    """The scanner's message: the offending byte quoted as Go's `quoteChar` does."""
    if c == ord("'"):
        char = "\\'"
    elif c == ord('"'):
        char = '"'
    else:
        # Go quotes the byte as the rune of the same value (0xff is 'ÿ').
        char = go_quote(chr(c))[1:-1]
    return BodyError(f"invalid character '{char}' {context}")


def go_quote(text: str) -> str:
    """Go's `strconv.Quote`: printable runes as they are, the rest as Go escapes them."""
    return '"' + "".join(_escaped(c) for c in text) + '"'


_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def _escaped(c: str) -> str:
    # Go's IsPrint is letters, marks, numbers, punctuation, symbols and ASCII space, which is
    # what Python's isprintable() accepts too.
    if c in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return "\\ufffd"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
