"""TokenRequest and TokenReview: how service-account tokens are minted and judged.

Tokens are bound to the ServiceAccount's UID, so deleting and re-creating the account (what
maas-api's revocation does) makes every earlier token fail review, as on a real cluster.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from maas_local.apiserver.keys import ISSUER, SigningKey
from maas_local.apiserver.store import Missing, ServiceAccount, Store, User

API_AUDIENCES = (ISSUER,)
"""What the API server accepts its own tokens for; user tokens are valid only here."""


@dataclass(frozen=True)
class Review:
    authenticated: bool
    user: User | None = None
    audiences: tuple[str, ...] = ()
    error: str = ""
    credential_id: str = ""  # `JTI=<jti>` of a ServiceAccount token

    def status(self) -> dict:
        """As kube-apiserver 1.32 answers: a refusal has an empty `user` and no
        `authenticated` (false is omitted); a ServiceAccount token's user carries its `jti` as
        the credential id."""
        if not self.authenticated or self.user is None:
            return {"error": self.error, "user": {}}
        user: dict[str, Any] = {"username": self.user.name, "groups": list(self.user.groups)}
        if self.user.uid:  # omitempty: the anonymous user has none
            user["uid"] = self.user.uid
        if self.credential_id:
            user["extra"] = {"authentication.kubernetes.io/credential-id": [self.credential_id]}
        return {"authenticated": True, "user": user, "audiences": list(self.audiences)}


def mint(
    key: SigningKey, sa: ServiceAccount, audiences: list[str], seconds: int
) -> tuple[str, int]:
    """A TokenRequest token for `sa`; returns the JWT and its expiry (unix seconds)."""
    now = int(time.time())
    claims = {
        "aud": audiences,
        "exp": now + seconds,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "jti": str(uuid.uuid4()),
        "sub": f"system:serviceaccount:{sa.namespace}:{sa.name}",
        "kubernetes.io": {
            "namespace": sa.namespace,
            "serviceaccount": {"name": sa.name, "uid": sa.uid},
        },
    }
    return key.sign(claims), now + seconds


def review(keys: Sequence[SigningKey], store: Store, token: str, audiences: list[str]) -> Review:
    """Judge a bearer token for the requested audiences (none asked: the API server's own).

    A ServiceAccount token is valid when any of `keys` signed it, as kube-apiserver accepts
    tokens of every key in its `--service-account-key-file` list.
    """
    wanted = tuple(audiences) or API_AUDIENCES
    token = _as_bearer_authenticator_reads(token)
    if not token:
        # No token authenticator answers, and the anonymous authenticator does.
        return Review(True, User("system:anonymous", "", ("system:unauthenticated",)), wanted)
    user = store.user_tokens.get(token)
    if user is not None:
        accepted = tuple(a for a in wanted if a in API_AUDIENCES)
        if not accepted:
            return Review(False, error=_audience_error(API_AUDIENCES, wanted))
        groups = (*user.groups, "system:authenticated", "system:authenticated:oauth")
        return Review(True, User(user.name, user.uid, tuple(dict.fromkeys(groups))), accepted)
    return _review_service_account_token(keys, store, token, wanted)


def _as_bearer_authenticator_reads(token: str) -> str:
    """kube-apiserver reviews a token as the header `Authorization: Bearer <token>` of a request:
    trimmed, split on single spaces, the second field. A token that begins with a space is
    therefore read as none (and the request is anonymous), and one with a space in it is cut
    there."""
    parts = f"Bearer {token}".strip().split(" ", 2)
    return parts[1] if len(parts) > 1 else ""


def _verified_claims(keys: Sequence[SigningKey], token: str) -> dict[str, Any]:
    """The claims of a token that one of `keys` signed; the last key's error otherwise."""
    *others, last = keys
    for key in others:
        try:
            return _decode(key, token)
        except jwt.InvalidSignatureError:
            continue
    return _decode(last, token)


def _decode(key: SigningKey, token: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        key.private_key.public_key(),
        algorithms=["RS256"],
        issuer=ISSUER,
        options={"verify_aud": False, "require": ["exp", "iat", "sub", "aud"]},
    )


def _review_service_account_token(
    keys: Sequence[SigningKey], store: Store, token: str, wanted: tuple[str, ...]
) -> Review:
    try:
        claims = _verified_claims(keys, token)
    except jwt.ExpiredSignatureError:
        return Review(
            False,
            error="[invalid bearer token, validation failed, token is expired (exp)]",
        )
    except jwt.PyJWTError:
        return Review(False, error="[invalid bearer token, token lookup failed]")
    token_audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    accepted = tuple(a for a in wanted if a in token_audiences)
    if not accepted:
        return Review(False, error=_audience_error(tuple(token_audiences), wanted))
    bound = (claims.get("kubernetes.io") or {}).get("serviceaccount") or {}
    namespace = (claims.get("kubernetes.io") or {}).get("namespace", "")
    try:
        sa = store.service_account(namespace, bound.get("name", ""))
    except Missing:
        return Review(False, error=f'serviceaccounts "{bound.get("name")}" not found')
    if sa.uid != bound.get("uid"):
        return Review(
            False,
            error=f"service account UID ({sa.uid}) does not match claim ({bound.get('uid')})",
        )
    groups = (
        "system:serviceaccounts",
        f"system:serviceaccounts:{sa.namespace}",
        "system:authenticated",
    )
    credential = f"JTI={claims['jti']}" if claims.get("jti") else ""
    return Review(True, User(claims["sub"], sa.uid, groups), accepted, credential_id=credential)


def _audience_error(have: tuple[str, ...], wanted: tuple[str, ...]) -> str:
    return (
        f"[invalid bearer token, token audiences {_go_quoted(have)} "
        f"is invalid for the target audiences {_go_quoted(wanted)}]"
    )


def _go_quoted(values: tuple[str, ...]) -> str:
    """Go's `%q` of a []string, which kube-apiserver's message uses: `["a" "b"]`."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"
