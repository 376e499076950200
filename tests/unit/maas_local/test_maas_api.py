"""The embedded maas-api over real HTTP: called directly (its own 401 bodies) and via the gateway.

Tokens are verified independently of maas-api: signature against the apiserver's published JWKS,
validity by a TokenReview at the apiserver for the MaaS audience.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest

from maas_local.config import StackConfig, Tier
from maas_local.maas_api.app import build_app
from maas_local.maas_api.naming import tier_group, tier_namespace
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

if TYPE_CHECKING:
    from maas_local.stack import StackUrls

TOKEN_REPLY_KEYS = {"token", "expiration", "expiresAt"}
FAILED_MODELS = {"error": {"message": "Failed to retrieve LLM models", "type": "server_error"}}

# --------------------------------------------------------------------------- helpers


def _serve_maas_api(config: StackConfig, apiserver_url: str) -> Iterator[str]:
    component = Component("maas-api", bind(0))
    component.app = build_app(config, apiserver_url=apiserver_url)
    with serve_in_thread(ServerGroup([component])):
        yield component.url


def _closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _sa_name(username: str) -> str:
    """The ServiceAccount name rule, written out independently of maas-api's code."""
    readable = ""
    for char in username.lower():
        readable += char if char.isascii() and (char.isalnum() or char == "-") else "-"
    while "--" in readable:
        readable = readable.replace("--", "-")
    readable = readable.strip("-")[:54].strip("-")
    return f"{readable}-{hashlib.sha1(username.encode()).hexdigest()[:8]}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _tier_of(config: StackConfig, groups: Sequence[str]) -> Tier | None:
    """The tier rule, written out independently of maas-api's code: the highest level holding
    any of the groups, a tier also holding its namespace's ServiceAccount group."""
    holding = [
        tier
        for tier in config.tiers
        if any(g in tier.groups or g == tier_group(config.instance, tier.name) for g in groups)
    ]
    return max(holding, key=lambda tier: tier.level, default=None)


def _top_tier(config: StackConfig) -> Tier:
    """The highest tier of the configuration: a user of its first group is in it, whatever
    tier `system:authenticated` maps to."""
    return max(config.tiers, key=lambda tier: tier.level)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def audience(stack_config: StackConfig) -> str:
    return f"{stack_config.instance}-sa"


@pytest.fixture(scope="module")
def jwks(stack: StackUrls) -> jwt.PyJWKSet:
    discovery = httpx.get(f"{stack.apiserver}/.well-known/openid-configuration", timeout=10)
    return jwt.PyJWKSet.from_dict(httpx.get(discovery.json()["jwks_uri"], timeout=10).json())


@pytest.fixture
def claims(jwks: jwt.PyJWKSet, audience: str) -> Callable[[str], dict[str, Any]]:
    """The verified claims of a MaaS token (signature, audience, expiry)."""

    def decode(token: str) -> dict[str, Any]:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next(k for k in jwks.keys if kid is None or k.key_id == kid)
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience)

    return decode


@pytest.fixture
def review(stack: StackUrls, http: httpx.Client, audience: str) -> Callable[[str], dict[str, Any]]:
    """The apiserver's TokenReview status of a token for the MaaS audience (as the gateway asks)."""

    def ask(token: str) -> dict[str, Any]:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": [audience]},
        }
        resp = http.post(f"{stack.apiserver}/apis/authentication.k8s.io/v1/tokenreviews", json=body)
        assert resp.status_code == 201, f"TokenReview: expected 201, got {resp.status_code}"
        return resp.json()["status"]

    return ask


