"""The figures a deployment must honour, read from its rendered manifests.

No test hard-codes a tier, limit, window, audience or model name: they all come from here, so
changing the manifests changes what the suite expects. Each rule is read the way the real
components read it (maas-api's tier mapping, Kuadrant's policies, Kubernetes RBAC), written
independently of the embedded stack. Which tiers may use a model is Kubernetes RBAC's answer,
which `maas_e2e.rbac` evaluates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from maas_e2e.maas_api_commits import ID_FROM_MODEL_NAME, MaasApiCommit, UnknownMaasApi
from maas_e2e.maas_api_commits import commit_of_image as maas_api_commit_of
from maas_e2e.manifests import ManifestError, RenderedManifests, load_manifests, object_ref
from maas_e2e.naming import expected_namespace
from maas_e2e.rbac import may_post, namespace_group, service_account_groups

TIER_CONFIGMAP = "tier-to-group-mapping"
MAAS_API_NAME = "maas-api"
IDENTITY_TIER_LABEL = "maas-e2e.opendatahub.io/tier"

_WINDOW = re.compile(r"([0-9]{1,5}(h|m|s|ms)){1,4}", re.ASCII)
_WINDOW_PART = re.compile(r"([0-9]+)(ms|h|m|s)", re.ASCII)
_UNIT_NANOS = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000}
_TIER_PREDICATE = re.compile(r"""\s*auth\.identity\.tier\s*==\s*(["'])(.*?)\1\s*""")
SAR_DENIAL_PREFIX = "not authorized: "
"""Authorino's own reason when a `kubernetesSubjectAccessReview` rule denies, before the
review's `status.reason` (pkg/evaluators/authorization/kubernetes_authz.go)."""


@dataclass(frozen=True)
class Limit:
    """One Kuadrant rate: `amount` hits (or tokens) per `window`.

    `name` is the limit's key under `spec.limits`, which Kuadrant gives Limitador as the limit's
    name (its `limit_name` metric label); empty when unknown. Two rates are equal whatever their
    limits are called, as the figures are what the suite compares.
    """

    amount: int
    window: str
    name: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"limit must be a non-negative integer, got {self.amount!r}")
        if not isinstance(self.window, str) or not _WINDOW.fullmatch(self.window):
            raise ValueError(
                f"window {self.window!r} does not match ^([0-9]{{1,5}}(h|m|s|ms)){{1,4}}$"
            )

    @property
    def seconds(self) -> int:
        """The window in whole seconds, truncated, as Kuadrant hands it to Limitador."""
        nanos = sum(int(n) * _UNIT_NANOS[unit] for n, unit in _WINDOW_PART.findall(self.window))
        return nanos // 1_000_000_000

    def __str__(self) -> str:
        return f"{self.amount} per {self.window}"


@dataclass(frozen=True)
class Tier:
    """A tier of the `tier-to-group-mapping` ConfigMap (without the implicit SA group)."""

    name: str
    level: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class DenialReason:
    """The X-Ext-Auth-Reason of the gateway's 403 when its RBAC rule (a SubjectAccessReview)
    denies: the literal `response.unauthorized.message` of the AuthPolicy, or with none
    Authorino's own, "not authorized: " and the review's `status.reason` ("unknown reason" when
    it has none, as with plain RBAC; other authorizers of a cluster may give one)."""

    text: str
    exact: bool
    """True: the reason is `text`; False: `text` followed by the review's reason."""

    def matches(self, actual: str | None) -> bool:
        if actual is None:
            return False
        if self.exact:
            return actual == self.text
        return actual.startswith(self.text) and len(actual) > len(self.text)

    def __str__(self) -> str:
        return repr(self.text) if self.exact else f"{self.text!r} and the review's reason"


DEFAULT_MAX_MODEL_LEN = 1024
"""llm-d-inference-sim's context length when its container has no `--max-model-len`."""


