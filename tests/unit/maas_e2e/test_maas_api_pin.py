"""The manifests pin one maas-api commit, in one place, and the suite expects what it does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from maas_e2e.expected import Expected
from maas_e2e.maas_api_commits import (
    ID_FROM_MODEL_NAME,
    ID_FROM_NAME,
    IMAGE_REPOSITORY,
    KNOWN_COMMITS,
    UnknownMaasApi,
    commit_of_image,
)
from maas_e2e.manifests import ManifestError, RenderedManifests, load_manifests, parse_manifests

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"
SEED = "e38c15ede28fcf2bdac9d93224bcc3741f93c459"
MODEL_NAME_IDS = "a285d66124a8fd11c6f41e2dea4bc54c273b4e18"


@pytest.fixture(scope="module")
def rendered() -> RenderedManifests:
    return load_manifests(MANIFESTS / "e2e")


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _pinned(rendered: RenderedManifests, image: str) -> RenderedManifests:
    docs = copy.deepcopy(list(rendered.documents))
    _container(docs)["image"] = image
    return parse_manifests(yaml.safe_dump_all(docs), source="pinned")


def test_the_overlay_pins_the_seed_commit_by_its_full_sha(rendered: RenderedManifests) -> None:
    container = _container(list(rendered.documents))
    assert container["image"] == f"{IMAGE_REPOSITORY}:{SEED}"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_the_pin_is_written_in_one_place() -> None:
    holders = [p for p in MANIFESTS.rglob("*.yaml") if SEED in p.read_text(encoding="utf-8")]
    assert [p.relative_to(MANIFESTS).as_posix() for p in holders] == [
        "stack/maas-api/kustomization.yaml"
    ]


def test_the_seed_commit_lists_models_by_resource_name(rendered: RenderedManifests) -> None:
    expected = Expected.from_manifests(rendered)
    assert expected.maas_api.model_id_from == ID_FROM_NAME
    assert [m.listed_id for m in expected.models] == [m.name for m in expected.models]


def test_from_a285d661_models_are_listed_by_spec_model_name(rendered: RenderedManifests) -> None:
    image = f"{IMAGE_REPOSITORY}:{MODEL_NAME_IDS}"
    expected = Expected.from_manifests(_pinned(rendered, image))
    assert expected.maas_api.model_id_from == ID_FROM_MODEL_NAME
    served = {
        d["metadata"]["name"]: d["spec"]["model"]["name"]
        for d in rendered.documents
        if d["kind"] == "LLMInferenceService"
    }
    assert {m.name: m.listed_id for m in expected.models} == served


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (f"{IMAGE_REPOSITORY}:latest", "does not know commit 'latest'"),
        (f"{IMAGE_REPOSITORY}", "is not"),
        (f"{IMAGE_REPOSITORY}@sha256:{'0' * 64}", "is not"),
        (f"example.com/fork/maas-api:{SEED}", "is not"),
        (f"{IMAGE_REPOSITORY}:{'f' * 40}", "does not know commit"),
    ],
    ids=["floating-latest", "no-tag", "digest", "other-repository", "unknown-sha"],
)
def test_an_image_of_unknown_promises_stops_the_run(
    rendered: RenderedManifests, image: str, why: str
) -> None:
    with pytest.raises(UnknownMaasApi, match=why):
        commit_of_image(image)
    with pytest.raises(ManifestError, match=r"Deployment maas-api/maas-api: .*cannot be verified"):
        Expected.from_manifests(_pinned(rendered, image))


def test_the_error_names_the_commits_the_suite_knows() -> None:
    with pytest.raises(UnknownMaasApi) as raised:
        commit_of_image(f"{IMAGE_REPOSITORY}:latest")
    for commit in KNOWN_COMMITS.values():
        assert commit.short in str(raised.value)
