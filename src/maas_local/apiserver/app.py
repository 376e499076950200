"""HTTP face of the identity plane, shaped like kube-apiserver's JSON API."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maas_local.apiserver import rbac, tokens
from maas_local.apiserver.keys import ISSUER, SigningKey
from maas_local.apiserver.models import llm_inference_service
from maas_local.apiserver.store import Conflict, Missing, Store
from maas_local.config import StackConfig

MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 2**32
"""kube-apiserver refuses TokenRequests shorter than 10 minutes or longer than 2^32 seconds."""


class BadRequest(Exception):
    """The request body is not what the API expects (HTTP 400)."""


def status(code: int, reason: str, message: str) -> JSONResponse:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return JSONResponse(body, status_code=code)


# A `\uXXXX` escape of a lone UTF-16 surrogate (a pair is one match), or any other escape, so
# that an escaped backslash is never taken for the start of one.
_ESCAPE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|u[dD][89a-fA-F][0-9a-fA-F]{2}|.)",
    re.DOTALL,
)


def _no_constant(name: str) -> None:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


async def _json_object(request: Request) -> dict[str, Any]:
    """The body as kube-apiserver's Go decoder reads it: UTF-8 only (no BOM, no UTF-16), invalid
    bytes and lone surrogate escapes as U+FFFD, no NaN or Infinity. Python would keep a lone
    surrogate, which no reply (nor a JWT library) can encode: a 500 where Go answers."""
    text = (await request.body()).decode("utf-8", "replace")
    text = _ESCAPE.sub(lambda m: "\\ufffd" if len(m[0]) == 6 else m[0], text)
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # ValueError: also a number of 4,300+ digits
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{field} must be a list of strings")
    return value


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise BadRequest("metadata.labels must map strings to strings")
    return labels


def _name(obj: dict[str, Any]) -> str:
    name = (obj.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("metadata.name is required")
    return name


def build_app(
    config: StackConfig,
    *,
    gateway_url: str,
    self_url: str,
    stack_info: dict[str, Any] | None = None,
) -> Starlette:
    """The identity plane for one stack: a fresh signing key, empty users and accounts.

    `stack_info` (the components' URLs) is served at the embedded-only `/local/v1/stack`, the
    one place a client attaching to a running stack learns where everything is.
    """
    key = SigningKey()
    # `token-unpublished-key`: a key rotation half done. Tokens are signed with a new key that
    # the JWKS never got, while TokenReview (which knows both keys) still accepts them.
    signer = SigningKey() if "token-unpublished-key" in config.faults else key
    review_keys = (key,) if signer is key else (key, signer)
    store = Store()
    models = [llm_inference_service(m, gateway_url) for m in config.models]

    async def token_review(request: Request) -> Response:
        body = await _json_object(request)
        spec = body.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("token"), str):
            raise BadRequest("spec.token is required")
        if not spec["token"]:
            raise BadRequest("token is required for TokenReview in authentication")
        audiences = _str_list(spec.get("audiences"), "spec.audiences")
        result = tokens.review(review_keys, store, spec["token"], audiences)
        reply = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": {},
            "spec": {"audiences": audiences} if audiences else {},  # echoed only when asked
            "status": result.status(),
        }
        return JSONResponse(reply, status_code=201)

    async def subject_access_review(request: Request) -> Response:
        body = await _json_object(request)
        spec = body.get("spec")
        attrs = spec.get("resourceAttributes") if isinstance(spec, dict) else None
        if not isinstance(attrs, dict):
            raise BadRequest("spec.resourceAttributes is required")
        access = rbac.Access(
            user=str(spec.get("user") or ""),
            groups=tuple(_str_list(spec.get("groups"), "spec.groups")),
            group=str(attrs.get("group") or ""),
            resource=str(attrs.get("resource") or ""),
            namespace=str(attrs.get("namespace") or ""),
            name=str(attrs.get("name") or ""),
            verb=str(attrs.get("verb") or ""),
        )
        allowed = rbac.allowed(config.bindings, access)
        reply = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
            "status": {"allowed": allowed, "reason": "RBAC: allowed" if allowed else ""},
        }
        return JSONResponse(reply, status_code=201)

    async def create_namespace(request: Request) -> Response:
        body = await _json_object(request)
        return JSONResponse(store.create_namespace(_name(body), _labels(body)).to_object(), 201)

    async def get_namespace(request: Request) -> Response:
        return JSONResponse(store.namespace(request.path_params["ns"]).to_object())

    async def service_accounts(request: Request) -> Response:
        ns = request.path_params["ns"]
        if request.method == "POST":
            body = await _json_object(request)
            sa = store.create_service_account(ns, _name(body), _labels(body))
            return JSONResponse(sa.to_object(), status_code=201)
        selector = dict(
            part.split("=", 1)
            for part in request.query_params.get("labelSelector", "").split(",")
            if "=" in part
        )
        items = [sa.to_object() for sa in store.list_service_accounts(ns, selector)]
        return JSONResponse({"kind": "ServiceAccountList", "apiVersion": "v1", "items": items})

    async def service_account(request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        if request.method == "DELETE":
            return JSONResponse(store.delete_service_account(ns, name).to_object())
        return JSONResponse(store.service_account(ns, name).to_object())

    async def token_request(request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        body = await _json_object(request)
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        seconds = spec.get("expirationSeconds", 3600)
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise BadRequest("spec.expirationSeconds must be an integer")
        if seconds > MAX_TOKEN_SECONDS:
            return status(
                422,
                "Invalid",
                "spec.expirationSeconds: may not specify a duration larger than 2^32 seconds",
            )
        if seconds < MIN_TOKEN_SECONDS:
            return status(
                422,
                "Invalid",
                "spec.expirationSeconds: may not specify a duration less than 10 minutes",
            )
        audiences = _str_list(spec.get("audiences"), "spec.audiences") or list(tokens.API_AUDIENCES)
        token, expires = tokens.mint(signer, store.service_account(ns, name), audiences, seconds)
        reply = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": audiences, "expirationSeconds": seconds},
            "status": {"token": token, "expirationTimestamp": _rfc3339(expires)},
        }
        return JSONResponse(reply, status_code=201)

    async def list_models(request: Request) -> Response:
        ns = request.path_params.get("ns")
        items = [m for m in models if ns is None or m["metadata"]["namespace"] == ns]
        return JSONResponse(
            {
                "apiVersion": "serving.kserve.io/v1alpha1",
                "kind": "LLMInferenceServiceList",
                "items": items,
            }
        )

    async def list_inference_services(request: Request) -> Response:
        """None: the embedded stack deploys no InferenceService (load_config refuses them)."""
        return JSONResponse(
            {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceServiceList", "items": []}
        )

    async def openid_configuration(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self_url}/openid/v1/jwks",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse(key.jwks(), media_type="application/jwk-set+json")

    async def local_user_token(request: Request) -> Response:
        """Embedded-only: what `oc whoami -t` prints for a user with these groups."""
        body = await _json_object(request)
        groups = _str_list(body.get("groups"), "groups")
        username = request.path_params["username"]
        token = store.issue_user_token(username, groups)
        return JSONResponse({"token": token, "username": username, "groups": groups}, 201)

    async def local_stack(request: Request) -> Response:
        """Embedded-only: where the stack's components listen, for clients attaching to it."""
        return JSONResponse(stack_info or {"gateway": gateway_url, "apiserver": self_url})

    async def healthz(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        return status(400, "BadRequest", str(exc))

    async def on_missing(request: Request, exc: Exception) -> Response:
        return status(404, "NotFound", str(exc))

    async def on_conflict(request: Request, exc: Exception) -> Response:
        return status(409, "AlreadyExists", str(exc))

    sa_path = "/api/v1/namespaces/{ns}/serviceaccounts"
    routes = [
        Route("/apis/authentication.k8s.io/v1/tokenreviews", token_review, methods=["POST"]),
        Route(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            subject_access_review,
            methods=["POST"],
        ),
        Route("/api/v1/namespaces", create_namespace, methods=["POST"]),
        Route("/api/v1/namespaces/{ns}", get_namespace, methods=["GET"]),
        Route(sa_path, service_accounts, methods=["GET", "POST"]),
        Route(sa_path + "/{name}", service_account, methods=["GET", "DELETE"]),
        Route(sa_path + "/{name}/token", token_request, methods=["POST"]),
        Route("/apis/serving.kserve.io/v1alpha1/llminferenceservices", list_models),
        Route("/apis/serving.kserve.io/v1alpha1/namespaces/{ns}/llminferenceservices", list_models),
        Route("/apis/serving.kserve.io/v1beta1/inferenceservices", list_inference_services),
        Route(
            "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices",
            list_inference_services,
        ),
        Route("/.well-known/openid-configuration", openid_configuration),
        Route("/openid/v1/jwks", jwks),
        Route("/local/v1/users/{username}/token", local_user_token, methods=["POST"]),
        Route("/local/v1/stack", local_stack),
        Route("/healthz", healthz),
        Route("/readyz", healthz),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={BadRequest: on_bad_request, Missing: on_missing, Conflict: on_conflict},
    )


def _rfc3339(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
