"""A small async client of the identity plane's Kubernetes-shaped API, over HTTP.

Only what maas-api calls: TokenReview, namespaces, ServiceAccounts, TokenRequest and the
LLMInferenceService and InferenceService lists. Every failure (a Status reply, a non-JSON
reply, an unreachable or slow apiserver) surfaces as ApiError so handlers map it to the
contract's replies.
"""

from __future__ import annotations

from typing import Any

import httpx

LLM_SERVICES = "/apis/serving.kserve.io/v1alpha1/llminferenceservices"
LLM_SERVICES_IN = "/apis/serving.kserve.io/v1alpha1/namespaces/{namespace}/llminferenceservices"
INFERENCE_SERVICES = "/apis/serving.kserve.io/v1beta1/inferenceservices"


class ApiError(Exception):
    """A failed apiserver call; `code` 0 means no HTTP reply at all."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def already_exists(self) -> bool:
        return self.code == 409 and self.reason == "AlreadyExists"


class KubeClient:
    """Thin typed calls; the caller owns the httpx.AsyncClient (base URL = the apiserver)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def token_review(self, token: str) -> dict[str, Any]:
        """The review's `status`; no audiences, so the API server's own audience applies."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        reply = await self._call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body)
        status = reply.get("status")
        return status if isinstance(status, dict) else {}

    async def create_namespace(self, name: str, labels: dict[str, str]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels},
        }
        await self._call("POST", "/api/v1/namespaces", body)

    async def create_service_account(
        self, namespace: str, name: str, labels: dict[str, str]
    ) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
        }
        await self._call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body)

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}")

    async def list_service_accounts(self, namespace: str, selector: dict[str, str]) -> list[str]:
        """Names of the namespace's ServiceAccounts whose labels match `selector`."""
        query = ",".join(f"{k}={v}" for k, v in selector.items())
        reply = await self._call(
            "GET", f"/api/v1/namespaces/{namespace}/serviceaccounts?labelSelector={query}"
        )
        items = reply.get("items")
        names = [
            (item.get("metadata") or {}).get("name")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict)
        ]
        return [name for name in names if isinstance(name, str) and name]

    async def delete_service_account(self, namespace: str, name: str) -> None:
        await self._call("DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}")

    async def request_token(
        self, namespace: str, name: str, audiences: list[str], seconds: int
    ) -> dict[str, Any]:
        """The TokenRequest's `status`: `token` and `expirationTimestamp`."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": audiences, "expirationSeconds": seconds},
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        status = (await self._call("POST", path, body)).get("status")
        return status if isinstance(status, dict) else {}

    async def list_llm_inference_services(
        self, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """Every namespace's LLMInferenceServices, or only `namespace`'s."""
        path = LLM_SERVICES if namespace is None else LLM_SERVICES_IN.format(namespace=namespace)
        return await self._items(path, "LLMInferenceServiceList")

    async def list_inference_services(self) -> list[dict[str, Any]]:
        """Every namespace's InferenceServices (serving.kserve.io/v1beta1)."""
        return await self._items(INFERENCE_SERVICES, "InferenceServiceList")

    async def _items(self, path: str, kind: str) -> list[dict[str, Any]]:
        items = (await self._call("GET", path)).get("items")
        if not isinstance(items, list):
            raise ApiError(200, "BadReply", f"{kind} without items")
        return [item for item in items if isinstance(item, dict)]

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            resp = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ApiError(0, "Unreachable", f"{method} {path}: {exc!r}") from None
        try:
            reply = resp.json()
        except ValueError:
            reply = None
        if resp.is_success and isinstance(reply, dict):
            return reply
        if isinstance(reply, dict) and reply.get("kind") == "Status":
            reason, message = str(reply.get("reason", "")), str(reply.get("message"))
            raise ApiError(resp.status_code, reason, message)
        raise ApiError(resp.status_code, "BadReply", f"{method} {path}: {resp.text[:200]!r}")
