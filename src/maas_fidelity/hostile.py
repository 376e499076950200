"""Hostile HTTP requests for every endpoint of the stack: a fixed corpus and Hypothesis strategies.

Hand-picked cases miss things (a JSON number of 5,000 digits once crashed maas-api's body
decoder), so one vocabulary of hostile inputs feeds two things: a fixed, deterministic corpus of
`HostileCase`s per component (the regressions among them, cheap to replay against any
implementation) and Hypothesis strategies that combine the same pieces in new ways. Both are plain
data (method, path, headers, body bytes), so a differential harness can play them against the
upstream services and the embedded stack alike.

Bodies are bytes on purpose: invalid UTF-8, NaN, duplicate keys and 5,000-digit numbers cannot be
written through a JSON library. Paths are sent as they are written (percent-encoded, no dot
segments, which HTTP clients normalise away).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hypothesis import strategies as st

Headers = tuple[tuple[str, bytes], ...]

JSON_TYPE: Headers = (("content-type", b"application/json"),)

# maas-api (e38c15ed), as the pod serves them (the gateway adds its `/maas-api` prefix).
TOKENS = "/v1/tokens"
MODELS = "/v1/models"
INFERENCE_SERVICES = "/models"
TIER_LOOKUP = "/v1/tiers/lookup"
# llm-d-inference-sim (v0.5.1).
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
# kube-apiserver: the identity endpoints MaaS relies on.
TOKEN_REQUEST = "/api/v1/namespaces/{namespace}/serviceaccounts/{serviceaccount}/token"
TOKEN_REVIEW = "/apis/authentication.k8s.io/v1/tokenreviews"
OIDC_DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/openid/v1/jwks"


@dataclass(frozen=True)
class HostileCase:
    """One request. `credential`: the harness adds a valid `Authorization: Bearer` of its own
    (a cluster identity for maas-api, a MaaS token for a model, an admin for the API server);
    without it, only the `headers` given here are sent."""

    name: str
    method: str
    path: str
    body: bytes = b""
    headers: Headers = JSON_TYPE
    credential: bool = True
    field: str = ""
    """The body field holding the hostile value, when only one does (dotted for nested ones)."""
    note: str = ""
    """Why the case is here when it is a regression: what it once did."""


# --------------------------------------------------------------------------- shared vocabulary

MALFORMED_BODIES: tuple[tuple[str, bytes], ...] = (
    ("empty", b""),
    ("whitespace", b" \t\r\n"),
    ("null", b"null"),
    ("array", b"[]"),
    ("string", b'"x"'),
    ("number", b"1"),
    ("true", b"true"),
    ("open-brace", b"{"),
    ("cut-after-colon", b'{"a":'),
    ("cut-in-string", b'{"a":"bc'),
    ("cut-in-escape", b'{"a":"\\u12'),
    ("trailing-comma", b'{"a":1,}'),
    ("single-quotes", b"{'a':'b'}"),
    ("unquoted-key", b"{a:1}"),
    ("comment", b"/*c*/{}"),
    ("trailing-garbage", b"{} trailing"),
    ("two-documents", b"{}{}"),
    ("bom", b"\xef\xbb\xbf{}"),
    ("utf16", "{}".encode("utf-16")),
    ("utf32", "{}".encode("utf-32")),
    ("invalid-utf8", b"\xff\xfe\xfd"),
    ("nul-byte", b"\x00"),
    ("bare-nan", b"NaN"),
    ("bare-minus-infinity", b"-Infinity"),
    ("number-5000-digits", b"9" * 5000),
    ("deep-arrays", b"[" * 100_000 + b"]" * 100_000),
    ("deep-objects", b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
    ("deep-unclosed", b"[" * 100_000),
    ("huge-whitespace", b" " * 2_000_000 + b"{}"),
    ("many-keys", b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(20_000)) + b"}"),
    ("long-key", b'{"' + b"k" * 1_000_000 + b'":1}'),
    ("nul-in-key", b'{"\\u0000":1}'),
)
"""Bodies that no JSON endpoint can take as its request: every one must be a clean 4xx."""

HOSTILE_VALUES: tuple[tuple[str, bytes], ...] = (
    ("null", b"null"),
    ("true", b"true"),
    ("false", b"false"),
    ("zero", b"0"),
    ("negative-zero", b"-0"),
    ("minus-one", b"-1"),
    ("float", b"1.5"),
    ("exponent", b"1e3"),
    ("big-exponent", b"1e400"),
    ("tiny-exponent", b"1e-400"),
    ("huge-exponent", b"1e99999999999999999999"),
    ("int32-overflow", b"2147483648"),
    ("uint32-overflow", b"4294967297"),
    ("int64-max", b"9223372036854775807"),
    ("int64-overflow", b"9223372036854775808"),
    ("uint64-overflow", b"18446744073709551616"),
    ("digits-5000", b"1" + b"0" * 4999),
    ("negative-digits-5000", b"-" + b"9" * 5000),
    ("fraction-5000", b"0." + b"0" * 4999 + b"1"),
    ("nan", b"NaN"),
    ("infinity", b"Infinity"),
    ("minus-infinity", b"-Infinity"),
    ("hex", b"0x10"),
    ("leading-zero", b"012"),
    ("plus-sign", b"+1"),
    ("empty-string", b'""'),
    ("number-string", b'"10"'),
    ("long-string", b'"' + b"a" * 100_000 + b'"'),
    ("lone-surrogate", b'"\\ud800"'),
    ("reversed-surrogates", b'"\\udc00\\ud800"'),
    ("surrogate-pair", b'"\\ud83d\\ude00"'),
    ("escaped-nul", b'"\\u0000"'),
    ("raw-invalid-utf8", b'"\xff\xfe"'),
    ("utf8-surrogate", b'"\xed\xa0\x80"'),
    ("overlong-utf8", b'"\xc0\xaf"'),
    ("raw-control", b'"\x01"'),
    ("unicode", '"ü日本😀\u202e\u2028"'.encode()),
    ("bad-escape", b'"\\x41"'),
    ("empty-array", b"[]"),
    ("mixed-array", b'["a",1,null,{}]'),
    ("empty-object", b"{}"),
    ("nested-object", b'{"a":{"b":[{}]}}'),
    ("deep-value", b"[" * 5000 + b"]" * 5000),
)
"""JSON texts put in one field of an otherwise valid body, whatever type the field wants."""

DURATION_STRINGS: tuple[str, ...] = (
    "4h",
    "0",
    "",
    "0s",
    "0h0m0s",
    "9m59s",
    "10m",
    "1.5h",
    "1h30m45s",
    ".5h",
    "1.h",
    "1d",
    "-1h",
    "+1h",
    " 1h",
    "1h ",
    "1H",
    "4h\n",
    "1h\x00",
    "\uff11h",
    "\u0661h",
    "1µs",
    "1ms",
    "1e3s",
    "4294967296s",
    "4294967297s",
    "2562047h47m16.854775807s",
    "2562047h47m16.854775808s",
    "99999999999999999999h",
    "1" * 5000 + "h",
    "0." + "0" * 5000 + "1h",
    "1h" * 50_000,
    "1" * 50_000,
)
"""maas-api's `expiration` as strings: its format, Go's duration parser and their limits."""

AUTHORIZATION_VALUES: tuple[tuple[str, bytes], ...] = (
    ("bearer-alone", b"Bearer"),
    ("lowercase-scheme", b"bearer abc"),
    ("basic", b"Basic dXNlcjpwYXNz"),
    ("no-scheme", b"abc"),
    ("garbage-token", b"Bearer garbage"),
    ("double-space", b"Bearer  abc"),
    ("tab", b"Bearer\tabc"),
    ("unsigned-jwt", b"Bearer eyJhbGciOiJub25lIn0.e30."),
    ("huge-token", b"Bearer " + b"a" * 60_000),
    ("latin1-token", b"Bearer \xe9\xff"),
    ("comma-list", b"Bearer a, Bearer b"),
)
"""Credentials that are not valid: each must be a 401, never a crash."""

CONTENT_TYPES: tuple[tuple[str, bytes], ...] = (
    ("no-content-type", b""),
    ("text-plain", b"text/plain"),
    ("form", b"application/x-www-form-urlencoded"),
    ("multipart", b"multipart/form-data; boundary=x"),
    ("utf16-charset", b"application/json; charset=utf-16"),
    ("garbage-type", b"\xff;;=;"),
)
"""Content types that do not match a JSON body (or name none)."""

HOSTILE_QUERIES: tuple[tuple[str, str], ...] = (
    ("invalid-percent", "?x=%zz"),
    ("invalid-utf8", "?x=%ff%fe"),
    ("encoded-nul", "?x=%00"),
    ("repeated", "?limit=1&limit=2&limit=x"),
    ("long", "?x=" + "a" * 6000),
    ("many", "?" + "&".join(f"k{i}=v" for i in range(2000))),
    ("bare", "?&&=&=="),
)


def _object(*members: tuple[bytes, bytes]) -> bytes:
    """A JSON object written member by member, so duplicate keys and raw values survive."""
    return b"{" + b",".join(b"%s:%s" % pair for pair in members) + b"}"


def _string(text: str) -> bytes:
    return json.dumps(text).encode()


def _with_content_type(value: bytes) -> Headers:
    """JSON_TYPE's content type replaced by `value` (none at all for b"")."""
    return (("content-type", value),) if value else ()


