"""The suite's options on a real pytest command line, with paths outside the checkout.

pytest sorts its arguments before it loads any conftest, so these run pytest itself, from the
checkout, as a user does. Each run only collects (`--co -m e2e --maas-target cluster`):
collection renders the manifests with `kubectl kustomize` but never contacts a cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maas_e2e.plugin import misread_paths
from maas_e2e.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 120
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: nobody
  user: {token: not-a-token}
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
"""


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the checkout with a kubeconfig and a copy of `manifests/` (the `e2e`
    overlay refers to `../stack`, so the whole tree is copied)."""
    directory = tmp_path_factory.mktemp("outside")
    (directory / "kubeconfig").write_text(KUBECONFIG)
    shutil.copytree(ROOT / "manifests", directory / "manifests")
    return directory


def _pytest(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Collect the e2e suite from the checkout; results and cache stay out of the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAAS_", "PYTEST_")) and k != "KUBECONFIG"
    }
    command = [
        sys.executable, "-m", "pytest", "--co", "-m", "e2e", "-p", "no:cacheprovider",
        f"--junitxml={tmp_path / 'junit.xml'}", f"--alluredir={tmp_path / 'allure'}", *args,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    return done.returncode, done.stdout + done.stderr


def _header(output: str, name: str) -> str | None:
    found = re.search(rf"^{name}: (.+)$", output, re.MULTILINE)
    return found.group(1).strip() if found else None


def _assert_rooted_at_checkout(code: int, output: str) -> None:
    assert "unrecognized arguments" not in output, output[-3000:]
    assert code == pytest.ExitCode.OK, output[-3000:]
    assert _header(output, "rootdir") == str(ROOT), output[:1000]
    assert _header(output, "configfile") == "pytest.ini", output[:1000]


def test_kubeconfig_and_manifests_outside_the_checkout_in_the_equals_form(
    tmp_path: Path, outside: Path
) -> None:
    code, output = _pytest(
        tmp_path,
        "--maas-target",
        "cluster",
        f"--kubeconfig={outside / 'kubeconfig'}",
        f"--maas-manifests={outside / 'manifests' / 'e2e'}",
    )
    _assert_rooted_at_checkout(code, output)


def test_spaced_manifests_inside_the_checkout_still_work(tmp_path: Path) -> None:
    code, output = _pytest(
        tmp_path, "--maas-target", "cluster", "--maas-manifests", "manifests/e2e"
    )
    _assert_rooted_at_checkout(code, output)


@pytest.mark.parametrize("flag", ["--kubeconfig", "--maas-manifests"])
def test_spaced_path_outside_the_checkout_is_refused_with_the_equals_form(
    tmp_path: Path, outside: Path, flag: str
) -> None:
    """pytest roots the run at such a path before any plugin loads: the suite says so and how
    to write it, instead of running without its pytest.ini."""
    value = str(outside / ("kubeconfig" if flag == "--kubeconfig" else "manifests/e2e"))
    code, output = _pytest(tmp_path, "--maas-target", "cluster", flag, value)
    assert code == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert "unrecognized arguments" not in output, output[-3000:]
    assert f"Write {flag}={value} instead" in output, output[-3000:]


@pytest.mark.parametrize(
    ("form", "named"), [("equals", "--maas-target"), ("spaced", "--kubeconfig")]
)
def test_bad_target_with_a_kubeconfig_is_the_suites_usage_error(
    tmp_path: Path, outside: Path, form: str, named: str
) -> None:
    kubeconfig = str(outside / "kubeconfig")
    given = [f"--kubeconfig={kubeconfig}"] if form == "equals" else ["--kubeconfig", kubeconfig]
    code, output = _pytest(tmp_path, "--maas-target", "nope", *given)
    assert code == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert "unrecognized arguments" not in output, output[-3000:]
    assert re.search(rf"^ERROR: {named}\b", output, re.MULTILINE), output[-3000:]


def test_help_lists_each_option_once_and_the_plugin_can_be_left_out() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAAS_", "PYTEST_"))}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--help"]
    outputs = []
    for extra in ([], ["-p", "no:maas_e2e"]):
        done = subprocess.run(
            [*command, *extra], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        outputs.append(done.stdout)
    with_plugin, without = outputs
    for opt in OPTIONS:
        pattern = rf"^\s+{re.escape(opt.flag)}\b"
        assert len(re.findall(pattern, with_plugin, re.MULTILINE)) == 1, opt.flag
        assert not re.findall(pattern, without, re.MULTILINE), opt.flag


@pytest.mark.parametrize(
    ("args", "test_paths", "expected"),
    [
        (["--kubeconfig", "{out}/kubeconfig"], [], [("--kubeconfig", "{out}/kubeconfig")]),
        (["--kubeconfig={out}/kubeconfig"], [], []),
        (["--maas-manifests", "manifests/e2e"], [], []),
        (["--kubeconfig", "{out}/missing"], [], []),
        (["--kubeconfig", "{out}/kubeconfig"], ["{out}"], []),
        (["--maas-keep", "{out}/kubeconfig"], [], []),
        (["--", "--kubeconfig", "{out}/kubeconfig"], [], []),
    ],
    ids=["spaced", "equals", "inside", "missing", "under-test-path", "switch", "after-dashes"],
)
def test_misread_paths(
    outside: Path, args: list[str], test_paths: list[str], expected: list[tuple[str, str]]
) -> None:
    def fill(value: str) -> str:
        return value.format(out=outside)

    found = misread_paths([fill(a) for a in args], ROOT, [fill(p) for p in test_paths])
    assert found == [(flag, fill(value)) for flag, value in expected]
