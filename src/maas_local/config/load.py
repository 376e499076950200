"""Build the stack's configuration from rendered manifest objects.

Only what a cluster would act on is read: the tier ConfigMap, the AuthPolicies, the
RateLimitPolicy and TokenRateLimitPolicy, the LLMInferenceServices, RBAC, the maas-api route and
the commit maas-api's image pins.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from maas_local.config.fields import find, find_one, get, ref
from maas_local.config.model import (
    Limit,
    ManifestError,
    ModelSpec,
    RoleBinding,
    RoleRule,
    StackConfig,
    Tier,
)
from maas_local.config.render import render_overlay
from maas_local.config.windows import window_seconds
from maas_local.faults import validate as validate_faults
from maas_local.maas_api.commits import (
    MaasApiCommit,
    UnknownCommit,
    commit_of_image,
    is_maas_api_image,
)

TIER_CONFIGMAP = "tier-to-group-mapping"
MAAS_API_ROUTE = "maas-api-route"
MAAS_API_DEPLOYMENT = "maas-api"
TIER_PREDICATE = re.compile(r'^\s*auth\.identity\.tier\s*==\s*"([^"]+)"\s*$')


def load_config(manifests: str | Path, faults: frozenset[str] = frozenset()) -> StackConfig:
    """Render `manifests` and read the stack's configuration from the objects.

    `faults` are names from `maas_local.faults.CATALOGUE`; an unknown one raises UnknownFault.
    """
    faults = validate_faults(faults)
    objects = render_overlay(manifests)
    _refuse_inference_services(objects)
    deployment = find_one(objects, "Deployment", MAAS_API_DEPLOYMENT)
    gateways = find(objects, "Gateway")
    if len(gateways) != 1:
        raise ManifestError(f"the manifests must have exactly one Gateway, found {len(gateways)}")
    gateway_name = get(gateways[0], "metadata.name", str)
    gateway_auth = _policy_targeting(objects, "AuthPolicy", "Gateway", gateway_name)
    route_auth = _policy_targeting(objects, "AuthPolicy", "HTTPRoute", MAAS_API_ROUTE)
    matched_tier = get(gateway_auth, "spec.rules.metadata.matchedTier", dict)
    return StackConfig(
        instance=_instance_name(deployment, gateway_name),
        maas_api_namespace=get(deployment, "metadata.namespace", str),
        tiers=_tiers(find_one(objects, "ConfigMap", TIER_CONFIGMAP)),
        gateway_audiences=_audiences(gateway_auth),
        maas_api_audiences=_audiences(route_auth),
        tier_lookup_url=get(gateway_auth, "spec.rules.metadata.matchedTier.http.url", str),
        tier_cache_ttl_seconds=get(matched_tier, "cache.ttl", int, default=0),
        request_limits=_optional_limits(objects, "RateLimitPolicy", gateway_name),
        token_limits=_optional_limits(objects, "TokenRateLimitPolicy", gateway_name),
        models=tuple(_model(o) for o in find(objects, "LLMInferenceService")),
        bindings=_bindings(objects),
        maas_api_prefixes=_route_prefixes(find_one(objects, "HTTPRoute", MAAS_API_ROUTE)),
        maas_api=_maas_api_commit(deployment),
        maas_api_env=_literal_env(deployment),
        faults=faults,
    )


def _literal_env(deployment: dict[str, Any]) -> dict[str, str]:
    """The first container's env entries with a literal value (fieldRefs are the pod's)."""
    containers = get(deployment, "spec.template.spec.containers", list)
    entries = (containers[0].get("env") or []) if containers else []
    return {e["name"]: e["value"] for e in entries if isinstance(e.get("value"), str)}


def _refuse_inference_services(objects: list[dict[str, Any]]) -> None:
    """The embedded stack serves LLMInferenceServices only: an InferenceService it would list
    at `GET /models` with nothing behind it, so manifests with one are refused, not half-run."""
    found = find(objects, "InferenceService")
    if found:
        names = ", ".join(ref(o) for o in found)
        raise ManifestError(
            f"the manifests have InferenceService objects ({names}); the embedded stack serves "
            "only LLMInferenceServices (serving.kserve.io/v1alpha1): deploy these to a cluster"
        )


def _maas_api_commit(deployment: dict[str, Any]) -> MaasApiCommit:
    """The commit of the container that runs maas-api's image; one the embedded maas-api
    does not know stops start-up (it cannot answer as a commit it does not emulate)."""
    containers = get(deployment, "spec.template.spec.containers", list)
    images = [c.get("image") for c in containers if isinstance(c, dict)]
    image = next((i for i in images if isinstance(i, str) and is_maas_api_image(i)), None)
    if image is None:
        raise ManifestError(f"{ref(deployment)}: no container runs maas-api's image: {images}")
    try:
        return commit_of_image(image)
    except UnknownCommit as exc:
        raise ManifestError(f"{ref(deployment)}: {exc}") from None


def _instance_name(deployment: dict[str, Any], gateway_name: str) -> str:
    containers = get(deployment, "spec.template.spec.containers", list)
    for env in (containers[0].get("env") or []) if containers else []:
        if env.get("name") == "INSTANCE_NAME" and isinstance(env.get("value"), str):
            return env["value"]
    return gateway_name


def _tiers(configmap: dict[str, Any]) -> tuple[Tier, ...]:
    text = get(configmap, "data.tiers", str)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError(f"{ref(configmap)}: data.tiers is not valid YAML: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ManifestError(f"{ref(configmap)}: data.tiers must be a non-empty YAML list")
    tiers = []
    for i, entry in enumerate(raw):
        where = f"{ref(configmap)}: data.tiers[{i}]"
        if not isinstance(entry, dict):
            raise ManifestError(f"{where} must be a mapping with name, level and groups")
        name, level, groups = entry.get("name"), entry.get("level", 0), entry.get("groups")
        if not isinstance(name, str) or not name:
            raise ManifestError(f"{where}.name must be a non-empty string, got {name!r}")
        if not isinstance(level, int) or isinstance(level, bool):
            raise ManifestError(f"{where}.level must be an integer, got {level!r}")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ManifestError(f"{where}.groups must be a list of strings, got {groups!r}")
        tiers.append(Tier(name, level, tuple(groups), str(entry.get("description") or "")))
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ManifestError(f"{ref(configmap)}: data.tiers has duplicate tier names {names}")
    return tuple(tiers)


def _policy_targeting(
    objects: list[dict[str, Any]], kind: str, target_kind: str, target_name: str
) -> dict[str, Any]:
    found = [
        o
        for o in find(objects, kind)
        if (o.get("spec") or {}).get("targetRef", {}).get("kind") == target_kind
        and o["spec"]["targetRef"].get("name") == target_name
    ]
    if len(found) != 1:
        raise ManifestError(
            f"the manifests must have one {kind} targeting {target_kind} {target_name}, "
            f"found {len(found)}"
        )
    return found[0]


def _optional_limits(objects: list[dict[str, Any]], kind: str, gateway: str) -> dict[str, Limit]:
    """The limits of the gateway's policy of that kind; none when there is no such policy (a
    stack may run without rate or token limits, as Kuadrant does when the policy is deleted)."""
    if not any(
        (o.get("spec") or {}).get("targetRef", {}).get("kind") == "Gateway"
        for o in find(objects, kind)
    ):
        return {}
    return _limits(_policy_targeting(objects, kind, "Gateway", gateway))


def _audiences(policy: dict[str, Any]) -> tuple[str, ...]:
    authn = get(policy, "spec.rules.authentication", dict)
    for rule_name, rule in authn.items():
        review = rule.get("kubernetesTokenReview") if isinstance(rule, dict) else None
        if review is not None:
            path = f"spec.rules.authentication.{rule_name}.kubernetesTokenReview.audiences"
            audiences = get(policy, path, list)
            if not audiences or not all(isinstance(a, str) and a for a in audiences):
                raise ManifestError(f"{ref(policy)}: {path} must list non-empty strings")
            return tuple(audiences)
    raise ManifestError(f"{ref(policy)}: no kubernetesTokenReview under spec.rules.authentication")


def _limits(policy: dict[str, Any]) -> dict[str, Limit]:
    limits: dict[str, Limit] = {}
    for limit_name in get(policy, "spec.limits", dict):
        base = f"spec.limits.{limit_name}"
        predicate = get(policy, f"{base}.when.0.predicate", str)
        match = TIER_PREDICATE.match(predicate)
        if not match:
            raise ManifestError(
                f"{ref(policy)}: {base}.when[0].predicate must be "
                f'auth.identity.tier == "<tier>", got {predicate!r}'
            )
        counter = get(policy, f"{base}.counters.0.expression", str)
        if counter != "auth.identity.userid":
            raise ManifestError(
                f"{ref(policy)}: {base}.counters[0].expression must be auth.identity.userid, "
                f"got {counter!r}"
            )
        amount = get(policy, f"{base}.rates.0.limit", int)
        window = get(policy, f"{base}.rates.0.window", str)
        try:
            seconds = window_seconds(window)
        except ValueError as exc:
            raise ManifestError(f"{ref(policy)}: {base}.rates[0].window: {exc}") from None
        if amount < 0:
            raise ManifestError(f"{ref(policy)}: {base}.rates[0].limit must be >= 0, got {amount}")
        limits[match.group(1)] = Limit(amount, seconds)
    return limits


def _model(obj: dict[str, Any]) -> ModelSpec:
    args = get(obj, "spec.template.containers.0.args", list, default=[])
    return ModelSpec(
        namespace=get(obj, "metadata.namespace", str),
        name=get(obj, "metadata.name", str),
        served_model_name=_flag(args, "--model") or get(obj, "metadata.name", str),
        mode=_flag(args, "--mode") or "random",
        created=_created(obj),
        generation=get(obj, "metadata.generation", int, default=1),
        model_name=get(obj, "spec.model.name", str, default=None),
        args=tuple(str(a) for a in args),
    )


def _flag(args: list[Any], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return str(args[i + 1])
        if isinstance(arg, str) and arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _created(obj: dict[str, Any]) -> int:
    stamp = get(obj, "metadata.creationTimestamp", str, default="")
    if not stamp:
        return int(time.time())
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise ManifestError(
            f"{ref(obj)}: metadata.creationTimestamp {stamp!r} is not RFC 3339"
        ) from None


def _rules(role: dict[str, Any]) -> tuple[RoleRule, ...]:
    rules = []
    for i in range(len(get(role, "rules", list, default=[]))):
        base = f"rules.{i}"
        rules.append(
            RoleRule(
                api_groups=tuple(get(role, f"{base}.apiGroups", list, default=[])),
                resources=tuple(get(role, f"{base}.resources", list)),
                verbs=tuple(get(role, f"{base}.verbs", list)),
                resource_names=tuple(get(role, f"{base}.resourceNames", list, default=[])),
            )
        )
    return tuple(rules)


def _bindings(objects: list[dict[str, Any]]) -> tuple[RoleBinding, ...]:
    roles = {
        (o["kind"], (o.get("metadata") or {}).get("namespace"), o["metadata"]["name"]): o
        for o in objects
        if o.get("kind") in ("Role", "ClusterRole")
    }
    bindings = []
    for binding in find(objects, "RoleBinding") + find(objects, "ClusterRoleBinding"):
        namespace = (binding.get("metadata") or {}).get("namespace")
        role_kind = get(binding, "roleRef.kind", str)
        role_name = get(binding, "roleRef.name", str)
        role_ns = namespace if role_kind == "Role" else None
        role = roles.get((role_kind, role_ns, role_name))
        if role is None:
            raise ManifestError(
                f"{ref(binding)}: roleRef {role_kind} {role_name} is not in the manifests"
            )
        subjects = get(binding, "subjects", list, default=[])
        users = [s["name"] for s in subjects if s.get("kind") == "User"]
        users += [
            f"system:serviceaccount:{s.get('namespace', namespace)}:{s['name']}"
            for s in subjects
            if s.get("kind") == "ServiceAccount"
        ]
        bindings.append(
            RoleBinding(
                namespace=namespace if binding["kind"] == "RoleBinding" else None,
                rules=_rules(role),
                groups=tuple(s["name"] for s in subjects if s.get("kind") == "Group"),
                users=tuple(users),
            )
        )
    return tuple(bindings)


def _route_prefixes(route: dict[str, Any]) -> tuple[tuple[str, str | None], ...]:
    prefixes = []
    for i, rule in enumerate(get(route, "spec.rules", list)):
        prefix = get(route, f"spec.rules.{i}.matches.0.path.value", str)
        replace = None
        for f in rule.get("filters") or []:
            if f.get("type") == "URLRewrite":
                replace = f.get("urlRewrite", {}).get("path", {}).get("replacePrefixMatch")
        prefixes.append((prefix, replace))
    return tuple(prefixes)
