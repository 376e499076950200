"""Root of the suite: registers the MaaS options and loads the fixtures as plugins."""

from __future__ import annotations

import pytest

from maas_e2e.settings import OPTIONS

pytest_plugins = [
    "tests.fixtures.settings",
    "tests.fixtures.expected",
    "tests.fixtures.target",
    "tests.fixtures.http",
    "tests.fixtures.identities",
    "tests.fixtures.models",
    "tests.fixtures.leaks",
    "tests.fixtures.areas",
    "tests.fixtures.reporting",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maas", "MaaS end-to-end suite")
    for opt in OPTIONS:
        help_text = f"{opt.help} [env {opt.env}]"
        if opt.flag_kind == "switch":
            group.addoption(opt.flag, action="store_true", default=False, help=help_text)
        elif opt.flag_kind == "list":
            group.addoption(opt.flag, action="append", default=[], help=help_text)
        else:
            group.addoption(opt.flag, default=None, help=help_text)
