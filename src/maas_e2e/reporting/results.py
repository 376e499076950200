"""The Allure results directory every process of a run shares, and the lock that guards it.

xdist workers write into one directory while the controller prepared it; a file they all change
(`environment.properties`) changes only under a file lock beside the directory, not in it, so
emptying the directory never deletes a held lock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from filelock import FileLock

from maas_e2e.reporting.environment import with_gateway_url

LOCK_TIMEOUT_S = 60.0


def results_dir(config: pytest.Config) -> Path | None:
    """Where allure-pytest writes (`--alluredir`), or None when it does not run."""
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value).resolve() if value else None


def results_lock(results: Path) -> FileLock:
    return FileLock(results.parent / f".{results.name}.lock", timeout=LOCK_TIMEOUT_S)


def record_gateway_url(config: pytest.Config, url: str) -> None:
    """The gateway the run talks to, in the report's environment (known once the target is)."""
    results = results_dir(config)
    if results is None:
        return
    results.mkdir(parents=True, exist_ok=True)
    path = results / "environment.properties"
    with results_lock(results):
        text = path.read_text() if path.exists() else ""
        path.write_text(with_gateway_url(text, url))