@pytest.fixture
def mint(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> Callable[..., httpx.Response]:
    """POST /v1/tokens straight at maas-api; `identity` is an `oc whoami -t` token."""

    def post(identity: str | None = None, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("json", {"expiration": "1h"})
        return http.post(
            f"{stack.maas_api}/v1/tokens", headers=_bearer(identity or user_token()), **kwargs
        )

    return post


@pytest.fixture(scope="module")
def unreachable_maas_api(stack_config: StackConfig) -> Iterator[str]:
    """A maas-api whose apiserver refuses every connection."""
    yield from _serve_maas_api(stack_config, _closed_port_url())


@pytest.fixture(scope="module")
def gold_only_maas_api(stack_config: StackConfig, stack: StackUrls) -> Iterator[str]:
    """A maas-api whose only tier holds none of an ordinary user's groups."""
    config = dataclasses.replace(stack_config, tiers=(Tier("gold", 0, ("gold-users",)),))
    yield from _serve_maas_api(config, stack.apiserver)


# --------------------------------------------------------------------------- health and routing


def test_health_is_healthy(stack: StackUrls, http: httpx.Client) -> None:
    resp = http.get(f"{stack.maas_api}/health")
    assert (resp.status_code, resp.json()) == (200, {"status": "healthy"}), resp.text


def test_unknown_path_is_404(stack: StackUrls, http: httpx.Client) -> None:
    resp = http.get(f"{stack.maas_api}/v1/nothing-here")
    assert resp.status_code == 404, f"expected 404, got {resp.status_code}"


# --------------------------------------------------------------------------- POST /v1/tokens


def test_token_reply_is_201_with_token_expiration_and_expires_at(
    mint: Callable[..., httpx.Response],
) -> None:
    resp = mint(json={"expiration": "4h"})
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text}"
    body = resp.json()
    assert set(body) == TOKEN_REPLY_KEYS, f"expected keys {TOKEN_REPLY_KEYS}, got {set(body)}"
    assert body["expiration"] == "4h0m0s", f"expected 4h0m0s, got {body['expiration']!r}"
    assert isinstance(body["expiresAt"], int), f"expiresAt must be an int: {body['expiresAt']!r}"


def test_token_claims_name_the_tier_service_account(
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
    stack_config: StackConfig,
    audience: str,
) -> None:
    tier = _top_tier(stack_config)
    username = f"Claims.User-{uuid.uuid4().hex[:6]}@Example.COM"
    token = mint(user_token(tier.groups[0], username=username)).json()["token"]
    got = claims(token)
    namespace = tier_namespace(stack_config.instance, tier.name)
    name = _sa_name(username)
    assert got["aud"] == [audience], f"expected aud [{audience}], got {got['aud']}"
    assert got["sub"] == f"system:serviceaccount:{namespace}:{name}", got["sub"]
    k8s = got["kubernetes.io"]
    assert k8s["namespace"] == namespace, f"expected namespace {namespace}, got {k8s}"
    assert k8s["serviceaccount"]["name"] == name, f"expected SA {name}, got {k8s}"
    assert k8s["serviceaccount"]["uid"], f"the SA uid claim is empty: {k8s}"


def test_token_is_minted_in_the_highest_tier_namespace(
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
    stack_config: StackConfig,
) -> None:
    """Users of each tier's first group, of every tier's first group in both orders, and with no
    group but the `system:authenticated` every user holds (when a tier holds that)."""
    firsts = [tier.groups[0] for tier in stack_config.tiers]
    cases = [[first] for first in firsts] + [firsts, firsts[::-1], []]
    wrong = {}
    for groups in cases:
        tier = _tier_of(stack_config, [*groups, "system:authenticated"])
        if tier is None:
            continue
        expected = tier_namespace(stack_config.instance, tier.name)
        namespace = claims(mint(user_token(*groups)).json()["token"])["kubernetes.io"]["namespace"]
        if namespace != expected:
            wrong[str(groups)] = f"expected {expected}, got {namespace}"
    assert not wrong, f"tokens minted in the wrong tier namespace, by the user's groups: {wrong}"


@pytest.mark.parametrize("expiration", ["", "0", 0])
def test_a_zero_expiration_is_a_zero_second_token_request_and_a_500(
    mint: Callable[..., httpx.Response], expiration: Any
) -> None:
    """Set but zero (see requested_expiration): the API server refuses a 0 s TokenRequest."""
    resp = mint(json={"expiration": expiration})
    assert (resp.status_code, resp.json()) == (500, {"error": "Failed to generate token"})


@pytest.mark.parametrize(
    ("expiration", "shown", "lifetime"),
    [
        ("4h", "4h0m0s", 14400),
        ("1h30m", "1h30m0s", 5400),
        ("1h30m45s", "1h30m45s", 5445),
        ("1.5h", "1h30m0s", 5400),
        ("10m", "10m0s", 600),
        ("600s", "10m0s", 600),
        (3630.5, "1h0m30.5s", 3630),
        (600, "10m0s", 600),
        ("1000h", "1000h0m0s", 3_600_000),
    ],
)
def test_token_lifetime_is_the_requested_expiration(
    mint: Callable[..., httpx.Response],
    claims: Callable[[str], dict[str, Any]],
    expiration: Any,
    shown: str,
    lifetime: int,
) -> None:
    resp = mint(json={"expiration": expiration})
    assert resp.status_code == 201, f"{expiration!r}: expected 201, got {resp.text}"
    body = resp.json()
    got = claims(body["token"])
    assert body["expiration"] == shown, f"{expiration!r}: expected {shown!r}, got {body}"
    assert got["exp"] - got["iat"] == lifetime, f"{expiration!r}: exp-iat {got['exp'] - got['iat']}"
    assert body["expiresAt"] == got["exp"], f"expiresAt {body['expiresAt']} != exp {got['exp']}"


@pytest.mark.parametrize(
    "content",
    [b"{}", b'{"expiration": null}', b'{"name": "ignored", "unknown": 1}', b"null"],
)
def test_missing_expiration_defaults_to_4h(
    mint: Callable[..., httpx.Response], content: bytes
) -> None:
    resp = mint(content=content, json=None)
    assert resp.status_code == 201, f"{content!r}: expected 201, got {resp.status_code} {resp.text}"
    assert resp.json()["expiration"] == "4h0m0s", f"{content!r}: {resp.json()['expiration']!r}"


def test_expiration_field_name_matches_case_insensitively_like_go(
    mint: Callable[..., httpx.Response],
) -> None:
    resp = mint(json={"Expiration": "2h"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["expiration"] == "2h0m0s", f"expected 2h0m0s, got {resp.json()}"


def test_expiration_below_10m_is_400(mint: Callable[..., httpx.Response]) -> None:
    resp = mint(json={"expiration": "9m59s"})
    expected = {"error": "token expiration must be at least 10 minutes"}
    assert (resp.status_code, resp.json()) == (400, expected), resp.text


def _not_a_duration(quoted: str) -> str:
    return (
        f"invalid duration {quoted}: must be a positive number ending in s, m, or h "
        '(e.g. "10s", "5m", "2h")'
    )


TOO_SHORT = "token expiration must be at least 10 minutes"


def _case(sent: object, error: str) -> Any:
    """A refused request and Go's words for it, named after what was sent."""
    return pytest.param(sent, error, id=repr(sent)[:40])


@pytest.mark.parametrize(
    ("expiration", "error"),
    [
        _case("30", _not_a_duration('"30"')),
        _case("1 h", _not_a_duration('"1 h"')),
        _case("-30h", _not_a_duration('"-30h"')),
        _case("4hours", _not_a_duration('"4hours"')),
        _case("1ms", _not_a_duration('"1ms"')),
        _case("1d", _not_a_duration('"1d"')),
        _case("1.5", _not_a_duration('"1.5"')),
        _case("abc", _not_a_duration('"abc"')),
        _case("1h\n", _not_a_duration('"1h\\n"')),
        _case("\u00ad", _not_a_duration('"\\u00ad"')),
        _case("9999999h", 'time: invalid duration "9999999h"'),
        _case("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
        _case(60, TOO_SHORT),
        _case(-5, TOO_SHORT),
        _case(-3600, TOO_SHORT),
        _case(1e300, TOO_SHORT),
        _case("0s", TOO_SHORT),
        _case(True, "json: cannot unmarshal bool into Go value of type Duration"),
        _case([], "json: cannot unmarshal []interface {} into Go value of type Duration"),
        _case({}, "json: cannot unmarshal map[string]interface {} into Go value of type Duration"),
    ],
)
def test_bad_expiration_is_400_in_gos_words(
    mint: Callable[..., httpx.Response], expiration: Any, error: str
) -> None:
    resp = mint(json={"expiration": expiration})
    expected = (400, {"error": error})
    assert (resp.status_code, resp.json()) == expected, f"{expiration!r}: {resp.text}"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        _case(b"", "EOF"),
        _case(b"   ", "EOF"),
        _case(b"{", "unexpected EOF"),
        _case(b'{"expiration": "4h"', "unexpected EOF"),
        _case(b"tru", "unexpected EOF"),
        _case(b"[]", "json: cannot unmarshal array into Go value of type token.Request"),
        _case(b'"4h"', "json: cannot unmarshal string into Go value of type token.Request"),
        _case(b"42", "json: cannot unmarshal number into Go value of type token.Request"),
        _case(b"true", "json: cannot unmarshal bool into Go value of type token.Request"),
        _case(b"not json", "invalid character 'o' in literal null (expecting 'u')"),
        _case(b"NaN", "invalid character 'N' looking for beginning of value"),
        _case(b"\xff\xfe", "invalid character 'ÿ' looking for beginning of value"),
        _case(b"\x80", "invalid character '\\u0080' looking for beginning of value"),
        _case(b"'", "invalid character '\\'' looking for beginning of value"),
        _case(b"{x", "invalid character 'x' looking for beginning of object key string"),
        _case(b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        _case(b'{"expiration" "4h"}', "invalid character '\"' after object key"),
        _case(b'{"expiration": ["4h" "5h"]}', "invalid character '\"' after array element"),
        _case(b'{"expiration": "4h" "5h"}', "invalid character '\"' after object key:value pair"),
        _case(b'{"expiration": "\t"}', "invalid character '\\t' in string literal"),
        _case(b'{"expiration": "\\x"}', "invalid character 'x' in string escape code"),
        _case(
            b'{"expiration": "\\u12g4"}',
            "invalid character 'g' in \\u hexadecimal character escape",
        ),
        _case(b'{"expiration": -x}', "invalid character 'x' in numeric literal"),
        _case(
            b'{"expiration": 1.e3}', "invalid character 'e' after decimal point in numeric literal"
        ),
        _case(b'{"expiration": 1e+}', "invalid character '}' in exponent of numeric literal"),
        _case(b'{"expiration": nul}', "invalid character '}' in literal null (expecting 'l')"),
        _case(b"[" * 10_001, "invalid character '[' exceeded max depth"),
        _case(
            b'{"expiration": [1, 1e400]}',
            "json: cannot unmarshal number 1e400 into Go struct field Request.expiration"
            " of type float64",
        ),
    ],
)
def test_malformed_body_is_400_in_gos_words(
    mint: Callable[..., httpx.Response], content: bytes, error: str
) -> None:
    resp = mint(content=content, json=None)
    expected = (400, {"error": error})
    assert (resp.status_code, resp.json()) == expected, f"{content[:60]!r}: {resp.text[:300]}"


def test_number_too_long_for_python_int_gets_gos_float64_error(
    mint: Callable[..., httpx.Response],
) -> None:
    """5,000 digits: past Python's int-conversion limit; Go's float64 overflows and says so."""
    digits = "1" + "0" * 4999
    resp = mint(content=b'{"expiration": ' + digits.encode() + b"}", json=None)
    expected = (
        f"json: cannot unmarshal number {digits} into Go struct field Request.expiration"
        " of type float64"
    )
    assert (resp.status_code, resp.json()) == (400, {"error": expected}), resp.text[:300]


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        (b'{"expiration": "2h", "expiration": ""}', "2h0m0s"),
        (b'{"expiration": "2h", "expiration": null}', "4h0m0s"),
        (b'{"expiration": "2h"} trailing', "2h0m0s"),
        (b'{"expiration": "2h", "expiration": 0.' + b"0" * 4990 + b"1}", "2h0m0s"),
    ],
    ids=["then-empty", "then-null", "trailing-text", "underflow-to-zero"],
)
def test_body_decodes_as_gos_decoder_does(
    mint: Callable[..., httpx.Response], content: bytes, shown: str
) -> None:
    resp = mint(content=content, json=None)
    assert resp.status_code == 201, f"{content[:60]!r}: expected 201, got {resp.text[:300]}"
    assert resp.json()["expiration"] == shown, f"{content[:60]!r}: {resp.json()}"


def test_concurrent_first_requests_of_one_user_all_succeed(
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
) -> None:
    identity = user_token("enterprise-group")
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: mint(identity), range(8)))
    statuses = [r.status_code for r in replies]
    assert statuses == [201] * 8, f"expected eight 201s, got {statuses}"
    uids = {claims(r.json()["token"])["kubernetes.io"]["serviceaccount"]["uid"] for r in replies}
    assert len(uids) == 1, f"expected one ServiceAccount for the user, got uids {uids}"


