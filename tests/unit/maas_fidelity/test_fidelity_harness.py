"""The harness as a whole: it shares no code with what it judges, refuses bad options with one
message, and (where the pinned cluster builds exist) compares the identity plane for real."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from maas_fidelity import cli
from maas_fidelity.components import IDENTITY, MAAS_API
from maas_fidelity.manifests import read
from maas_fidelity.run import Options, run

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "maas_fidelity"
OVERLAY = Path(__file__).resolve().parents[3] / "manifests" / "e2e"


def test_the_harness_imports_neither_the_suite_nor_the_stack() -> None:
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("maas_e2e", "maas_local")), f"{module.name}: {name}"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--maas-api-binary", "/nonexistent/maas-api"], "not an executable file"),
        (["--samples", "3"], "at least 30"),
        (["--manifests", "/nonexistent"], "no such file"),
    ],
)
def test_bad_options_are_one_clear_message(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("maas-fidelity: ")
    assert words in err
    assert "\n" not in err


def test_an_unreadable_known_list_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    known = tmp_path / "known.toml"
    known.write_text("[[difference]]\ncomponent = 1\n", encoding="utf-8")
    assert cli.main(["--known", str(known)]) == 2
    assert "difference #1" in capsys.readouterr().err


def test_write_and_check_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--check", "--write", "x.md"])
    assert raised.value.code == 2


def test_the_manifests_tell_identities_and_maas_apis_place() -> None:
    text = """
kind: Namespace
metadata: {name: ids-free, labels: {maas-e2e.opendatahub.io/tier: free}}
---
kind: Gateway
metadata: {name: gw, namespace: ingress}
---
kind: Deployment
metadata: {name: maas-api, namespace: api}
spec: {template: {spec: {containers: [{env: [{name: PROVIDER, value: sa-tokens},
  {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]}]}}}
"""
    deployment = read(text)
    assert deployment.identity_namespaces == {"free": "ids-free"}
    assert (deployment.instance, deployment.maas_api_namespace) == ("gw", "api")
    assert deployment.maas_api_env == {"PROVIDER": "sa-tokens"}


def _cluster_built_or_skip() -> None:
    from maas_local.cluster.upstream import UpstreamMissing, locate

    try:
        locate()
    except UpstreamMissing as exc:
        pytest.skip(f"not made: {exc}")


def test_identity_is_compared_against_the_real_api_server(tmp_path: Path) -> None:
    """A real run: the embedded stack and `maas-local cluster` as processes. Statuses both
    sides agree on (the 10-minute minimum, a valid review, the issuer's discovery) match; what
    the embedded API server is known to leave out (kube-apiserver's Status `details`) is found."""
    _cluster_built_or_skip()
    [outcome] = run(Options(components=(IDENTITY,), manifests=OVERLAY, workdir=tmp_path))
    assert not outcome.not_made
    assert len(outcome.cases) > 400
    agreed = {"tokenrequest.expiration-599", "tokenreview.valid", "oidc.discovery"}
    status_differs = {d.case for d in outcome.differences if d.aspect == "status"}
    assert agreed.isdisjoint(status_differs), status_differs
    assert any(
        d.case == "tokenrequest.missing-serviceaccount"
        and d.detail.startswith("$.details only real")
        for d in outcome.differences
    )


def test_without_the_cluster_builds_its_components_are_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never "matched": the components that need the cluster say why they were not compared."""
    monkeypatch.setenv("MAAS_UPSTREAM_CACHE", str(tmp_path / "empty-cache"))
    outcomes = run(
        Options(components=(IDENTITY, MAAS_API), manifests=OVERLAY, workdir=tmp_path / "work")
    )
    assert [o.component for o in outcomes] == [IDENTITY, MAAS_API]
    for outcome in outcomes:
        assert "are not built" in outcome.not_made
        assert "build-upstream.sh" in outcome.not_made
        assert outcome.cases == ()
        assert outcome.matched == 0