def _bodies(
    method: str, path: str, prefix: str, named: Iterable[tuple[str, bytes]]
) -> list[HostileCase]:
    return [HostileCase(f"{prefix}-{name}", method, path, body) for name, body in named]


def _field_cases(
    method: str, path: str, prefix: str, field: str, wrap: Callable[[bytes], bytes]
) -> list[HostileCase]:
    """One case per hostile value in `field`; `wrap` puts the value into a valid body."""
    return [
        HostileCase(f"{prefix}-{field}-{name}", method, path, wrap(value), field=field)
        for name, value in HOSTILE_VALUES
    ]


def _content_type_cases(method: str, path: str, prefix: str, body: bytes) -> list[HostileCase]:
    return [
        HostileCase(f"{prefix}-{name}", method, path, body, _with_content_type(ct))
        for name, ct in CONTENT_TYPES
    ]


def _authorization_cases(method: str, path: str, prefix: str, body: bytes) -> list[HostileCase]:
    cases = [
        HostileCase(
            f"{prefix}-{name}", method, path, body, (*JSON_TYPE, ("authorization", v)), False
        )
        for name, v in AUTHORIZATION_VALUES
    ]
    cases.append(HostileCase(f"{prefix}-no-credential", method, path, body, credential=False))
    two = (*JSON_TYPE, ("authorization", b"Bearer a"), ("authorization", b"Bearer b"))
    cases.append(HostileCase(f"{prefix}-two-headers", method, path, body, two, False))
    return cases


def _query_cases(method: str, path: str, prefix: str) -> list[HostileCase]:
    return [HostileCase(f"{prefix}-query-{n}", method, path + q) for n, q in HOSTILE_QUERIES]


