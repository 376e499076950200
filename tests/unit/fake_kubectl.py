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

from kubefake import crds_except, jwt_with, listing, live_from_stdin, model_pod

from maas_e2e.expected import Model
from maas_e2e.manifests import load_manifests

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
    if args[:2] == ["get", "pods"]:
        selector = dict(pair.split("=", 1) for pair in args[args.index("-l") + 1].split(","))
        model = Model(args[args.index("-n") + 1], selector["app.kubernetes.io/name"], frozenset())
        return listing([model_pod(model)])
    if args[:2] == ["get", "--raw"] and "/pods/" in args[2] and args[2].endswith("/proxy/metrics"):
        # A simulator's counter that no denied request moves.
        return 'vllm:request_success_total{model_name="sim"} 7'
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


def _ok(kind: str) -> dict:
    return {"conditions": [{"type": kind, "status": "True"}]}


def main() -> int:
    args = _args(sys.argv[1:])
    stdin = sys.stdin.read() if "-" in args else ""
    who = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with LOG.open("a") as log:
        log.write(json.dumps({"who": who, "args": args}) + "\n")
    answer = _answer(args, stdin)
    if answer is None:
        print(f"fake kubectl: unexpected {' '.join(args)}", file=sys.stderr)
        return 1
    print(answer if isinstance(answer, str) else json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