def test_tier_namespace_and_service_account_carry_the_contract_labels(
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
    stack: StackUrls,
    stack_config: StackConfig,
    http: httpx.Client,
) -> None:
    tier = _top_tier(stack_config)
    k8s = claims(mint(user_token(tier.groups[0])).json()["token"])["kubernetes.io"]
    common = {
        "app.kubernetes.io/component": "token-issuer",
        "app.kubernetes.io/part-of": "maas-api",
        "maas.opendatahub.io/instance": stack_config.instance,
        "maas.opendatahub.io/tier": tier.name,
    }
    ns_url = f"{stack.apiserver}/api/v1/namespaces/{k8s['namespace']}"
    ns_labels = http.get(ns_url).json()["metadata"]["labels"]
    sa_url = f"{ns_url}/serviceaccounts/{k8s['serviceaccount']['name']}"
    sa_labels = http.get(sa_url).json()["metadata"]["labels"]
    expected_ns = {**common, "maas.opendatahub.io/tier-namespace": "true"}
    assert ns_labels == expected_ns, f"namespace labels: expected {expected_ns}, got {ns_labels}"
    assert sa_labels == common, f"ServiceAccount labels: expected {common}, got {sa_labels}"


def test_long_username_gives_a_63_char_service_account_name(
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
) -> None:
    username = f"{uuid.uuid4().hex}.{'x' * 60}@corp.example.com"
    k8s = claims(mint(user_token(username=username)).json()["token"])["kubernetes.io"]
    name = k8s["serviceaccount"]["name"]
    assert name == _sa_name(username), f"expected {_sa_name(username)}, got {name}"
    assert len(name) <= 63, f"SA name is {len(name)} chars: {name}"


