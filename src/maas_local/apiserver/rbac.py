"""SubjectAccessReview against the manifests' Roles and bindings (the gateway's model RBAC)."""

from __future__ import annotations

from dataclasses import dataclass

from maas_local.config import RoleBinding, RoleRule


@dataclass(frozen=True)
class Access:
    user: str
    groups: tuple[str, ...]
    group: str
    resource: str
    namespace: str
    name: str
    verb: str


def _matches(values: tuple[str, ...], value: str) -> bool:
    return "*" in values or value in values


def _rule_allows(rule: RoleRule, access: Access) -> bool:
    return (
        _matches(rule.api_groups, access.group)
        and _matches(rule.resources, access.resource)
        and _matches(rule.verbs, access.verb)
        and (not rule.resource_names or access.name in rule.resource_names)
    )


def allowed(bindings: tuple[RoleBinding, ...], access: Access) -> bool:
    """Kubernetes RBAC is additive: any binding that grants the access allows it."""
    for binding in bindings:
        if binding.namespace is not None and binding.namespace != access.namespace:
            continue
        bound = access.user in binding.users or any(g in binding.groups for g in access.groups)
        if bound and any(_rule_allows(rule, access) for rule in binding.rules):
            return True
    return False
