"""Before deploying anything: does the cluster have what the MaaS stack stands on?

A missing CRD or a controller that is not running would otherwise surface minutes later as a
wait that never ends. Preflight asks a handful of questions (a few seconds in all) and, if any
answer is wrong, stops the run with one message that lists everything missing and the step of
the seed (MaaS's developer guide: docs/contract.md#the-manual-check-the-suite-replaces) that
installs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from maas_e2e.manifests import RenderedManifests, object_ref
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.kube import Kube, KubeError, items
from maas_e2e.targets.policies import describe, foreign, gateway_policies
from maas_e2e.targets.status import condition, describe_condition

GATEWAY_API = "gateway-api"
KUADRANT = "kuadrant"
KSERVE = "kserve"
GATEWAY_POLICIES = "gateway-policies"

SEED_STEPS = {
    GATEWAY_API: (
        'seed step "Enabling GW API": export CLUSTER_DOMAIN=$(kubectl get '
        "ingresses.config.openshift.io cluster -o jsonpath='{.spec.domain}'); kustomize build "
        "deployment/base/networking | envsubst | kubectl apply --server-side=true "
        "--force-conflicts -f - (envsubst fills the Gateway listener's hostname "
        "maas-api.${CLUSTER_DOMAIN}; OpenShift 4.19.9+ ships the Gateway API; "
        "creating the GatewayClass is enough: manifests/stack/components/gatewayclass)"
    ),
    KUADRANT: (
        'seed step "Core Infrastructure": deployment/scripts/install-dependencies.sh '
        '--cert-manager --kuadrant, then "Patch Kuadrant deployment" '
        "(ISTIO_GATEWAY_CONTROLLER_NAMES=openshift.io/gateway-controller/v1)"
    ),
    KSERVE: (
        'seed step "Deploying Opendatahub KServe": kustomize build deployment/components/odh/kserve'
        " | kubectl apply --server-side=true --force-conflicts -f - (re-run it if CRDs or "
        "webhooks were not established the first time)"
    ),
    GATEWAY_POLICIES: (
        "a policy the suite did not create would change what the gateway enforces: delete it "
        "(odh-model-controller makes maas-default-gateway-authn unless the Gateway carries the "
        'annotation opendatahub.io/managed: "false", as manifests/stack/gateway does), or test '
        "that stack as it is with --maas-skip-deploy"
    ),
}

# (group, kind) -> (plural, what installs it)
CUSTOM_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("gateway.networking.k8s.io", "GatewayClass"): ("gatewayclasses", GATEWAY_API),
    ("gateway.networking.k8s.io", "Gateway"): ("gateways", GATEWAY_API),
    ("gateway.networking.k8s.io", "HTTPRoute"): ("httproutes", GATEWAY_API),
    ("kuadrant.io", "Kuadrant"): ("kuadrants", KUADRANT),
    ("kuadrant.io", "AuthPolicy"): ("authpolicies", KUADRANT),
    ("kuadrant.io", "RateLimitPolicy"): ("ratelimitpolicies", KUADRANT),
    ("kuadrant.io", "TokenRateLimitPolicy"): ("tokenratelimitpolicies", KUADRANT),
    ("extensions.kuadrant.io", "TelemetryPolicy"): ("telemetrypolicies", KUADRANT),
    ("serving.kserve.io", "LLMInferenceService"): ("llminferenceservices", KSERVE),
}

# What the stack needs whatever the overlay holds: (apiVersion, kind); None = any version.
ALWAYS_REQUIRED: tuple[tuple[str | None, str, str], ...] = (
    ("gateway.networking.k8s.io", "v1", "GatewayClass"),
    ("gateway.networking.k8s.io", "v1", "Gateway"),
    ("gateway.networking.k8s.io", "v1", "HTTPRoute"),
    ("kuadrant.io", None, "Kuadrant"),
    ("kuadrant.io", "v1", "AuthPolicy"),
    ("kuadrant.io", "v1", "RateLimitPolicy"),
    ("kuadrant.io", "v1alpha1", "TokenRateLimitPolicy"),
    ("serving.kserve.io", "v1alpha1", "LLMInferenceService"),
)

KSERVE_CONTROLLERS = ("llmisvc-controller-manager", "kserve-controller-manager")
DEFAULT_KUADRANT_NAMESPACE = "kuadrant-system"
# An API server that does not answer /version in this time is not there.
REACH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Problem:
    """One missing piece and the seed step that installs it."""

    what: str
    component: str

    def render(self) -> str:
        return f"  - {self.what}\n    -> {SEED_STEPS[self.component]}"


class PreflightError(TargetUnavailable):
    """The cluster lacks something the stack needs; nothing has been deployed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "the cluster is missing what the MaaS stack needs (nothing was deployed):\n"
            + "\n".join(p.render() for p in self.problems)
        )


