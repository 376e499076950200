"""The controllers that cannot run here, played: the status they would write, nothing else.

No Istio, Kuadrant, KServe or kubelet runs on this machine, so nobody would ever say that a
Gateway is programmed or a model is ready. Each `Writer` here watches one kind in the real API
server and writes the status its controller writes upstream, in the same shape (an HTTPRoute
gets a Kuadrant entry first and the gateway controller's entry after it, as on a cluster). What
the objects say is never changed, only their `status`, and only when it differs, so the watch
does not feed on its own writes. The stand-in objects the suite's preflight asks for (a
`Kuadrant`, a KServe controller Deployment) are created here too, labelled as maas-local's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

LOG = logging.getLogger("maas_local.cluster")
GATEWAY_CONTROLLER = "openshift.io/gateway-controller/v1"
POLICY_CONTROLLER = "kuadrant.io/policy-controller"
KUADRANT_NAMESPACE = "kuadrant-system"
KSERVE_NAMESPACE = "opendatahub"
KSERVE_CONTROLLER = "llmisvc-controller-manager"
WATCH_TIMEOUT_S = 290
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}

Status = Callable[[dict[str, Any], "Context"], dict[str, Any] | None]


@dataclass(frozen=True)
class Context:
    """What the status of one object may depend on besides the object itself."""

    gateway_address: str  # where the data plane listens (the Gateway's status.addresses)

    def model_url(self, namespace: str, name: str) -> str:
        return f"http://{self.gateway_address}/{namespace}/{name}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, reason: str, obj: dict[str, Any], message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "observedGeneration": obj["metadata"].get("generation", 1),
        "lastTransitionTime": _now(),
    }


def gateway_class_status(obj: dict[str, Any], _: Context) -> dict[str, Any] | None:
    if (obj.get("spec") or {}).get("controllerName") != GATEWAY_CONTROLLER:
        return None  # not ours to accept
    return {"conditions": [_condition("Accepted", "Accepted", obj)]}


def gateway_status(obj: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "addresses": [{"type": "IPAddress", "value": ctx.gateway_address}],
        "conditions": [
            _condition("Accepted", "Accepted", obj),
            _condition("Programmed", "Programmed", obj),
        ],
    }


def route_status(obj: dict[str, Any], _: Context) -> dict[str, Any]:
    """Per parent, Kuadrant's entry first and the gateway controller's after it."""
    parents = []
    namespace = obj["metadata"].get("namespace")
    for ref in (obj.get("spec") or {}).get("parentRefs") or []:
        ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", **ref}
        ref.setdefault("namespace", namespace)
        parents.append(
            {
                "parentRef": ref,
                "controllerName": POLICY_CONTROLLER,
                "conditions": [
                    _condition("kuadrant.io/AuthPolicyAffected", "Accepted", obj),
                    _condition("kuadrant.io/RateLimitPolicyAffected", "Accepted", obj),
                ],
            }
        )
        parents.append(
            {
                "parentRef": ref,
                "controllerName": GATEWAY_CONTROLLER,
                "conditions": [
                    _condition("Accepted", "Accepted", obj),
                    _condition("ResolvedRefs", "ResolvedRefs", obj),
                ],
            }
        )
    return {"parents": parents}


def policy_status(obj: dict[str, Any], _: Context) -> dict[str, Any]:
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "conditions": [
            _condition("Accepted", "Accepted", obj, "Policy has been accepted"),
            _condition("Enforced", "Enforced", obj, "Policy has been successfully enforced"),
        ],
    }


def model_status(obj: dict[str, Any], ctx: Context) -> dict[str, Any]:
    meta = obj["metadata"]
    url = ctx.model_url(meta["namespace"], meta["name"])
    return {
        "observedGeneration": meta.get("generation", 1),
        "url": url,
        "addresses": [{"url": url}],
        "conditions": [_condition("Ready", "Ready", obj)],
    }


def deployment_status(obj: dict[str, Any], _: Context) -> dict[str, Any]:
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "updatedReplicas": replicas,
        "conditions": [
            {**_condition("Available", "MinimumReplicasAvailable", obj), "lastUpdateTime": _now()}
        ],
    }


def kuadrant_status(obj: dict[str, Any], _: Context) -> dict[str, Any]:
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "conditions": [_condition("Ready", "Ready", obj)],
    }


@dataclass(frozen=True)
class Kind:
    """A watched kind: where it lives in the API and the status its controller writes."""

    path: str  # the cluster-wide collection, e.g. /apis/apps/v1/deployments
    status: Status

    def item_path(self, obj: dict[str, Any]) -> str:
        group_version, _, plural = self.path.rpartition("/")
        namespace = obj["metadata"].get("namespace")
        where = f"{group_version}/namespaces/{namespace}" if namespace else group_version
        return f"{where}/{plural}/{obj['metadata']['name']}/status"


KINDS = (
    Kind("/apis/gateway.networking.k8s.io/v1/gatewayclasses", gateway_class_status),
    Kind("/apis/gateway.networking.k8s.io/v1/gateways", gateway_status),
    Kind("/apis/gateway.networking.k8s.io/v1/httproutes", route_status),
    Kind("/apis/kuadrant.io/v1/authpolicies", policy_status),
    Kind("/apis/kuadrant.io/v1/ratelimitpolicies", policy_status),
    Kind("/apis/kuadrant.io/v1alpha1/tokenratelimitpolicies", policy_status),
    Kind("/apis/extensions.kuadrant.io/v1alpha1/telemetrypolicies", policy_status),
    Kind("/apis/kuadrant.io/v1beta1/kuadrants", kuadrant_status),
    Kind("/apis/serving.kserve.io/v1alpha1/llminferenceservices", model_status),
    Kind("/apis/apps/v1/deployments", deployment_status),
)


def _differs(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Whether writing `desired` would change anything but timestamps."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k not in ("lastTransitionTime", "lastUpdateTime")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip({k: current.get(k) for k in desired}) != strip(desired)


class StatusWriters:
    """One watch per kind, each in its own thread, until `stop()`."""

    def __init__(self, client: Callable[[], httpx.Client], context: Context) -> None:
        self.client = client
        self.context = context
        self._stop = threading.Event()

    def reconcile(self, api: httpx.Client, kind: Kind, obj: dict[str, Any]) -> bool:
        """Write the status the controller would; True when something was written."""
        desired = kind.status(obj, self.context)
        if desired is None or not _differs(obj.get("status") or {}, desired):
            return False
        response = api.patch(
            kind.item_path(obj), content=json.dumps({"status": desired}), headers=MERGE_PATCH
        )
        if response.status_code == 404:
            return False  # deleted meanwhile
        response.raise_for_status()
        return True

    def start(self) -> None:
        with self.client() as api:
            create_stand_ins(api)
        for kind in KINDS:
            threading.Thread(
                target=self._watch, args=(kind,), name=f"status:{kind.path}", daemon=True
            ).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self, kind: Kind) -> None:
        while not self._stop.is_set():
            try:
                with self.client() as api:
                    self._watch_once(api, kind)
            except (httpx.HTTPError, ValueError) as exc:
                # The API server sheds load while it starts (429) and ends watches it restarts:
                # list and watch again, as client-go's informers do.
                if not self._stop.is_set():
                    LOG.info("watch of %s broke off, starting over: %s", kind.path, exc)
                    self._stop.wait(1.0)

    def _watch_once(self, api: httpx.Client, kind: Kind) -> None:
        listing = api.get(kind.path)
        listing.raise_for_status()
        body = listing.json()
        for obj in body.get("items") or []:
            self.reconcile(api, kind, obj)
        params = {
            "watch": "1",
            "resourceVersion": body["metadata"]["resourceVersion"],
            "timeoutSeconds": str(WATCH_TIMEOUT_S),
            "allowWatchBookmarks": "false",
        }
        timeout = httpx.Timeout(10.0, read=WATCH_TIMEOUT_S + 10)
        with api.stream("GET", kind.path, params=params, timeout=timeout) as events:
            for line in events.iter_lines():
                if self._stop.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self.reconcile(api, kind, event["object"])
                elif event.get("type") == "ERROR":
                    return  # e.g. 410 Gone: list again


def create_stand_ins(api: httpx.Client) -> None:
    """What the seed's install steps leave on OpenShift 4.19, made by server-side apply: the
    GatewayClass `openshift-default` ("Enabling GW API"), a `Kuadrant` in kuadrant-system and a
    KServe controller Deployment (labelled `control-plane`)."""
    labels = {"app.kubernetes.io/managed-by": "maas-local"}
    _apply(api, "/apis/gateway.networking.k8s.io/v1/gatewayclasses/openshift-default", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": "openshift-default", "labels": labels},
        "spec": {"controllerName": GATEWAY_CONTROLLER},
    })  # fmt: skip
    for namespace in (KUADRANT_NAMESPACE, KSERVE_NAMESPACE):
        _apply(api, f"/api/v1/namespaces/{namespace}", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        })  # fmt: skip
    _apply(api, f"/apis/kuadrant.io/v1beta1/namespaces/{KUADRANT_NAMESPACE}/kuadrants/kuadrant", {
        "apiVersion": "kuadrant.io/v1beta1", "kind": "Kuadrant",
        "metadata": {"name": "kuadrant", "namespace": KUADRANT_NAMESPACE, "labels": labels},
        "spec": {},
    })  # fmt: skip
    selector = {"control-plane": KSERVE_CONTROLLER}
    path = f"/apis/apps/v1/namespaces/{KSERVE_NAMESPACE}/deployments/{KSERVE_CONTROLLER}"
    _apply(api, path, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": KSERVE_CONTROLLER, "namespace": KSERVE_NAMESPACE,
                     "labels": {**labels, **selector}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {"containers": [{"name": "manager", "image": "played-by/maas-local"}]},
            },
        },
    })  # fmt: skip


def _apply(api: httpx.Client, path: str, obj: dict[str, Any]) -> None:
    response = api.patch(
        path,
        params={"fieldManager": "maas-local", "force": "true"},
        content=json.dumps(obj),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    response.raise_for_status()
