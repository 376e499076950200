"""The embedded maas-api answers as the commit the manifests pin, and refuses one it does not know.

The last case runs the e2e discovery tests against the embedded stack deployed from a copy of
the manifests pinned to a285d661, the first commit that lists a model's `spec.model.name`.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from maas_local.config import ManifestError, load_config, render_overlay
from maas_local.maas_api.commits import (
    IMAGE_REPOSITORY,
    KNOWN_COMMITS,
    ModelId,
    UnknownCommit,
    commit_of_image,
)

ROOT = Path(__file__).resolve().parents[3]
E2E = ROOT / "manifests" / "e2e"
PIN = "e38c15ede28fcf2bdac9d93224bcc3741f93c459"
MODEL_NAME_IDS = "a285d66124a8fd11c6f41e2dea4bc54c273b4e18"
OLDER = "77ae8d9e1ac48eb53866932d4d2a165590211097"  # tiers mapped differently: not emulated
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render_overlay(E2E)


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _with_image(objects: list[dict[str, Any]], tmp_path: Path, image: str) -> Path:
    changed = copy.deepcopy(objects)
    deployment = _named(changed, "Deployment", "maas-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return _write(tmp_path, changed)


def _write(tmp_path: Path, objects: list[dict[str, Any]]) -> Path:
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


def test_the_manifests_pin_is_known_and_lists_metadata_name() -> None:
    config = load_config(E2E)
    assert (config.maas_api.sha, config.maas_api.model_id) == (PIN, ModelId.NAME)


def test_a285d661_lists_spec_model_name(objects: list[dict[str, Any]], tmp_path: Path) -> None:
    image = f"{IMAGE_REPOSITORY}:{MODEL_NAME_IDS}"
    config = load_config(_with_image(objects, tmp_path, image))
    assert config.maas_api.model_id is ModelId.MODEL_NAME


def test_the_table_holds_only_the_commits_it_emulates() -> None:
    assert sorted(KNOWN_COMMITS) == sorted([PIN, MODEL_NAME_IDS])


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (f"{IMAGE_REPOSITORY}:{OLDER}", f"does not know commit '{OLDER}'"),
        (f"{IMAGE_REPOSITORY}:latest", "does not know commit 'latest'"),
        (f"{IMAGE_REPOSITORY}:{PIN[:8]}", f"does not know commit '{PIN[:8]}'"),
        (f"{IMAGE_REPOSITORY}@sha256:{'0' * 64}", "it is not quay.io/opendatahub/maas-api:<full"),
        (IMAGE_REPOSITORY, "it is not quay.io/opendatahub/maas-api:<full"),
    ],
    ids=["older-commit", "floating", "short-sha", "digest", "untagged"],
)
def test_a_commit_it_does_not_know_stops_start_up(
    objects: list[dict[str, Any]], tmp_path: Path, image: str, why: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        load_config(_with_image(objects, tmp_path, image))
    message = str(caught.value)
    assert message.startswith("Deployment maas-api/maas-api: "), message
    assert why in message, message
    assert "e38c15ed, a285d661" in message, "the error does not name the commits it knows"


def test_no_maas_api_image_is_refused(objects: list[dict[str, Any]], tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no container runs maas-api's image"):
        load_config(_with_image(objects, tmp_path, "example.com/other:1"))


def test_commit_of_image_names_the_commit() -> None:
    assert commit_of_image(f"{IMAGE_REPOSITORY}:{PIN}").short == "e38c15ed"
    with pytest.raises(UnknownCommit, match=r"registry\.example\.com/maas-api"):
        commit_of_image(f"registry.example.com/maas-api:{PIN}")


def test_the_models_spec_model_name_is_read(objects: list[dict[str, Any]], tmp_path: Path) -> None:
    changed = copy.deepcopy(objects)
    del _named(changed, "LLMInferenceService", "premium-simulated")["spec"]["model"]["name"]
    names = {m.name: m.model_name for m in load_config(_write(tmp_path, changed)).models}
    assert names == {"facebook-opt-125m-simulated": "facebook/opt-125m", "premium-simulated": None}


def test_manifests_with_an_inference_service_are_refused(
    objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "granite", "namespace": "llm"},
        "spec": {"predictor": {}},
    }
    with pytest.raises(ManifestError, match=r"InferenceService llm/granite\); the embedded stack"):
        load_config(_write(tmp_path, [*objects, isvc]))


# --------------------------------------------------------------------------- e2e on the variant


def _pin_a285d661_with_distinct_model_names(manifests: Path) -> None:
    """Pin a285d661 and give the premium model a spec.model.name of its own (both models say
    facebook/opt-125m in the project's manifests, so their ids would collide)."""
    kustomization = manifests / "stack/maas-api/kustomization.yaml"
    text = kustomization.read_text()
    assert f"newTag: {PIN}" in text, f"{kustomization} no longer pins {PIN}"
    kustomization.write_text(text.replace(f"newTag: {PIN}", f"newTag: {MODEL_NAME_IDS}"))
    model = manifests / "e2e/premium-model/llminferenceservice.yaml"
    text = model.read_text()
    assert "    name: facebook/opt-125m\n" in text, f"{model} has no spec.model.name to change"
    model.write_text(text.replace("    name: facebook/opt-125m\n", "    name: premium/opt-125m\n"))


def test_discovery_passes_on_manifests_pinned_to_a285d661(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    _pin_a285d661_with_distinct_model_names(tmp_path / "manifests")
    overlay = tmp_path / "manifests" / "e2e"
    assert {m.model_name for m in load_config(overlay).models} == {
        "facebook/opt-125m",
        "premium/opt-125m",
    }
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "tests/e2e", "-m", "e2e and discovery", "-q", "-p",
            "no:cacheprovider", "-p", "no:xdist", f"--maas-manifests={overlay}",
            f"--junitxml={junit}", f"--alluredir={tmp_path / 'allure'}",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout[-3000:]}{done.stderr}"
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    listed = [name for name in cases if name.startswith("test_every_manifest_model_is_listed")]
    assert listed, f"the discovery run has no listing case: {sorted(cases)}"
    for name in listed:
        assert cases[name].find("skipped") is None, f"{name} skipped"
