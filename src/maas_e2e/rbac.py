"""Kubernetes RBAC, evaluated over rendered manifests: may these groups `post` to a model?

Which tiers may use a model is written nowhere as a list: it follows from the Roles, ClusterRoles
and their bindings that the gateway's SubjectAccessReview asks the API server about. The suite
predicts that answer itself, from the manifests, so a binding that lets the wrong tier in is
caught. This is a rule of Kubernetes (its RBAC authorizer and the groups its authenticator gives
a ServiceAccount token), not of MaaS, so it lives apart from the MaaS figures in `expected`; like
them, it is written independently of the embedded stack.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from maas_e2e.manifests import RenderedManifests

MODEL_API_GROUP = "serving.kserve.io"
MODEL_RESOURCE = "llminferenceservices"
MODEL_VERB = "post"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
AUTHENTICATED_GROUP = "system:authenticated"


def namespace_group(namespace: str) -> str:
    """The group Kubernetes gives every ServiceAccount token of `namespace`."""
    return f"{SERVICE_ACCOUNTS_GROUP}:{namespace}"


def service_account_groups(namespace: str) -> frozenset[str]:
    """Every group a ServiceAccount token of `namespace` carries, so every group a binding
    may name to reach it."""
    return frozenset({namespace_group(namespace), SERVICE_ACCOUNTS_GROUP, AUTHENTICATED_GROUP})


def may_post(
    manifests: RenderedManifests, namespace: str, name: str, groups: Collection[str]
) -> bool:
    """May a token with these groups `post` the LLMInferenceService `namespace/name`?

    Raises ManifestError for a binding RBAC could not resolve (no namespace, or a roleRef that
    is neither a Role nor a ClusterRole): guessing would pass or fail tiers silently.
    """
    for binding in _bindings_in(manifests, namespace):
        if not any(
            s.get("kind") == "Group" and s.get("name") in groups
            for s in binding.get("subjects") or []
        ):
            continue
        role = _role_of(manifests, binding)
        if role is not None and any(_grants(rule, name) for rule in role.get("rules") or []):
            return True
    return False


def _bindings_in(manifests: RenderedManifests, namespace: str) -> Iterator[dict[str, Any]]:
    """The RoleBindings of `namespace`, then every ClusterRoleBinding."""
    for binding in manifests.of_kind("RoleBinding"):
        if binding["metadata"].get("namespace") is None:
            raise manifests.error(binding, "metadata.namespace is missing")
        if binding["metadata"]["namespace"] == namespace:
            yield binding
    yield from manifests.of_kind("ClusterRoleBinding")


def _role_of(manifests: RenderedManifests, binding: Mapping[str, Any]) -> dict[str, Any] | None:
    """The role a binding grants, or None when the manifests do not hold it."""
    ref = binding.get("roleRef") or {}
    if ref.get("kind") == "ClusterRole":
        return manifests.find("ClusterRole", ref.get("name", ""))
    if ref.get("kind") == "Role" and binding.get("kind") == "RoleBinding":
        return manifests.find("Role", ref.get("name", ""), binding["metadata"]["namespace"])
    raise manifests.error(binding, f"roleRef.kind {ref.get('kind')!r} is not Role or ClusterRole")


def _grants(rule: Mapping[str, Any], name: str) -> bool:
    """Does this PolicyRule allow `post` on the LLMInferenceService `name`?"""

    def allows(field: str, value: str) -> bool:
        values = rule.get(field) or []
        return "*" in values or value in values

    names = rule.get("resourceNames") or []
    return (
        allows("apiGroups", MODEL_API_GROUP)
        and allows("resources", MODEL_RESOURCE)
        and allows("verbs", MODEL_VERB)
        and (not names or name in names)
    )
