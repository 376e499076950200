"""GET /v1/models and GET /models: KServe's model objects as an OpenAI model list.

`/v1/models` lists the LLMInferenceServices (serving.kserve.io/v1alpha1), `/models` the
InferenceServices (v1beta1), every namespace's, each turned into an entry the same way. Objects
are read as Go's `unstructured` accessors read them: a field of the wrong type counts as an
error (no URL, not ready, the fallback id), never as a crash.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from maas_local.maas_api.commits import ModelId
from maas_local.maas_api.kube import ApiError, KubeClient
from maas_local.maas_api.replies import JSON

log = logging.getLogger(__name__)

GO_ZERO_TIME = -62135596800
"""`time.Time{}.Unix()`: what Go reports for an object without a creationTimestamp."""
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_GO_ZERO = datetime(1, 1, 1, tzinfo=UTC)


class ModelsHandler:
    def __init__(
        self,
        kube: KubeClient,
        own_namespace: str,
        model_id: ModelId,
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self._kube = kube
        self._model_id = model_id
        self._faults = faults
        # `models-empty`: the list is asked of maas-api's own namespace, where no model lives.
        self._namespace = own_namespace if "models-empty" in faults else None

    async def list_llms(self, _: Request) -> Response:
        """GET /v1/models: the LLMInferenceServices."""
        try:
            items = await self._kube.list_llm_inference_services(self._namespace)
        except ApiError as exc:
            log.warning("Failed to get available LLM models: %s", exc)
            failure = {"message": "Failed to retrieve LLM models", "type": "server_error"}
            return JSON({"error": failure}, status_code=500)
        return self._page(items)

    async def list_models(self, _: Request) -> Response:
        """GET /models: the InferenceServices; a plainer error body than /v1/models' own."""
        try:
            items = await self._kube.list_inference_services()
        except ApiError as exc:
            log.warning("Failed to get available models: %s", exc)
            return JSON({"error": "Failed to retrieve models"}, status_code=500)
        return self._page(items)

    def _page(self, items: list[dict[str, Any]]) -> Response:
        data = [model_entry(item, self._model_id, self._faults) for item in items]
        return JSON({"object": "list", "data": data})


def model_entry(
    item: dict[str, Any], model_id: ModelId, faults: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """One model: `id` per the commit's rule, `owned_by` its namespace, `url` only if it has one."""
    entry: dict[str, Any] = {
        "id": _id(item, model_id),
        "object": "model",
        "created": _unix(_string_at(item, "metadata", "creationTimestamp")),
        "owned_by": _string_at(item, "metadata", "namespace"),
    }
    status = _mapping(item.get("status"))
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
        url = _url(item)
    if url:
        entry["url"] = url
    entry["ready"] = _ready(item, faults)
    return entry


class _AccessorError(Exception):
    """Go's unstructured accessor error: a field on the path is not of the type asked for."""


def _nested(obj: dict[str, Any], *path: str) -> tuple[Any, bool]:
    """The value at `path` and whether it is there; walking into a non-object is an error."""
    node: Any = obj
    for key in path:
        if not isinstance(node, dict):
            raise _AccessorError(key)
        if key not in node:
            return None, False
        node = node[key]
    return node, True


def _nested_of(obj: dict[str, Any], kind: type, *path: str) -> tuple[Any, bool]:
    """`NestedString`/`NestedSlice`/...: present but of another type (null too) is an error."""
    value, found = _nested(obj, *path)
    if found and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise _AccessorError(path[-1])
    return value, found


def _string_at(obj: dict[str, Any], *path: str) -> str:
    """`GetName()` and kin: the string, or "" when it is missing or not a string."""
    try:
        value, found = _nested_of(obj, str, *path)
    except _AccessorError:
        return ""
    return value if found else ""


def _id(item: dict[str, Any], model_id: ModelId) -> str:
    """metadata.name; from a285d661 spec.model.name unless missing, empty or not a string."""
    if model_id is ModelId.MODEL_NAME:
        name = _string_at(item, "spec", "model", "name")
        if name:
            return name
    return _string_at(item, "metadata", "name")


def _url(item: dict[str, Any]) -> str | None:
    """status.url, else the first usable status.addresses[].url; an ill-typed one ends the
    search with no URL (maas-api logs it and lists the model without one)."""
    try:
        url, found = _nested_of(item, str, "status", "url")
        if found and url.strip():
            return url
        addresses, found = _nested_of(item, list, "status", "addresses")
    except _AccessorError:
        return None
    for address in addresses if found else []:
        candidate = address.get("url") if isinstance(address, dict) else None
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


def _ready(item: dict[str, Any], faults: frozenset[str]) -> bool:
    """Not being deleted, status not behind the spec, and every condition's status true."""
    if _time(_string_at(item, "metadata", "deletionTimestamp")) not in (None, _GO_ZERO):
        return False
    generation = _int_at(item, "metadata", "generation")
    observed = _int_at(item, "status", "observedGeneration")
    if generation is not None and generation > 0 and observed is not None and observed < generation:
        return False
    try:
        conditions, found = _nested_of(item, list, "status", "conditions")
    except _AccessorError:
        return False
    if not found or not conditions:
        return False
    return all(_true(c, faults) for c in conditions if isinstance(c, dict))


def _true(condition: dict[str, Any], faults: frozenset[str]) -> bool:
    """A condition's status read case-blind ("True", "true") or as a JSON bool; absent: false."""
    status = condition.get("status")
    if isinstance(status, str):
        # `models-not-ready`: the regression compares with "true" as written, and Kubernetes
        # writes "True".
        return (status if "models-not-ready" in faults else status.lower()) == "true"
    return status is True


def _int_at(obj: dict[str, Any], *path: str) -> int | None:
    try:
        value, found = _nested_of(obj, int, *path)
    except _AccessorError:
        return None
    return value if found else None


def _time(stamp: str) -> datetime | None:
    """An RFC 3339 timestamp as Go's `time.Parse(time.RFC3339, ...)` takes it, else None."""
    if not _RFC3339.fullmatch(stamp):
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def _unix(stamp: str) -> int:
    when = _time(stamp)
    return GO_ZERO_TIME if when is None else math.floor(when.timestamp())


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