# --------------------------------------------------------------------------- 401 and 500


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authorization header required"),
        ({"Authorization": ""}, "Authorization header required"),
        (
            {"Authorization": "Basic dXNlcjpwYXNz"},
            "Invalid authorization format. Use: Authorization: Bearer <token>",
        ),
        (
            {"Authorization": "bearer sha256~abc"},
            "Invalid authorization format. Use: Authorization: Bearer <token>",
        ),
        ({"Authorization": "Bearer sha256~not-a-token"}, "not authenticated"),
        ({"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, "not authenticated"),
    ],
)
def test_bad_credentials_are_401(
    stack: StackUrls, http: httpx.Client, method: str, headers: dict[str, str], message: str
) -> None:
    resp = http.request(method, f"{stack.maas_api}/v1/tokens", headers=headers, json={})
    assert (resp.status_code, resp.json()) == (401, {"error": message}), resp.text


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_unreachable_apiserver_fails_validation_with_401(
    unreachable_maas_api: str, http: httpx.Client, method: str
) -> None:
    resp = http.request(
        method, f"{unreachable_maas_api}/v1/tokens", headers=_bearer("sha256~x"), json={}
    )
    assert (resp.status_code, resp.json()) == (401, {"error": "validation failed"}), resp.text


def test_unreachable_apiserver_fails_model_listing_with_500(
    unreachable_maas_api: str, http: httpx.Client
) -> None:
    resp = http.get(f"{unreachable_maas_api}/v1/models")
    assert (resp.status_code, resp.json()) == (500, FAILED_MODELS), resp.text


