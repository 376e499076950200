"""A recorded fake of kubectl for the cluster target's unit tests, and of the gateway's data plane.

Rules answer calls whose arguments contain the rule's tokens as a contiguous run; a rule may
answer a fixed number of times (to script "fails twice, then works"). Every call is kept with
its stdin, so a test can assert the commands, their order and their input. A call no rule
answers fails the test. `FakeGateway` answers the bring-up probes' HTTP as the gateway would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from tests.unit.fakeclock import FakeClock

from maas_e2e.expected import Expected, Model
from maas_e2e.manifests import RenderedManifests, load_manifests
from maas_e2e.targets.kube import Kube, KubectlResult
from maas_e2e.targets.metrics import SERVED_METRIC
from maas_e2e.targets.policies import GATEWAY_POLICY_RESOURCES
from maas_e2e.targets.traffic import Reply
from maas_e2e.targets.waiting import Poller

E2E_OVERLAY = Path(__file__).resolve().parents[3] / "manifests" / "e2e"
Answer = dict[str, Any] | Callable[[str | None], dict[str, Any] | str]


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
    per_call: Callable[[Call], dict[str, Any] | str] | None = None


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

    def on_call(self, *tokens: str, answer: Callable[[Call], dict[str, Any] | str]) -> FakeKubectl:
        """Answer successfully with what `answer` makes of the whole call (its arguments)."""
        self.rules.append(Rule(tokens, 0, "", "", None, answer))
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
            if rule.per_call is not None:
                out = rule.per_call(call)
            else:
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
        parents = [entry for ref in doc["spec"]["parentRefs"] for entry in route_parents(ref)]
        return with_status(doc, parents=parents)
    if kind == "LLMInferenceService":
        meta = doc["metadata"]
        url = f"http://{address}/{meta['namespace']}/{meta['name']}"
        return with_status(doc, conditions=[cond("Ready")], url=url)
    return with_status(doc, conditions=[cond("Accepted"), cond("Enforced")])


ISTIO_CONTROLLER = "openshift.io/gateway-controller/v1"
KUADRANT_CONTROLLER = "kuadrant.io/policy-controller"


def route_parents(ref: dict[str, Any], accepted: dict[str, str] | None = None) -> list[dict]:
    """An HTTPRoute's `status.parents` for one Gateway as a cluster writes them: Kuadrant's own
    entry (policy conditions only) first, since Istio keeps other controllers' entries ahead of
    its own, then the gateway controller's, which says whether the route is accepted."""
    kuadrant = {
        "parentRef": dict(ref),
        "controllerName": KUADRANT_CONTROLLER,
        "conditions": [
            cond("kuadrant.io/AuthPolicyAffected", reason="Accepted"),
            cond("kuadrant.io/RateLimitPolicyAffected", reason="Accepted"),
        ],
    }
    gateway = {
        "parentRef": dict(ref),
        "controllerName": ISTIO_CONTROLLER,
        "conditions": [accepted or cond("Accepted"), cond("ResolvedRefs")],
    }
    return [kuadrant, gateway]


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


APPS_DOMAIN = "apps.ci.example.com"
NO_INGRESS_CONFIG = 'error: the server doesn\'t have a resource type "ingresses"'


def ingress_config(domain: str = APPS_DOMAIN) -> dict[str, Any]:
    """`ingresses.config.openshift.io/cluster` as OpenShift has it: `spec.domain` is the apps
    domain (what the seed reads into CLUSTER_DOMAIN)."""
    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "cluster"},
        "spec": {"domain": domain, "loadBalancer": {"platform": {"type": ""}}},
        "status": {"defaultPlacement": "Workers"},
    }


