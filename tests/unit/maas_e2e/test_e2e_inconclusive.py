"""A check the run could not make is reported skipped, "not made: <why>", never passed or failed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

from maas_e2e.quota import Inconclusive

pytestmark = pytest.mark.e2e


def test_inconclusive():
    raise Inconclusive("free spent 120 tokens of its budget 100 per 1m")


def test_failing():
    assert 429 == 200, "expected 200"


def test_passing():
    pass
"""
ORACLE_TESTS = """
from maas_e2e.quota import Inconclusive


def test_oracle_inconclusive():
    raise Inconclusive("escaped a test of the oracle")
"""


@pytest.fixture
def outcomes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.HookRecorder:
    """An inconclusive, a failing and a passing test, run with only the inconclusive plugin
    (no installed plugin: importing them again for the inner run costs seconds)."""
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.inconclusive"]\n')
    pytester.makeini("[pytest]\nmarkers =\n    e2e: end-to-end\n")
    pytester.makepyfile(test_inner=TESTS, test_oracle=ORACLE_TESTS)
    return pytester.inline_run("-p", "no:cacheprovider")


def _names(reports: Sequence[pytest.TestReport | pytest.CollectReport]) -> list[str]:
    return [r.nodeid.rsplit("::", 1)[-1] for r in reports]


def test_an_inconclusive_check_is_skipped_with_its_reason(outcomes: pytest.HookRecorder) -> None:
    _, skipped, _ = outcomes.listoutcomes()
    reasons = [(name, r.longrepr[2]) for name, r in zip(_names(skipped), skipped, strict=True)]
    assert reasons == [
        ("test_inconclusive", "Skipped: not made: free spent 120 tokens of its budget 100 per 1m")
    ], reasons


def test_other_outcomes_stay_and_an_inconclusive_outside_e2e_fails(
    outcomes: pytest.HookRecorder,
) -> None:
    passed, _, failed = outcomes.listoutcomes()
    assert (_names(passed), _names(failed)) == (
        ["test_passing"],
        ["test_failing", "test_oracle_inconclusive"],
    )
