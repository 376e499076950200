"""Verify a MaaS token the way a relying party would, and check every claim the contract fixes.

The signature is verified against the issuer's published JWKS (never trusting the token's own
header for the key), then each claim is compared with what the oracle predicts. All mismatches
are collected so one failure report shows everything that is wrong with a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKSet

from maas_e2e.auth import Bearer
from maas_e2e.naming import expected_namespace, expected_sa_name, expected_subject

ALGORITHM = "RS256"
DEFAULT_SKEW_SECONDS = 30.0


class Described(str):
    """An expectation written in words ("in the future"), shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Mismatch:
    """One claim that is not what the contract says it should be."""

    field: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected!r}, actual {self.actual!r}"


class ClaimsMismatch(AssertionError):
    """The token fails verification; the message lists every mismatch."""

    def __init__(self, mismatches: list[Mismatch], claims: Mapping[str, Any] | None = None) -> None:
        self.mismatches = tuple(mismatches)
        self.claims = dict(claims) if claims is not None else None
        lines = "\n".join(f"  - {m}" for m in self.mismatches)
        super().__init__(f"MaaS token verification failed ({len(self.mismatches)}):\n{lines}")


def decode_header_and_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims without verifying anything: for reports, never for decisions."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ValueError(f"not a decodable JWT: {exc}") from exc
    return header, claims


class ClaimsChecker:
    """Checks MaaS tokens of one deployment: its issuer, keys, audience and instance name."""

    def __init__(
        self,
        jwks: Mapping[str, Any],
        issuer: str,
        audience: str,
        instance: str,
        *,
        skew_seconds: float = DEFAULT_SKEW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            self._keys = PyJWKSet.from_dict(dict(jwks))
        except jwt.PyJWTError as exc:
            raise ValueError(f"unusable JWKS: {exc}") from exc
        self.issuer = issuer
        self.audience = audience
        self.instance = instance
        self.skew_seconds = skew_seconds
        self._clock = clock

    def verify_signature(self, token: str | Bearer) -> dict[str, Any]:
        """The claims of a token whose RS256 signature verifies with the JWKS key its kid names."""
        if isinstance(token, Bearer):
            token = token.token
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise ClaimsMismatch(
                [Mismatch("token", Described("a JWT"), Described(f"undecodable: {exc}"))]
            ) from exc
        kid = header.get("kid")
        known = sorted(k.key_id for k in self._keys.keys if k.key_id)
        key = next((k for k in self._keys.keys if kid and k.key_id == kid), None)
        if key is None:
            raise ClaimsMismatch([Mismatch("header.kid", Described(f"one of {known}"), kid)])
        try:
            verified = jwt.PyJWS().decode_complete(token, key.key, algorithms=[ALGORITHM])
        except jwt.PyJWTError as exc:
            alg = header.get("alg")
            raise ClaimsMismatch(
                [
                    Mismatch(
                        "signature",
                        Described(f"valid {ALGORITHM} by key {kid}"),
                        Described(f"alg {alg}: {exc}"),
                    )
                ]
            ) from exc
        try:
            claims = json.loads(verified["payload"])
        except ValueError as exc:
            raise ClaimsMismatch(
                [Mismatch("payload", Described("JSON"), Described(str(exc)))]
            ) from exc
        if not isinstance(claims, dict):
            raise ClaimsMismatch([Mismatch("payload", Described("a JSON object"), claims)])
        return claims

    def check(
        self, token: str | Bearer, *, username: str, tier: str, grant_seconds: float
    ) -> dict[str, Any]:
        """Verify the token and every contract claim; returns the claims or raises
        ClaimsMismatch listing all mismatches."""
        claims = self.verify_signature(token)
        mismatches = [
            *self._identity(claims, username, tier),
            *self._times(claims, grant_seconds),
        ]
        # Exactly the gateway's audience, as the JSON array TokenRequest writes: an extra
        # audience would make the token good at another relying party too (the API server).
        if claims.get("aud") != [self.audience]:
            mismatches.append(Mismatch("aud", [self.audience], claims.get("aud")))
        if claims.get("iss") != self.issuer:
            mismatches.append(Mismatch("iss", self.issuer, claims.get("iss")))
        if mismatches:
            raise ClaimsMismatch(mismatches, claims)
        return claims

    def _identity(self, claims: Mapping[str, Any], username: str, tier: str) -> list[Mismatch]:
        namespace = expected_namespace(self.instance, tier)
        sa_name = expected_sa_name(username)
        subject = expected_subject(self.instance, tier, username)
        found: list[Mismatch] = []
        if claims.get("sub") != subject:
            found.append(Mismatch("sub", subject, claims.get("sub")))
        k8s = claims.get("kubernetes.io")
        k8s = k8s if isinstance(k8s, dict) else {}
        account = k8s.get("serviceaccount")
        account = account if isinstance(account, dict) else {}
        if k8s.get("namespace") != namespace:
            found.append(Mismatch("kubernetes.io.namespace", namespace, k8s.get("namespace")))
        if account.get("name") != sa_name:
            found.append(
                Mismatch("kubernetes.io.serviceaccount.name", sa_name, account.get("name"))
            )
        uid = account.get("uid")
        if not isinstance(uid, str) or not uid:
            found.append(
                Mismatch("kubernetes.io.serviceaccount.uid", Described("a non-empty UID"), uid)
            )
        return found

    def _times(self, claims: Mapping[str, Any], grant_seconds: float) -> list[Mismatch]:
        found: list[Mismatch] = []
        values: dict[str, int] = {}
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                found.append(Mismatch(name, Described("an integer NumericDate"), value))
            else:
                values[name] = value
        latest = self._clock() + self.skew_seconds
        for name in ("iat", "nbf"):
            if name in values and values[name] > latest:
                found.append(
                    Mismatch(
                        name,
                        Described(f"<= now + {self.skew_seconds:g}s ({latest:.0f})"),
                        values[name],
                    )
                )
        if "exp" in values and values["exp"] <= self._clock() - self.skew_seconds:
            found.append(Mismatch("exp", Described("in the future"), values["exp"]))
        if "exp" in values and "iat" in values:
            # TokenRequest takes whole seconds: maas-api truncates the granted duration.
            granted = int(grant_seconds)
            if values["exp"] - values["iat"] != granted:
                found.append(Mismatch("exp - iat", granted, values["exp"] - values["iat"]))
        return found
