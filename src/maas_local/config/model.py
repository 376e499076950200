"""Typed configuration of the embedded stack, one value object per manifest concept."""

from __future__ import annotations

from dataclasses import dataclass, field

from maas_local.maas_api.commits import MaasApiCommit


class ManifestError(ValueError):
    """The manifests are malformed or incomplete; the message names the object and field."""


@dataclass(frozen=True)
class Tier:
    name: str
    level: int
    groups: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Limit:
    """One rate of a Kuadrant limit: `limit` units per `window_seconds`, per counter."""

    limit: int
    window_seconds: int


@dataclass(frozen=True)
class ModelSpec:
    """An LLMInferenceService and what its simulator container is started with."""

    namespace: str
    name: str
    served_model_name: str
    mode: str
    created: int
    generation: int = 1
    model_name: str | None = None
    """`spec.model.name` as the manifest writes it (None: unset), the `id` some commits list."""
    args: tuple[str, ...] = ()
    """The container's arguments, for running the real simulator as the manifest would."""


@dataclass(frozen=True)
class RoleRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleBinding:
    """A (Cluster)Role's rules granted to groups/users/service accounts, in a namespace or all."""

    namespace: str | None
    rules: tuple[RoleRule, ...]
    groups: tuple[str, ...]
    users: tuple[str, ...]


@dataclass(frozen=True)
class StackConfig:
    instance: str
    maas_api_namespace: str
    tiers: tuple[Tier, ...]
    gateway_audiences: tuple[str, ...]
    maas_api_audiences: tuple[str, ...]
    tier_lookup_url: str
    tier_cache_ttl_seconds: int
    request_limits: dict[str, Limit]
    token_limits: dict[str, Limit]
    models: tuple[ModelSpec, ...]
    bindings: tuple[RoleBinding, ...]
    maas_api_prefixes: tuple[tuple[str, str | None], ...]
    """(path prefix, replacement prefix or None) of the maas-api HTTPRoute, in rule order."""
    maas_api: MaasApiCommit
    """The commit the maas-api Deployment's image pins: the embedded maas-api answers as it."""
    maas_api_env: dict[str, str] = field(default_factory=dict)
    """The maas-api container's literal environment, for running the real maas-api."""
    faults: frozenset[str] = field(default_factory=frozenset)

    def tier(self, name: str) -> Tier:
        return next(t for t in self.tiers if t.name == name)
