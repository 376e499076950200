"""The identity plane over HTTP: user tokens, TokenRequest/TokenReview, RBAC, OIDC, models."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from maas_local.apiserver.app import build_app
from maas_local.config import RoleBinding, RoleRule, StackConfig
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

GATEWAY = "http://gateway.invalid:8080"


@pytest.fixture(scope="module")
def api(stack_config: StackConfig) -> Iterator[str]:
    sock = bind(0)
    comp = Component("apiserver", sock)
    comp.app = build_app(stack_config, gateway_url=GATEWAY, self_url=comp.url)
    with serve_in_thread(ServerGroup([comp])):
        yield comp.url


@pytest.fixture
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=10) as c:
        yield c


def review(client: httpx.Client, token: str, audiences: list[str] | None = None) -> dict:
    spec: dict = {"token": token}
    if audiences is not None:
        spec["audiences"] = audiences
    resp = client.post("/apis/authentication.k8s.io/v1/tokenreviews", json={"spec": spec})
    assert resp.status_code == 201, resp.text
    return resp.json()["status"]


def service_account(client: httpx.Client, ns: str | None = None) -> tuple[str, str]:
    ns = ns or f"ns-{uuid.uuid4().hex[:8]}"
    client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    name = f"sa-{uuid.uuid4().hex[:8]}"
    resp = client.post(
        f"/api/v1/namespaces/{ns}/serviceaccounts", json={"metadata": {"name": name}}
    )
    assert resp.status_code == 201, resp.text
    return ns, name


def request_token(client: httpx.Client, ns: str, name: str, aud: str, seconds: int = 3600) -> str:
    resp = client.post(
        f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token",
        json={"spec": {"audiences": [aud], "expirationSeconds": seconds}},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["status"]["token"]


def test_user_token_reviews_with_its_groups_plus_authenticated(client: httpx.Client) -> None:
    token = client.post("/local/v1/users/alice/token", json={"groups": ["premium-group"]}).json()[
        "token"
    ]
    assert token.startswith("sha256~")
    status = review(client, token)
    assert status["authenticated"] is True
    assert status["user"]["username"] == "alice"
    assert {"premium-group", "system:authenticated"} <= set(status["user"]["groups"])


def test_user_token_is_refused_for_the_gateway_audience(client: httpx.Client) -> None:
    token = client.post("/local/v1/users/bob/token", json={"groups": []}).json()["token"]
    status = review(client, token, ["maas-default-gateway-sa"])
    assert status.get("authenticated", False) is False, status


def test_sa_token_carries_the_contract_claims_and_verifies_against_jwks(
    client: httpx.Client,
) -> None:
    ns, name = service_account(client)
    token = request_token(client, ns, name, "maas-default-gateway-sa", 7200)
    discovery = client.get("/.well-known/openid-configuration").json()
    jwks = jwt.PyJWKSet.from_dict(client.get(discovery["jwks_uri"]).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="maas-default-gateway-sa",
        issuer=discovery["issuer"],
    )
    assert claims["sub"] == f"system:serviceaccount:{ns}:{name}"
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["kubernetes.io"]["namespace"] == ns
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == name
    assert claims["jti"]


@pytest.mark.parametrize(
    ("audiences", "authenticated"),
    [(["maas-default-gateway-sa"], True), (["other"], False), (None, False)],
)
def test_sa_token_review_checks_audience(
    client: httpx.Client, audiences: list[str] | None, authenticated: bool
) -> None:
    ns, name = service_account(client)
    token = request_token(client, ns, name, "maas-default-gateway-sa")
    status = review(client, token, audiences)
    assert status.get("authenticated", False) is authenticated, status


def test_sa_token_review_gives_service_account_groups(client: httpx.Client) -> None:
    ns, name = service_account(client)
    status = review(client, request_token(client, ns, name, "aud-x"), ["aud-x"])
    assert status["user"]["username"] == f"system:serviceaccount:{ns}:{name}"
    assert f"system:serviceaccounts:{ns}" in status["user"]["groups"]


def test_recreating_the_service_account_revokes_its_tokens(client: httpx.Client) -> None:
    ns, name = service_account(client)
    old = request_token(client, ns, name, "aud-x")
    assert client.delete(f"/api/v1/namespaces/{ns}/serviceaccounts/{name}").status_code == 200
    client.post(f"/api/v1/namespaces/{ns}/serviceaccounts", json={"metadata": {"name": name}})
    new = request_token(client, ns, name, "aud-x")
    assert review(client, old, ["aud-x"]).get("authenticated", False) is False
    assert review(client, new, ["aud-x"])["authenticated"] is True


@pytest.mark.parametrize("token", ["garbage", "sha256~unknown", "a.b.c"])
def test_unknown_tokens_are_not_authenticated(client: httpx.Client, token: str) -> None:
    assert review(client, token, ["aud-x"]).get("authenticated", False) is False


def test_token_signed_by_another_key_is_not_authenticated(client: httpx.Client) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"aud": ["aud-x"], "sub": "system:serviceaccount:a:b", "exp": 2**31, "iat": 0},
        other,
        algorithm="RS256",
    )
    assert review(client, forged, ["aud-x"]).get("authenticated", False) is False


@pytest.mark.parametrize("seconds", [599, 2**32 + 1, 10**12])
def test_token_request_outside_ten_minutes_to_2_32_seconds_is_422(
    client: httpx.Client, seconds: int
) -> None:
    ns, name = service_account(client)
    resp = client.post(
        f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token",
        json={"spec": {"expirationSeconds": seconds}},
    )
    assert resp.status_code == 422, resp.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", 400),
        (b"[]", 400),
        (b'{"spec": {"token": 5}}', 400),
        (b'{"spec": {"token": ""}}', 400),
        (b"[" * 100_000, 400),
    ],
)
def test_bad_review_bodies_are_400(client: httpx.Client, body: bytes, code: int) -> None:
    resp = client.post("/apis/authentication.k8s.io/v1/tokenreviews", content=body)
    assert resp.status_code == code, resp.text
    assert resp.json()["kind"] == "Status"


def test_service_account_in_missing_namespace_is_404(client: httpx.Client) -> None:
    resp = client.post(
        "/api/v1/namespaces/nope-nope/serviceaccounts", json={"metadata": {"name": "x"}}
    )
    assert resp.status_code == 404, resp.text


def test_duplicate_namespace_is_409(client: httpx.Client) -> None:
    client.post("/api/v1/namespaces", json={"metadata": {"name": "dup-ns"}})
    resp = client.post("/api/v1/namespaces", json={"metadata": {"name": "dup-ns"}})
    assert resp.status_code == 409, resp.text


# Which tier may call which model of the manifests is the e2e suite's to prove
# (tests/e2e/test_rejections.py); here the review follows bindings the test writes.
POST_MODEL_A = RoleRule(("serving.kserve.io",), ("llminferenceservices",), ("post",), ("model-a",))
GET_EVERY_MODEL = RoleRule(("serving.kserve.io",), ("llminferenceservices",), ("get",))
BINDINGS = (
    RoleBinding("ns-a", (POST_MODEL_A,), groups=("group-a",), users=("user-a",)),
    RoleBinding(None, (GET_EVERY_MODEL,), groups=("group-b",), users=()),
)


@pytest.fixture(scope="module")
def rbac_client(stack_config: StackConfig) -> Iterator[httpx.Client]:
    """An API server whose only RBAC is BINDINGS."""
    config = dataclasses.replace(stack_config, bindings=BINDINGS)
    comp = Component("apiserver", bind(0))
    comp.app = build_app(config, gateway_url=GATEWAY, self_url=comp.url)
    with serve_in_thread(ServerGroup([comp])), httpx.Client(base_url=comp.url, timeout=10) as c:
        yield c


@pytest.mark.parametrize(
    ("user", "group", "namespace", "name", "verb", "allowed"),
    [
        pytest.param("someone", "group-a", "ns-a", "model-a", "post", True, id="bound-group"),
        pytest.param("user-a", "other", "ns-a", "model-a", "post", True, id="bound-user"),
        pytest.param("someone", "other", "ns-a", "model-a", "post", False, id="unbound"),
        pytest.param("someone", "group-a", "ns-a", "model-b", "post", False, id="other-name"),
        pytest.param("someone", "group-a", "ns-b", "model-a", "post", False, id="other-namespace"),
        pytest.param("someone", "group-a", "ns-a", "model-a", "get", False, id="other-verb"),
        pytest.param("someone", "group-b", "ns-b", "any-model", "get", True, id="cluster-wide"),
        pytest.param("someone", "group-b", "ns-b", "any-model", "post", False, id="cluster-verb"),
    ],
)
def test_subject_access_review_follows_the_configured_bindings(
    rbac_client: httpx.Client,
    user: str,
    group: str,
    namespace: str,
    name: str,
    verb: str,
    allowed: bool,
) -> None:
    spec = {
        "user": user,
        "groups": [group, "system:authenticated"],
        "resourceAttributes": {
            "group": "serving.kserve.io",
            "resource": "llminferenceservices",
            "namespace": namespace,
            "name": name,
            "verb": verb,
        },
    }
    resp = rbac_client.post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews", json={"spec": spec}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"]["allowed"] is allowed, f"expected allowed={allowed}: {resp.text}"


def test_models_list_has_gateway_urls_and_ready_conditions(
    client: httpx.Client, stack_config: StackConfig
) -> None:
    items = client.get("/apis/serving.kserve.io/v1alpha1/llminferenceservices").json()["items"]
    names = {i["metadata"]["name"] for i in items}
    assert names == {m.name for m in stack_config.models}
    for item in items:
        assert item["status"]["url"] == f"{GATEWAY}/llm/{item['metadata']['name']}"
        assert all(c["status"] == "True" for c in item["status"]["conditions"])


def test_reviews_have_kube_apiserver_1_32s_shape(client: httpx.Client) -> None:
    """Compared with the real kube-apiserver of `maas-local cluster`: a refusal has an empty
    user, no `authenticated`, and Go-quoted audiences; an accepted ServiceAccount token's user
    carries the token's jti as its credential id."""
    ns, name = service_account(client)
    token = request_token(client, ns, name, "aud-x")
    refused = review(client, token, ["other"])
    assert refused == {
        "error": '[invalid bearer token, token audiences ["aud-x"] is invalid for the target '
        'audiences ["other"]]',
        "user": {},
    }
    accepted = review(client, token, ["aud-x"])
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert accepted["user"]["extra"] == {
        "authentication.kubernetes.io/credential-id": [f"JTI={jti}"]
    }
