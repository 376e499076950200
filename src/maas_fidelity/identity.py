"""Identity: the embedded API server against the real kube-apiserver of `maas-local cluster`.

TokenRequest, TokenReview, the OIDC discovery document and the JWKS, as maas-api, the gateway
and the e2e suite use them. Each side gets the same namespace and ServiceAccounts (same names),
made through its API before the cases and deleted after; the tokens the review cases judge are
minted on each side during that set-up.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from maas_fidelity import hostile
from maas_fidelity.cluster import Cluster
from maas_fidelity.components import IDENTITY, TITLES
from maas_fidelity.corpus import Case, Outcome, Steps, one, play
from maas_fidelity.embedded import EmbeddedStack
from maas_fidelity.exchange import Request, json_request, raw_request, send
from maas_fidelity.hostile import HostileCase
from maas_fidelity.normalise import Normaliser
from maas_fidelity.processes import SideUnavailable

COMPONENT = IDENTITY
MINTER, GONE, NOBODY = "minter", "gone", "nobody"
AUDIENCE_A, AUDIENCE_B, OTHER_AUDIENCE = "fidelity-a", "fidelity-b", "fidelity-other"
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/openid/v1/jwks"
_AUTHENTICATION = "authentication.k8s.io/v1"


@dataclass
class Context:
    """One side's client and the objects and tokens its set-up made. `bearer` is the admin
    credential cases send (None for the embedded API server, which takes every caller as
    admin); the client itself sends none."""

    api: httpx.Client
    bearer: str | None
    namespace: str
    issuer: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def send(self, request: Request) -> Steps:
        return one(send(self.api, request, self.bearer))


def token_request_path(namespace: str, account: str) -> str:
    return f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"


def token_request_body(spec: Any) -> dict[str, Any]:
    return {"apiVersion": _AUTHENTICATION, "kind": "TokenRequest", "spec": spec}


def _token_request(spec: Any, account: str = MINTER) -> Callable[[Context], Steps]:
    def run(ctx: Context) -> Steps:
        path = token_request_path(ctx.namespace, account)
        return ctx.send(json_request("POST", path, token_request_body(spec)))

    return run


def _token_request_raw(body: bytes, namespace: str | None = None) -> Callable[[Context], Steps]:
    def run(ctx: Context) -> Steps:
        path = token_request_path(namespace or ctx.namespace, MINTER)
        return ctx.send(raw_request("POST", path, body))

    return run


def _review(token: str, audiences: list[str] | None = None) -> Callable[[Context], Steps]:
    """`token` names a set-up token (or is sent as it is when not one); an audience of
    "<issuer>" is the side's own issuer."""

    def run(ctx: Context) -> Steps:
        spec: dict[str, Any] = {"token": ctx.tokens.get(token, token)}
        if audiences is not None:
            spec["audiences"] = [ctx.issuer if a == "<issuer>" else a for a in audiences]
        body = {"apiVersion": _AUTHENTICATION, "kind": "TokenReview", "spec": spec}
        return ctx.send(json_request("POST", TOKEN_REVIEWS, body))

    return run


def _review_raw(body: bytes) -> Callable[[Context], Steps]:
    return lambda ctx: ctx.send(raw_request("POST", TOKEN_REVIEWS, body))


def _get(path: str) -> Callable[[Context], Steps]:
    return lambda ctx: ctx.send(Request("GET", path))


def _expiration(seconds: Any, name: str | None = None) -> Case[Context]:
    return Case(
        f"tokenrequest.expiration-{name or seconds}", _token_request({"expirationSeconds": seconds})
    )


def _hostile(case: HostileCase) -> Case[Context]:
    request = Request(case.method, case.path, case.body, case.headers, case.credential)
    return Case(f"hostile.{case.name}", lambda ctx: ctx.send(request))


