"""A stand-in `kubectl` executable for whole pytest runs of the cluster target (with xdist).

It answers like a healthy cluster on which the stack becomes ready once applied (with model pods
whose served-request counter stays put, and no Limitador metrics), and appends
every call (who made it: an xdist worker or the controller) to the JSON-lines file named by
$FAKE_KUBECTL_LOG, so a test can check what a whole run did to the cluster, in what order.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kubefake import (
    NO_INGRESS_CONFIG,
    crds_except,
    jwt_with,
    listing,
    live_from_stdin,
    model_pod,
    ready,
)

from maas_e2e.expected import Model
from maas_e2e.manifests import load_manifests
from maas_e2e.targets.policies import GATEWAY_POLICY_RESOURCES

LOG = Path(os.environ["FAKE_KUBECTL_LOG"])
MANIFESTS = os.environ["FAKE_KUBECTL_MANIFESTS"]


def _args(argv: list[str]) -> list[str]:
    """Drop the connection flags the runner adds."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--kubeconfig", "--context"):
            skip = True
        elif not arg.startswith("--request-timeout="):
            out.append(arg)
    return out


def _applied() -> bool:
    if not LOG.exists():
        return False
    return any(json.loads(line)["args"][0] == "apply" for line in LOG.read_text().splitlines())


class Fail(str):
    """An answer that is an error: kubectl's stderr, with exit code 1."""


def _gateway(args: list[str]) -> object:
    """`get gateways... NAME -n NS`: the manifests' Gateway (listener hostname and all), live."""
    for doc in load_manifests(MANIFESTS).of_kind("Gateway"):
        if doc["metadata"]["name"] == args[2] and _applied():
            return ready(doc)
    return Fail(f'Error from server (NotFound): gateways "{args[2]}" not found')


def _answer(args: list[str], stdin: str) -> object:
    if args[:3] == ["get", "--raw", "/version"]:
        return {"gitVersion": "v1.32.0"}
    if args[:2] == ["get", "crd"]:
        return crds_except(*os.environ.get("FAKE_KUBECTL_MISSING_CRDS", "").split())
    if args[:2] == ["get", "gatewayclasses.gateway.networking.k8s.io"]:
        status = {"conditions": [{"type": "Accepted", "status": "True"}]}
        return {"kind": "GatewayClass", "metadata": {"name": args[2]}, "status": status}
    if args[:2] == ["get", "kuadrants.kuadrant.io"]:
        meta = {"name": "kuadrant", "namespace": "kuadrant-system"}
        return listing([{"kind": "Kuadrant", "metadata": meta, "status": _ok("Ready")}])
    if args[:2] == ["get", "deployments"]:
        meta = {"name": "llmisvc-controller-manager", "namespace": "kserve"}
        return listing([{"kind": "Deployment", "metadata": meta, "status": _ok("Available")}])
    if args[:2] == ["get", "namespaces"]:
        return listing([])
    if args[:2] == ["get", ",".join(GATEWAY_POLICY_RESOURCES)] and _applied():
        kinds = ("AuthPolicy", "RateLimitPolicy", "TokenRateLimitPolicy")
        namespace = args[args.index("-n") + 1]
        docs = load_manifests(MANIFESTS).documents
        return listing(
            ready(d)
            for d in docs
            if d["kind"] in kinds and d["metadata"].get("namespace") == namespace
        )
    if args[:2] in (["get", "serviceaccounts"], ["get", ",".join(GATEWAY_POLICY_RESOURCES)]):
        return listing([])
    if args[:2] == ["get", "pods"]:
        selector = dict(pair.split("=", 1) for pair in args[args.index("-l") + 1].split(","))
        model = Model(args[args.index("-n") + 1], selector["app.kubernetes.io/name"], frozenset())
        return listing([model_pod(model)])
    if args[:2] == ["get", "--raw"] and "/pods/" in args[2] and args[2].endswith("/proxy/metrics"):
        # A simulator's counter that no denied request moves.
        return 'vllm:request_success_total{model_name="sim"} 7'
    if args[:2] == ["get", "gateways.gateway.networking.k8s.io"]:
        return _gateway(args)
    if args[:2] == ["get", "ingresses.config.openshift.io"]:
        return Fail(NO_INGRESS_CONFIG)  # not OpenShift
    if args[:2] == ["get", "routes.route.openshift.io"]:
        return Fail('error: the server doesn\'t have a resource type "routes"')
    kind = _KINDS.get(args[1].split(".")[0]) if args[0] == "get" and len(args) > 1 else None
    live = _live_of_kind(kind, args) if kind is not None and _applied() else None
    if live is not None:
        return live
    if args[:3] == ["get", "-f", "-"]:
        return (
            live_from_stdin(manifests=load_manifests(MANIFESTS))(stdin)
            if _applied()
            else listing([])
        )
    if args[:3] == ["create", "token", "default"]:
        return jwt_with({"aud": ["https://kubernetes.default.svc"]})
    if args[:2] == ["create", "token"]:
        return jwt_with({"sub": f"system:serviceaccount:{args[4]}:{args[2]}"})
    if args[0] in ("apply", "patch", "delete", "create"):
        return f"{args[0]} ok"
    return None


# What `--maas-skip-deploy` reads of an installed stack, by resource.
_KINDS = {
    "gateways": "Gateway",
    "deployments": "Deployment",
    "configmaps": "ConfigMap",
    "httproutes": "HTTPRoute",
    "authpolicies": "AuthPolicy",
    "llminferenceservices": "LLMInferenceService",
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "clusterrolebindings": "ClusterRoleBinding",
    "clusterroles": "ClusterRole",
}


def _live_of_kind(kind: str, args: list[str]) -> object:
    """The ready live objects of one kind: one by name, or a listing (of a namespace)."""
    if kind == "Deployment" and "--all-namespaces" in args:
        return None  # preflight's KServe controller question, answered below
    found = [ready(d) for d in load_manifests(MANIFESTS).documents if d["kind"] == kind]
    if "-n" in args:
        namespace = args[args.index("-n") + 1]
        found = [d for d in found if d["metadata"].get("namespace") == namespace]
    if len(args) > 2 and not args[2].startswith("-"):
        return next((d for d in found if d["metadata"]["name"] == args[2]), None)
    return listing(found)


def _ok(kind: str) -> dict:
    return {"conditions": [{"type": kind, "status": "True"}]}


def main() -> int:
    args = _args(sys.argv[1:])
    stdin = sys.stdin.read() if "-" in args else ""
    who = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with LOG.open("a") as log:
        log.write(json.dumps({"who": who, "args": args}) + "\n")
    answer = _answer(args, stdin)
    if isinstance(answer, Fail):
        print(answer, file=sys.stderr)
        return 1
    if answer is None:
        print(f"fake kubectl: unexpected {' '.join(args)}", file=sys.stderr)
        return 1
    print(answer if isinstance(answer, str) else json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
