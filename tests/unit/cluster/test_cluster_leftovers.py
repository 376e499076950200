"""What interrupted runs left is found by label and by name, and nothing else is touched."""

from __future__ import annotations

from kubefake import FakeKubectl, e2e_expected, e2e_manifests, kube, listing, ready

from maas_e2e.naming import expected_sa_name
from maas_e2e.targets import ownership
from maas_e2e.targets.leftovers import remove_earlier_runs, remove_everything

TIER_FREE = "maas-default-gateway-tier-free"
LEFT_IDENTITY = "system:serviceaccount:maas-e2e-free:e2e-token-3f2a1b0c"
SOMEONES = "system:serviceaccount:team-a:alice-app"
TIER_SELECTOR = (
    "maas.opendatahub.io/tier-namespace=true,maas.opendatahub.io/instance=maas-default-gateway"
)


def _namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _account(name: str) -> dict:
    return {"kind": "ServiceAccount", "metadata": {"name": name, "namespace": TIER_FREE}}


def _cluster(
    *, namespaces_of_earlier_runs: list[dict], live: list[dict] | None = None
) -> FakeKubectl:
    """A cluster where an interrupted run left a suite namespace of its own, and maas-api's
    tier namespace holds an account for the run's identity beside a real user's."""
    accounts = [_account(expected_sa_name(LEFT_IDENTITY)), _account(expected_sa_name(SOMEONES))]
    tier_ns = _namespace(TIER_FREE, **{"maas.opendatahub.io/tier-namespace": "true"})
    return (
        FakeKubectl()
        .on("get", "namespaces", "-l", TIER_SELECTOR, json=listing([tier_ns]))
        .on("get", "namespaces", "-l", json=listing(namespaces_of_earlier_runs))
        .on("get", "serviceaccounts", "-n", TIER_FREE, json=listing(accounts))
        .on("get", "serviceaccounts", json=listing([]))
        .on("get", "-f", "-", json=listing(live or []))
        .on("delete", stdout="deleted\n")
    )


def test_a_run_removes_the_identities_earlier_runs_left_and_nothing_else() -> None:
    stale = _namespace("maas-e2e-standby", **ownership.labels("interrupted"))
    fake = _cluster(namespaces_of_earlier_runs=[stale])
    removal = remove_earlier_runs(kube(fake), e2e_manifests(), "maas-default-gateway", "run2")
    assert removal.problems == []
    deletes = [c.args for c in fake.calls if c.args[0] == "delete"]
    selector = "app.kubernetes.io/managed-by=maas-e2e,maas-e2e.opendatahub.io/run!=run2"
    flags = ("--ignore-not-found", "--wait=false")
    assert ("delete", "serviceaccount", "-n", "maas-e2e-free", "-l", selector, *flags) in deletes
    assert ("delete", "serviceaccount", "-n", "maas-e2e-standby", "-l", selector, *flags) in deletes
    assert (
        "delete", "serviceaccount", "-n", TIER_FREE, expected_sa_name(LEFT_IDENTITY), *flags
    ) in deletes  # fmt: skip
    assert ("delete", "namespace", "maas-e2e-standby", *flags) in deletes
    everything = " ".join(" ".join(args) for args in deletes)
    assert expected_sa_name(SOMEONES) not in everything, "a real user's account was deleted"
    assert "maas-e2e-free --ignore" not in everything, "a namespace this run applies was deleted"


def test_cleanup_removes_the_suites_stack_and_the_tier_namespaces_of_its_maas_api() -> None:
    earlier = ownership.labels("interrupted")
    live = []
    for doc in e2e_manifests().documents:
        obj = ready(doc)
        if (obj["kind"], obj["metadata"]["name"]) in {
            ("Deployment", "maas-api"),
            ("ConfigMap", "tier-to-group-mapping"),
        }:
            obj = {**obj, "metadata": {**obj["metadata"], "labels": earlier}}
        live.append(obj)
    fake = _cluster(namespaces_of_earlier_runs=[], live=live)
    removal = remove_everything(kube(fake), e2e_manifests(), e2e_expected().instance)
    assert removal.problems == []
    [stack] = fake.called("delete", "-f", "-")
    assert "name: maas-api" in stack.stdin
    assert "tier-to-group-mapping" in stack.stdin
    assert "gateway-auth-policy" not in stack.stdin, "an object without the suite's label"
    assert fake.called("delete", "namespaces", "-l", ownership.OWNED)
    assert fake.called("delete", "namespace", TIER_FREE), "its maas-api made the tier namespace"


def test_cleanup_leaves_tier_namespaces_of_a_maas_api_it_did_not_deploy() -> None:
    live = [ready(doc) for doc in e2e_manifests().documents]
    fake = _cluster(namespaces_of_earlier_runs=[], live=live)
    remove_everything(kube(fake), e2e_manifests(), e2e_expected().instance)
    assert not fake.called("delete", "-f", "-"), fake.transcript()
    assert not fake.called("delete", "namespace", TIER_FREE), fake.transcript()
    assert fake.called("delete", "serviceaccount", "-n", TIER_FREE, expected_sa_name(LEFT_IDENTITY))