def openshift_route(
    host: str, *, admitted: dict[str, str] | None = None, tls: bool = True
) -> dict[str, Any]:
    """The seed's Route `gateway-route` as OpenShift writes it once the default router has looked
    at it: `status.ingress[]` with its Admitted condition (`admitted`, True by default)."""
    admission = admitted or cond("Admitted")
    spec: dict[str, Any] = {
        "host": host,
        "port": {"targetPort": "http"},
        "to": {"kind": "Service", "name": "maas-default-gateway-openshift-default", "weight": 100},
        "wildcardPolicy": "None",
    }
    if tls:
        spec["tls"] = {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    ingress = {
        "host": host,
        "routerName": "default",
        "routerCanonicalHostname": f"router-default.{APPS_DOMAIN}",
        "wildcardPolicy": "None",
        "conditions": [{**admission, "lastTransitionTime": "2025-06-02T09:14:07Z"}],
    }
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "gateway-route", "namespace": "openshift-ingress"},
        "spec": spec,
        "status": {"ingress": [ingress]},
    }


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
        .on("get", ",".join(GATEWAY_POLICY_RESOURCES), json=listing([]))
    )


def service_account_token(call: Call) -> str:
    """What `kubectl create token NAME -n NS` prints: a JWT whose subject is that account."""
    name, namespace = call.args[2], call.args[call.args.index("-n") + 1]
    return jwt_with({"sub": f"system:serviceaccount:{namespace}:{name}"}) + "\n"


def identity_rules(fake: FakeKubectl) -> FakeKubectl:
    """Fresh identities: ServiceAccounts are created and tokens minted for them."""
    return fake.on("create", "-f", "-", stdout="created\n").on_call(
        "create", "token", answer=service_account_token
    )


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims.get("sub", ""))


@dataclass
class FakeGateway:
    """The gateway's data plane as the bring-up probes meet it: Authorino (401 without a MaaS
    token, 403 where RBAC refuses the tier), maas-api's token endpoint, Limitador (a request count
    per token, 429 past the tier's limit) and the models (counting what they serve). Each knob is
    a way the real one can fail."""

    expected: Expected
    authenticate: bool = True  # False: requests without a token reach the model
    counting: bool = True  # False: Limitador admits everything and counts nothing
    headers: bool = False  # Limitador's --rate-limit-headers
    leak: bool = False  # denied requests reach the model all the same
    model_status: int = 200  # what the model answers to an admitted request
    mint_status: int = 201
    sent: list[tuple[str, str, bool]] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    authorized_calls: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # MaaS token -> tier
    used: dict[str, int] = field(default_factory=dict)  # MaaS token -> counted requests
    hosts: list[str | None] = field(default_factory=list)  # per request made via `with_host`

    def __call__(self, url: str) -> int:
        return self.send("GET", url).status

    def with_host(self, host: str | None) -> PinnedGateway:
        return PinnedGateway(self, host)

    def send(self, method: str, url: str, *, token: str | None = None, json: Any = None) -> Reply:
        path = urlsplit(url).path
        self.sent.append((method, path, token is not None))
        if (method, path) == ("POST", "/maas-api/v1/tokens"):
            return self._mint(token)
        model = next((m for m in self.expected.models if path.startswith(f"{m.path}/")), None)
        if model is None:
            return Reply(401 if token is None else 404)
        return self._model(model, token)

    def _mint(self, credential: str | None) -> Reply:
        if credential is None:
            return Reply(401)
        if self.mint_status != 201:
            return Reply(self.mint_status, body='{"error":"Failed to generate token"}')
        namespace = _subject(credential).split(":")[2]
        tiers = {ns: tier for tier, ns in self.expected.identity_namespaces.items()}
        token = f"maas-{tiers[namespace]}-{len(self.tokens)}"
        self.tokens[token] = tiers[namespace]
        return Reply(201, body=json.dumps({"token": token, "expiration": "1h0m0s"}))

    def _model(self, model: Model, token: str | None) -> Reply:
        tier = self.tokens.get(token or "")
        if tier is None and self.authenticate:
            return self._deny(model, 401)
        if tier is not None and tier not in model.allowed_tiers:
            return self._deny(model, 403)
        headers = {}
        limit = self.expected.request_limit(tier) if tier else None
        if token and limit and self.counting:
            used = self.used.get(token, 0)
            if used + 1 > limit.amount:
                return self._deny(model, 429)
            self.used[token] = used + 1
            self.authorized_calls += 1
            if self.headers:
                headers = {
                    "x-ratelimit-limit": str(limit.amount),
                    "x-ratelimit-remaining": str(limit.amount - used - 1),
                }
        if self.model_status == 200:
            self.served[model.path] = self.served.get(model.path, 0) + 1
        return Reply(self.model_status, headers, '{"id":"chatcmpl-1"}')

    def _deny(self, model: Model, status: int) -> Reply:
        if self.leak:
            self.served[model.path] = self.served.get(model.path, 0) + 1
        return Reply(status)

    def limitador_metrics(self) -> str:
        namespace = self.expected.models[0].namespace
        return (
            "limitador_up 1\n"
            f'authorized_calls{{limitador_namespace="{namespace}/route"}} {self.authorized_calls}\n'
        )

    def simulator_metrics(self, model: Model, *, counter: bool = True) -> str:
        label = f'{{model_name="{model.name}"}}'
        page = f"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{label} 0\n"
        if counter:
            page += f"{SERVED_METRIC}{label} {self.served.get(model.path, 0)}\n"
        return page


