"""GET /v1/models: the LLMInferenceServices as an OpenAI model list, with URL and readiness."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from maas_local.maas_api.kube import ApiError, KubeClient
from maas_local.maas_api.replies import JSON

log = logging.getLogger(__name__)

GO_ZERO_TIME = -62135596800
"""`time.Time{}.Unix()`: what Go reports for an object without a creationTimestamp."""


class ModelsHandler:
    def __init__(
        self, kube: KubeClient, own_namespace: str, faults: frozenset[str] = frozenset()
    ) -> None:
        self._kube = kube
        self._faults = faults
        # `models-empty`: the list is asked of maas-api's own namespace, where no model lives.
        self._namespace = own_namespace if "models-empty" in faults else None

    async def list(self, _: Request) -> Response:
        try:
            items = await self._kube.list_llm_inference_services(self._namespace)
        except ApiError as exc:
            log.warning("Failed to get available LLM models: %s", exc)
            failure = {"message": "Failed to retrieve LLM models", "type": "server_error"}
            return JSON({"error": failure}, status_code=500)
        data = [model_entry(item, self._faults) for item in items]
        return JSON({"object": "list", "data": data})


def model_entry(item: dict[str, Any], faults: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One model: `id` its name, `owned_by` its namespace, `url` only when it has one."""
    meta, status = _mapping(item.get("metadata")), _mapping(item.get("status"))
    entry: dict[str, Any] = {
        "id": str(meta.get("name") or ""),
        "object": "model",
        "created": _unix(meta.get("creationTimestamp")),
        "owned_by": str(meta.get("namespace") or ""),
    }
    if "models-without-url" in faults:
        # The regression: only InferenceService's `status.address.url`, which an
        # LLMInferenceService does not have.
        url = _mapping(status.get("address")).get("url")
    elif "models-url-wrong-host" in faults:
        # The regression: the last of `status.addresses`, taken as the most specific, which
        # KServe fills with the workload's in-cluster Service after the gateway's address.
        addresses = status.get("addresses")
        last = addresses[-1] if isinstance(addresses, list) and addresses else None
        url = _mapping(last).get("url")
    else:
        url = _url(status)
    if url:
        entry["url"] = url
    entry["ready"] = _ready(meta, status, faults)
    return entry


def _url(status: dict[str, Any]) -> str | None:
    """status.url, else status.address.url, else the first of status.addresses."""
    if isinstance(status.get("url"), str) and status["url"]:
        return status["url"]
    address = _mapping(status.get("address")).get("url")
    if isinstance(address, str) and address:
        return address
    addresses = status.get("addresses")
    if isinstance(addresses, list) and addresses:
        first = _mapping(addresses[0]).get("url")
        return first if isinstance(first, str) and first else None
    return None


def _ready(meta: dict[str, Any], status: dict[str, Any], faults: frozenset[str]) -> bool:
    """Not being deleted, status caught up with the spec, and every condition True."""
    if meta.get("deletionTimestamp"):
        return False
    generation, observed = _int(meta.get("generation")), _int(status.get("observedGeneration"))
    if generation > 0 and observed < generation:
        return False
    conditions = status.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        return False
    # `models-not-ready`: the regression compares with "true", which Kubernetes never writes.
    expected = "true" if "models-not-ready" in faults else "True"
    return all(_mapping(c).get("status") == expected for c in conditions)


def _unix(stamp: Any) -> int:
    if not isinstance(stamp, str):
        return GO_ZERO_TIME
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return GO_ZERO_TIME
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
