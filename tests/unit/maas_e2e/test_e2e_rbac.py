"""The suite's own Kubernetes RBAC evaluator: which groups may `post` to a model."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from maas_e2e.manifests import ManifestError, RenderedManifests, parse_manifests
from maas_e2e.rbac import may_post, service_account_groups

POST_MODELS = {
    "apiGroups": ["serving.kserve.io"],
    "resources": ["llminferenceservices"],
    "verbs": ["post"],
}
TIER = service_account_groups("gw-tier-premium")


def _manifests(*docs: dict[str, Any]) -> RenderedManifests:
    return parse_manifests(yaml.safe_dump_all(docs), source="test.yaml")


def _role(
    kind: str, name: str, *rules: dict[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": metadata, "rules": list(rules)}


def _binding(
    kind: str, role_kind: str, role: str, group: str, namespace: str | None = None
) -> dict[str, Any]:
    metadata = {"name": f"bind-{role}", **({"namespace": namespace} if namespace else {})}
    return {
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"kind": role_kind, "name": role},
        "subjects": [{"kind": "Group", "name": group}],
    }


def test_service_account_groups_are_what_kubernetes_gives_a_token() -> None:
    assert service_account_groups("ns") == {
        "system:serviceaccounts:ns",
        "system:serviceaccounts",
        "system:authenticated",
    }


def test_a_cluster_role_binding_grants_in_every_namespace() -> None:
    manifests = _manifests(
        _role("ClusterRole", "post", POST_MODELS),
        _binding("ClusterRoleBinding", "ClusterRole", "post", "system:authenticated"),
    )
    assert may_post(manifests, "llm", "any-model", TIER)


def test_a_role_binding_grants_only_in_its_namespace() -> None:
    manifests = _manifests(
        _role("Role", "post", POST_MODELS, namespace="llm"),
        _binding("RoleBinding", "Role", "post", "system:serviceaccounts:gw-tier-premium", "llm"),
    )
    assert may_post(manifests, "llm", "model", TIER)
    assert not may_post(manifests, "other", "model", TIER)
    assert not may_post(manifests, "llm", "model", service_account_groups("gw-tier-free"))


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        ({**POST_MODELS, "resourceNames": ["model"]}, True),
        ({**POST_MODELS, "resourceNames": ["another"]}, False),
        ({**POST_MODELS, "verbs": ["*"]}, True),
        ({**POST_MODELS, "verbs": ["get"]}, False),
        ({**POST_MODELS, "apiGroups": [""]}, False),
        ({**POST_MODELS, "resources": ["*"]}, True),
    ],
    ids=["named", "other-name", "any-verb", "get-only", "core-group", "any-resource"],
)
def test_a_rule_grants_post_on_the_model_only(rule: dict[str, Any], allowed: bool) -> None:
    manifests = _manifests(
        _role("ClusterRole", "r", rule),
        _binding("ClusterRoleBinding", "ClusterRole", "r", "system:serviceaccounts"),
    )
    assert may_post(manifests, "llm", "model", TIER) is allowed


def test_a_binding_to_a_missing_role_grants_nothing() -> None:
    manifests = _manifests(
        _binding("ClusterRoleBinding", "ClusterRole", "absent", "system:authenticated")
    )
    assert not may_post(manifests, "llm", "model", TIER)


@pytest.mark.parametrize(
    ("binding", "fragment"),
    [
        (
            _binding("RoleBinding", "Role", "r", "system:authenticated"),
            "RoleBinding bind-r: metadata.namespace is missing",
        ),
        (
            _binding("ClusterRoleBinding", "Role", "r", "system:authenticated"),
            "roleRef.kind 'Role' is not Role or ClusterRole",
        ),
    ],
    ids=["namespaceless-role-binding", "cluster-binding-to-role"],
)
def test_an_unresolvable_binding_is_a_manifest_error(binding: dict, fragment: str) -> None:
    with pytest.raises(ManifestError, match=f"^test.yaml: .*{fragment}"):
        may_post(_manifests(binding), "llm", "model", TIER)