def test_tier_lookup_needs_no_apiserver(
    unreachable_maas_api: str, http: httpx.Client, stack_config: StackConfig
) -> None:
    tier = _top_tier(stack_config)
    resp = http.post(f"{unreachable_maas_api}/v1/tiers/lookup", json={"groups": [tier.groups[0]]})
    assert (resp.status_code, resp.json()) == (200, {"tier": tier.name}), resp.text


def test_groups_matching_no_tier_fail_token_generation_with_500(
    gold_only_maas_api: str, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = http.post(
        f"{gold_only_maas_api}/v1/tokens",
        headers=_bearer(user_token("premium-group")),
        json={"expiration": "1h"},
    )
    assert (resp.status_code, resp.json()) == (500, {"error": "Failed to generate token"})


def test_groups_matching_no_tier_fail_revocation_with_500(
    gold_only_maas_api: str, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = http.delete(f"{gold_only_maas_api}/v1/tokens", headers=_bearer(user_token()))
    assert (resp.status_code, resp.json()) == (500, {"error": "Failed to revoke tokens"})


# --------------------------------------------------------------------------- DELETE /v1/tokens


def test_revocation_is_204_with_empty_body(
    stack: StackUrls, http: httpx.Client, mint: Callable[..., httpx.Response], user_token: Callable
) -> None:
    identity = user_token()
    mint(identity)
    resp = http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(identity))
    assert (resp.status_code, resp.content) == (204, b""), f"{resp.status_code} {resp.content!r}"


def test_revocation_refuses_every_earlier_token(
    stack: StackUrls,
    http: httpx.Client,
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    review: Callable[[str], dict[str, Any]],
) -> None:
    identity = user_token("premium-group")
    tokens = [mint(identity).json()["token"] for _ in range(2)]
    assert all(review(t).get("authenticated", False) for t in tokens), (
        "tokens refused before revocation"
    )
    assert http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(identity)).status_code == 204
    verdicts = [review(t).get("authenticated", False) for t in tokens]
    assert verdicts == [False, False], f"expected both tokens refused, got {verdicts}"


