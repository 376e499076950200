"""The embedded maas-api's model lists: `GET /v1/models` (LLMInferenceServices) and `GET /models`
(InferenceServices), read from an API server faked per test, and both through the real stack.

The expected entries are written out from upstream e38c15ed's `internal/models/kserve.go` (and
a285d661's `id`), not computed with the code under test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from maas_local.config import StackConfig
from maas_local.maas_api.commits import ModelId
from maas_local.maas_api.kube import KubeClient
from maas_local.maas_api.models import ModelsHandler
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

if TYPE_CHECKING:
    from maas_local.stack import StackUrls

ISVC_PATH = "/apis/serving.kserve.io/v1beta1/inferenceservices"
LLM_PATH = "/apis/serving.kserve.io/v1alpha1/llminferenceservices"
CREATED = "2025-10-10T12:00:00Z"
CREATED_UNIX = 1760097600
FAILED = {"error": "Failed to retrieve models"}
FAILED_LLMS = {"error": {"message": "Failed to retrieve LLM models", "type": "server_error"}}
Reply = Callable[[httpx.Request], httpx.Response]


def isvc(name: str = "granite", namespace: str = "models", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": CREATED,
            "generation": 2,
        },
        "spec": {"predictor": {"model": {"modelFormat": {"name": "vllm"}}}},
        "status": status,
    }


READY = {
    "url": "https://granite-models.apps.example.com",
    "observedGeneration": 2,
    "conditions": [
        {"type": "PredictorReady", "status": "True"},
        {"type": "Ready", "status": "True"},
    ],
}


def listing(*items: dict[str, Any]) -> Reply:
    return lambda _: httpx.Response(
        200, json={"kind": "InferenceServiceList", "items": list(items)}
    )


@pytest.fixture
def asked() -> list[str]:
    """The paths maas-api asked the fake API server for."""
    return []


@pytest.fixture
def serve(asked: list[str]) -> Iterator[Callable[..., httpx.Client]]:
    """maas-api's two model routes, on loopback, in front of an API server answering `reply`."""
    with contextlib.ExitStack() as running:

        def start(reply: Reply, model_id: ModelId = ModelId.NAME) -> httpx.Client:
            def record(request: httpx.Request) -> httpx.Response:
                asked.append(request.url.path)
                return reply(request)

            api = httpx.AsyncClient(transport=httpx.MockTransport(record), base_url="http://api")
            handler = ModelsHandler(KubeClient(api), "maas-api", model_id)
            component = Component("maas-api", bind(0))
            component.app = Starlette(
                routes=[
                    Route("/models", handler.list_models),
                    Route("/v1/models", handler.list_llms),
                ]
            )
            running.enter_context(serve_in_thread(ServerGroup([component])))
            return running.enter_context(httpx.Client(base_url=component.url, timeout=10))

        yield start


# --------------------------------------------------------------------------- GET /models


def test_no_inference_service_is_an_empty_list(
    serve: Callable[..., httpx.Client], asked: list[str]
) -> None:
    resp = serve(listing()).get("/models")
    assert (resp.status_code, resp.json()) == (200, {"object": "list", "data": []}), resp.text
    assert asked == [ISVC_PATH], "not a cluster-wide InferenceService list"


def test_a_served_inference_service_is_listed_with_url_and_ready(
    serve: Callable[..., httpx.Client],
) -> None:
    resp = serve(listing(isvc(**READY))).get("/models")
    entry = {
        "id": "granite",
        "object": "model",
        "created": CREATED_UNIX,
        "owned_by": "models",
        "url": "https://granite-models.apps.example.com",
        "ready": True,
    }
    assert (resp.status_code, resp.json()) == (200, {"object": "list", "data": [entry]})


