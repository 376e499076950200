"""The expectations of a MaaS someone already installed, read from its live objects.

With `--maas-skip-deploy` the suite tests the stack that is there, so the overlay's figures say
nothing about it: a tier mapping without the suite's groups, other limits, other models. The
figures are read from what the cluster holds instead, by the same reader as for manifests
(`maas_e2e.expected`): the tier ConfigMap, the policies on the Gateway and on maas-api's route,
the LLMInferenceServices behind the Gateway and the RBAC that lets tiers call them.

The overlay still names what to look for (the Gateway, maas-api's Deployment). Identities need a
namespace whose ServiceAccounts the live tier mapping puts in a tier; the suite makes one per
tier where the mapping allows it (the tier names a `system:serviceaccounts:<ns>` group, or holds
`system:authenticated`/`system:serviceaccounts` as the lowest matching tier). A tier it cannot
serve is reported with what to add; the tests that need it skip with that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from maas_e2e.expected import IDENTITY_TIER_LABEL, MAAS_API_NAME, TIER_CONFIGMAP, Expected
from maas_e2e.manifests import ManifestError, RenderedManifests, object_ref, parse_manifests
from maas_e2e.rbac import namespace_group, service_account_groups
from maas_e2e.targets.kube import Kube, items
from maas_e2e.targets.policies import gateway_policies
from maas_e2e.targets.status import condition

MODEL_RESOURCE = "llminferenceservices.serving.kserve.io"
SA_GROUP_PREFIX = namespace_group("")
SUITE_NAMESPACE = "maas-e2e-{tier}"
TOKEN_GROUPS = ("system:serviceaccounts", "system:authenticated")
# What the API server adds that a manifest does not carry.
_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")


def live_manifests(kube: Kube, overlay: RenderedManifests) -> RenderedManifests:
    """The live objects the expectations depend on, as one rendering."""
    gateway = _one(overlay, "Gateway")
    maas_api = _one(overlay, "Deployment", MAAS_API_NAME)
    live_gateway = _get(kube, "gateways.gateway.networking.k8s.io", gateway)
    live_api = _get(kube, "deployments.apps", maas_api)
    api_ns = live_api["metadata"]["namespace"]
    objects = [live_gateway, live_api]
    objects.append(
        _get(kube, "configmaps", {"metadata": {"name": TIER_CONFIGMAP, "namespace": api_ns}})
    )
    objects += _enforced(gateway_policies(kube, live_gateway))
    objects += items(kube.json("get", "httproutes.gateway.networking.k8s.io", "-n", api_ns))
    objects += items(kube.json("get", "authpolicies.kuadrant.io", "-n", api_ns))
    models = [m for m in items(kube.json("get", MODEL_RESOURCE, "-A")) if _behind(m, live_gateway)]
    if not models:
        raise ManifestError(
            f"no LLMInferenceService on the cluster routes through {object_ref(live_gateway)}: "
            "nothing to call (deploy a model, or run without --maas-skip-deploy)"
        )
    objects += models
    objects += _rbac(kube, sorted({m["metadata"]["namespace"] for m in models}))
    rendered = _render([_as_manifest(o) for o in objects], "live objects")
    expected = Expected.from_manifests(rendered)
    namespaces = [_identity_namespace(name, tier) for tier, name in identity_plan(expected).items()]
    return _render([*rendered.documents, *namespaces], "live objects")


def identity_plan(expected: Expected) -> dict[str, str]:
    """Per tier, a namespace whose ServiceAccounts the tier mapping puts in that tier."""
    plan = {}
    for tier in expected.tiers:
        named = [
            g.removeprefix(SA_GROUP_PREFIX) for g in tier.groups if g.startswith(SA_GROUP_PREFIX)
        ]
        candidates = [*named, SUITE_NAMESPACE.format(tier=tier.name)]
        for namespace in candidates:
            if expected.tier_for_groups(service_account_groups(namespace)) == tier.name:
                plan[tier.name] = namespace
                break
    return plan


def identity_gaps(expected: Expected) -> dict[str, str]:
    """Per tier without an identity namespace, why, and what would give it one."""
    gaps = {}
    for tier in expected.tier_names:
        if tier in expected.identity_namespaces:
            continue
        namespace = SUITE_NAMESPACE.format(tier=tier)
        gaps[tier] = (
            f"tier {tier} has no group the suite can put an identity in: add group "
            f"{namespace_group(namespace)} to tier {tier} in ConfigMap {TIER_CONFIGMAP}"
        )
    return gaps


def _identity_namespace(name: str, tier: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {IDENTITY_TIER_LABEL: tier}},
    }


def _one(overlay: RenderedManifests, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in overlay.of_kind(kind) if name in (None, d["metadata"]["name"])]
    if len(found) != 1:
        raise ManifestError(
            f"{overlay.source}: expected one {kind}{f' {name}' if name else ''} to find on the "
            f"cluster, found {len(found)}"
        )
    return found[0]


def _get(kube: Kube, resource: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    meta = doc["metadata"]
    obj = kube.get(resource, meta["name"], meta.get("namespace"))
    if obj is None:
        where = f"{meta.get('namespace')}/{meta['name']}" if meta.get("namespace") else meta["name"]
        raise ManifestError(
            f"the cluster has no {resource} {where}: --maas-skip-deploy tests a MaaS that is "
            "installed (the seed's steps), or deploy the suite's own stack without it"
        )
    return obj


def _enforced(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of several policies of one kind on the Gateway, the ones Kuadrant enforces (the newer
    overrides the older, which reports Enforced=False)."""
    kept = []
    for kind in sorted({p["kind"] for p in policies}):
        same = [p for p in policies if p["kind"] == kind]
        enforced = [p for p in same if (condition(p, "Enforced") or {}).get("status") == "True"]
        kept += enforced if len(same) > 1 and enforced else same
    return kept