@dataclass(frozen=True)
class PinnedGateway:
    """The fake gateway reached with `host` as Host (what `HttpGateway.with_host` sends): each
    request notes its Host in the gateway's `hosts`; the gateway answers any Host."""

    gateway: FakeGateway
    host: str | None

    def __call__(self, url: str) -> int:
        self.gateway.hosts.append(self.host)
        return self.gateway(url)

    def send(self, method: str, url: str, *, token: str | None = None, json: Any = None) -> Reply:
        self.gateway.hosts.append(self.host)
        return self.gateway.send(method, url, token=token, json=json)

    def with_host(self, host: str | None) -> PinnedGateway:
        return PinnedGateway(self.gateway, host)


def model_pod(model: Model) -> dict[str, Any]:
    """A running server pod of the model, as KServe labels it."""
    container = {"name": "main", "ports": [{"name": "https", "containerPort": 8000}]}
    return {
        "kind": "Pod",
        "metadata": {"name": f"{model.name}-kserve-0", "namespace": model.namespace},
        "spec": {"containers": [container]},
    }


def pod_metrics_path(model: Model) -> str:
    pod = f"https:{model.name}-kserve-0:8000"
    return f"/api/v1/namespaces/{model.namespace}/pods/{pod}/proxy/metrics"


LIMITADOR_METRICS = (
    "/api/v1/namespaces/kuadrant-system/services/limitador-limitador:8080/proxy/metrics"
)


def metrics_rules(
    fake: FakeKubectl, gateway: FakeGateway, *, limitador: bool = False, counter: bool = True
) -> FakeKubectl:
    """The model pods and their `/metrics` (with the served counts the gateway keeps, or, without
    `counter`, only the gauges llm-d-inference-sim v0.5.1 has), and Limitador's `/metrics` when
    `limitador` (else the API server's 404 for its proxy path)."""
    for model in gateway.expected.models:
        selector = f"app.kubernetes.io/name={model.name},kserve.io/component=workload"
        pods = listing([model_pod(model)])
        fake.on("get", "pods", "-n", model.namespace, "-l", selector, json=pods)
        fake.on(
            "get", "--raw", pod_metrics_path(model),
            json=lambda _stdin, m=model: gateway.simulator_metrics(m, counter=counter),
        )  # fmt: skip
    if limitador:
        fake.on("get", "--raw", LIMITADOR_METRICS, json=lambda _stdin: gateway.limitador_metrics())
    else:
        fake.fail("get", "--raw", LIMITADOR_METRICS, stderr=LIMITADOR_NOT_FOUND)
    return fake


LIMITADOR_NOT_FOUND = 'Error from server (NotFound): services "limitador-limitador" not found'
