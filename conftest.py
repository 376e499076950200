"""Root of the suite: loads the fixtures as plugins.

The MaaS options are registered by the `maas_e2e` pytest plugin (`maas_e2e.plugin`), not here:
pytest must know them before it loads any conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

pytest_plugins = [
    "tests.fixtures.settings",
    "tests.fixtures.expected",
    "tests.fixtures.target",
    "tests.fixtures.http",
    "tests.fixtures.identities",
    "tests.fixtures.claims",
    "tests.fixtures.models",
    "tests.fixtures.leaks",
    "tests.fixtures.inconclusive",
    "tests.fixtures.areas",
    "tests.fixtures.reporting",
]

PROJECT_TESTS = Path(__file__).parent / "tests" / "unit"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`pytest -m e2e` (the Quick start's first command) does not import the project's own
    tests: none of them carries a marker, so a `-m` expression that needs one selects none of
    them, and collecting them would only cost the run a second."""
    expression = config.getoption("markexpr")
    if collection_path != PROJECT_TESTS or not expression:
        return None
    return not Expression.compile(expression).evaluate(lambda name, /, **_: False) or None
