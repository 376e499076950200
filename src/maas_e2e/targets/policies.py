"""Every Kuadrant policy that targets the Gateway, and who made it.

What the gateway enforces is not only what the suite applied: odh-model-controller adds an
AuthPolicy of its own (`maas-default-gateway-authn`) for every LLMInferenceService unless the
Gateway says `opendatahub.io/managed: "false"`, and between two gateway-level AuthPolicies the
newer wins. So preflight and the failure diagnostics list them all, naming the ones the suite did
not create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maas_e2e.manifests import object_ref
from maas_e2e.targets import ownership
from maas_e2e.targets.kube import Kube, items
from maas_e2e.targets.status import condition, describe_condition

GATEWAY_POLICY_RESOURCES = (
    "authpolicies.kuadrant.io",
    "ratelimitpolicies.kuadrant.io",
    "tokenratelimitpolicies.kuadrant.io",
)


def targets_gateway(policy: Mapping[str, Any], gateway: Mapping[str, Any]) -> bool:
    """The policy is attached to this Gateway (Kuadrant policies live in their target's
    namespace and name it by `spec.targetRef`, or `spec.targetRefs` in newer kinds)."""
    spec = policy.get("spec") or {}
    refs = [spec.get("targetRef") or {}, *(spec.get("targetRefs") or [])]
    meta, gw = policy.get("metadata") or {}, gateway.get("metadata") or {}
    return meta.get("namespace") == gw.get("namespace") and any(
        isinstance(ref, dict) and ref.get("kind") == "Gateway" and ref.get("name") == gw.get("name")
        for ref in refs
    )


def gateway_policies(kube: Kube, gateway: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The live AuthPolicies, RateLimitPolicies and TokenRateLimitPolicies on the Gateway."""
    namespace = (gateway.get("metadata") or {}).get("namespace")
    found = items(kube.json("get", ",".join(GATEWAY_POLICY_RESOURCES), "-n", str(namespace)))
    return [p for p in found if targets_gateway(p, gateway)]


def foreign(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The policies the suite did not create."""
    return [p for p in policies if not ownership.is_owned(p)]


def describe(policy: Mapping[str, Any]) -> str:
    """`AuthPolicy ns/name (made by maas-e2e; Enforced=True)`, or who else wrote it."""
    if ownership.is_owned(policy):
        who = "made by maas-e2e"
    else:
        writers = ", ".join(ownership.managers(policy)) or "unknown"
        who = f"NOT made by maas-e2e, written by {writers}"
    enforced = describe_condition(condition(policy, "Enforced"))
    return f"{object_ref(policy)} ({who}; Enforced={enforced})"
