"""Root of the suite: loads the fixtures as plugins.

The MaaS options are registered by the `maas_e2e` pytest plugin (`maas_e2e.plugin`), not here:
pytest must know them before it loads any conftest.
"""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.settings",
    "tests.fixtures.expected",
    "tests.fixtures.target",
    "tests.fixtures.http",
    "tests.fixtures.identities",
    "tests.fixtures.claims",
    "tests.fixtures.models",
    "tests.fixtures.leaks",
    "tests.fixtures.areas",
    "tests.fixtures.reporting",
]
