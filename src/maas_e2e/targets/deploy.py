"""Deploying the rendered manifests as the seed does, and undoing exactly that afterwards.

`kubectl apply --server-side --force-conflicts`, retried while CRDs or admission webhooks are not
established yet (the seed's "if it fails the first time, simply re-run"), then the AuthPolicy
audience patch the seed derives from a real token's `aud[0]`. Objects that existed before the
apply (a shared `openshift-ingress` namespace, a Gateway someone else runs) are never deleted:
teardown removes only what this run created, the test identities, and the tier namespaces
maas-api created during the run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jwt
import yaml

from maas_e2e.manifests import RenderedManifests, object_ref
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.kube import Kube, KubectlResult, KubeError, items
from maas_e2e.targets.readiness import Pending, Poller, fetch
from maas_e2e.targets.shared_run import IdentityRecord, RunState

FIELD_MANAGER = "maas-e2e"
APPLY_TIMEOUT_S = 120.0
TIER_NAMESPACE_LABELS = "maas.opendatahub.io/tier-namespace=true"
PART_OF = "app.kubernetes.io/part-of"
RUN_LABEL = "maas-e2e.opendatahub.io/run"

# kubectl errors that go away once CRDs, webhooks and namespaces settle.
TRANSIENT_ERRORS = (
    "no matches for kind",
    "ensure CRDs are installed first",
    "the server could not find the requested resource",
    "failed calling webhook",
    "no endpoints available for service",
    "connection refused",
    "is being terminated",
    "i/o timeout",
    "context deadline exceeded",
    "the server is currently unable to handle the request",
    "TLS handshake timeout",
    "etcdserver: request timed out",
)


class DeployError(TargetUnavailable):
    """The manifests could not be applied for a reason retrying will not fix."""


def is_transient(stderr: str) -> bool:
    return any(marker.lower() in stderr.lower() for marker in TRANSIENT_ERRORS)


def deploy(
    kube: Kube, manifests: RenderedManifests, state: RunState, *, poller: Poller, deadline: float
) -> None:
    """Record what already exists, apply everything, then patch the audiences."""
    state.preexisting_tier_namespaces = tier_namespaces(kube, state.instance)
    existing = {_identity(obj) for obj in fetch(kube, manifests.documents).values()}
    owned = [d for d in manifests.documents if _identity(d) not in existing]
    state.owned = yaml.safe_dump_all(owned, sort_keys=False) if owned else ""
    state.deployed = True
    _retrying(
        poller,
        deadline,
        "applying the manifests (kubectl apply --server-side)",
        lambda: kube.attempt(
            "apply",
            "--server-side",
            "--force-conflicts",
            f"--field-manager={FIELD_MANAGER}",
            "-f",
            "-",
            stdin=manifests.text,
            timeout=APPLY_TIMEOUT_S,
        ),
    )
    for policy, path in route_auth_policies(manifests):
        patch_audience(kube, policy, path, poller=poller, deadline=deadline)


def _identity(obj: dict[str, Any]) -> tuple[str, str, str | None, str]:
    """(group, kind, namespace, name): the API may answer in another version of the group."""
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))


def _retrying(
    poller: Poller,
    deadline: float,
    stage: str,
    run: Callable[[], KubectlResult],
    transient: Callable[[str], bool] = is_transient,
) -> KubectlResult:
    """Run a kubectl command until it succeeds; transient failures are retried until the
    deadline, any other failure stops at once."""
    outcome: list[KubectlResult] = []

    def attempt() -> list[Pending]:
        result = run()
        if result.returncode == 0:
            outcome.append(result)
            return []
        if not transient(result.stderr):
            raise DeployError(f"{stage} failed: {KubeError(result)}")
        last_line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        return [
            Pending(
                f"`kubectl {' '.join(result.args[:3])} ...`",
                f"retrying: {last_line[:300]}",
                "CRDs or admission webhooks are not established yet; if this persists, re-run "
                "the seed step that installs them",
            )
        ]

    poller.until_ready(attempt, deadline=deadline, stage=stage)
    return outcome[-1]


def route_auth_policies(manifests: RenderedManifests) -> list[tuple[dict[str, Any], str]]:
    """Each AuthPolicy on an HTTPRoute with a TokenReview rule, and the JSON pointer of that
    rule's first audience: what the seed's "Ensure the correct audience" step patches."""
    found = []
    for policy in manifests.of_kind("AuthPolicy"):
        spec = policy.get("spec") or {}
        if (spec.get("targetRef") or {}).get("kind") != "HTTPRoute":
            continue
        for prefix, rules in (
            ("/spec/rules", spec.get("rules")),
            ("/spec/defaults/rules", (spec.get("defaults") or {}).get("rules")),
            ("/spec/overrides/rules", (spec.get("overrides") or {}).get("rules")),
        ):
            for name, rule in ((rules or {}).get("authentication") or {}).items():
                if isinstance(rule, dict) and "kubernetesTokenReview" in rule:
                    path = f"{prefix}/authentication/{_pointer(name)}/kubernetesTokenReview"
                    found.append((policy, f"{path}/audiences/0"))
    return found


def _pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def patch_audience(
    kube: Kube, policy: dict[str, Any], path: str, *, poller: Poller, deadline: float
) -> str:
    """Replace the policy's first TokenReview audience by the `aud[0]` of a token the API
    server issues (its own audience, which differs between clusters)."""
    namespace = policy["metadata"]["namespace"]
    token = _retrying(
        poller,
        deadline,
        f"minting a token to read the API server's audience (namespace {namespace})",
        lambda: kube.attempt("create", "token", "default", "-n", namespace, "--duration=10m"),
        # The namespace's default ServiceAccount appears a moment after the namespace.
        lambda stderr: is_transient(stderr) or 'serviceaccounts "default" not found' in stderr,
    ).stdout.strip()
    audience = first_audience(token)
    patch = json.dumps([{"op": "replace", "path": path, "value": audience}])
    _retrying(
        poller,
        deadline,
        f"patching the audience of {object_ref(policy)}",
        lambda: kube.attempt(
            "patch",
            "authpolicies.kuadrant.io",
            policy["metadata"]["name"],
            "-n",
            namespace,
            "--type=json",
            "-p",
            patch,
        ),
    )
    return audience


def first_audience(token: str) -> str:
    """`aud[0]` of a JWT, read without verification (only the API server's audience matters)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise DeployError(f"`kubectl create token` printed no usable JWT: {exc}") from None
    aud = claims.get("aud")
    audience = aud[0] if isinstance(aud, list) and aud else aud
    if not isinstance(audience, str) or not audience:
        raise DeployError(f"the API server's token has no audience: aud={aud!r}")
    return audience


def tier_namespaces(kube: Kube, instance: str) -> list[str]:
    """The namespaces maas-api created for its tiers (found by the labels it sets)."""
    selector = f"{TIER_NAMESPACE_LABELS},maas.opendatahub.io/instance={instance}"
    found = items(kube.json("get", "namespaces", "-l", selector))
    return sorted(ns["metadata"]["name"] for ns in found)


def teardown(
    kube: Kube, state: RunState, identities: Sequence[IdentityRecord], run_id: str
) -> list[str]:
    """Delete the test and bring-up probe identities, then (if this run deployed) what it
    created and the tier namespaces that appeared during the run. Every step runs; failures are
    returned."""
    problems: list[str] = []

    def delete(what: str, *args: str, stdin: str | None = None) -> None:
        result = kube.attempt("delete", *args, "--ignore-not-found", "--wait=false", stdin=stdin)
        if result.returncode != 0:
            problems.append(f"{what}: {KubeError(result)}")

    selector = f"{PART_OF}=maas-e2e,{RUN_LABEL}={run_id}"
    for ns in sorted({i.namespace for i in identities}):
        delete(f"test ServiceAccounts in {ns}", "serviceaccount", "-n", ns, "-l", selector)
    probes = state.probe_records()
    for ns, names in _by_namespace((p.namespace, p.name) for p in probes):
        delete(f"bring-up probe ServiceAccounts in {ns}", "serviceaccount", "-n", ns, *names)
    everyone = [*identities, *probes]
    for ns, names in _by_namespace((i.tier_namespace, i.maas_sa_name) for i in everyone):
        delete(f"maas-api's ServiceAccounts in {ns}", "serviceaccount", "-n", ns, *names)
    if not state.deployed:
        return problems
    if state.owned:
        delete("the objects this run applied", "-f", "-", stdin=state.owned)
    try:
        appeared = sorted(
            set(tier_namespaces(kube, state.instance)) - set(state.preexisting_tier_namespaces)
        )
    except KubeError as exc:
        problems.append(f"listing maas-api's tier namespaces: {exc}")
        return problems
    if appeared:
        delete("maas-api's tier namespaces", "namespace", *appeared)
    return problems


def _by_namespace(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for namespace, name in pairs:
        grouped[namespace].add(name)
    return [(ns, sorted(names)) for ns, names in sorted(grouped.items())]
