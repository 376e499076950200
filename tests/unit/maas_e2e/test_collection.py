"""The root conftest skips the project's own tests under a `-m` expression that needs a marker,
which is sound only while none of them carries one of the suite's markers (pytest.ini's)."""

from __future__ import annotations

import configparser

import pytest


def test_no_project_test_carries_a_marker_of_the_suite(request: pytest.FixtureRequest) -> None:
    ini = configparser.ConfigParser()
    ini.read(request.config.rootpath / "pytest.ini")
    suite = {line.split(":")[0].strip() for line in ini["pytest"]["markers"].splitlines() if line}
    marked = [
        f"{item.nodeid}: {sorted(names)}"
        for item in request.session.items
        if "tests/unit/" in item.nodeid and (names := {m.name for m in item.iter_markers()} & suite)
    ]
    assert "e2e" in suite
    assert not marked, "project tests with a suite marker (-m e2e would skip them):\n" + "\n".join(
        marked
    )
