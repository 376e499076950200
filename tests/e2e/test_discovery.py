"""GET /v1/models lists the deployed models, OpenAI-style, with where to call them."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from maas_e2e.api import MaasApi
from maas_e2e.checks import assert_authorino_401
from maas_e2e.expected import Expected
from maas_e2e.model import Model
from maas_e2e.settings import Settings
from maas_e2e.users import TokenFor

pytestmark = [pytest.mark.e2e, pytest.mark.discovery]

PATHS = ["/v1/models", "/maas-api/v1/models"]


@pytest.fixture
def listing(
    request: pytest.FixtureRequest, api: MaasApi, token_for: TokenFor, lowest_tier: str
) -> dict:
    resp = api.list_models(token_for(lowest_tier), via=request.param)
    assert resp.status_code == 200, f"GET {request.param}: expected 200, got {resp.status_code}"
    return resp.json()


@pytest.mark.parametrize("listing", PATHS, indirect=True)
def test_the_list_has_openai_shape(listing: dict) -> None:
    assert listing.get("object") == "list", f"object: expected 'list', got {listing.get('object')}"
    assert isinstance(listing.get("data"), list), f"data is not a list: {listing}"


@pytest.mark.parametrize("listing", PATHS, indirect=True)
def test_every_manifest_model_is_listed(listing: dict, expected: Expected) -> None:
    assert expected.models, "the manifests define no LLMInferenceService: nothing to discover"
    listed = {m.get("id") for m in listing["data"]}
    wanted = {m.listed_id for m in expected.models}
    assert wanted <= listed, (
        f"models missing from the list ({expected.maas_api}): {sorted(wanted - listed)}"
    )


@pytest.mark.parametrize("listing", PATHS, indirect=True)
def test_each_model_has_the_contract_fields(listing: dict, expected: Expected) -> None:
    for model in expected.models:
        entry = next((m for m in listing["data"] if m.get("id") == model.listed_id), {})
        assert entry.get("object") == "model", f"{model.name}: object is {entry.get('object')!r}"
        assert entry.get("owned_by") == model.namespace, (
            f"{model.name}: owned_by expected {model.namespace!r}, got {entry.get('owned_by')!r}"
        )
        created = entry.get("created")
        assert isinstance(created, int), f"{model.name}: created is {created!r}"
        assert created > 0, f"{model.name}: created is {created!r}"


@pytest.mark.parametrize("listing", PATHS, indirect=True)
def test_each_model_is_ready(listing: dict, expected: Expected) -> None:
    for model in expected.models:
        entry = next((m for m in listing["data"] if m.get("id") == model.listed_id), {})
        assert entry.get("ready") is True, f"{model.name}: ready is {entry.get('ready')!r}"


@pytest.mark.parametrize("listing", PATHS, indirect=True)
def test_each_model_url_ends_in_its_namespace_and_name(listing: dict, expected: Expected) -> None:
    for model in expected.models:
        entry = next((m for m in listing["data"] if m.get("id") == model.listed_id), {})
        url = entry.get("url")
        assert isinstance(url, str), f"{model.name}: no url in {entry}"
        assert urlsplit(url).path.rstrip("/").endswith(model.path), (
            f"{model.name}: url {url} does not end in {model.path}"
        )


def test_the_listed_url_answers_as_listed(
    api: MaasApi,
    model: Model,
    token_for: TokenFor,
    lowest_tier: str,
    settings: Settings,
) -> None:
    """Users call the URL exactly as listed (the seed takes `.data[0].url`): it must reach the
    model through the gateway. Not with --maas-gateway-url, a route the cluster cannot know."""
    if settings.gateway_url:
        pytest.skip(
            "not made: --maas-gateway-url: the listed URL is the cluster's, not the one used here"
        )
    token = token_for(lowest_tier)
    listed = next(
        m["url"] for m in api.list_models(token).json()["data"] if m["id"] == model.listed_id
    )
    try:
        resp = model.at(listed).chat(token, max_tokens=1)
    except httpx.HTTPError as exc:
        pytest.fail(f"{model.name}: the listed url {listed} cannot be reached: {exc!r}")
    assert resp.status_code == 200, (
        f"{model.name} at {listed}: expected 200, got {resp.status_code}"
    )


@pytest.mark.parametrize("path", PATHS)
def test_listing_models_without_a_token_is_401(api: MaasApi, path: str) -> None:
    assert_authorino_401(api.list_models(None, via=path), "credential not found")


def test_a_query_string_does_not_change_the_list(
    api: MaasApi, token_for: TokenFor, lowest_tier: str
) -> None:
    """The gateway passes a query string through (Envoy does) and maas-api ignores what it
    does not know: clients that add one, as some OpenAI SDKs do, see the same models."""
    token = token_for(lowest_tier)
    plain, queried = (api.list_models(token, via=f"/v1/models{q}") for q in ("", "?limit=1&x=y"))
    statuses = (plain.status_code, queried.status_code)
    assert statuses == (200, 200), f"GET /v1/models without and with a query: {statuses}"
    ids = [sorted(m.get("id") for m in r.json()["data"]) for r in (plain, queried)]
    assert ids[0], "GET /v1/models listed no model: nothing to compare"
    assert ids[0] == ids[1], f"model ids without a query {ids[0]}, with one {ids[1]}"
