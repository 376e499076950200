"""The CI gate job: the suite on every change, on a cluster when a kubeconfig secret exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "e2e.yml"


@pytest.fixture(scope="module")
def jobs() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def _run_lines(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_every_push_and_pull_request_runs_the_gate() -> None:
    triggers = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML 1.1 reads `on:` as true
    assert {"push", "pull_request"} <= set(triggers), triggers


@pytest.mark.parametrize("job", ["embedded", "cluster"])
def test_each_run_installs_from_the_lock_and_publishes_junit_and_allure(
    jobs: dict[str, Any], job: str
) -> None:
    runs = _run_lines(jobs[job])
    assert "pip install -r requirements.lock" in runs, runs
    assert "pytest -m e2e -n auto" in runs, runs
    assert "--junitxml=reports/junit.xml" in runs, runs
    assert "--alluredir=reports/allure-results" in runs, runs
    uploads = [
        s for s in jobs[job]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    assert uploads, f"{job} publishes nothing"
    assert uploads[0]["if"] == "always()", "results must be published when tests fail too"
    assert uploads[0]["with"]["path"] == "reports/", uploads[0]


def test_cluster_job_runs_only_when_the_kubeconfig_secret_is_present(jobs: dict[str, Any]) -> None:
    gate = jobs["cluster-configured"]["steps"][0]
    assert gate["env"]["KUBECONFIG_B64"] == "${{ secrets.KUBECONFIG_B64 }}", gate
    assert jobs["cluster"]["if"] == "needs.cluster-configured.outputs.present == 'true'"
    assert "--maas-target cluster" in _run_lines(jobs["cluster"])


def test_cluster_runs_never_overlap(jobs: dict[str, Any]) -> None:
    concurrency = jobs["cluster"]["concurrency"]
    assert concurrency == {"group": "maas-e2e-cluster", "cancel-in-progress": False}, concurrency
