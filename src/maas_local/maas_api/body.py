"""Request bodies decoded the way Go's encoding/json (behind gin's ShouldBindJSON) does.

maas-api is a Go service, so the embedded one accepts and refuses the same bodies: the first
JSON value is read and anything after it ignored, field names match case-insensitively (the
last match wins), unknown fields are ignored, `null` leaves a field unset, and an empty body is
the error "EOF".
"""

from __future__ import annotations

import json
from typing import Any

_WHITESPACE = " \t\n\r"
_KINDS = {
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}


class BodyError(ValueError):
    """The body cannot be decoded into the request struct; the message says why."""


def decode_fields(raw: bytes, go_type: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """The non-null values of `fields` (keyed by their canonical name) in a JSON object body.

    `go_type` (e.g. `token.Request`) names the struct in errors, as Go's messages do.
    """
    text = raw.decode("utf-8", errors="replace").lstrip(_WHITESPACE)
    if not text:
        raise BodyError("EOF")
    try:
        value, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise BodyError(f"invalid JSON: {exc.msg} (at character {exc.pos})") from None
    except RecursionError:
        raise BodyError("invalid JSON: exceeded max depth") from None
    if value is None:
        return {}
    if not isinstance(value, _Pairs):
        raise BodyError(f"json: cannot unmarshal {go_kind(value)} into Go value of type {go_type}")
    by_folded = {f.casefold(): f for f in fields}
    found: dict[str, Any] = {}
    for key, item in value:
        field = by_folded.get(key.casefold())
        if field is None:
            continue
        if item is None:
            found.pop(field, None)
        else:
            found[field] = _plain(item)
    return found


def go_kind(value: Any) -> str:
    """How Go's unmarshal errors name a JSON value's kind."""
    if isinstance(value, _Pairs):
        return "object"
    return _KINDS.get(type(value), "value")


class _Pairs(list):
    """A JSON object as its (key, value) pairs in document order, duplicates kept."""


def _plain(value: Any) -> Any:
    """Nested objects as dicts (last duplicate wins), once the top level has been matched."""
    if isinstance(value, _Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are Python's extensions; Go (and JSON) refuse them."""
    raise BodyError(f"invalid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_refuse_constant)