# --------------------------------------------------------------------------- fixed corpus


def maas_api_cases() -> tuple[HostileCase, ...]:
    """maas-api's endpoints (tokens, both model lists, tier lookup), and methods and paths next
    to them."""
    cases: list[HostileCase] = []
    expiration = b'"expiration"'
    cases += _bodies("POST", TOKENS, "tokens", MALFORMED_BODIES)
    cases += _field_cases(
        "POST", TOKENS, "tokens", "expiration", lambda v: _object((expiration, v))
    )
    cases += [
        HostileCase(f"tokens-duration-{i}", "POST", TOKENS, _object((expiration, _string(text))))
        for i, text in enumerate(DURATION_STRINGS)
    ]
    cases += [
        HostileCase(
            "tokens-duplicate-zero-last", "POST", TOKENS, b'{"expiration":"1h","expiration":"0"}'
        ),
        HostileCase(
            "tokens-duplicate-zero-first", "POST", TOKENS, b'{"expiration":"0","expiration":"1h"}'
        ),
        HostileCase(
            "tokens-duplicate-null-last", "POST", TOKENS, b'{"expiration":"1h","expiration":null}'
        ),
        HostileCase("tokens-folded-keys", "POST", TOKENS, b'{"EXPIRATION":"1h","Expiration":"2h"}'),
        HostileCase(
            "tokens-unknown-deep", "POST", TOKENS, b'{"other":' + b"[" * 9000 + b"]" * 9000 + b"}"
        ),
        HostileCase("tokens-unknown-nan", "POST", TOKENS, b'{"other":NaN,"expiration":"1h"}'),
        HostileCase(
            "tokens-regression-5000-digit-expiration",
            "POST",
            TOKENS,
            b'{"expiration":' + b"1" * 5000 + b"}",
            note="regression: Python's int() refuses more than 4,300 digits; was a 500",
        ),
    ]
    cases += _content_type_cases("POST", TOKENS, "tokens", b'{"expiration":"1h"}')
    cases += _authorization_cases("POST", TOKENS, "tokens", b'{"expiration":"1h"}')
    cases += _bodies("DELETE", TOKENS, "revoke", MALFORMED_BODIES[:8])
    cases += _authorization_cases("DELETE", TOKENS, "revoke", b"")
    cases += _query_cases("GET", MODELS, "models")
    cases += _query_cases("GET", INFERENCE_SERVICES, "inference-services")
    cases += [
        HostileCase("models-with-body", "GET", MODELS, b'{"a":' * 1000 + b"}" * 1000),
        HostileCase("models-no-credential", "GET", MODELS, credential=False),
        HostileCase(
            "models-garbage-credential",
            "GET",
            MODELS,
            b"",
            (("authorization", b"Bearer x"),),
            False,
        ),
    ]
    groups = b'"groups"'
    cases += _bodies("POST", TIER_LOOKUP, "lookup", MALFORMED_BODIES)
    cases += _field_cases("POST", TIER_LOOKUP, "lookup", "groups", lambda v: _object((groups, v)))
    cases += _field_cases(
        "POST", TIER_LOOKUP, "lookup", "group", lambda v: _object((groups, b"[%s]" % v))
    )
    cases += [
        HostileCase("lookup-known-group", "POST", TIER_LOOKUP, b'{"groups":["tier-free-users"]}'),
        HostileCase("lookup-unknown-groups", "POST", TIER_LOOKUP, b'{"groups":["a","b"]}'),
        HostileCase("lookup-null-item", "POST", TIER_LOOKUP, b'{"groups":[null]}'),
        HostileCase(
            "lookup-many-groups",
            "POST",
            TIER_LOOKUP,
            b'{"groups":[' + b",".join([b'"g"'] * 100_000) + b"]}",
        ),
        HostileCase(
            "lookup-duplicate-empty-last", "POST", TIER_LOOKUP, b'{"groups":["a"],"groups":[]}'
        ),
        HostileCase("lookup-long-s-key", "POST", TIER_LOOKUP, '{"group\u017f":["a"]}'.encode()),
        HostileCase("lookup-upper-key", "POST", TIER_LOOKUP, b'{"GROUPS":["a"]}'),
    ]
    cases += _content_type_cases("POST", TIER_LOOKUP, "lookup", b'{"groups":["a"]}')
    for method, path in [
        ("GET", TOKENS),
        ("PUT", TOKENS),
        ("PATCH", TOKENS),
        ("POST", MODELS),
        ("DELETE", MODELS),
        ("GET", TIER_LOOKUP),
        ("OPTIONS", TOKENS),
        ("POST", TOKENS + "/"),
        ("POST", "/" + TOKENS),
        ("POST", TOKENS + "%2F"),
        ("POST", TOKENS.upper()),
        ("GET", "/v1/%2e%2e/health"),
        ("GET", "/" + "a" * 6000),
        ("GET", "/%ff%fe"),
        ("BREW", TOKENS),
    ]:
        cases.append(
            HostileCase(f"route-{method}-{path[:40]}", method, path, b'{"expiration":"1h"}')
        )
    return _unique(cases)


