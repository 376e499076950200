"""Manifests without a feature the suite can check are handled one way: the e2e tests that need
the feature skip with the reason ("not made: ..."), every other test runs, collection never stops.

Each case copies the project's manifests, removes one feature, and runs the e2e areas that use
it against the embedded stack deployed from the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 240
AREAS = "e2e and (rate_limits or token_limits or rejections)"


def drop_line(path: Path, line: str) -> None:
    text = path.read_text()
    assert f"{line}\n" in text, f"{path} has no line {line!r}"
    path.write_text(text.replace(f"{line}\n", ""))


def no_token_limit(manifests: Path) -> None:
    drop_line(manifests / "stack/policies/kustomization.yaml", "  - gateway-token-rate-limits.yaml")


def no_restricted_model(manifests: Path) -> None:
    drop_line(manifests / "e2e/kustomization.yaml", "  - premium-model")


def premium_without_a_request_limit(manifests: Path) -> None:
    path = manifests / "stack/policies/gateway-rate-limits.yaml"
    policy = yaml.safe_load(path.read_text())
    del policy["spec"]["limits"]["premium"]
    path.write_text(yaml.safe_dump(policy))


VARIANTS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "no-token-limit": (no_token_limit, ["the free tier has no token limit in the manifests"]),
    "no-restricted-model": (
        no_restricted_model,
        ["the manifests let every tier call every model: no RBAC denial to check"],
    ),
    "tier-without-a-limit": (
        premium_without_a_request_limit,
        ["the premium tier has no request limit in the manifests"],
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_tests_needing_a_missing_feature_skip_saying_why(tmp_path: Path, variant: str) -> None:
    remove, reasons = VARIANTS[variant]
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    remove(tmp_path / "manifests")
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-m", AREAS, "-q", "-p", "no:cacheprovider",
            "-p", "no:xdist", f"--maas-manifests={tmp_path / 'manifests' / 'e2e'}",
            f"--junitxml={junit}", f"--alluredir={tmp_path / 'allure'}",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout[-3000:]}{done.stderr}"
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    skips = [s.get("message", "") for c in cases if (s := c.find("skipped")) is not None]
    ran = len(cases) - len(skips)
    assert ran > 0, f"{variant}: every test skipped: {skips}"
    for reason in reasons:
        assert any(f"not made: {reason}" in s for s in skips), (
            f"{variant}: no skip says 'not made: {reason}'; skips: {sorted(set(skips))}"
        )
    unexplained = [s for s in skips if "not made: " not in s and "--maas-slow" not in s]
    assert not unexplained, f"{variant}: skips that do not say what was not made: {unexplained}"