def test_an_inference_service_without_status_has_no_url_and_is_not_ready(
    serve: Callable[..., httpx.Client],
) -> None:
    resp = serve(listing(isvc())).get("/models")
    entry = {
        "id": "granite",
        "object": "model",
        "created": CREATED_UNIX,
        "owned_by": "models",
        "ready": False,
    }
    assert (resp.status_code, resp.json()) == (200, {"object": "list", "data": [entry]})


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    "reply",
    [
        lambda _: httpx.Response(
            403,
            json={"kind": "Status", "reason": "Forbidden", "message": "cannot list"},
        ),
        lambda _: httpx.Response(
            404, json={"kind": "Status", "reason": "NotFound", "message": "no such resource"}
        ),
        lambda _: httpx.Response(200, text="<html>"),
        _unreachable,
    ],
    ids=["forbidden", "no-crd", "not-json", "unreachable"],
)
def test_an_api_server_failure_is_500_with_the_plain_error(
    serve: Callable[..., httpx.Client], reply: Reply
) -> None:
    resp = serve(reply).get("/models")
    assert (resp.status_code, resp.json()) == (500, FAILED), resp.text


def test_v1_models_keeps_its_own_error_body(serve: Callable[..., httpx.Client]) -> None:
    resp = serve(lambda _: httpx.Response(500, text="boom")).get("/v1/models")
    assert (resp.status_code, resp.json()) == (500, FAILED_LLMS), resp.text


def test_v1_models_asks_for_llm_inference_services(
    serve: Callable[..., httpx.Client], asked: list[str]
) -> None:
    assert serve(listing()).get("/v1/models").json() == {"object": "list", "data": []}
    assert asked == [LLM_PATH]


# --------------------------------------------------------------------------- the id


def _with_model_name(value: Any) -> dict[str, Any]:
    item = isvc(**READY)
    item["spec"] = {"model": {"name": value}}
    return item


@pytest.mark.parametrize(
    ("item", "model_id", "expected"),
    [
        (_with_model_name("facebook/opt-125m"), ModelId.NAME, "granite"),
        (_with_model_name("facebook/opt-125m"), ModelId.MODEL_NAME, "facebook/opt-125m"),
        (_with_model_name(""), ModelId.MODEL_NAME, "granite"),
        (_with_model_name(7), ModelId.MODEL_NAME, "granite"),
        (_with_model_name(None), ModelId.MODEL_NAME, "granite"),
        (isvc(**READY), ModelId.MODEL_NAME, "granite"),
        ({**isvc(**READY), "spec": {"model": "facebook/opt-125m"}}, ModelId.MODEL_NAME, "granite"),
    ],
    ids=["e38c15ed", "a285d661", "empty", "not-a-string", "null", "unset", "model-not-an-object"],
)
def test_the_id_follows_the_commit(
    serve: Callable[..., httpx.Client], item: dict[str, Any], model_id: ModelId, expected: str
) -> None:
    for path in ("/models", "/v1/models"):
        data = serve(listing(item), model_id).get(path).json()["data"]
        assert [entry["id"] for entry in data] == [expected], path


# --------------------------------------------------------------------------- url and readiness


@pytest.mark.parametrize(
    ("status", "url"),
    [
        ({"url": "http://a", "addresses": [{"url": "http://b"}]}, "http://a"),
        ({"url": "  ", "addresses": [{"url": "http://b"}]}, "http://b"),
        ({"addresses": ["x", {"url": ""}, {"url": 3}, {"url": "http://c"}]}, "http://c"),
        ({"url": 5, "addresses": [{"url": "http://b"}]}, None),
        ({"url": None, "addresses": [{"url": "http://b"}]}, None),
        ({"addresses": {"url": "http://b"}}, None),
        ({"address": {"url": "http://svc.cluster.local"}}, None),
        ({"addresses": []}, None),
    ],
    ids=[
        "url-first",
        "blank-url",
        "first-usable-address",
        "url-not-a-string",
        "url-null",
        "addresses-not-a-list",
        "address-is-not-read",
        "no-address",
    ],
)
def test_the_url_is_status_url_else_the_first_usable_address(
    serve: Callable[..., httpx.Client], status: dict[str, Any], url: str | None
) -> None:
    entry = serve(listing(isvc(**status))).get("/models").json()["data"][0]
    assert entry.get("url") == url, entry


def _conditions(*statuses: Any) -> dict[str, Any]:
    return {"observedGeneration": 2, "conditions": [{"status": s} for s in statuses]}


