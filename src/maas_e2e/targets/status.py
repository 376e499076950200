"""What Kubernetes status says about the stack, read the same way in preflight, waits and
diagnostics: a condition, and which of the objects the suite depends on is not ready yet.

`StackWatch.pending` is the bring-up's wait on the API server: every watched object of the
rendered manifests, judged by its kind (a Deployment `Available`, a Gateway `Programmed` with an
address, a route accepted by its Gateway, a policy `Accepted` and `Enforced`, a model `Ready` with
a URL), each with a hint where to look when it stays pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from maas_e2e.manifests import RenderedManifests, object_ref
from maas_e2e.targets.kube import Kube, KubeError, items
from maas_e2e.targets.waiting import Pending

POLICY_KINDS = ("AuthPolicy", "RateLimitPolicy", "TokenRateLimitPolicy", "TelemetryPolicy")
WATCHED_KINDS = ("GatewayClass", "Deployment", "Gateway", "HTTPRoute", *POLICY_KINDS)
MODEL_KIND = "LLMInferenceService"


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    """The `status.conditions` entry of that type, or None when the controller set none."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_true(obj: Mapping[str, Any], kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def describe_condition(cond: Mapping[str, Any] | None) -> str:
    """`False (Reason: message)`, or why there is nothing to show."""
    if cond is None:
        return "not reported yet"
    reason = cond.get("reason") or ""
    message = (cond.get("message") or "").strip()
    detail = ": ".join(part for part in (reason, message[:300]) if part)
    return f"{cond.get('status', '?')} ({detail})" if detail else str(cond.get("status", "?"))