def simulator_cases(model: str) -> tuple[HostileCase, ...]:
    """The model server's completion endpoints and model list, for a server of `model`."""
    name, msgs = b'"model"', b'"messages"'
    served = _string(model)
    one_message = b'[{"role":"user","content":"hi"}]'
    cases: list[HostileCase] = []
    for path, prefix in [(CHAT, "chat"), (COMPLETIONS, "text")]:
        cases += _bodies("POST", path, prefix, MALFORMED_BODIES)
        base = (name, served), (msgs, one_message) if path == CHAT else (b'"prompt"', b'"hi"')
        fields = ["model", "max_tokens", "stream", "stream_options", "ignore_eos", "n", "stop"]
        chat_fields = ["messages", "max_completion_tokens", "tools", "tool_choice"]
        fields += chat_fields if path == CHAT else ["prompt"]
        for field in fields:
            key = _string(field)
            kept = tuple(m for m in base if m[0] != key)
            cases += _field_cases(
                "POST", path, prefix, field, lambda v, kept=kept, key=key: _object(*kept, (key, v))
            )
        cases += _field_cases(
            "POST",
            path,
            prefix,
            "stream_options.include_usage",
            lambda v, base=base: _object(
                *base,
                (b'"stream"', b"true"),
                (b'"stream_options"', _object((b'"include_usage"', v))),
            ),
        )
        cases += _content_type_cases("POST", path, prefix, _object(*base))
        cases += [
            HostileCase(
                f"{prefix}-duplicate-model", "POST", path, _object((name, b'"other"'), *base)
            ),
            HostileCase(
                f"{prefix}-limit-fills-context",
                "POST",
                path,
                _object(*base, (b'"max_tokens"', b"1023")),
            ),
            HostileCase(
                f"{prefix}-stream-bounded",
                "POST",
                path,
                _object(*base, (b'"stream"', b"true"), (b'"max_tokens"', b"3")),
            ),
            HostileCase(
                f"{prefix}-ignore-eos-unbounded",
                "POST",
                path,
                _object(*base, (b'"ignore_eos"', b"true")),
            ),
        ]
    for field in ["role", "content"]:
        cases += _field_cases(
            "POST",
            CHAT,
            "chat-message",
            field,
            lambda v, field=field: _object(
                (name, served), (msgs, b'[{"%s":%s}]' % (field.encode(), v))
            ),
        )
    cases += _tool_cases(_object((name, served), (msgs, one_message)))
    cases += [
        HostileCase(
            "chat-regression-surrogate-model",
            "POST",
            CHAT,
            _object((name, b'"\\ud800"'), (msgs, one_message)),
            note="regression: the 404 naming a lone-surrogate model could not be encoded; a 500",
        ),
        HostileCase("chat-message-item", "POST", CHAT, _object((name, served), (msgs, b"[1]"))),
        HostileCase(
            "chat-content-parts",
            "POST",
            CHAT,
            _object(
                (name, served), (msgs, b'[{"role":"user","content":[{"type":"text","text":1}]}]')
            ),
        ),
        HostileCase(
            "chat-many-messages",
            "POST",
            CHAT,
            _object(
                (name, served),
                (msgs, b"[" + b",".join([b'{"role":"user","content":"a"}'] * 20_000) + b"]"),
            ),
        ),
        HostileCase(
            "chat-long-content",
            "POST",
            CHAT,
            _object(
                (name, served), (msgs, b'[{"role":"user","content":"' + b"word " * 200_000 + b'"}]')
            ),
        ),
        HostileCase(
            "text-prompt-list",
            "POST",
            COMPLETIONS,
            _object((name, served), (b'"prompt"', b'["a",["b"],1]')),
        ),
        HostileCase(
            "text-prompt-token-ids",
            "POST",
            COMPLETIONS,
            _object((name, served), (b'"prompt"', b"[1,2,3]")),
        ),
    ]
    cases += _query_cases("GET", MODELS, "models")
    cases += [HostileCase("models-with-body", "GET", MODELS, b"\xff" * 100)]
    for method, path in [
        ("GET", CHAT),
        ("PUT", COMPLETIONS),
        ("POST", MODELS),
        ("POST", CHAT + "/"),
        ("POST", "/v1/chat/%63ompletions"),
        ("GET", "/" + "a" * 6000),
    ]:
        cases.append(
            HostileCase(f"route-{method}-{path[:40]}", method, path, _object((name, served)))
        )
    return _unique(cases)


_PARAMETERS = b'{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}'
_SCHEMAS: tuple[tuple[str, bytes], ...] = (
    ("huge-array", b'{"type":"array","items":{"type":"string"},"minItems":100000000}'),
    ("min-over-max", b'{"type":"array","items":{"type":"string"},"minItems":5,"maxItems":1}'),
    ("negative-items", b'{"type":"array","items":{"type":"string"},"maxItems":-1}'),
    ("fractional-items", b'{"type":"array","items":{"type":"string"},"maxItems":1.5}'),
    ("items-list", b'{"type":"array","items":[{"type":"string"},{"type":"number"}]}'),
    ("no-items", b'{"type":"array"}'),
    ("empty-enum", b'{"type":"string","enum":[]}'),
    ("mixed-enum", b'{"type":"string","enum":[1,true,"a",1.5]}'),
    ("null-type", b'{"type":"null"}'),
    ("unknown-type", b'{"type":"tuple"}'),
    ("type-list", b'{"type":["string","null"]}'),
    ("no-type", b"{}"),
    ("ref", b'{"$ref":"#"}'),
    ("required-absent", b'{"type":"object","properties":{},"required":["x"]}'),
    ("extra-keyword", b'{"type":"object","format":"date","pattern":"("}'),
    (
        "deep-properties",
        b'{"type":"object","properties":{"p":' * 300 + b'{"type":"string"}' + b"}}" * 300,
    ),
    ("deep-items", b'{"type":"array","items":' * 300 + b'{"type":"string"}' + b"}" * 300),
    ("huge-numbers", b'{"type":"integer","minimum":1e308,"maximum":-1e308}'),
)
"""Tool parameter schemas at the edge of what v0.5.1's meta-schema admits, and past it."""