def cases(namespace: str, missing_namespace: str) -> list[Case[Context]]:
    """The corpus for the set-up's `namespace`; `missing_namespace` is a name neither side has
    (the same on both)."""
    own = [
        Case("tokenrequest.default", _token_request({})),
        _expiration(3600),
        _expiration(600),
        _expiration(86400),
        _expiration(0),
        _expiration(1),
        _expiration(599),
        _expiration(-600, "negative"),
        _expiration(2**32, "2^32"),
        _expiration(2**32 + 1, "2^32+1"),
        _expiration(2**63, "2^63"),
        _expiration("3600", "string"),
        _expiration(3600.5, "fraction"),
        Case(
            "tokenrequest.audiences-list", _token_request({"audiences": [AUDIENCE_A, AUDIENCE_B]})
        ),
        Case("tokenrequest.audiences-empty", _token_request({"audiences": []})),
        Case("tokenrequest.audiences-not-list", _token_request({"audiences": AUDIENCE_A})),
        Case("tokenrequest.missing-serviceaccount", _token_request({}, NOBODY)),
        Case(
            "tokenrequest.missing-namespace",
            _token_request_raw(b'{"spec": {}}', missing_namespace),
        ),
        Case("tokenrequest.body-empty", _token_request_raw(b"")),
        Case("tokenrequest.body-not-json", _token_request_raw(b"not json")),
        Case("tokenrequest.body-array", _token_request_raw(b"[]")),
        Case("tokenrequest.spec-not-object", _token_request([])),
        Case("tokenreview.valid", _review("default")),
        Case("tokenreview.valid-own-audience", _review("default", ["<issuer>"])),
        Case(
            "tokenreview.valid-one-of-two-audiences",
            _review("default", [OTHER_AUDIENCE, "<issuer>"]),
        ),
        Case("tokenreview.custom-audience", _review("audience-a", [AUDIENCE_A])),
        Case("tokenreview.custom-audience-not-asked", _review("audience-a")),
        Case("tokenreview.wrong-audience", _review("default", [OTHER_AUDIENCE])),
        Case("tokenreview.garbage", _review("not-a-token")),
        Case("tokenreview.leading-space", _review(" not-a-token")),
        Case("tokenreview.tampered-signature", _review("tampered")),
        Case("tokenreview.empty", _review("")),
        Case("tokenreview.deleted-serviceaccount", _review("gone")),
        Case("tokenreview.no-spec", _review_raw(b'{"apiVersion": "authentication.k8s.io/v1"}')),
        Case("tokenreview.body-not-json", _review_raw(b"not json")),
        Case("oidc.discovery", _get(DISCOVERY)),
        Case("oidc.jwks", _get(JWKS)),
    ]
    return own + [_hostile(case) for case in hostile.identity_cases(namespace, MINTER)]


@contextlib.contextmanager
def prepared(ctx: Context) -> Iterator[Context]:
    """The side's namespace, ServiceAccounts and review tokens; deleted again afterwards (the
    embedded API server cannot delete a namespace: it ends with its stack)."""
    api, namespace = ctx.api, ctx.namespace
    if ctx.bearer:
        api.headers["Authorization"] = f"Bearer {ctx.bearer}"
    _ok(api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}), "namespace")
    try:
        accounts = f"/api/v1/namespaces/{namespace}/serviceaccounts"
        for name in (MINTER, GONE):
            _ok(api.post(accounts, json={"metadata": {"name": name}}), f"ServiceAccount {name}")
        ctx.issuer = str(api.get(DISCOVERY).json()["issuer"])
        ctx.tokens["default"] = _mint(api, namespace, MINTER, {})
        ctx.tokens["audience-a"] = _mint(api, namespace, MINTER, {"audiences": [AUDIENCE_A]})
        ctx.tokens["gone"] = _mint(api, namespace, GONE, {})
        ctx.tokens["tampered"] = _tampered(ctx.tokens["default"])
        _ok(api.delete(f"{accounts}/{GONE}"), f"deleting ServiceAccount {GONE}")
        yield ctx
    finally:
        with contextlib.suppress(httpx.HTTPError):
            api.delete(f"/api/v1/namespaces/{namespace}/serviceaccounts/{MINTER}")
            api.delete(f"/api/v1/namespaces/{namespace}")
        api.headers.pop("Authorization", None)


def _mint(api: httpx.Client, namespace: str, account: str, spec: dict[str, Any]) -> str:
    response = api.post(token_request_path(namespace, account), json=token_request_body(spec))
    _ok(response, f"a token of {account}")
    return str(response.json()["status"]["token"])


def _tampered(token: str) -> str:
    """The token with one character inside its signature changed (not the last one, whose
    low bits base64 decoders may ignore)."""
    at = len(token) - 10
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code not in (200, 201):
        raise SideUnavailable(
            f"identity set-up: {what} answered {response.status_code}: {response.text[:300]}"
        )


def new_namespace() -> str:
    return f"fidelity-{uuid.uuid4().hex[:8]}"


def compare(embedded: EmbeddedStack, cluster: Cluster) -> Outcome:
    """Play the corpus on the embedded API server and on the cluster's kube-apiserver."""
    namespace, missing = new_namespace(), new_namespace()
    names = {namespace: "<namespace>", missing: "<missing-namespace>"}
    with contextlib.ExitStack() as stack:
        left_api = stack.enter_context(embedded.apiserver())
        right_api = stack.enter_context(cluster.client())
        left = stack.enter_context(prepared(Context(left_api, None, namespace)))
        right = stack.enter_context(prepared(Context(right_api, cluster.admin_token, namespace)))
        ids, found = play(
            COMPONENT,
            cases(namespace, missing),
            (left, Normaliser({embedded.apiserver_url: "<apiserver>", **names})),
            (right, Normaliser({cluster.server: "<apiserver>", **names})),
        )
    return Outcome(
        COMPONENT,
        TITLES[COMPONENT],
        embedded=f"the embedded API server of {embedded.version}",
        real=cluster.version,
        cases=ids,
        differences=found,
    )
