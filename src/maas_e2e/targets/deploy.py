"""Deploying the rendered manifests as the seed does, and undoing exactly that afterwards.

`kubectl apply --server-side --force-conflicts`, retried while CRDs or admission webhooks are not
established yet (the seed's "if it fails the first time, simply re-run"), then the AuthPolicy
audience patch the seed derives from a real token's `aud[0]`.

The suite never changes an object it did not create: before applying, it reads what already
exists. An object someone else made (an installed MaaS, another controller's policy on the
Gateway) stops the run with the list and how to proceed; a namespace that exists is used as it
is. Every applied object carries the run's labels (see `ownership`), so leftovers of an
interrupted run are recognised: the next run takes them over and removes them at its teardown,
together with what it created, the test identities, and the tier namespaces maas-api made.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
import yaml

from maas_e2e.expected import MAAS_API_NAME
from maas_e2e.manifests import RenderedManifests, object_ref
from maas_e2e.targets import ownership
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.kube import Kube, KubectlResult, KubeError
from maas_e2e.targets.leftovers import Removal, tier_namespaces
from maas_e2e.targets.shared_run import IdentityRecord, RunState
from maas_e2e.targets.status import fetch, object_key
from maas_e2e.targets.waiting import Pending, Poller

LOG = logging.getLogger("maas_e2e.cluster")
FIELD_MANAGER = "maas-e2e"
APPLY_TIMEOUT_S = 120.0

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


class OwnershipConflict(DeployError):
    """Objects the run would change exist and were not made by the suite."""

    def __init__(self, conflicts: Sequence[dict[str, Any]]) -> None:
        self.conflicts = tuple(conflicts)
        lines = [
            f"  - {object_ref(obj)} (written by {', '.join(ownership.managers(obj)) or 'unknown'})"
            for obj in self.conflicts
        ]
        super().__init__(
            "the cluster already has objects that the suite would change but did not create "
            "(nothing was applied):\n" + "\n".join(lines) + "\n  -> to test the MaaS installed "
            "there, run with --maas-skip-deploy (expectations then come from its live objects); "
            "to deploy the suite's own stack, use a cluster without these objects or remove them "
            f"first. Objects labelled {ownership.OWNED} are the suite's own leftovers: they are "
            "taken over, and `maas-e2e-cleanup` removes them"
        )


@dataclass(frozen=True)
class ApplyPlan:
    """What the apply will do to what already exists."""

    apply: list[dict[str, Any]]  # stamped with this run's labels
    conflicts: list[dict[str, Any]]  # live objects someone else made
    taken_over: list[dict[str, Any]]  # live leftovers of an earlier run of the suite
    kept_namespaces: list[str]  # namespaces that exist already and are used as they are


def plan_apply(
    documents: Sequence[dict[str, Any]], live: dict[tuple, dict[str, Any]], run_id: str
) -> ApplyPlan:
    """Sort the manifests by who owns their live counterpart."""
    apply, conflicts, taken_over, kept = [], [], [], []
    for doc in documents:
        obj = live.get(object_key(doc))
        if obj is None:
            apply.append(doc)
        elif ownership.is_owned(obj):
            apply.append(doc)
            if ownership.owner_run(obj) != run_id:
                taken_over.append(obj)
        elif doc.get("kind") == "Namespace":
            kept.append(doc["metadata"]["name"])
        else:
            conflicts.append(obj)
    return ApplyPlan(ownership.stamp(apply, run_id), conflicts, taken_over, kept)


def deploy(
    kube: Kube, manifests: RenderedManifests, state: RunState, *, poller: Poller, deadline: float
) -> None:
    """Check ownership, record what already exists, apply, then patch the audiences."""
    live = fetch(kube, manifests.documents)
    plan = plan_apply(manifests.documents, live, state.run_id)
    if plan.conflicts:
        raise OwnershipConflict(plan.conflicts)
    for obj in plan.taken_over:
        LOG.info(
            "taking over %s, left by maas-e2e run %s", object_ref(obj), ownership.owner_run(obj)
        )
    for name in plan.kept_namespaces:
        LOG.info("namespace %s exists and was not made by maas-e2e: used as it is", name)
    # maas-api makes the tier namespaces; when the maas-api there is an earlier run's, so are they.
    earlier_api = any(
        obj.get("kind") == "Deployment" and obj["metadata"]["name"] == MAAS_API_NAME
        for obj in plan.taken_over
    )
    if not plan.apply:
        return
    state.preexisting_tier_namespaces = [] if earlier_api else tier_namespaces(kube, state.instance)
    state.owned = yaml.safe_dump_all(plan.apply, sort_keys=False)
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
            stdin=state.owned,
            timeout=APPLY_TIMEOUT_S,
        ),
    )
    for policy, path in route_auth_policies(manifests):
        patch_audience(kube, policy, path, poller=poller, deadline=deadline)


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


def teardown(
    kube: Kube, state: RunState, identities: Sequence[IdentityRecord], run_id: str
) -> list[str]:
    """Delete the test and bring-up probe identities, then (if this run deployed) what it
    created and the tier namespaces that appeared during the run. Every step runs; failures are
    returned."""
    removal = Removal()
    problems = removal.problems

    def delete(what: str, *args: str, stdin: str | None = None) -> None:
        removal.delete(kube, what, *args, stdin=stdin)

    selector = ownership.run_selector(run_id)
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