def _tool_cases(chat: bytes) -> list[HostileCase]:
    """Chat requests with tools: hostile function definitions, schemas and tool choices."""

    def with_tool(schema: bytes, choice: bytes = b'"required"', **function: bytes) -> bytes:
        fields = {"name": b'"get_weather"', "description": b'"d"', "parameters": schema}
        fields |= function
        tool = _object(
            (b'"type"', b'"function"'),
            (b'"function"', _object(*((_string(k), v) for k, v in fields.items()))),
        )
        return chat[:-1] + b',"tools":[%s],"tool_choice":%s}' % (tool, choice)

    cases = [
        HostileCase(f"chat-tool-schema-{label}", "POST", CHAT, with_tool(schema))
        for label, schema in _SCHEMAS
    ]
    cases += [
        HostileCase(
            "chat-tool-parameters-700-deep",
            "POST",
            CHAT,
            with_tool(b'{"x":' + b"[" * 700 + b"]" * 700 + b"}"),
            note="regression: Python's recursion ran out decoding it; was a 500 (Go: 400)",
        ),
        HostileCase(
            "chat-tool-schema-200-levels",
            "POST",
            CHAT,
            with_tool(
                b'{"type":"object","properties":{"p":' * 200 + b'{"type":"string"}' + b"}}" * 200
            ),
            note="regression: Python's recursion ran out validating it; was a 500",
        ),
    ]
    for field in ["name", "description", "parameters"]:
        cases += _field_cases(
            "POST",
            CHAT,
            "chat-tool",
            field,
            lambda v, field=field: with_tool(_PARAMETERS, **{field: v}),
        )
    cases += _field_cases(
        "POST", CHAT, "chat-tool", "choice", lambda v: with_tool(_PARAMETERS, choice=v)
    )
    calls = b'[{"role":"assistant","tool_calls":%s},{"role":"user","content":"hi"}]'
    cases += _field_cases(
        "POST",
        CHAT,
        "chat-tool",
        "calls",
        lambda v: chat.replace(b'[{"role":"user","content":"hi"}]', calls % v),
    )
    return cases


def identity_cases(namespace: str, serviceaccount: str) -> tuple[HostileCase, ...]:
    """TokenRequest for the existing account `namespace`/`serviceaccount`, TokenReview, and the
    issuer's OIDC discovery and JWKS."""
    token_request = TOKEN_REQUEST.format(namespace=namespace, serviceaccount=serviceaccount)
    spec = b'"spec"'
    cases: list[HostileCase] = []
    cases += _bodies("POST", token_request, "token-request", MALFORMED_BODIES)
    cases += _field_cases(
        "POST", token_request, "token-request", "spec", lambda v: _object((spec, v))
    )
    for field in ["expirationSeconds", "audiences", "boundObjectRef"]:
        cases += _field_cases(
            "POST",
            token_request,
            "token-request",
            field,
            lambda v, field=field: _object((spec, _object((_string(field), v)))),
        )
    cases += _field_cases(
        "POST",
        token_request,
        "token-request",
        "audience",
        lambda v: _object((spec, _object((b'"audiences"', b"[%s]" % v)))),
    )
    for label, ns, sa in [
        ("unknown-namespace", "no-such-namespace", serviceaccount),
        ("unknown-account", namespace, "no-such-account"),
        ("long-names", "n" * 5000, "s" * 5000),
        ("percent-encoded", "%2e%2e", "%2F"),
        ("invalid-utf8", "%ff%fe", "%c0%af"),
        ("encoded-nul", namespace, serviceaccount + "%00"),
        ("unicode", "%C3%BC", "%F0%9F%98%80"),
    ]:
        path = TOKEN_REQUEST.format(namespace=ns, serviceaccount=sa)
        cases.append(HostileCase(f"token-request-path-{label}", "POST", path, b'{"spec":{}}'))
    cases += [
        HostileCase("token-request-get", "GET", token_request),
        HostileCase("token-request-put", "PUT", token_request, b'{"spec":{}}'),
        HostileCase(
            "token-request-wrong-kind",
            "POST",
            token_request,
            b'{"kind":1,"apiVersion":[],"spec":{}}',
        ),
    ]
    cases += _content_type_cases("POST", token_request, "token-request", b'{"spec":{}}')
    cases += _bodies("POST", TOKEN_REVIEW, "token-review", MALFORMED_BODIES)
    cases += _field_cases(
        "POST", TOKEN_REVIEW, "token-review", "spec", lambda v: _object((spec, v))
    )
    for field in ["token", "audiences"]:
        cases += _field_cases(
            "POST",
            TOKEN_REVIEW,
            "token-review",
            field,
            lambda v, field=field: _object((spec, _object((_string(field), v)))),
        )
    cases += [
        HostileCase(
            f"token-review-jwt-{label}",
            "POST",
            TOKEN_REVIEW,
            _object((spec, _object((b'"token"', _string(token))))),
        )
        for label, token in HOSTILE_JWTS
    ]
    cases += _content_type_cases("POST", TOKEN_REVIEW, "token-review", b'{"spec":{"token":"x"}}')
    for path, prefix in [(OIDC_DISCOVERY, "discovery"), (JWKS, "jwks")]:
        cases += _query_cases("GET", path, prefix)
        cases += [
            HostileCase(f"{prefix}-{method}", method, path, b"{}")
            for method in ["POST", "PUT", "DELETE", "PATCH"]
        ]
        cases.append(HostileCase(f"{prefix}-with-body", "GET", path, b"\xff" * 100))
        cases.append(HostileCase(f"{prefix}-no-credential", "GET", path, credential=False))
    return _unique(cases)


