"""Which kubectl the suite runs: the argument, else $KUBECTL, else `kubectl` on PATH."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from maas_e2e.kubectl import KubectlNotFound, find_kubectl


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    path = tmp_path / "my-kubectl"
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_argument_wins_over_the_environment(
    tool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECTL", "no-such-kubectl")
    assert find_kubectl(str(tool)) == str(tool)


def test_the_environment_names_the_default(tool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECTL", str(tool))
    assert find_kubectl() == str(tool)


def test_kubectl_is_looked_up_on_path(tool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool.rename(tool.with_name("kubectl"))
    monkeypatch.delenv("KUBECTL", raising=False)
    monkeypatch.setenv("PATH", str(tool.parent))
    assert find_kubectl() == str(tool.with_name("kubectl"))


def test_a_missing_kubectl_says_what_was_looked_for_and_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECTL", "no-such-kubectl")
    with pytest.raises(KubectlNotFound, match=r"'no-such-kubectl' not found .*\$KUBECTL") as raised:
        find_kubectl()
    assert raised.value.tool == "no-such-kubectl"