@dataclass(frozen=True)
class Model:
    """An LLMInferenceService, the tiers whose MaaS tokens RBAC lets `post` to it, and the
    `id` the pinned maas-api lists it under."""

    namespace: str
    name: str
    allowed_tiers: frozenset[str]
    listed_id: str = ""
    context_tokens: int = DEFAULT_MAX_MODEL_LEN
    """Prompt plus completion tokens the model takes (`--max-model-len`); beyond: its 400."""

    def __post_init__(self) -> None:
        if not self.listed_id:
            object.__setattr__(self, "listed_id", self.name)

    @property
    def path(self) -> str:
        """The gateway path prefix of the model: the AuthPolicy reads ns and name from it."""
        return f"/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Expected:
    """Everything the suite expects of a deployment, from one rendering of its manifests."""

    instance: str
    maas_api: MaasApiCommit
    audience: str
    maas_api_audiences: tuple[str, ...]
    tiers: tuple[Tier, ...]
    request_limits: Mapping[str, Limit]
    token_limits: Mapping[str, Limit]
    models: tuple[Model, ...]
    identity_namespaces: Mapping[str, str]
    content_hash: str
    forbidden_reason: DenialReason | None
    """What the gateway's 403 says; None where the AuthPolicy computes it per request."""

    @classmethod
    def from_manifests(cls, manifests: RenderedManifests) -> Expected:
        """Read every figure; anything missing raises ManifestError naming object and field."""
        return _Reader(manifests).expected()

    @property
    def tier_names(self) -> tuple[str, ...]:
        """Tier names from lowest to highest level."""
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str) -> Tier:
        """The tier of that name; an unknown name is a bug in the caller, so it raises."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ValueError(f"unknown tier {name!r}; the manifests define {list(self.tier_names)}")

    def request_limit(self, tier: str) -> Limit | None:
        """The RateLimitPolicy rate for the tier, or None when the tier has none."""
        self.tier(tier)
        return self.request_limits.get(tier)

    def token_limit(self, tier: str) -> Limit | None:
        """The TokenRateLimitPolicy rate for the tier, or None when the tier has none."""
        self.tier(tier)
        return self.token_limits.get(tier)

    def tier_namespace(self, tier: str) -> str:
        """Where maas-api puts the service accounts (and so the tokens) of a tier."""
        return expected_namespace(self.instance, self.tier(tier).name)

    def tier_group(self, tier: str) -> str:
        """The group every MaaS token of the tier carries, which maps it back to the tier."""
        return namespace_group(self.tier_namespace(tier))

    def tier_for_groups(self, groups: Iterable[str]) -> str | None:
        """The tier maas-api resolves for these groups: highest level first, ConfigMap order on
        ties, the first tier holding any of the groups wins; None when no tier holds any."""
        wanted = set(groups)
        by_level = sorted(self.tiers, key=lambda t: t.level, reverse=True)
        for tier in by_level:
            if wanted & {*tier.groups, self.tier_group(tier.name)}:
                return tier.name
        return None

    def user_group(self, tier: str) -> str:
        """A group that puts a cluster user (who always has system:authenticated) in exactly
        this tier: the tier's first non-`system:` group."""
        candidates = [g for g in self.tier(tier).groups if not g.startswith("system:")]
        if not candidates:
            raise ManifestError(
                f"ConfigMap {TIER_CONFIGMAP}: tier {tier!r} has no non-system group to give a user"
            )
        group = candidates[0]
        resolved = self.tier_for_groups([group, "system:authenticated"])
        if resolved != tier:
            raise ManifestError(
                f"ConfigMap {TIER_CONFIGMAP}: group {group!r} with system:authenticated resolves "
                f"to tier {resolved!r}, not {tier!r}"
            )
        return group

    def model(self, name: str, namespace: str | None = None) -> Model:
        """The model of that name (and namespace, if given)."""
        found = [m for m in self.models if m.name == name and namespace in (None, m.namespace)]
        if len(found) != 1:
            known = [f"{m.namespace}/{m.name}" for m in self.models]
            raise ValueError(f"{len(found)} models match {name!r}; the manifests define {known}")
        return found[0]


def load_expected(source: str | os.PathLike[str], *, kubectl: str | None = None) -> Expected:
    """Render (or read) the manifests and read the expected figures from them."""
    return Expected.from_manifests(load_manifests(source, kubectl=kubectl))


