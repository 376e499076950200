"""The fault matrix judges runs correctly, knows every fault's area, and catches a sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from maas_e2e import fault_matrix
from maas_e2e.fault_matrix import FAULT_AREAS, HEALTHY, Run, read_junit, table, verdict

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="maas-e2e">
  <testcase classname="tests.e2e.test_rate_limits" name="test_a[free]">
    <properties><property name="area" value="rate_limits"/></properties>
    <failure message="expected 429">...</failure>
  </testcase>
  <testcase classname="tests.e2e.test_claims" name="test_b">
    <properties><property name="area" value="claims"/></properties>
    <error message="fixture failed"/>
  </testcase>
  <testcase classname="tests.e2e.test_claims" name="test_c">
    <properties><property name="area" value="claims"/></properties>
  </testcase>
  <testcase classname="tests.e2e.test_slow" name="test_d"><skipped message="slow"/></testcase>
</testsuite></testsuites>
"""


def test_junit_failures_and_errors_are_read_with_their_area(tmp_path: Path) -> None:
    path = tmp_path / "run.xml"
    path.write_text(JUNIT)
    failed, passed = read_junit(path)
    assert failed == [
        ("tests.e2e.test_rate_limits::test_a[free]", "rate_limits"),
        ("tests.e2e.test_claims::test_b", "claims"),
    ]
    assert passed == 1


@pytest.mark.parametrize(
    ("run", "wanted"),
    [
        (Run(HEALTHY, 0, [], 10), "green"),
        (Run(HEALTHY, 1, [("t", "claims")], 9), "RED"),
        (Run("rate-limit-off", 1, [("t", "rate_limits")]), "caught"),
        (Run("rate-limit-off", 1, [("t", "claims")]), "caught elsewhere"),
        (Run("rate-limit-off", 0, [], 10), "MISSED"),
        (Run("rate-limit-off", 4, [], 0, broken=True), "BROKEN RUN"),
    ],
    ids=["healthy", "healthy-red", "caught", "elsewhere", "missed", "broken"],
)
def test_verdicts(run: Run, wanted: str) -> None:
    assert verdict(run) == wanted


def test_table_names_the_failing_tests() -> None:
    text = table([Run("rate-limit-off", 1, [("m::test_x[free]", "rate_limits")])])
    assert "| rate-limit-off | caught | rate_limits | 1: test_x |" in text


def test_every_catalogue_fault_has_an_area() -> None:
    names = fault_matrix.catalogue()
    assert names, "maas-local faults listed nothing"
    assert sorted(names) == sorted(FAULT_AREAS), "FAULT_AREAS and the catalogue differ"


def test_a_sample_of_faults_is_caught_by_its_area_and_healthy_is_green(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The full matrix runs in CI (.ci/run); this sample keeps the project's tests quick."""
    code = fault_matrix.main(["--faults", "rate-limit-off,usage-missing", "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "| (healthy) | green |" in out
    assert "| rate-limit-off | caught | rate_limits |" in out
    assert "| usage-missing | caught | inference |" in out