def _jwt(header: bytes, payload: bytes, signature: bytes = b"c2ln") -> str:
    def encode(part: bytes) -> bytes:
        return base64.urlsafe_b64encode(part).rstrip(b"=")

    return (encode(header) + b"." + encode(payload) + b"." + signature).decode()


HOSTILE_JWTS: tuple[tuple[str, str], ...] = (
    ("alg-none", _jwt(b'{"alg":"none"}', b'{"sub":"x"}', b"")),
    ("header-not-json", _jwt(b"\xff", b"{}")),
    ("header-array", _jwt(b"[]", b"{}")),
    ("alg-object", _jwt(b'{"alg":{}}', b"{}")),
    ("kid-number", _jwt(b'{"alg":"RS256","kid":1}', b"{}")),
    ("crit-header", _jwt(b'{"alg":"RS256","crit":["x"]}', b"{}")),
    ("b64-false", _jwt(b'{"alg":"RS256","b64":false}', b"{}")),
    ("payload-array", _jwt(b'{"alg":"RS256"}', b"[]")),
    ("payload-huge-exp", _jwt(b'{"alg":"RS256"}', b'{"exp":1' + b"0" * 5000 + b"}")),
    ("hs256", _jwt(b'{"alg":"HS256"}', b'{"sub":"x"}')),
    ("empty-segments", ".."),
    ("two-segments", "a.b"),
    ("many-dots", "." * 10_000),
    ("bad-base64", "!!!.@@@.###"),
    ("padded", "eyJhbGciOiJSUzI1NiJ9==.e30==.c2ln=="),
    ("huge", "a" * 1_000_000),
)
"""Bearer tokens that look like JWTs to a parser and are not valid ServiceAccount tokens."""


def _unique(cases: list[HostileCase]) -> tuple[HostileCase, ...]:
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"hostile case names must be unique, repeated: {duplicates}")
    return tuple(cases)


# --------------------------------------------------------------------------- strategies

_ESCAPES = (
    rb"\ud800",
    rb"\udfff",
    rb"\udc00\ud800",
    rb"\ud83d\ude00",
    rb"\u0000",
    rb"\u00e9",
    rb"\n",
    rb"\/",
    rb"\"",
    rb"\\",
)
_RAW_BYTES = (
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\x80",
    b"\x7f",
    "é".encode(),
    "😀".encode(),
    "\u2028".encode(),
    "\u202e".encode(),
)


def json_numbers() -> st.SearchStrategy[bytes]:
    """Numbers in every JSON spelling and well past every machine type's range."""
    digits = st.integers(1, 6000).map(lambda n: b"9" * n)
    exponent = st.tuples(
        st.integers(-(10**6), 10**6), st.sampled_from([b"e", b"E"]), st.integers(-9999, 9999)
    ).map(lambda t: b"%d%s%d" % t)
    return st.one_of(
        st.integers().map(lambda n: str(n).encode()),
        st.integers(-(2**70), 2**70).map(lambda n: str(n).encode()),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: json.dumps(f).encode()),
        digits,
        digits.map(lambda d: b"-" + d),
        digits.map(lambda d: b"0." + d),
        exponent,
    )


def json_strings() -> st.SearchStrategy[bytes]:
    """Quoted strings: any text, hostile escapes and raw bytes that are not UTF-8."""
    pieces = st.one_of(
        st.sampled_from(_ESCAPES),
        st.sampled_from(_RAW_BYTES),
        st.text(max_size=8).map(lambda t: json.dumps(t, ensure_ascii=False)[1:-1].encode()),
    )
    return st.one_of(
        st.text(max_size=40).map(lambda t: json.dumps(t, ensure_ascii=False).encode()),
        st.lists(pieces, max_size=8).map(lambda parts: b'"' + b"".join(parts) + b'"'),
        st.integers(1000, 100_000).map(lambda n: b'"' + b"a" * n + b'"'),
    )


def json_scalars() -> st.SearchStrategy[bytes]:
    literals = st.sampled_from([b"null", b"true", b"false", b"NaN", b"Infinity", b"-Infinity"])
    return st.one_of(literals, json_numbers(), json_strings())


def json_values(keys: Iterable[str] = ()) -> st.SearchStrategy[bytes]:
    """JSON-ish documents: nested arrays and objects (duplicate keys kept) over hostile scalars;
    object keys are drawn from `keys` as often as from arbitrary text, so fields get hit."""
    key = st.one_of(st.sampled_from(sorted(keys) or ["k"]).map(_string), json_strings())

    def containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        return st.one_of(
            st.lists(children, max_size=4).map(lambda items: b"[" + b",".join(items) + b"]"),
            st.lists(st.tuples(key, children), max_size=4).map(lambda m: _object(*m)),
        )

    deep = st.integers(1, 20_000).map(lambda d: b"[" * d + b"]" * d)
    return st.one_of(st.recursive(json_scalars(), containers, max_leaves=10), deep)


