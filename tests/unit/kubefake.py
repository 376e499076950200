"""A recorded fake of kubectl for the cluster target's unit tests.

Rules answer calls whose arguments contain the rule's tokens as a contiguous run; a rule may
answer a fixed number of times (to script "fails twice, then works"). Every call is kept with
its stdin, so a test can assert the commands, their order and their input. A call no rule
answers fails the test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from maas_e2e.expected import Expected
from maas_e2e.manifests import RenderedManifests, load_manifests
from maas_e2e.targets.kube import Kube, KubectlResult
from maas_e2e.targets.readiness import Poller

E2E_OVERLAY = Path(__file__).resolve().parents[2] / "manifests" / "e2e"
Answer = dict[str, Any] | Callable[[str | None], dict[str, Any]]


class UnexpectedCall(AssertionError):
    """The code under test ran a kubectl command no rule expected."""


def contains(args: Sequence[str], tokens: Sequence[str]) -> bool:
    """The tokens appear in args as one contiguous run."""
    size = len(tokens)
    return any(tuple(args[i : i + size]) == tuple(tokens) for i in range(len(args) - size + 1))


@dataclass(frozen=True)
class Call:
    args: tuple[str, ...]
    stdin: str | None

    def has(self, *tokens: str) -> bool:
        return contains(self.args, tokens)

    def __str__(self) -> str:
        return " ".join(self.args)


@dataclass
class Rule:
    tokens: tuple[str, ...]
    returncode: int
    stdout: Answer | str
    stderr: str
    times: int | None


@dataclass
class FakeKubectl:
    calls: list[Call] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    def on(
        self,
        *tokens: str,
        json: Answer | None = None,
        stdout: str = "",
        times: int | None = None,
    ) -> FakeKubectl:
        """Answer successfully: `json` (an object, or a function of stdin) or plain stdout."""
        answer: Answer | str = json if json is not None else stdout
        self.rules.append(Rule(tokens, 0, answer, "", times))
        return self

    def fail(
        self, *tokens: str, stderr: str, returncode: int = 1, times: int | None = None
    ) -> FakeKubectl:
        self.rules.append(Rule(tokens, returncode, "", stderr, times))
        return self

    def __call__(self, args: Sequence[str], *, stdin: str | None, timeout: float) -> KubectlResult:
        call = Call(tuple(args), stdin)
        self.calls.append(call)
        for rule in self.rules:
            if rule.times == 0 or not contains(call.args, rule.tokens):
                continue
            if rule.times is not None:
                rule.times -= 1
            out = rule.stdout(stdin) if callable(rule.stdout) else rule.stdout
            text = out if isinstance(out, str) else json.dumps(out)
            return KubectlResult(call.args, rule.returncode, text, rule.stderr)
        raise UnexpectedCall(f"no rule answers `kubectl {call}`")

    def called(self, *tokens: str) -> list[Call]:
        return [c for c in self.calls if c.has(*tokens)]

    def index(self, *tokens: str) -> int:
        """Position of the first call with these tokens (for order assertions)."""
        for position, call in enumerate(self.calls):
            if call.has(*tokens):
                return position
        raise AssertionError(f"no call with {tokens}; calls were:\n" + self.transcript())

    def transcript(self) -> str:
        return "\n".join(f"  kubectl {c}" for c in self.calls)


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fake_poller(clock: FakeClock, interval: float = 5.0) -> Poller:
    return Poller(clock=clock, sleep=clock.sleep, interval=interval)


def kube(fake: FakeKubectl) -> Kube:
    return Kube(fake)


@cache
def e2e_manifests() -> RenderedManifests:
    return load_manifests(E2E_OVERLAY)


@cache
def e2e_expected() -> Expected:
    return Expected.from_manifests(e2e_manifests())


def listing(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(objects)}


def cond(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def with_status(doc: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {**doc, "status": status}


def ready(doc: dict[str, Any], address: str = "10.0.0.1") -> dict[str, Any]:
    """The live object of a manifest once its controller is done with it."""
    kind = doc["kind"]
    if kind == "Deployment":
        return with_status(doc, conditions=[cond("Available")])
    if kind == "GatewayClass":
        return with_status(doc, conditions=[cond("Accepted")])
    if kind == "Gateway":
        return with_status(
            doc,
            conditions=[cond("Programmed")],
            addresses=[{"type": "IPAddress", "value": address}],
        )
    if kind == "HTTPRoute":
        parents = [
            {"parentRef": dict(ref), "conditions": [cond("Accepted")]}
            for ref in doc["spec"]["parentRefs"]
        ]
        return with_status(doc, parents=parents)
    if kind == "LLMInferenceService":
        meta = doc["metadata"]
        url = f"http://{address}/{meta['namespace']}/{meta['name']}"
        return with_status(doc, conditions=[cond("Ready")], url=url)
    return with_status(doc, conditions=[cond("Accepted"), cond("Enforced")])


def live_from_stdin(
    transform: Callable[[dict[str, Any]], dict[str, Any] | None] = ready,
    manifests: RenderedManifests | None = None,
) -> Callable[[str | None], dict[str, Any]]:
    """An answer to `kubectl get -f -`: each object in stdin (looked up in the manifests), as
    `transform` makes it live (None: not found)."""

    def answer(stdin: str | None) -> dict[str, Any]:
        docs = [d for d in yaml.safe_load_all(stdin or "") if d]
        source = manifests or e2e_manifests()
        full = {(d["kind"], d["metadata"]["name"]): d for d in source.documents}
        found = [transform(full.get((d["kind"], d["metadata"]["name"]), d)) for d in docs]
        return listing(o for o in found if o is not None)

    return answer


def jwt_with(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


CRD_VERSIONS = {
    "gatewayclasses.gateway.networking.k8s.io": ["v1"],
    "gateways.gateway.networking.k8s.io": ["v1"],
    "httproutes.gateway.networking.k8s.io": ["v1"],
    "kuadrants.kuadrant.io": ["v1beta1"],
    "authpolicies.kuadrant.io": ["v1", "v1beta3"],
    "ratelimitpolicies.kuadrant.io": ["v1", "v1beta3"],
    "tokenratelimitpolicies.kuadrant.io": ["v1alpha1"],
    "telemetrypolicies.extensions.kuadrant.io": ["v1alpha1"],
    "llminferenceservices.serving.kserve.io": ["v1alpha1"],
}


def crd(name: str, versions: Sequence[str], established: str = "True") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {"versions": [{"name": v, "served": True} for v in versions]},
        "status": {"conditions": [cond("Established", established)]},
    }


def crds_except(*missing: str, **overrides: dict[str, Any]) -> dict[str, Any]:
    """The CRD listing of a healthy cluster, minus some, with some replaced."""
    return listing(
        overrides.get(name.split(".")[0], crd(name, versions))
        for name, versions in CRD_VERSIONS.items()
        if name not in missing
    )


def healthy_cluster(fake: FakeKubectl) -> FakeKubectl:
    """Answers for every preflight question on a cluster that has it all."""
    kuadrant = {
        "kind": "Kuadrant",
        "metadata": {"name": "kuadrant", "namespace": "kuadrant-system"},
        "status": {"conditions": [cond("Ready")]},
    }
    controller = {
        "kind": "Deployment",
        "metadata": {"name": "llmisvc-controller-manager", "namespace": "opendatahub"},
        "status": {"conditions": [cond("Available")]},
    }
    gateway_class = {
        "kind": "GatewayClass",
        "metadata": {"name": "openshift-default"},
        "spec": {"controllerName": "openshift.io/gateway-controller/v1"},
        "status": {"conditions": [cond("Accepted")]},
    }
    return (
        fake.on("get", "--raw", "/version", json={"gitVersion": "v1.32.4"})
        .on("get", "crd", json=crds_except())
        .on(
            "get",
            "gatewayclasses.gateway.networking.k8s.io",
            "openshift-default",
            json=gateway_class,
        )
        .on("get", "kuadrants.kuadrant.io", json=listing([kuadrant]))
        .on("get", "deployments", "--all-namespaces", json=listing([controller]))
    )