def _behind(model: Mapping[str, Any], gateway: Mapping[str, Any]) -> bool:
    refs = (((model.get("spec") or {}).get("router") or {}).get("gateway") or {}).get("refs")
    meta = gateway["metadata"]
    return any(
        r.get("name") == meta["name"] and r.get("namespace") == meta["namespace"]
        for r in refs or []
        if isinstance(r, dict)
    )


def _rbac(kube: Kube, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """The Roles and RoleBindings of the models' namespaces, the ClusterRoleBindings that name
    a group a MaaS token may carry, and the ClusterRoles any of them refers to."""
    found = []
    for ns in namespaces:
        found += items(kube.json("get", "roles.rbac.authorization.k8s.io", "-n", ns))
        found += items(kube.json("get", "rolebindings.rbac.authorization.k8s.io", "-n", ns))
    cluster_bindings = items(kube.json("get", "clusterrolebindings.rbac.authorization.k8s.io"))
    found += [b for b in cluster_bindings if _names_token_group(b)]
    wanted = {
        (b.get("roleRef") or {}).get("name")
        for b in found
        if b.get("kind") in ("RoleBinding", "ClusterRoleBinding")
        and (b.get("roleRef") or {}).get("kind") == "ClusterRole"
    }
    for name in sorted(n for n in wanted if n):
        role = kube.get("clusterroles.rbac.authorization.k8s.io", name)
        if role is not None:
            found.append(role)
    return found


def _names_token_group(binding: Mapping[str, Any]) -> bool:
    """Binds a group every MaaS token carries (a tier's ServiceAccount group, all
    ServiceAccounts, or every authenticated user)."""
    return any(
        s.get("kind") == "Group" and str(s.get("name", "")).startswith(TOKEN_GROUPS)
        for s in binding.get("subjects") or []
    )


def _as_manifest(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _render(documents: list[dict[str, Any]], source: str) -> RenderedManifests:
    return parse_manifests(yaml.safe_dump_all(documents, sort_keys=False), source=source)