def test_token_minted_after_revocation_is_accepted(
    stack: StackUrls,
    http: httpx.Client,
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    review: Callable[[str], dict[str, Any]],
) -> None:
    identity = user_token()
    mint(identity)
    http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(identity))
    status = review(mint(identity).json()["token"])
    assert status["authenticated"] is True, f"new token refused: {status}"


def test_revocation_leaves_other_users_tokens_valid(
    stack: StackUrls,
    http: httpx.Client,
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    review: Callable[[str], dict[str, Any]],
) -> None:
    other = mint(user_token()).json()["token"]
    revoker = user_token()
    mint(revoker)
    http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(revoker))
    status = review(other)
    assert status["authenticated"] is True, f"another user's token was refused: {status}"


def test_revocation_gives_the_service_account_a_new_uid(
    stack: StackUrls,
    http: httpx.Client,
    mint: Callable[..., httpx.Response],
    user_token: Callable[..., str],
    claims: Callable[[str], dict[str, Any]],
) -> None:
    identity = user_token()
    before = claims(mint(identity).json()["token"])["kubernetes.io"]
    http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(identity))
    sa_url = (
        f"{stack.apiserver}/api/v1/namespaces/{before['namespace']}"
        f"/serviceaccounts/{before['serviceaccount']['name']}"
    )
    resp = http.get(sa_url)
    assert resp.status_code == 200, f"ServiceAccount not re-created: {resp.text}"
    uid = resp.json()["metadata"]["uid"]
    assert uid != before["serviceaccount"]["uid"], f"uid unchanged after revocation: {uid}"


