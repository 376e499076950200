"""The claims checker accepts a well-formed MaaS token and refuses each kind of wrong one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from maas_e2e.claims import ClaimsChecker, ClaimsMismatch, decode_header_and_claims

NOW = 1_760_000_000
ISSUER = "https://kubernetes.default.svc"
AUDIENCE = "maas-default-gateway-sa"
INSTANCE = "maas-default-gateway"
KID = "key-1"
USER = "alice"
SA = "alice-522b276a"
GRANT = 14400


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def checker(signing_key: rsa.RSAPrivateKey) -> ClaimsChecker:
    jwk = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwk.update(kid=KID, use="sig", alg="RS256")
    return ClaimsChecker({"keys": [jwk]}, ISSUER, AUDIENCE, INSTANCE, clock=lambda: NOW)


def _claims(tier: str = "free") -> dict[str, Any]:
    namespace = f"{INSTANCE}-tier-{tier}"
    return {
        "aud": [AUDIENCE],
        "exp": NOW + GRANT,
        "iat": NOW,
        "nbf": NOW,
        "iss": ISSUER,
        "jti": "3f1c",
        "sub": f"system:serviceaccount:{namespace}:{SA}",
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": SA, "uid": "9e0c6f6e-0000-4000-8000-000000000001"},
        },
    }


def _sign(claims: dict[str, Any], key: Any, kid: str | None = KID, alg: str = "RS256") -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _fields(raised: pytest.ExceptionInfo[ClaimsMismatch]) -> set[str]:
    return {m.field for m in raised.value.mismatches}


def test_valid_token_passes_and_returns_claims(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey
) -> None:
    claims = checker.check(_sign(_claims(), signing_key), username=USER, tier="free",
                           grant_seconds=GRANT)  # fmt: skip
    assert claims["sub"] == f"system:serviceaccount:{INSTANCE}-tier-free:{SA}"


def test_token_signed_by_another_key_is_refused(
    checker: ClaimsChecker, other_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(_sign(_claims(), other_key), username=USER, tier="free",
                      grant_seconds=GRANT)  # fmt: skip
    assert _fields(raised) == {"signature"}, str(raised.value)


@pytest.mark.parametrize("kid", ["unknown-kid", None], ids=["unknown", "absent"])
def test_kid_not_in_jwks_is_refused(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey, kid: str | None
) -> None:
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(_sign(_claims(), signing_key, kid=kid), username=USER, tier="free",
                      grant_seconds=GRANT)  # fmt: skip
    assert _fields(raised) == {"header.kid"}, str(raised.value)


def test_hmac_token_is_refused(checker: ClaimsChecker) -> None:
    token = _sign(_claims(), "a-shared-secret-of-at-least-32-bytes!!", alg="HS256")
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(token, username=USER, tier="free", grant_seconds=GRANT)
    assert _fields(raised) == {"signature"}, str(raised.value)


def test_non_jwt_is_refused(checker: ClaimsChecker) -> None:
    with pytest.raises(ClaimsMismatch, match="undecodable"):
        checker.check("sha256~opaque", username=USER, tier="free", grant_seconds=GRANT)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(claims: dict[str, Any]) -> None:
        *parents, leaf = path.split("/")
        target = claims
        for part in parents:
            target = target[part]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value

    return mutate


_DELETE = object()
PREMIUM_NS = f"{INSTANCE}-tier-premium"


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        (_set("aud", ["https://kubernetes.default.svc"]), {"aud"}),
        (_set("aud", [AUDIENCE, "https://kubernetes.default.svc"]), {"aud"}),
        (_set("aud", AUDIENCE), {"aud"}),
        (_set("sub", f"system:serviceaccount:{PREMIUM_NS}:{SA}"), {"sub"}),
        (_set("kubernetes.io/namespace", PREMIUM_NS), {"kubernetes.io.namespace"}),
        (_set("sub", f"system:serviceaccount:{INSTANCE}-tier-free:alice"), {"sub"}),
        (_set("kubernetes.io/serviceaccount/name", "alice"),
         {"kubernetes.io.serviceaccount.name"}),
        (_set("kubernetes.io/serviceaccount/uid", _DELETE), {"kubernetes.io.serviceaccount.uid"}),
        (_set("exp", NOW + GRANT - 1), {"exp - iat"}),
        (_set("iat", NOW + 31), {"iat", "exp - iat"}),
        (_set("nbf", NOW + 31), {"nbf"}),
        (_set("exp", NOW - 31), {"exp", "exp - iat"}),
        (_set("exp", _DELETE), {"exp"}),
        (_set("iat", "now"), {"iat"}),
        (_set("iss", "https://evil.example"), {"iss"}),
    ],
    ids=["aud-other", "aud-extra", "aud-as-string", "sub-other-tier", "namespace-other-tier",
         "sub-wrong-sa", "sa-name-wrong", "uid-missing", "exp-iat-short", "iat-future",
         "nbf-future", "expired", "exp-missing", "iat-not-number", "iss-wrong"],
)  # fmt: skip
def test_each_wrong_claim_is_reported(
    checker: ClaimsChecker,
    signing_key: rsa.RSAPrivateKey,
    mutate: Callable[[dict[str, Any]], None],
    fields: set[str],
) -> None:
    claims = _claims()
    mutate(claims)
    token = _sign(claims, signing_key)
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(token, username=USER, tier="free", grant_seconds=GRANT)
    assert _fields(raised) == fields, str(raised.value)


@pytest.mark.parametrize(
    "changes",
    [{"iat": NOW + 29, "nbf": NOW + 29, "exp": NOW + 29 + GRANT}],
    ids=["iat-within-skew"],
)
def test_tolerated_variations_pass(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey, changes: dict[str, Any]
) -> None:
    claims = {**_claims(), **changes}
    checker.check(_sign(claims, signing_key), username=USER, tier="free", grant_seconds=GRANT)


def test_token_of_another_tier_fails_sub_and_namespace(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(_sign(_claims("premium"), signing_key), username=USER, tier="free",
                      grant_seconds=GRANT)  # fmt: skip
    assert _fields(raised) == {"sub", "kubernetes.io.namespace"}, str(raised.value)


def test_message_lists_every_mismatch_with_expected_and_actual(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey
) -> None:
    claims = _claims()
    claims["aud"] = ["other-aud"]
    claims["exp"] = NOW + 600
    with pytest.raises(ClaimsMismatch) as raised:
        checker.check(_sign(claims, signing_key), username=USER, tier="free",
                      grant_seconds=GRANT)  # fmt: skip
    message = str(raised.value)
    for fragment in ["aud: expected ['maas-default-gateway-sa']", "['other-aud']",
                     "exp - iat: expected 14400, actual 600"]:  # fmt: skip
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_fractional_grant_is_truncated_to_whole_seconds(
    checker: ClaimsChecker, signing_key: rsa.RSAPrivateKey
) -> None:
    claims = _claims()
    claims["exp"] = NOW + 600
    checker.check(_sign(claims, signing_key), username=USER, tier="free", grant_seconds=600.5)


def test_mismatch_is_an_assertion_error() -> None:
    assert issubclass(ClaimsMismatch, AssertionError)


def test_decode_header_and_claims_does_not_verify(other_key: rsa.RSAPrivateKey) -> None:
    header, claims = decode_header_and_claims(_sign(_claims(), other_key))
    assert (header["kid"], header["alg"], claims["iss"]) == (KID, "RS256", ISSUER)


def test_decode_of_non_jwt_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a decodable JWT"):
        decode_header_and_claims("sha256~opaque")


def test_jwks_without_usable_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="unusable JWKS"):
        ClaimsChecker({"keys": []}, ISSUER, AUDIENCE, INSTANCE)