@pytest.mark.parametrize(
    ("status", "metadata", "ready"),
    [
        (_conditions("True", "true", "TRUE"), {}, True),
        (_conditions(True), {}, True),
        ({"conditions": [{"status": "True"}]}, {}, True),
        ({"observedGeneration": 2, "conditions": ["junk", {"status": "True"}]}, {}, True),
        (_conditions("True", "False"), {}, False),
        (_conditions("True", "Unknown"), {}, False),
        ({"observedGeneration": 2, "conditions": [{"type": "Ready"}]}, {}, False),
        (_conditions(), {}, False),
        ({"observedGeneration": 1, "conditions": [{"status": "True"}]}, {}, False),
        ({"observedGeneration": 1, "conditions": [{"status": "True"}]}, {"generation": 0}, True),
        (_conditions("True"), {"deletionTimestamp": "2025-10-11T00:00:00Z"}, False),
        (_conditions("True"), {"deletionTimestamp": "soon"}, True),
    ],
    ids=[
        "any-case",
        "json-bool",
        "no-observed-generation",
        "non-object-condition-skipped",
        "a-false-condition",
        "unknown",
        "no-status-field",
        "no-condition",
        "stale",
        "no-generation",
        "being-deleted",
        "unparsable-deletion",
    ],
)
def test_readiness_reads_conditions_as_upstream(
    serve: Callable[..., httpx.Client], status: dict[str, Any], metadata: dict, ready: bool
) -> None:
    item = isvc(**status)
    item["metadata"].update(metadata)
    entry = serve(listing(item)).get("/models").json()["data"][0]
    assert entry["ready"] is ready, entry


@pytest.mark.parametrize(
    ("stamp", "created"),
    [
        (CREATED, CREATED_UNIX),
        ("2025-10-10T14:00:00.5+02:00", CREATED_UNIX),
        ("2025-10-10", -62135596800),
        ("2025-10-10 12:00:00Z", -62135596800),
        (None, -62135596800),
    ],
)
def test_created_is_the_rfc3339_creation_time_else_gos_zero_time(
    serve: Callable[..., httpx.Client], stamp: str | None, created: int
) -> None:
    item = isvc(**READY)
    item["metadata"]["creationTimestamp"] = stamp
    entry = serve(listing(item)).get("/models").json()["data"][0]
    assert entry["created"] == created, entry


# --------------------------------------------------------------------------- the real stack


def test_the_embedded_api_server_serves_no_inference_service(
    stack: StackUrls, http: httpx.Client
) -> None:
    for path in (ISVC_PATH, "/apis/serving.kserve.io/v1beta1/namespaces/llm/inferenceservices"):
        resp = http.get(f"{stack.apiserver}{path}")
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        assert (resp.json()["kind"], resp.json()["items"]) == ("InferenceServiceList", []), path


def test_the_embedded_api_server_keeps_the_manifests_model_name(
    stack: StackUrls, http: httpx.Client, stack_config: StackConfig
) -> None:
    items = http.get(f"{stack.apiserver}{LLM_PATH}").json()["items"]
    got = {i["metadata"]["name"]: i["spec"]["model"]["name"] for i in items}
    # What manifests/models/simulator and manifests/e2e/premium-model write.
    assert got == {
        "facebook-opt-125m-simulated": "facebook/opt-125m",
        "premium-simulated": "facebook/opt-125m",
    }


def test_models_answers_directly_and_through_the_gateways_prefix_rewrite(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    direct = http.get(f"{stack.maas_api}/models")
    assert (direct.status_code, direct.json()) == (200, {"object": "list", "data": []})
    headers = {"Authorization": f"Bearer {user_token()}"}
    routed = http.get(f"{stack.gateway}/maas-api/models", headers=headers)
    assert (routed.status_code, routed.json()) == (200, {"object": "list", "data": []})


def test_models_through_the_gateway_needs_a_credential(
    stack: StackUrls, http: httpx.Client
) -> None:
    resp = http.get(f"{stack.gateway}/maas-api/models")
    assert resp.status_code == 401, f"expected Authorino's 401, got {resp.status_code}"