def mutated(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A document cut short, or with a byte replaced, inserted or removed."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        doc = draw(documents)
        at = draw(st.integers(0, len(doc)))
        byte = bytes([draw(st.integers(0, 255))])
        how = draw(st.sampled_from(["cut", "replace", "insert", "remove"]))
        if how == "cut":
            return doc[:at]
        if how == "insert":
            return doc[:at] + byte + doc[at:]
        if how == "replace":
            return doc[:at] + byte + doc[at + 1 :]
        return doc[:at] + doc[at + 1 :]

    return mutate()


def objects_with(fields: dict[str, st.SearchStrategy[bytes]]) -> st.SearchStrategy[bytes]:
    """Objects made of some of `fields` (each with its own value strategy, in any order, maybe
    twice, in any letter case) and the odd unknown member."""
    names = sorted(fields)
    member = st.sampled_from(names).flatmap(
        lambda n: st.tuples(st.sampled_from([n, n.upper(), n.capitalize()]).map(_string), fields[n])
    )
    unknown = st.tuples(json_strings(), json_scalars())
    return st.lists(st.one_of(member, member, unknown), max_size=len(names) + 2).map(
        lambda members: _object(*members)
    )


def hostile_bodies(
    fields: dict[str, st.SearchStrategy[bytes]],
) -> st.SearchStrategy[bytes]:
    """Bodies for a JSON endpoint taking `fields`: mostly near-valid objects, then mutations of
    them, arbitrary JSON, raw bytes and the fixed malformed bodies."""
    near_valid = objects_with(fields)
    return st.one_of(
        near_valid,
        near_valid,
        mutated(near_valid),
        json_values(fields),
        st.binary(max_size=64),
        st.sampled_from([body for _, body in MALFORMED_BODIES]),
    )


def any_json_value(keys: Iterable[str] = ()) -> st.SearchStrategy[bytes]:
    """A field value of any JSON type (or none that JSON allows)."""
    return st.one_of(json_values(keys), st.sampled_from([v for _, v in HOSTILE_VALUES]))


def duration_strings() -> st.SearchStrategy[bytes]:
    """`expiration` strings built from duration parts: digits, fractions, units real and not,
    signs and spaces, quoted as JSON."""
    number = st.one_of(
        st.integers(0, 10**25).map(str),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**25)).map(lambda t: f"{t[0]}.{t[1]}"),
        st.sampled_from([".5", "1.", "", "\u0661", "\uff11"]),
    )
    unit = st.sampled_from(["h", "m", "s", "ms", "us", "µs", "ns", "d", "H", "", " ", "x"])
    part = st.tuples(number, unit).map("".join)
    sign = st.sampled_from(["", "-", "+", " "])
    return st.one_of(
        st.tuples(sign, st.lists(part, min_size=1, max_size=5).map("".join), sign).map(
            lambda t: _string("".join(t))
        ),
        st.sampled_from(DURATION_STRINGS).map(_string),
    )


def expirations() -> st.SearchStrategy[bytes]:
    """maas-api's `expiration` values: duration strings, numbers, and everything else."""
    return st.one_of(duration_strings(), json_numbers(), any_json_value())


def token_bodies() -> st.SearchStrategy[bytes]:
    """POST /v1/tokens bodies of maas-api."""
    return hostile_bodies({"expiration": expirations()})


def group_lists() -> st.SearchStrategy[bytes]:
    group = st.one_of(
        st.sampled_from([b'"tier-free-users"', b'"tier-premium-users"', b"null", b'""']),
        json_strings(),
        any_json_value(),
    )
    return st.one_of(
        st.lists(group, max_size=6).map(lambda items: b"[" + b",".join(items) + b"]"),
        any_json_value(),
    )


def tier_lookup_bodies() -> st.SearchStrategy[bytes]:
    """POST /v1/tiers/lookup bodies of maas-api."""
    return hostile_bodies({"groups": group_lists()})


def _limits() -> st.SearchStrategy[bytes]:
    return st.one_of(st.integers(-5, 1100).map(lambda n: str(n).encode()), any_json_value())


def _messages() -> st.SearchStrategy[bytes]:
    message = objects_with(
        {
            "role": st.one_of(
                st.sampled_from([b'"user"', b'"system"', b'"assistant"']), any_json_value()
            ),
            "content": st.one_of(json_strings(), any_json_value()),
        }
    )
    return st.one_of(
        st.lists(message, max_size=4).map(lambda items: b"[" + b",".join(items) + b"]"),
        any_json_value(),
    )