def test_revocation_without_any_token_is_204(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = http.delete(f"{stack.maas_api}/v1/tokens", headers=_bearer(user_token()))
    assert resp.status_code == 204, f"expected 204, got {resp.status_code}: {resp.text}"


# --------------------------------------------------------------------------- GET /v1/models


def test_models_list_every_llm_inference_service(
    stack: StackUrls, http: httpx.Client, stack_config: StackConfig
) -> None:
    body = http.get(f"{stack.maas_api}/v1/models").json()
    assert body["object"] == "list", f"expected object list, got {body}"
    expected = [
        {
            "id": m.name,
            "object": "model",
            "created": m.created,
            "owned_by": m.namespace,
            "url": f"{stack.gateway}/{m.namespace}/{m.name}",
            "ready": True,
        }
        for m in stack_config.models
    ]
    key = lambda entry: (entry["owned_by"], entry["id"])  # noqa: E731
    got = sorted(body["data"], key=key)
    assert got == sorted(expected, key=key), f"expected {expected}, got {got}"


# --------------------------------------------------------------------------- tier lookup


def test_tier_lookup_picks_the_highest_tier(
    stack: StackUrls, http: httpx.Client, stack_config: StackConfig
) -> None:
    """Each group of each tier alone, each tier's ServiceAccount group, every tier's first group
    in both orders, and a group in no tier next to one that is."""
    firsts = [tier.groups[0] for tier in stack_config.tiers]
    cases = [[group] for tier in stack_config.tiers for group in tier.groups]
    cases += [[tier_group(stack_config.instance, tier.name)] for tier in stack_config.tiers]
    cases += [firsts, firsts[::-1], ["no-tier-holds-this-group", firsts[0]]]
    wrong = {}
    for groups in cases:
        tier = _tier_of(stack_config, groups)
        assert tier is not None, f"the test's case {groups} is in no tier"
        resp = http.post(f"{stack.maas_api}/v1/tiers/lookup", json={"groups": groups})
        if (resp.status_code, resp.json()) != (200, {"tier": tier.name}):
            wrong[str(groups)] = f"expected 200 {tier.name}, got {resp.status_code} {resp.text}"
    assert not wrong, f"tier lookups that did not pick the highest tier: {wrong}"


def test_tier_lookup_of_unknown_groups_is_404(stack: StackUrls, http: httpx.Client) -> None:
    resp = http.post(f"{stack.maas_api}/v1/tiers/lookup", json={"groups": ["a", "b"]})
    expected = {"error": "not_found", "message": "group groups [a, b] not found in any tier"}
    assert (resp.status_code, resp.json()) == (404, expected), resp.text


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{bad json}",
        b"{}",
        b'{"groups": []}',
        b'{"groups": null}',
        b'{"groups": "premium-group"}',
        b'{"groups": [1]}',
        b"[]",
    ],
)
def test_bad_tier_lookup_body_is_400(stack: StackUrls, http: httpx.Client, content: bytes) -> None:
    resp = http.post(f"{stack.maas_api}/v1/tiers/lookup", content=content)
    body = resp.json()
    assert resp.status_code == 400, f"{content!r}: expected 400, got {resp.status_code}"
    assert body["error"] == "bad_request", f"{content!r}: {body}"
    assert body["message"].startswith("invalid request body: "), f"{content!r}: {body}"


# --------------------------------------------------------------------------- through the gateway


def test_gateway_route_mints_tokens_at_maas_api(
    stack: StackUrls,
    http: httpx.Client,
    user_token: Callable[..., str],
    review: Callable[[str], dict[str, Any]],
) -> None:
    resp = http.post(
        f"{stack.gateway}/maas-api/v1/tokens",
        headers=_bearer(user_token()),
        json={"expiration": "4h"},
    )
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text}"
    assert resp.json()["expiration"] == "4h0m0s", resp.text
    assert review(resp.json()["token"])["authenticated"] is True, "gateway-minted token refused"


def test_gateway_route_revokes_tokens_at_maas_api(
    stack: StackUrls,
    http: httpx.Client,
    user_token: Callable[..., str],
    review: Callable[[str], dict[str, Any]],
) -> None:
    identity = user_token()
    url = f"{stack.gateway}/maas-api/v1/tokens"
    token = http.post(url, headers=_bearer(identity), json={"expiration": "1h"}).json()["token"]
    resp = http.delete(url, headers=_bearer(identity))
    assert resp.status_code == 204, f"expected 204, got {resp.status_code}: {resp.text}"
    assert review(token).get("authenticated", False) is False, (
        "token still accepted after revocation"
    )


def test_gateway_refuses_a_token_request_without_credentials(
    stack: StackUrls, http: httpx.Client
) -> None:
    resp = http.post(f"{stack.gateway}/maas-api/v1/tokens", json={"expiration": "4h"})
    assert resp.status_code == 401, f"expected 401, got {resp.status_code}"
    assert b"Authorization header required" not in resp.content, "maas-api answered, not Authorino"