class _Reader:
    """Reads one RenderedManifests; each method owns one figure."""

    def __init__(self, manifests: RenderedManifests) -> None:
        self.m = manifests
        self.maas_api = manifests.find("Deployment", MAAS_API_NAME)

    def expected(self) -> Expected:
        instance = self.instance()
        maas_api = self.maas_api_commit()
        tiers = self.tiers()
        names = {t.name for t in tiers}
        return Expected(
            instance=instance,
            maas_api=maas_api,
            audience=self.gateway_audiences()[0],
            maas_api_audiences=tuple(self.maas_api_audiences()),
            tiers=tiers,
            request_limits=MappingProxyType(self.limits("RateLimitPolicy", names)),
            token_limits=MappingProxyType(self.limits("TokenRateLimitPolicy", names)),
            models=tuple(self.models(instance, names, maas_api)),
            identity_namespaces=MappingProxyType(self.identity_namespaces(names)),
            content_hash=hashlib.sha256(self.m.text.encode("utf-8")).hexdigest(),
            forbidden_reason=self.forbidden_reason(),
        )

    def instance(self) -> str:
        """maas-api's INSTANCE_NAME if the Deployment sets it, else the Gateway's name."""
        if self.maas_api is not None:
            containers = self.maas_api.get("spec", {}).get("template", {}).get("spec", {})
            for container in containers.get("containers") or []:
                for env in container.get("env") or []:
                    if env.get("name") != "INSTANCE_NAME":
                        continue
                    if not isinstance(env.get("value"), str) or not env["value"]:
                        raise self.m.error(
                            self.maas_api,
                            f"containers[{container.get('name')}].env INSTANCE_NAME must have a "
                            "literal non-empty value",
                        )
                    return env["value"]
        gateways = self.m.of_kind("Gateway")
        if len(gateways) != 1:
            raise self.m.error(
                "Gateway",
                f"expected exactly one Gateway to name the instance, found {len(gateways)} "
                f"({', '.join(object_ref(g) for g in gateways) or 'none'}); "
                "or set INSTANCE_NAME on Deployment maas-api",
            )
        return gateways[0]["metadata"]["name"]

    def maas_api_commit(self) -> MaasApiCommit:
        """The maas-api commit the manifests pin, whose promises the suite then expects."""
        if self.maas_api is None:
            raise self.m.error("Deployment", f"no Deployment {MAAS_API_NAME!r}")
        containers = self.maas_api.get("spec", {}).get("template", {}).get("spec", {})
        images = [c.get("image") for c in containers.get("containers") or []]
        image = next((i for i in images if isinstance(i, str) and MAAS_API_NAME in i), None)
        if image is None:
            raise self.m.error(
                self.maas_api, f"no container runs a {MAAS_API_NAME} image: {images}"
            )
        try:
            return maas_api_commit_of(image)
        except UnknownMaasApi as exc:
            raise self.m.error(self.maas_api, str(exc)) from None

    def tiers(self) -> tuple[Tier, ...]:
        namespace = self.maas_api["metadata"].get("namespace") if self.maas_api else None
        cm = self.m.find("ConfigMap", TIER_CONFIGMAP, namespace)
        if cm is None:
            where = f" in namespace {namespace!r}" if namespace else ""
            raise self.m.error("ConfigMap", f"no ConfigMap {TIER_CONFIGMAP!r}{where}")
        text = (cm.get("data") or {}).get("tiers")
        if not isinstance(text, str):
            raise self.m.error(cm, "data.tiers is missing")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise self.m.error(cm, f"data.tiers is not valid YAML: {exc}") from exc
        if not isinstance(raw, list) or not raw:
            raise self.m.error(cm, "data.tiers must be a non-empty YAML list")
        tiers = [self._tier(cm, index, entry) for index, entry in enumerate(raw)]
        names = [t.name for t in tiers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise self.m.error(cm, f"data.tiers repeats tier names {duplicates}")
        return tuple(sorted(tiers, key=lambda t: t.level))

    def _tier(self, cm: Mapping[str, Any], index: int, entry: Any) -> Tier:
        field = f"data.tiers[{index}]"
        if not isinstance(entry, dict):
            raise self.m.error(cm, f"{field} is not a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise self.m.error(cm, f"{field}.name is missing")
        # maas-api unmarshals a missing level as Go's zero value.
        level = entry.get("level", 0)
        if isinstance(level, bool) or not isinstance(level, int):
            raise self.m.error(cm, f"{field}.level of tier {name!r} must be an integer: {level!r}")
        groups = entry.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise self.m.error(cm, f"{field}.groups of tier {name!r} must be a list of strings")
        return Tier(name=name, level=level, groups=tuple(groups))

    def _gateway_auth_policy(self) -> dict[str, Any]:
        policies = [p for p in self.m.of_kind("AuthPolicy") if _target(p).get("kind") == "Gateway"]
        if len(policies) != 1:
            raise self.m.error(
                "AuthPolicy",
                f"expected exactly one AuthPolicy targeting a Gateway, found {len(policies)}",
            )
        return policies[0]

    def gateway_audiences(self) -> list[str]:
        return self._token_review_audiences(self._gateway_auth_policy())

    def forbidden_reason(self) -> DenialReason | None:
        """The gateway AuthPolicy's `response.unauthorized.message` if it sets a literal one
        (None if it computes one: `selector` or `expression`), else Authorino's own reason."""
        policy = self._gateway_auth_policy()
        for _, rules in _policy_sections(policy.get("spec") or {}, "rules"):
            denial = (rules.get("response") or {}).get("unauthorized") or {}
            if "message" not in denial:
                continue
            message = denial["message"] if isinstance(denial["message"], dict) else {}
            computed = message.get("selector") or message.get("expression")
            if isinstance(message.get("value"), str) and not computed:
                return DenialReason(message["value"], exact=True)
            return None
        return DenialReason(SAR_DENIAL_PREFIX, exact=False)

    def maas_api_audiences(self) -> list[str]:
        routes = {
            (route["metadata"].get("namespace"), route["metadata"]["name"])
            for route in self.m.of_kind("HTTPRoute")
            if any(
                ref.get("name") == MAAS_API_NAME
                for rule in route.get("spec", {}).get("rules") or []
                for ref in rule.get("backendRefs") or []
            )
        }
        policies = [
            p
            for p in self.m.of_kind("AuthPolicy")
            if _target(p).get("kind") == "HTTPRoute"
            and (p["metadata"].get("namespace"), _target(p).get("name")) in routes
        ]
        if len(policies) != 1:
            raise self.m.error(
                "AuthPolicy",
                "expected exactly one AuthPolicy targeting the HTTPRoute to Service maas-api, "
                f"found {len(policies)}",
            )
        return self._token_review_audiences(policies[0])

    def _token_review_audiences(self, policy: Mapping[str, Any]) -> list[str]:
        for path, rules in _policy_sections(policy.get("spec") or {}, "rules"):
            for name, rule in (rules.get("authentication") or {}).items():
                review = rule.get("kubernetesTokenReview") if isinstance(rule, dict) else None
                if review is None:
                    continue
                field = f"{path}.authentication.{name}.kubernetesTokenReview.audiences"
                audiences = review.get("audiences")
                if (
                    not isinstance(audiences, list)
                    or not audiences
                    or not all(isinstance(a, str) and a for a in audiences)
                ):
                    raise self.m.error(policy, f"{field} is missing or empty")
                return audiences
        raise self.m.error(policy, "no authentication rule with kubernetesTokenReview")

    def limits(self, kind: str, tier_names: set[str]) -> dict[str, Limit]:
        """Per tier, the single rate of the limit whose `when` is `auth.identity.tier == "t"`."""
        found: dict[str, Limit] = {}
        for policy in self.m.of_kind(kind):
            read = len(found)
            sections = list(_policy_sections(policy.get("spec") or {}, "limits"))
            for path, limits in sections:
                for limit_name, limit in limits.items():
                    field = f"{path}.{limit_name}"
                    tier = self._limit_tier(policy, field, limit)
                    if tier is None:
                        continue
                    if tier not in tier_names:
                        raise self.m.error(policy, f"{field} is for unknown tier {tier!r}")
                    if tier in found:
                        raise self.m.error(policy, f"{field}: tier {tier!r} has a second {kind}")
                    found[tier] = self._single_rate(policy, field, limit, limit_name)
            if any(limits for _, limits in sections) and len(found) == read:
                # A policy whose limits the suite cannot attribute to tiers would turn every
                # limit test into a skip: refuse it instead of passing vacuously.
                raise self.m.error(
                    policy, 'no limit has a `auth.identity.tier == "<tier>"` predicate'
                )
        return found

    def _limit_tier(self, policy: Mapping[str, Any], field: str, limit: Any) -> str | None:
        if not isinstance(limit, dict):
            raise self.m.error(policy, f"{field} is not a mapping")
        tiers = set()
        for index, when in enumerate(limit.get("when") or []):
            predicate = when.get("predicate") if isinstance(when, dict) else None
            if not isinstance(predicate, str):
                raise self.m.error(policy, f"{field}.when[{index}].predicate is missing")
            match = _TIER_PREDICATE.fullmatch(predicate)
            if match:
                tiers.add(match.group(2))
        if len(tiers) > 1:
            raise self.m.error(policy, f"{field}.when names several tiers {sorted(tiers)}")
        return tiers.pop() if tiers else None

    def _single_rate(
        self, policy: Mapping[str, Any], field: str, limit: Mapping[str, Any], name: str
    ) -> Limit:
        rates = limit.get("rates")
        if not isinstance(rates, list) or len(rates) != 1 or not isinstance(rates[0], dict):
            raise self.m.error(policy, f"{field}.rates must hold exactly one rate, got {rates!r}")
        try:
            return Limit(amount=rates[0].get("limit"), window=rates[0].get("window"), name=name)
        except ValueError as exc:
            raise self.m.error(policy, f"{field}.rates[0]: {exc}") from exc

    def identity_namespaces(self, tier_names: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for ns in self.m.of_kind("Namespace"):
            tier = (ns["metadata"].get("labels") or {}).get(IDENTITY_TIER_LABEL)
            if tier is None:
                continue
            if tier not in tier_names:
                raise self.m.error(ns, f"label {IDENTITY_TIER_LABEL} names unknown tier {tier!r}")
            if tier in found:
                raise self.m.error(
                    ns, f"tier {tier!r} already has identity namespace {found[tier]}"
                )
            found[tier] = ns["metadata"]["name"]
        return found

    def models(
        self, instance: str, tier_names: set[str], maas_api: MaasApiCommit
    ) -> Iterator[Model]:
        for service in self.m.of_kind("LLMInferenceService"):
            namespace = service["metadata"].get("namespace")
            if not namespace:
                raise self.m.error(service, "metadata.namespace is missing")
            name = service["metadata"]["name"]
            allowed = frozenset(
                tier
                for tier in tier_names
                if may_post(
                    self.m,
                    namespace,
                    name,
                    service_account_groups(expected_namespace(instance, tier)),
                )
            )
            model_name = ((service.get("spec") or {}).get("model") or {}).get("name")
            listed = model_name if maas_api.model_id_from == ID_FROM_MODEL_NAME else None
            yield Model(
                namespace,
                name,
                allowed,
                listed_id=listed or name,
                context_tokens=self._max_model_len(service),
            )

    def _max_model_len(self, service: Mapping[str, Any]) -> int:
        """`--max-model-len N` (or `=N`) among the model container's args, else the default."""
        containers = ((service.get("spec") or {}).get("template") or {}).get("containers") or []
        for container in containers:
            args = [str(a) for a in (container.get("args") or [])]
            for index, arg in enumerate(args):
                value = None
                if arg == "--max-model-len" and index + 1 < len(args):
                    value = args[index + 1]
                elif arg.startswith("--max-model-len="):
                    value = arg.partition("=")[2]
                if value is not None:
                    if not value.isdigit() or int(value) < 1:
                        raise self.m.error(service, f"--max-model-len {value!r} is not a count")
                    return int(value)
        return DEFAULT_MAX_MODEL_LEN


def _target(policy: Mapping[str, Any]) -> Mapping[str, Any]:
    return (policy.get("spec") or {}).get("targetRef") or {}


def _policy_sections(spec: Mapping[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Kuadrant v1 policies hold their content at spec.<key> (implicit defaults),
    spec.defaults.<key> or spec.overrides.<key>."""
    candidates = (
        (f"spec.{key}", spec.get(key)),
        (f"spec.defaults.{key}", (spec.get("defaults") or {}).get(key)),
        (f"spec.overrides.{key}", (spec.get("overrides") or {}).get(key)),
    )
    for path, section in candidates:
        if isinstance(section, dict):
            yield path, section
