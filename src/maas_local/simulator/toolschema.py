"""Which tool definitions v0.5.1 accepts, and the words it refuses the others with.

Before anything else is checked, the simulator validates each tool's ``function`` (as Go
re-encodes it: ``name`` and ``description`` always there, ``parameters`` left out when empty)
against a fixed JSON schema (``pkg/openai-server-api/tools_utils.go``) with the Go library
santhosh-tekuri/jsonschema v5, and refuses the request with that library's error text. The
schema below states the same rules in the same structure, because the error names the failing
keyword by its place in the schema. Validation itself is the ``jsonschema`` library's; only the
choice of the one error to report and its wording follow the Go library: its first error, in
the order it checks keywords (``type`` first, and nothing else at a node whose type is wrong).
Where Go iterates a map (properties, extra keys) its order is random; here it is the request's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

# v0.5.1 compiles the schema under the name "schema.json", which the library resolves against
# the working directory: / in the simulator's image.
SCHEMA_URL = "file:///schema.json"

_ENUM_ITEM_TYPES = ("string", "number", "integer", "boolean")


def _type_is(name: str) -> dict[str, Any]:
    return {"properties": {"type": {"const": name}}}


_PARAMETER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["object", "array", "string", "number", "integer", "boolean", "null"],
        },
        "description": {"type": "string"},
        "enum": {"type": "array", "items": {"type": list(_ENUM_ITEM_TYPES)}},
        "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameter"}},
        "items": {
            "anyOf": [
                {"$ref": "#/$defs/parameter"},
                {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
            ]
        },
        "required": {"type": "array", "items": {"type": "string"}},
        "additionalProperties": {"type": "boolean"},
        "minItems": {"type": "integer", "minimum": 0},
        "maxItems": {"type": "integer", "minimum": 0},
    },
    "required": ["type"],
    "additionalProperties": False,
    "allOf": [
        # Enum values of the parameter's own type (allOf/0..3) ...
        *(
            {
                "if": _type_is(kind),
                "then": {"properties": {"enum": {"type": "array", "items": {"type": kind}}}},
            }
            for kind in _ENUM_ITEM_TYPES
        ),
        # ... no enum for null, object and array (allOf/4), items for an array (allOf/5) and
        # properties for an object (allOf/6).
        {
            "if": {"anyOf": [_type_is(kind) for kind in ("null", "object", "array")]},
            "then": {"not": {"required": ["enum"]}},
        },
        {"if": _type_is("array"), "then": {"required": ["items"]}},
        {"if": _type_is("object"), "then": {"required": ["properties"]}},
    ],
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "parameters": {"$ref": "#/$defs/parameter"},
    },
    "required": ["name", "description", "parameters"],
    "additionalProperties": False,
    "$defs": {"parameter": _PARAMETER},
}


@functools.cache
def _validator() -> Draft202012Validator:
    """Built on the first request with tools: importing jsonschema would otherwise add a fifth
    to the stack's start-up, which most runs never need."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(SCHEMA)


# The order in which the Go library checks the keywords this schema uses.
_KEYWORD_ORDER = (
    "type", "const", "enum", "required", "properties", "additionalProperties", "items", "minimum",
    "$ref", "not", "allOf", "anyOf", "then",
)  # fmt: skip
_NAMED = ("properties", "$defs")  # keywords whose next path step is a name
_INDEXED = ("allOf", "anyOf")  # keywords whose next path step is an index


class ToolSchemaError(ValueError):
    """A tool definition v0.5.1 refuses; the message is the Go library's error text."""


def validate_tool(function: dict[str, Any]) -> None:
    """Refuse a tool's ``function`` (as decoded from the request) as v0.5.1 does."""
    instance: dict[str, Any] = {
        "name": function.get("name", ""),
        "description": function.get("description", ""),
    }
    if function.get("parameters"):  # Go's omitempty drops a missing or empty map
        instance["parameters"] = function["parameters"]
    leaves = list(_leaves(_validator().iter_errors(instance)))
    if not leaves:
        return
    error, location, _ = min(leaves, key=lambda leaf: leaf[2])
    where = _quote("".join("/" + _escape(str(step)) for step in error.absolute_path))
    raise ToolSchemaError(
        f"jsonschema: {where} does not validate with {SCHEMA_URL}#{location}: {_message(error)}"
    )


def _leaves(
    errors: Iterable[ValidationError],
) -> Iterator[tuple[ValidationError, str, tuple[int, ...]]]:
    """Each error the Go library could report (anyOf's are the ones of its branches), with its
    keyword location and its rank in the library's checking order."""
    for error in errors:
        if error.validator == "anyOf":
            yield from _leaves(error.context or ())
            continue
        location, rank = _locate(list(error.absolute_schema_path))
        yield error, location, rank


def _locate(path: list[Any]) -> tuple[str, tuple[int, ...]]:
    """The Go keyword location of a schema path (it names each ``$ref`` followed, which
    Python's path leaves out) and the path's rank in Go's checking order."""
    node: Any = SCHEMA
    steps: list[str] = []
    rank: list[int] = []
    expect = "keyword"
    for step in path:
        if expect == "name":
            rank.append(list(node).index(step))
        elif expect == "index":
            rank.append(step)
        else:
            while step not in node and "$ref" in node:
                steps.append("$ref")
                rank.append(_KEYWORD_ORDER.index("$ref"))
                node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
            rank.append(_KEYWORD_ORDER.index(step))
        expect = (
            "name" if expect == "keyword" and step in _NAMED
            else "index" if expect == "keyword" and step in _INDEXED
            else "keyword"
        )  # fmt: skip
        steps.append(str(step))
        node = node[step]
    return "/" + "/".join(steps), tuple(rank)


def _message(error: ValidationError) -> str:
    """The Go library's wording for the failing keyword."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(kinds)}, but got {_json_type(instance)}"
    if keyword == "enum":
        return f"value must be one of {', '.join(json.dumps(item) for item in expected)}"
    if keyword == "required":
        missing = [_quote(name) for name in expected if name not in instance]
        return f"missing properties: {', '.join(missing)}"
    if keyword == "additionalProperties":
        extra = [_quote(name) for name in instance if name not in error.schema["properties"]]
        return f"additionalProperties {', '.join(extra)} not allowed"
    if keyword == "minimum":
        return f"must be >= {_go_number(expected)} but found {_go_number(instance)}"
    return f"{keyword} failed"  # "not failed": the only other keyword that can fail here


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _go_number(value: float) -> str:
    """A number as Go's %v prints a float64."""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e21 else repr(number)


def _quote(text: str) -> str:
    """The Go library's single-quoted string."""
    inner = json.dumps(text, ensure_ascii=False)[1:-1]
    return "'" + inner.replace('\\"', '"').replace("'", "\\'") + "'"


def _escape(step: str) -> str:
    """A JSON pointer step."""
    return step.replace("~", "~0").replace("/", "~1")