@dataclass
class PreflightReport:
    server_version: str
    kuadrant_namespace: str = DEFAULT_KUADRANT_NAMESPACE
    problems: list[Problem] = field(default_factory=list)
    # Every policy on the manifests' Gateways, described with who made it.
    gateway_policies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Crd:
    group: str
    kind: str
    versions: frozenset[str]  # empty: any served version will do

    @property
    def name(self) -> str:
        return f"{CUSTOM_KINDS[(self.group, self.kind)][0]}.{self.group}"

    @property
    def component(self) -> str:
        return CUSTOM_KINDS[(self.group, self.kind)][1]


def preflight(
    kube: Kube, manifests: RenderedManifests, *, deploying: bool = True
) -> PreflightReport:
    """Check the cluster; raise PreflightError listing every problem, or return what it saw.

    When the run deploys, a policy on the Gateway that the suite did not create is a problem
    (it would change what the gateway enforces); when it tests a stack as it is, the policies
    are only listed.
    """
    report = PreflightReport(server_version=_server_version(kube))
    crds = _required_crds(manifests)
    present = _check_crds(kube, crds, report.problems)
    if {"GatewayClass", "Gateway"} <= present:
        _check_gateway_classes(kube, manifests, report.problems)
    if {"AuthPolicy", "RateLimitPolicy", "TokenRateLimitPolicy"} <= present:
        _check_gateway_policies(kube, manifests, report, deploying=deploying)
    if "Kuadrant" in present:
        report.kuadrant_namespace = _check_kuadrant(kube, report.problems)
    if "LLMInferenceService" in present:
        _check_kserve_controller(kube, report.problems)
    if report.problems:
        raise PreflightError(report.problems)
    return report


def _server_version(kube: Kube) -> str:
    try:
        version = kube.raw("/version", timeout=REACH_TIMEOUT_S)
    except KubeError as exc:
        raise TargetUnavailable(
            f"cannot reach the cluster's API server with this kubeconfig: {exc}\n"
            "  (pass --kubeconfig, --k8s-kubeconfig-override or set KUBECONFIG; "
            "`kubectl get --raw /version` must work)"
        ) from None
    return str(version.get("gitVersion", "unknown"))


def _required_crds(manifests: RenderedManifests) -> list[_Crd]:
    wanted: dict[tuple[str, str], set[str] | None] = {}
    for group, version, kind in ALWAYS_REQUIRED:
        wanted[(group, kind)] = {version} if version else set()
    for doc in manifests.documents:
        group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
        key = (group, str(doc.get("kind")))
        if key in CUSTOM_KINDS:
            wanted.setdefault(key, set()).add(version)
    return [_Crd(g, k, frozenset(v or ())) for (g, k), v in wanted.items()]


def _check_crds(kube: Kube, crds: list[_Crd], problems: list[Problem]) -> set[str]:
    """Problems for missing, unestablished or wrong-version CRDs; the kinds that are usable."""
    found = {
        crd["metadata"]["name"]: crd
        for crd in items(kube.json("get", "crd", *[c.name for c in crds], "--ignore-not-found"))
    }
    usable = set()
    for crd in crds:
        obj = found.get(crd.name)
        where = f"CRD {crd.name} ({crd.kind})"
        if obj is None:
            problems.append(Problem(f"{where} is not installed", crd.component))
            continue
        established = condition(obj, "Established")
        if established is None or established.get("status") != "True":
            state = describe_condition(established)
            problems.append(Problem(f"{where} is not established: {state}", crd.component))
            continue
        served = {
            v.get("name") for v in obj.get("spec", {}).get("versions") or [] if v.get("served")
        }
        missing = sorted(crd.versions - served)
        if missing:
            problems.append(
                Problem(
                    f"{where} does not serve {crd.group}/{', '.join(missing)} (it serves "
                    f"{', '.join(sorted(served)) or 'nothing'}): install a newer release",
                    crd.component,
                )
            )
            continue
        usable.add(crd.kind)
    return usable


