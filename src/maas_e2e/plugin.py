"""The suite's command-line options, registered by a pytest plugin (entry point `maas_e2e`).

Why a plugin and not the root `conftest.py`: pytest loads a conftest only under the paths it
was given, and it sorts paths from options with the options it knows at that point. Given
`--kubeconfig ~/.kube/config`, pytest took the file for a test path, never loaded the checkout's
conftest and so rejected the suite's options as "unrecognized arguments". Plugins of the
`pytest11` entry point are loaded before any conftest, so the options are always known.

One thing a plugin cannot change: pytest picks the rootdir and `pytest.ini` even earlier, before
it loads any plugin. A path given as an option's separate argument (`--kubeconfig PATH`) still
counts there as a test path, and a path outside the run roots the run away from the suite's
`pytest.ini` (no markers, no testpaths, reports written beside the kubeconfig). That run would
be wrong without saying so, so this plugin stops it with a usage error that gives the
`--option=PATH` spelling, which pytest does not mistake for a test path.

This plugin loads in every pytest run of the environment, so it only adds options and that
check, which looks only at the suite's own options. `-p no:maas_e2e` leaves it out (the
options then come from their environment variables only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest

from maas_e2e.settings import OPTIONS

# Options that take a value: their separate argument is what pytest may mistake for a path.
VALUE_FLAGS = frozenset(opt.flag for opt in OPTIONS if opt.flag_kind != "switch")


def pytest_addoption(parser: pytest.Parser) -> None:
    """One option per row of `OPTIONS`, its variable named in the help."""
    group = parser.getgroup("maas", "MaaS end-to-end suite")
    for opt in OPTIONS:
        help_text = f"{opt.help} [env {opt.env}]"
        if opt.flag_kind == "switch":
            group.addoption(opt.flag, action="store_true", default=False, help=help_text)
        elif opt.flag_kind == "list":
            group.addoption(opt.flag, action="append", default=[], help=help_text)
        else:
            group.addoption(opt.flag, default=None, help=help_text)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """Refuse a run that pytest rooted at one of the suite's option values (see the module)."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "inifilename", None):
        return  # -c/--config-file names the configuration: the rootdir follows it
    misread = misread_paths(
        args, early_config.invocation_params.dir, getattr(namespace, "file_or_dir", None) or []
    )
    if not misread:
        return
    flag, value = misread[0]
    configfile = early_config.inipath or "no configuration file"
    raise pytest.UsageError(
        f"{flag} {value}: pytest chooses its rootdir before it knows the suite's options, so it "
        f"took {value} for a test path and rooted the run at {early_config.rootpath} "
        f"({configfile}). Write {flag}={value} instead."
    )


def misread_paths(
    args: Sequence[str], invocation_dir: Path, test_paths: Sequence[str]
) -> list[tuple[str, str]]:
    """The suite's options given as `FLAG VALUE` whose value is an existing path outside the
    directory pytest runs from and outside every test path given: pytest searched for its
    configuration from there."""
    roots = [_absolute(invocation_dir, p) for p in (".", *test_paths)]
    found = []
    for flag, value in pairwise(args):
        if flag == "--":
            break
        if flag not in VALUE_FLAGS or value.startswith("-"):
            continue
        path = _absolute(invocation_dir, value)
        if _exists(path) and not any(path.is_relative_to(root) for root in roots):
            found.append((flag, value))
    return found


def _absolute(base: Path, value: str) -> Path:
    # Like pytest: made absolute and normalised, symlinks not followed; `a::b` names a path `a`.
    return Path(os.path.abspath(base / value.split("::", 1)[0]))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system, say: then it is no path
        return False