def _array(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


def tool_schemas() -> st.SearchStrategy[bytes]:
    """JSON schemas for tool parameters: the keywords v0.5.1 reads, nested, with hostile values."""
    types = st.sampled_from(
        [b'"object"', b'"array"', b'"string"', b'"number"', b'"integer"', b'"boolean"', b'"null"']
    )
    counts = st.one_of(st.integers(-2, 12).map(lambda n: str(n).encode()), json_numbers())

    def nested(schemas: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        properties = st.lists(st.tuples(json_strings(), schemas), max_size=3).map(
            lambda members: _object(*members)
        )
        return objects_with(
            {
                "type": st.one_of(types, types, any_json_value()),
                "properties": st.one_of(properties, any_json_value()),
                "items": st.one_of(schemas, st.lists(schemas, max_size=2).map(_array)),
                "enum": st.one_of(
                    st.lists(json_scalars(), max_size=3).map(_array), any_json_value()
                ),
                "required": st.one_of(
                    st.lists(json_strings(), max_size=3).map(_array), any_json_value()
                ),
                "minItems": counts,
                "maxItems": counts,
            }
        )

    return st.recursive(objects_with({"type": types}), nested, max_leaves=6)


def _tools() -> st.SearchStrategy[bytes]:
    function = objects_with(
        {"name": json_strings(), "description": json_strings(), "parameters": tool_schemas()}
    )
    return objects_with({"type": st.just(b'"function"'), "function": function})


def completion_bodies(model: str, *, chat: bool) -> st.SearchStrategy[bytes]:
    """Bodies for the simulator's chat (`chat=True`) or text completion endpoint of `model`."""
    served = _string(model)
    flags = st.one_of(st.sampled_from([b"true", b"false"]), any_json_value())
    fields = {
        "model": st.one_of(st.just(served), st.just(served), any_json_value()),
        "max_tokens": _limits(),
        "stream": flags,
        "stream_options": st.one_of(objects_with({"include_usage": flags}), any_json_value()),
        "ignore_eos": flags,
    }
    if chat:
        fields |= {
            "messages": _messages(),
            "max_completion_tokens": _limits(),
            "tools": st.one_of(st.lists(_tools(), max_size=3).map(_array), any_json_value()),
            "tool_choice": st.one_of(
                st.sampled_from([b'"auto"', b'"required"', b'"none"']), any_json_value()
            ),
        }
    else:
        fields["prompt"] = st.one_of(json_strings(), any_json_value())
    return hostile_bodies(fields)


def token_request_bodies() -> st.SearchStrategy[bytes]:
    """TokenRequest bodies for kube-apiserver."""
    audiences = st.one_of(
        st.lists(json_strings(), max_size=4).map(lambda items: b"[" + b",".join(items) + b"]"),
        any_json_value(),
    )
    spec = objects_with(
        {
            "expirationSeconds": st.one_of(
                st.integers(-1, 2**33).map(lambda n: str(n).encode()), any_json_value()
            ),
            "audiences": audiences,
            "boundObjectRef": any_json_value(["kind", "name", "uid", "apiVersion"]),
        }
    )
    return hostile_bodies({"spec": st.one_of(spec, any_json_value()), "kind": json_scalars()})


def bearer_tokens() -> st.SearchStrategy[str]:
    """Strings a bearer token could be: JWT-shaped from hostile parts, or anything."""
    segment = st.one_of(
        json_values(["alg", "kid", "typ", "crit", "exp", "aud", "sub", "kubernetes.io"]),
        st.binary(max_size=32),
    ).map(lambda part: base64.urlsafe_b64encode(part).rstrip(b"=").decode())
    jwt_like = st.lists(segment, min_size=1, max_size=4).map(".".join)
    return st.one_of(jwt_like, st.text(max_size=64), st.sampled_from([t for _, t in HOSTILE_JWTS]))


def token_review_bodies() -> st.SearchStrategy[bytes]:
    """TokenReview bodies for kube-apiserver."""
    token = st.one_of(bearer_tokens().map(_string), any_json_value())
    spec = objects_with({"token": token, "audiences": any_json_value()})
    return hostile_bodies({"spec": st.one_of(spec, any_json_value())})


def header_values() -> st.SearchStrategy[bytes]:
    """Values HTTP/1.1 can carry: visible ASCII and obs-text, spaces inside."""
    octet = st.one_of(st.integers(0x21, 0x7E), st.integers(0x80, 0xFF)).map(lambda b: bytes([b]))
    inner = st.lists(st.one_of(octet, st.just(b" "), st.just(b"\t")), max_size=60).map(b"".join)
    return st.tuples(octet, inner).map(lambda t: (t[0] + t[1]).rstrip(b" \t"))


def _header_safe(value: bytes) -> bytes:
    """`value` as HTTP/1.1 can carry it: control characters dropped, no space at either end."""
    kept = bytes(b for b in value if b == 0x09 or 0x20 <= b != 0x7F)
    return kept.strip(b" \t") or b"x"


def authorization_values() -> st.SearchStrategy[bytes]:
    """`Authorization` values: schemes and spacing around hostile tokens."""
    scheme = st.sampled_from([b"Bearer ", b"bearer ", b"Bearer", b"Basic ", b"", b"Bearer  "])
    token = bearer_tokens().map(lambda t: t.encode("utf-8", "replace"))
    composed = st.tuples(scheme, token).map(lambda t: _header_safe(b"".join(t)))
    return st.one_of(
        composed, header_values(), st.sampled_from([v for _, v in AUTHORIZATION_VALUES])
    )


def content_types() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([b"application/json", *(ct for _, ct in CONTENT_TYPES)]), header_values()
    )


def path_segments() -> st.SearchStrategy[str]:
    """One path segment as sent: percent-encoded bytes, encoded dots and slashes, long runs."""
    encoded = st.binary(min_size=1, max_size=6).map(lambda b: "".join(f"%{c:02x}" for c in b))
    plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_~:@!$&'()*+,;=", max_size=12)
    return st.one_of(
        plain,
        encoded,
        st.sampled_from(
            ["%2e", "%2e%2e", "%2F", "%00", "v1", "models", "tokens", "llm", "maas-api"]
        ),
        st.integers(100, 4000).map(lambda n: "a" * n),
    )


def paths(prefixes: Iterable[str] = ()) -> st.SearchStrategy[str]:
    """Request paths: a known prefix (or none) followed by hostile segments and a query."""
    prefix = st.sampled_from(["", *prefixes])
    rest = st.lists(path_segments(), max_size=5).map(lambda segs: "".join("/" + s for s in segs))
    query = st.one_of(st.just(""), st.sampled_from([q for _, q in HOSTILE_QUERIES]))
    return st.tuples(prefix, rest, query).map(lambda t: (t[0] + t[1] or "/") + t[2])


METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


def methods() -> st.SearchStrategy[str]:
    return st.sampled_from((*METHODS, "TRACE", "BREW"))