def object_key(obj: dict[str, Any]) -> tuple[str, str, str | None, str]:
    """(group, kind, namespace, name): the API may answer in another version of the group."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return group, str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))


def refs_yaml(documents: Iterable[dict[str, Any]]) -> str:
    """Just enough of each object for `kubectl get -f -` to find it."""
    refs = [
        {"apiVersion": d["apiVersion"], "kind": d["kind"], "metadata": _meta(d)} for d in documents
    ]
    return yaml.safe_dump_all(refs, sort_keys=False)


def _meta(doc: dict[str, Any]) -> dict[str, str]:
    meta = {"name": doc["metadata"]["name"]}
    if doc["metadata"].get("namespace"):
        meta["namespace"] = doc["metadata"]["namespace"]
    return meta


def fetch(kube: Kube, documents: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """The live objects for these manifests, in one call, keyed by (group, kind, ns, name)."""
    if not documents:
        return {}
    found = items(kube.json("get", "-f", "-", "--ignore-not-found", stdin=refs_yaml(documents)))
    return {object_key(obj): obj for obj in found}


class StackWatch:
    """What `kubectl get` says about every object whose readiness the suite depends on."""

    def __init__(self, kube: Kube, manifests: RenderedManifests, *, need_address: bool) -> None:
        self.kube = kube
        self.need_address = need_address
        self.watched = [
            d for d in manifests.documents if d.get("kind") in (*WATCHED_KINDS, MODEL_KIND)
        ]

    def pending(self) -> list[Pending]:
        try:
            live = fetch(self.kube, self.watched)
        except KubeError as exc:
            return [Pending("the cluster's API server", f"cannot read status: {exc}")]
        found: list[Pending] = []
        for doc in self.watched:
            obj = live.get(object_key(doc))
            if obj is None:
                found.append(Pending(object_ref(doc), "not found", "was it applied? see above"))
                continue
            found.extend(_judge(obj, self.need_address))
        return found


def _judge(obj: dict[str, Any], need_address: bool) -> list[Pending]:
    kind = obj.get("kind")
    if kind == "Deployment":
        return _conditions(obj, ("Available",), _deployment_hint(obj))
    if kind == "GatewayClass":
        return _conditions(obj, ("Accepted",), "its gateway controller must accept it")
    if kind == "Gateway":
        return _gateway(obj, need_address)
    if kind == "HTTPRoute":
        return _route(obj)
    if kind in POLICY_KINDS:
        return _conditions(
            obj,
            ("Accepted", "Enforced"),
            'Kuadrant must see the gateway controller: seed step "Patch Kuadrant deployment" '
            "(ISTIO_GATEWAY_CONTROLLER_NAMES=openshift.io/gateway-controller/v1)",
        )
    return _model(obj)


def _conditions(obj: dict[str, Any], wanted: Sequence[str], hint: str) -> list[Pending]:
    for kind in wanted:
        if not is_true(obj, kind):
            state = f"{kind}={describe_condition(condition(obj, kind))}"
            return [Pending(object_ref(obj), state, hint)]
    return []


def _deployment_hint(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return (
        f"kubectl -n {meta.get('namespace')} describe deployment {meta['name']} "
        "(image pull, probes, RBAC)"
    )


def _gateway(obj: dict[str, Any], need_address: bool) -> list[Pending]:
    hint = (
        f"the controller of GatewayClass {obj.get('spec', {}).get('gatewayClassName')} must "
        'program it (seed step "Enabling GW API")'
    )
    pending = _conditions(obj, ("Programmed",), hint)
    if pending or not need_address:
        return pending
    if not gateway_addresses(obj):
        return [
            Pending(
                object_ref(obj),
                "Programmed but status.addresses is empty",
                "it needs an external address (LoadBalancer), or pass --maas-gateway-url "
                "(e.g. to a `kubectl port-forward` of the gateway's Service)",
            )
        ]
    return []


def gateway_addresses(obj: dict[str, Any]) -> list[str]:
    return [
        a["value"]
        for a in (obj.get("status") or {}).get("addresses") or []
        if isinstance(a, dict) and a.get("value")
    ]


def _route(obj: dict[str, Any]) -> list[Pending]:
    """Every parent Gateway has accepted the route.

    Several controllers write `status.parents[]` entries for the same Gateway: Kuadrant adds
    its own (`controllerName: kuadrant.io/policy-controller`, only `*PolicyAffected`
    conditions) and Istio keeps other controllers' entries first. So the parent has accepted the
    route when any of its entries says `Accepted=True`; when none does, the state shown is the
    gateway controller's entry (not a policy controller's, which never reports acceptance).
    """
    route_ns = obj["metadata"].get("namespace")
    statuses = (obj.get("status") or {}).get("parents") or []
    for parent in obj.get("spec", {}).get("parentRefs") or []:
        name, ns = parent.get("name"), parent.get("namespace", route_ns)
        entries = [
            s
            for s in statuses
            if isinstance(s, dict)
            and (s.get("parentRef") or {}).get("name") == name
            and (s.get("parentRef") or {}).get("namespace", route_ns) == ns
        ]
        hint = f"Gateway {ns}/{name} must allow routes from namespace {route_ns}"
        # A route's conditions are per parent and controller: status.parents[].conditions.
        judged = [({"status": {"conditions": s.get("conditions")}}, s) for s in entries]
        if any(is_true(as_object, "Accepted") for as_object, _ in judged):
            continue
        reporting = [(o, s) for o, s in judged if condition(o, "Accepted") is not None]
        if not reporting:
            others = ", ".join(sorted({str(s.get("controllerName")) for s in entries}))
            state = f"not attached to Gateway {ns}/{name} yet" + (
                f" (only {others} reported)" if others else ""
            )
            return [Pending(object_ref(obj), state, hint)]
        as_object, entry = reporting[0]
        accepted = describe_condition(condition(as_object, "Accepted"))
        state = f"Accepted={accepted} by {ns}/{name} ({entry.get('controllerName')})"
        return [Pending(object_ref(obj), state, hint)]
    return []


def model_url(obj: dict[str, Any]) -> str | None:
    """`status.url`, else the first `status.addresses[].url`: what maas-api lists."""
    status = obj.get("status") or {}
    if status.get("url"):
        return str(status["url"])
    for address in status.get("addresses") or []:
        if isinstance(address, dict) and address.get("url"):
            return str(address["url"])
    return None


def _model(obj: dict[str, Any]) -> list[Pending]:
    meta = obj["metadata"]
    hint = (
        f"kubectl -n {meta.get('namespace')} get pods -l app.kubernetes.io/name={meta['name']} "
        "and the KServe controller's logs"
    )
    pending = _conditions(obj, ("Ready",), hint)
    if pending:
        return pending
    if model_url(obj) is None:
        return [Pending(object_ref(obj), "Ready but has no status.url yet", hint)]
    return []