def _check_gateway_classes(
    kube: Kube, manifests: RenderedManifests, problems: list[Problem]
) -> None:
    """Each Gateway's class must exist and be Accepted by its controller, unless the overlay
    brings the class along (then the wait after applying checks it)."""
    shipped = {c["metadata"]["name"] for c in manifests.of_kind("GatewayClass")}
    classes = {g.get("spec", {}).get("gatewayClassName") for g in manifests.of_kind("Gateway")}
    for name in sorted(c for c in classes if c and c not in shipped):
        obj = kube.get("gatewayclasses.gateway.networking.k8s.io", name)
        if obj is None:
            problems.append(Problem(f"GatewayClass {name} does not exist", GATEWAY_API))
            continue
        accepted = condition(obj, "Accepted")
        if accepted is None or accepted.get("status") != "True":
            controller = obj.get("spec", {}).get("controllerName", "?")
            problems.append(
                Problem(
                    f"GatewayClass {name} is not accepted by its controller {controller}: "
                    f"{describe_condition(accepted)}",
                    GATEWAY_API,
                )
            )


def _check_gateway_policies(
    kube: Kube, manifests: RenderedManifests, report: PreflightReport, *, deploying: bool
) -> None:
    for gateway in manifests.of_kind("Gateway"):
        found = gateway_policies(kube, gateway)
        report.gateway_policies += [describe(p) for p in found]
        others = foreign(found)
        if deploying and others:
            listed = "; ".join(describe(p) for p in others)
            report.problems.append(
                Problem(f"{object_ref(gateway)} already has policies: {listed}", GATEWAY_POLICIES)
            )


def _check_kuadrant(kube: Kube, problems: list[Problem]) -> str:
    kuadrants = items(kube.json("get", "kuadrants.kuadrant.io", "--all-namespaces"))
    if not kuadrants:
        problems.append(Problem("no Kuadrant object exists (kind Kuadrant, kuadrant.io)", KUADRANT))
        return DEFAULT_KUADRANT_NAMESPACE
    for obj in kuadrants:
        ready = condition(obj, "Ready")
        if ready is not None and ready.get("status") == "True":
            return str(obj["metadata"].get("namespace") or DEFAULT_KUADRANT_NAMESPACE)
    first = kuadrants[0]
    problems.append(
        Problem(
            f"Kuadrant {first['metadata'].get('namespace')}/{first['metadata'].get('name')} is not "
            f"ready: {describe_condition(condition(first, 'Ready'))}",
            KUADRANT,
        )
    )
    return str(first["metadata"].get("namespace") or DEFAULT_KUADRANT_NAMESPACE)


def _check_kserve_controller(kube: Kube, problems: list[Problem]) -> None:
    selector = f"control-plane in ({','.join(KSERVE_CONTROLLERS)})"
    deployments = items(kube.json("get", "deployments", "--all-namespaces", "-l", selector))
    if any(_available(d) for d in deployments):
        return
    if not deployments:
        problems.append(
            Problem(
                f"no KServe controller Deployment ({' or '.join(KSERVE_CONTROLLERS)}) is running",
                KSERVE,
            )
        )
        return
    names = ", ".join(
        f"{d['metadata'].get('namespace')}/{d['metadata'].get('name')}" for d in deployments
    )
    problems.append(Problem(f"the KServe controller ({names}) is not Available", KSERVE))


def _available(deployment: dict[str, Any]) -> bool:
    available = condition(deployment, "Available")
    return available is not None and available.get("status") == "True"
