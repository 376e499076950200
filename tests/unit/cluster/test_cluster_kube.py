"""The kubectl layer: how it runs kubectl, reads answers, reports failures and finds the cluster."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from kubefake import FakeKubectl, kube

from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.kube import KubectlRunner, KubeError, connect, items

ECHO = """import json, sys
print(json.dumps({"argv": sys.argv[1:], "stdin": sys.stdin.read()}))
"""


@pytest.fixture
def echo_kubectl(tmp_path: Path) -> str:
    """An executable that prints the arguments and stdin it got, as JSON."""
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    tool = tmp_path / "kubectl"
    tool.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    tool.chmod(0o755)
    return str(tool)


def test_runner_passes_kubeconfig_context_request_timeout_and_stdin(echo_kubectl: str) -> None:
    runner = KubectlRunner(echo_kubectl, kubeconfig="/k/config", context="ci")
    result = runner(["apply", "-f", "-"], stdin="kind: Namespace\n", timeout=10)
    seen = json.loads(result.stdout)
    assert seen["argv"] == [
        "--request-timeout=20s", "--kubeconfig", "/k/config", "--context", "ci", "apply", "-f", "-",
    ], seen  # fmt: skip
    assert seen["stdin"] == "kind: Namespace\n", seen


def test_runner_gives_kubectl_no_terminal_to_wait_on(echo_kubectl: str) -> None:
    result = KubectlRunner(echo_kubectl)(["get", "pods"], stdin=None, timeout=10)
    assert json.loads(result.stdout)["stdin"] == "", result.stdout


def test_runner_turns_a_hang_into_a_failed_result(tmp_path: Path) -> None:
    tool = tmp_path / "kubectl"
    tool.write_text("#!/bin/sh\nexec sleep 30\n")
    tool.chmod(0o755)
    result = KubectlRunner(str(tool))(["get", "pods"], stdin=None, timeout=0.3)
    assert (result.returncode, result.stderr) == (124, "timed out after 0s"), result


def test_failure_shows_command_and_stderr_but_never_stdin_or_stdout() -> None:
    fake = FakeKubectl().fail("create", "-f", "-", stderr="Error from server (Forbidden): no")
    with pytest.raises(KubeError) as raised:
        kube(fake).run("create", "-f", "-", stdin="token: sekrit")
    message = str(raised.value)
    assert message == "`kubectl create -f -` failed: Error from server (Forbidden): no", message
    assert "sekrit" not in message


def test_json_asks_for_json_and_parses_it() -> None:
    fake = FakeKubectl().on("get", "ns", "x", "-o", "json", json={"kind": "Namespace"})
    assert kube(fake).json("get", "ns", "x") == {"kind": "Namespace"}


def test_output_that_is_not_json_is_a_failure() -> None:
    fake = FakeKubectl().on("get", "ns", stdout="NAME   STATUS\n")
    with pytest.raises(KubeError, match="output is not JSON"):
        kube(fake).json("get", "ns")


@pytest.mark.parametrize(
    "stderr",
    [
        'Error from server (NotFound): routes.route.openshift.io "gateway-route" not found',
        'error: the server doesn\'t have a resource type "routes"',
    ],
    ids=["object", "kind"],
)
def test_get_of_something_absent_is_none(stderr: str) -> None:
    fake = FakeKubectl().fail("get", stderr=stderr)
    assert kube(fake).get("routes.route.openshift.io", "gateway-route", "openshift-ingress") is None


def test_get_fails_loudly_on_other_errors() -> None:
    fake = FakeKubectl().fail("get", stderr="Error from server (Forbidden): routes is forbidden")
    with pytest.raises(KubeError, match="Forbidden"):
        kube(fake).get("routes.route.openshift.io", "gateway-route", "openshift-ingress")


@pytest.mark.parametrize(
    ("answer", "count"),
    [
        ({"kind": "List", "items": [{"a": 1}, {"b": 2}]}, 2),
        ({"kind": "CustomResourceDefinitionList", "items": []}, 0),
        ({"kind": "CustomResourceDefinition", "metadata": {"name": "x"}}, 1),
        ({}, 0),
    ],
)
def test_items_reads_lists_and_single_objects(answer: dict, count: int) -> None:
    assert len(items(answer)) == count


@pytest.fixture
def kubeconfigs(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name in ("override", "k8s", "ours"):
        path = tmp_path / f"{name}.kubeconfig"
        path.write_text("apiVersion: v1\nkind: Config\n")
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize(
    ("given", "chosen"),
    [
        (("override", "k8s", "ours"), "override"),
        (("k8s", "ours"), "k8s"),
        (("ours",), "ours"),
    ],
)
def test_kubeconfig_precedence_follows_pytest_kubernetes(
    kubeconfigs: dict[str, str], given: tuple[str, ...], chosen: str, echo_kubectl: str
) -> None:
    runner = connect(
        kubeconfig_override=kubeconfigs["override"] if "override" in given else None,
        k8s_kubeconfig=kubeconfigs["k8s"] if "k8s" in given else None,
        kubeconfig=kubeconfigs["ours"] if "ours" in given else None,
        kubectl=echo_kubectl,
    )
    assert runner.kubeconfig == kubeconfigs[chosen], runner
    assert Path(kubeconfigs[chosen]).exists(), "the suite must never delete a kubeconfig"


def test_a_kubeconfig_list_is_left_to_kubectl(
    kubeconfigs: dict[str, str], echo_kubectl: str
) -> None:
    merged = f"{kubeconfigs['ours']}:{kubeconfigs['k8s']}"
    assert connect(kubeconfig=merged, kubectl=echo_kubectl).kubeconfig is None


def test_missing_kubeconfig_file_is_reported(tmp_path: Path, echo_kubectl: str) -> None:
    with pytest.raises(TargetUnavailable, match="does not exist"):
        connect(kubeconfig=str(tmp_path / "nope"), kubectl=echo_kubectl)


def test_missing_kubectl_is_reported(kubeconfigs: dict[str, str]) -> None:
    with pytest.raises(TargetUnavailable, match="'no-such-kubectl' not found"):
        connect(kubeconfig=kubeconfigs["ours"], kubectl="no-such-kubectl")
