"""The gateway a run talks to reaches the report's environment, whichever process learns it."""

from __future__ import annotations

from pathlib import Path

import filelock
import pytest

from maas_e2e.reporting import results
from maas_e2e.reporting.results import record_gateway_url, results_lock


@pytest.fixture
def alluredir(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The run's `--alluredir`, as allure-pytest stores it."""
    path = tmp_path / "allure-results"
    monkeypatch.setattr(pytestconfig.option, "allure_report_dir", str(path), raising=False)
    return path


def test_without_alluredir_nothing_is_written(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pytestconfig.option, "allure_report_dir", None, raising=False)
    monkeypatch.chdir(tmp_path)
    record_gateway_url(pytestconfig, "http://127.0.0.1:1")
    assert list(tmp_path.rglob("*")) == []


def test_the_gateway_url_is_written_into_the_environment(
    pytestconfig: pytest.Config, alluredir: Path
) -> None:
    record_gateway_url(pytestconfig, "http://127.0.0.1:1")
    text = (alluredir / "environment.properties").read_text()
    assert text.splitlines() == ["gateway.url=http://127.0.0.1:1"], text


def test_each_workers_gateway_url_joins_what_the_environment_says(
    pytestconfig: pytest.Config, alluredir: Path
) -> None:
    alluredir.mkdir()
    (alluredir / "environment.properties").write_text(
        "target=local\ngateway.url=http://127.0.0.1:2\n"
    )
    record_gateway_url(pytestconfig, "http://127.0.0.1:1")
    text = (alluredir / "environment.properties").read_text()
    assert text.splitlines() == [
        "target=local",
        "gateway.url=http://127.0.0.1:1, http://127.0.0.1:2",
    ], text


def test_the_environment_changes_only_under_the_results_lock(
    pytestconfig: pytest.Config, alluredir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "LOCK_TIMEOUT_S", 0.05)
    alluredir.mkdir()
    with results_lock(alluredir), pytest.raises(filelock.Timeout):
        record_gateway_url(pytestconfig, "http://127.0.0.1:1")
    assert not (alluredir / "environment.properties").exists()
