"""Deploying as the seed does (server-side apply, retries, audience patch) and undoing only that."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import yaml
from kubefake import FakeKubectl, e2e_manifests, fake_poller, jwt_with, kube, listing
from tests.unit.fakeclock import FakeClock

from maas_e2e.targets import ownership
from maas_e2e.targets.deploy import (
    DeployError,
    OwnershipConflict,
    deploy,
    first_audience,
    route_auth_policies,
    teardown,
)
from maas_e2e.targets.shared_run import IdentityRecord, RunState
from maas_e2e.targets.waiting import NotReady

API_TOKEN = jwt_with({"aud": ["https://kubernetes.default.svc"], "sub": "x"})
WEBHOOK_DOWN = (
    "Error from server (InternalError): Internal error occurred: failed calling webhook "
    '"validate.authpolicy.kuadrant.io": connection refused'
)


def _cluster(fake: FakeKubectl, *, existing: list | None = None) -> FakeKubectl:
    """Answers for a deploy onto a cluster that holds `existing` objects of the manifests."""
    return (
        fake.on("get", "namespaces", "-l", json=listing([]))
        .on("get", "-f", "-", "--ignore-not-found", json=listing(existing or []))
        .on("apply", "--server-side", stdout="serverside-applied\n")
        .on("create", "token", "default", stdout=API_TOKEN + "\n")
        .on("patch", "authpolicies.kuadrant.io", stdout="patched\n")
    )


def _deploy(fake: FakeKubectl, state: RunState | None = None, deadline: float = 600) -> RunState:
    state = state or RunState(run_id="run1", instance="maas-default-gateway")
    deploy(kube(fake), e2e_manifests(), state, poller=fake_poller(FakeClock()), deadline=deadline)
    return state


def test_apply_is_server_side_with_force_conflicts_and_the_rendered_yaml() -> None:
    fake = _cluster(FakeKubectl())
    _deploy(fake)
    [apply] = fake.called("apply")
    assert apply.args == (
        "apply", "--server-side", "--force-conflicts", "--field-manager=maas-e2e", "-f", "-",
    ), apply.args  # fmt: skip
    applied = list(yaml.safe_load_all(apply.stdin))
    rendered = e2e_manifests().documents
    assert [(d["kind"], d["metadata"]["name"]) for d in applied] == [
        (d["kind"], d["metadata"]["name"]) for d in rendered
    ], "apply must get every rendered object"
    for doc, original in zip(applied, rendered, strict=True):
        labels = doc["metadata"]["labels"]
        assert labels == {**(original["metadata"].get("labels") or {}), **ownership.labels("run1")}
        assert {k: v for k, v in doc.items() if k != "metadata"} == {
            k: v for k, v in original.items() if k != "metadata"
        }, f"{doc['kind']} {doc['metadata']['name']}: only the labels may differ"


def _installed(kind: str, name: str, labels: dict | None = None) -> dict:
    """A live object of the manifests as another installer left it (its own field managers)."""
    doc = next(
        d for d in e2e_manifests().documents if (d["kind"], d["metadata"]["name"]) == (kind, name)
    )
    meta = {
        **doc["metadata"],
        "labels": labels or {"app.kubernetes.io/name": name},
        "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update"},
            {"manager": "odh-model-controller", "operation": "Update"},
        ],
    }
    return {**doc, "metadata": meta}


def test_objects_someone_else_made_stop_the_run_before_anything_is_applied() -> None:
    existing = [
        _installed("Deployment", "maas-api"),
        _installed("ClusterRole", "maas-api"),
        _installed("LLMInferenceService", "facebook-opt-125m-simulated"),
        _installed("Namespace", "llm"),
    ]
    fake = _cluster(FakeKubectl(), existing=existing)
    with pytest.raises(OwnershipConflict) as raised:
        _deploy(fake)
    assert not fake.called("apply"), fake.transcript()
    message = str(raised.value)
    for line in (
        "Deployment maas-api/maas-api (written by kubectl-client-side-apply, odh-model-controller)",
        "ClusterRole maas-api",
        "LLMInferenceService llm/facebook-opt-125m-simulated",
        "--maas-skip-deploy",
        "maas-e2e-cleanup",
    ):
        assert line in message, message
    assert "Namespace llm" not in message, "an existing namespace is used, not changed"


def test_leftovers_of_an_interrupted_run_are_taken_over_with_their_tier_namespaces() -> None:
    earlier = ownership.labels("interrupted")
    existing = [
        _installed("Deployment", "maas-api", earlier),
        _installed("Namespace", "llm", earlier),
    ]
    tier_ns = {"metadata": {"name": "maas-default-gateway-tier-free"}}
    fake = FakeKubectl().on("get", "namespaces", "-l", json=listing([tier_ns]))
    state = _deploy(_cluster(fake, existing=existing))
    owned = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(state.owned)]
    assert ("Deployment", "maas-api") in owned, owned
    assert ("Namespace", "llm") in owned, owned
    assert state.preexisting_tier_namespaces == [], "maas-api of the earlier run made them"


@pytest.mark.parametrize(
    "stderr",
    [
        'error: resource mapping not found for name: "user-group": no matches for kind '
        '"TelemetryPolicy" in version "extensions.kuadrant.io/v1alpha1"\n'
        "ensure CRDs are installed first",
        WEBHOOK_DOWN,
        'Error from server (Forbidden): namespace "llm" is being terminated',
    ],
    ids=["crd-not-established", "webhook-not-ready", "namespace-terminating"],
)
def test_apply_is_retried_while_the_cluster_settles(stderr: str) -> None:
    fake = FakeKubectl().fail("apply", stderr=stderr, times=2)
    _deploy(_cluster(fake))
    assert len(fake.called("apply")) == 3, fake.transcript()


def test_apply_stops_at_once_on_an_error_retrying_cannot_fix() -> None:
    invalid = 'The Deployment "maas-api" is invalid: spec.replicas: Invalid value: -1'
    fake = _cluster(FakeKubectl().fail("apply", stderr=invalid))
    with pytest.raises(DeployError) as raised:
        _deploy(fake)
    assert len(fake.called("apply")) == 1, fake.transcript()
    assert invalid in str(raised.value), raised.value


def test_apply_gives_up_at_the_deadline_naming_the_last_error() -> None:
    fake = _cluster(FakeKubectl().fail("apply", stderr=WEBHOOK_DOWN))
    with pytest.raises(NotReady) as raised:
        _deploy(fake, deadline=60)
    message = str(raised.value)
    assert "applying the manifests" in message, message
    assert "failed calling webhook" in message, message
    assert "re-run" in message, message


def test_objects_that_existed_before_the_apply_are_not_owned() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-ingress"}}
    state = _deploy(_cluster(FakeKubectl(), existing=[namespace]))
    owned = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(state.owned)]
    assert ("Namespace", "openshift-ingress") not in owned, owned
    assert ("Namespace", "maas-api") in owned, owned
    assert len(owned) == len(e2e_manifests().documents) - 1, owned


def test_state_records_the_deploy_before_applying_so_a_failed_apply_is_undone() -> None:
    fake = _cluster(FakeKubectl().fail("apply", stderr="error: something permanent"))
    state = RunState(instance="maas-default-gateway")
    with pytest.raises(DeployError):
        _deploy(fake, state)
    assert state.deployed, "a failed apply may have created objects: teardown must run"
    assert "kind: Deployment" in state.owned, state.owned[:200]


def test_tier_namespaces_that_existed_before_are_remembered() -> None:
    tier_ns = {"metadata": {"name": "maas-default-gateway-tier-free"}}
    fake = FakeKubectl().on("get", "namespaces", "-l", json=listing([tier_ns]))
    state = _deploy(_cluster(fake))
    assert state.preexisting_tier_namespaces == ["maas-default-gateway-tier-free"], state
    [query] = fake.called("get", "namespaces", "-l")
    selector = query.args[query.args.index("-l") + 1]
    assert selector == (
        "maas.opendatahub.io/tier-namespace=true,maas.opendatahub.io/instance=maas-default-gateway"
    ), selector


def test_audience_patch_uses_aud0_of_an_api_server_token() -> None:
    fake = _cluster(FakeKubectl())
    _deploy(fake)
    assert fake.index("apply") < fake.index("create", "token") < fake.index("patch")
    [mint] = fake.called("create", "token", "default")
    assert mint.has("-n", "maas-api"), mint
    [patch] = fake.called(
        "patch", "authpolicies.kuadrant.io", "maas-api-auth-policy", "-n", "maas-api"
    )
    assert patch.has("--type=json"), patch
    operations = json.loads(patch.args[patch.args.index("-p") + 1])
    assert operations == [
        {
            "op": "replace",
            "path": "/spec/rules/authentication/openshift-identities/kubernetesTokenReview"
            "/audiences/0",
            "value": "https://kubernetes.default.svc",
        }
    ], operations


def test_audience_patch_waits_for_the_namespace_default_service_account() -> None:
    missing = 'error: failed to create token: serviceaccounts "default" not found'
    fake = FakeKubectl().fail("create", "token", "default", stderr=missing, times=1)
    _deploy(_cluster(fake))
    assert len(fake.called("create", "token", "default")) == 2, fake.transcript()


def test_only_route_level_auth_policies_get_the_audience_patch() -> None:
    found = [(p["metadata"]["name"], path) for p, path in route_auth_policies(e2e_manifests())]
    assert found == [
        (
            "maas-api-auth-policy",
            "/spec/rules/authentication/openshift-identities/kubernetesTokenReview/audiences/0",
        )
    ], found


@pytest.mark.parametrize(
    "aud", [["https://rh-oidc.example/abc", "other"], "https://rh-oidc.example/abc"]
)
def test_first_audience_reads_a_list_or_a_string(aud: object) -> None:
    assert first_audience(jwt_with({"aud": aud})) == "https://rh-oidc.example/abc"


@pytest.mark.parametrize("token", ["not-a-jwt", jwt_with({"sub": "x"}), jwt_with({"aud": []})])
def test_first_audience_refuses_a_token_without_one(token: str) -> None:
    with pytest.raises(DeployError):
        first_audience(token)


IDENTITIES = [
    IdentityRecord("maas-e2e-free", "e2e-a-1", "maas-default-gateway-tier-free"),
    IdentityRecord("maas-e2e-free", "e2e-b-2", "maas-default-gateway-tier-free"),
    IdentityRecord("maas-e2e-premium", "e2e-c-3", "maas-default-gateway-tier-premium"),
]


def _teardown_cluster(tier_namespaces: list[str]) -> FakeKubectl:
    found = listing({"metadata": {"name": n}} for n in tier_namespaces)
    return FakeKubectl().on("delete", stdout="deleted\n").on("get", "namespaces", json=found)


def test_teardown_removes_identities_then_applied_objects_then_new_tier_namespaces() -> None:
    fake = _teardown_cluster(
        ["maas-default-gateway-tier-free", "maas-default-gateway-tier-premium", "old-tier"]
    )
    state = RunState(
        instance="maas-default-gateway",
        deployed=True,
        owned="kind: Namespace\n",
        preexisting_tier_namespaces=["old-tier"],
    )
    problems = teardown(kube(fake), state, IDENTITIES, "run123")
    assert problems == [], problems
    deletes = [c for c in fake.calls if c.args[0] == "delete"]
    selector = "app.kubernetes.io/managed-by=maas-e2e,maas-e2e.opendatahub.io/run=run123"
    flags = ("--ignore-not-found", "--wait=false")
    assert [c.args for c in deletes] == [
        ("delete", "serviceaccount", "-n", "maas-e2e-free", "-l", selector, *flags),
        ("delete", "serviceaccount", "-n", "maas-e2e-premium", "-l", selector, *flags),
        (
            "delete", "serviceaccount", "-n", "maas-default-gateway-tier-free",
            IDENTITIES[0].maas_sa_name, IDENTITIES[1].maas_sa_name, *flags,
        ),
        (
            "delete", "serviceaccount", "-n", "maas-default-gateway-tier-premium",
            IDENTITIES[2].maas_sa_name, *flags,
        ),
        ("delete", "-f", "-", *flags),
        (
            "delete", "namespace", "maas-default-gateway-tier-free",
            "maas-default-gateway-tier-premium", *flags,
        ),
    ], fake.transcript()  # fmt: skip
    assert deletes[4].stdin == "kind: Namespace\n"


def test_maas_api_service_accounts_are_named_as_maas_api_names_them() -> None:
    record = IDENTITIES[0]
    assert record.username == "system:serviceaccount:maas-e2e-free:e2e-a-1"
    assert record.maas_sa_name.startswith("system-serviceaccount-maas-e2e-free-e2e-a-1-"), record


def test_teardown_of_a_stack_that_was_already_there_removes_only_identities() -> None:
    fake = _teardown_cluster(["maas-default-gateway-tier-free"])
    teardown(kube(fake), RunState(instance="maas-default-gateway"), IDENTITIES, "run123")
    assert not fake.called("delete", "-f"), fake.transcript()
    assert not fake.called("delete", "namespace"), fake.transcript()
    assert len(fake.called("delete", "serviceaccount")) == 4, fake.transcript()


def test_teardown_reports_failures_and_still_runs_every_step() -> None:
    fake = FakeKubectl().fail("delete", "serviceaccount", stderr="Forbidden", times=1)
    fake.rules += _teardown_cluster([]).rules
    state = RunState(instance="maas-default-gateway", deployed=True, owned="kind: Namespace\n")
    problems = teardown(kube(fake), state, IDENTITIES, "run123")
    assert len(problems) == 1, problems
    assert "test ServiceAccounts in maas-e2e-free" in problems[0], problems
    assert fake.called("delete", "-f", "-"), fake.transcript()


def test_teardown_removes_the_bring_up_probes_identities_and_their_maas_accounts() -> None:
    probe = IdentityRecord("maas-e2e-free", "e2e-readiness-1", "maas-default-gateway-tier-free")
    state = RunState(instance="maas-default-gateway", probe_identities=[asdict(probe)])
    fake = _teardown_cluster([])
    problems = teardown(kube(fake), state, [], "run123")
    assert problems == [], problems
    flags = ("--ignore-not-found", "--wait=false")
    assert [c.args for c in fake.called("delete")] == [
        ("delete", "serviceaccount", "-n", "maas-e2e-free", "e2e-readiness-1", *flags),
        (
            "delete", "serviceaccount", "-n", "maas-default-gateway-tier-free",
            probe.maas_sa_name, *flags,
        ),
    ], fake.transcript()  # fmt: skip


def test_audience_patch_refused_stops_the_deploy_with_the_reason() -> None:
    refused = (
        'Error from server (Forbidden): authpolicies.kuadrant.io "maas-api-auth-policy" is '
        "forbidden"
    )
    fake = _cluster(FakeKubectl().fail("patch", stderr=refused))
    with pytest.raises(DeployError) as raised:
        _deploy(fake)
    message = str(raised.value)
    assert "patching the audience of AuthPolicy maas-api/maas-api-auth-policy failed" in message, (
        message
    )
    assert "is forbidden" in message, message
