"""A failing e2e test whose message, locals, output and steps hold tokens reports none of them:
not in the terminal, not in the JUnit XML, not in any Allure result file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[3]
JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"
    ".eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6YWxpY2UifQ"
    ".c2lnbmF0dXJlLWJ5dGVzLW5vdC1yZWFsbHktYS1zaWduYXR1cmU"
)
OPENSHIFT = "sha256~Xk3q9v_2hT0p-LmN8rQwErTyUiOpAsDfGhJkLzXcVbN"
SECRETS = (JWT.split(".", 1)[1], JWT.rsplit(".", 1)[1], OPENSHIFT.removeprefix("sha256~"))
"""What must never show: the JWT's payload and signature, the opaque token's value."""

FAILING_TEST = f'''
import allure
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.tokens]


def test_minting_fails_with_tokens_in_every_channel():
    token = "{JWT}"
    identity = "{OPENSHIFT}"
    print("minted", token, "for", identity)
    with allure.step("mint a MaaS token"):
        assert token == "expected", f"expected 201 for {{identity}}, got 500 with {{token}}"
'''


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with one failing e2e-style test and only the reporting plugin loaded."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.reporting"]\n')
    pytester.makeini("[pytest]\nmarkers =\n    e2e: e2e\n    tokens: tokens\n")
    pytester.makepyfile(test_inner=FAILING_TEST)
    return pytester


def _leaks(text: str) -> list[str]:
    return [secret[:12] + "…" for secret in SECRETS if secret in text]


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n", "1"]], ids=["serial", "xdist"])
def test_a_failure_report_shows_no_token(inner: pytest.Pytester, mode: list[str]) -> None:
    results = inner.path / "allure-results"
    junit = inner.path / "junit.xml"
    run = inner.runpytest_subprocess(
        *mode, "-l", "-rA", "--tb=long", f"--alluredir={results}", f"--junitxml={junit}"
    )
    assert run.ret == pytest.ExitCode.TESTS_FAILED, f"the inner run: {run.stdout.str()[-2000:]}"
    terminal = run.stdout.str() + run.stderr.str()
    assert "[redacted" in terminal, f"no masked token in the terminal output:\n{terminal[-3000:]}"
    assert not _leaks(terminal), f"tokens in the terminal output: {_leaks(terminal)}"
    assert not _leaks(junit.read_text()), f"tokens in {junit.name}: {_leaks(junit.read_text())}"
    files = sorted(results.iterdir())
    found = [
        f"{path.name}: {_leaks(path.read_text())}" for path in files if _leaks(path.read_text())
    ]
    assert not found, f"tokens in Allure results: {found}"
    result = next(p.read_text() for p in files if p.name.endswith("-result.json"))
    assert "[redacted" in result, f"the Allure result masks no token: {result[:2000]}"
