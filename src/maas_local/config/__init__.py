"""The stack's configuration, read only from rendered manifests (what a cluster would get)."""

from maas_local.config.load import load_config
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

__all__ = [
    "Limit",
    "ManifestError",
    "ModelSpec",
    "RoleBinding",
    "RoleRule",
    "StackConfig",
    "Tier",
    "load_config",
    "render_overlay",
]
