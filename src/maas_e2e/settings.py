"""The suite's options: every one a pytest option that also reads an environment variable.

One table drives `--help`, the environment fallback and validation, so an option cannot exist in
one place and be forgotten in another. A bad value stops the run before any test, with a message
that names the option.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TARGETS = ("local", "cluster")
DEFAULT_DEPLOY_TIMEOUT_S = 900.0
DEFAULT_MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "e2e"


class SettingsError(ValueError):
    """An option's value is unusable; the message names the option and its variable."""


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    help: str
    flag_kind: str = "value"  # "value", "list" or "switch"


OPTIONS = (
    Option("--maas-target", "MAAS_TARGET", "where the stack runs: local (embedded) or cluster"),
    Option(
        "--maas-manifests", "MAAS_MANIFESTS", "kustomize overlay to deploy and read figures from"
    ),
    Option(
        "--maas-local-url",
        "MAAS_LOCAL_URL",
        "attach to a running `maas-local up` (its API server URL)",
    ),
    Option("--maas-gateway-url", "MAAS_GATEWAY_URL", "send all gateway traffic through this URL"),
    Option(
        "--maas-local-fault",
        "MAAS_LOCAL_FAULTS",
        "start the local stack with this fault (repeatable; env: comma-separated)",
        "list",
    ),
    Option("--kubeconfig", "KUBECONFIG", "kubeconfig of the cluster target"),
    Option(
        "--maas-skip-deploy",
        "MAAS_SKIP_DEPLOY",
        "the stack is already deployed: only test it",
        "switch",
    ),
    Option("--maas-keep", "MAAS_KEEP", "leave the deployed stack in place after the run", "switch"),
    Option(
        "--maas-deploy-timeout",
        "MAAS_DEPLOY_TIMEOUT",
        f"seconds the cluster target may take to apply the stack and see it serving "
        f"(default {DEFAULT_DEPLOY_TIMEOUT_S:.0f})",
    ),
    Option(
        "--maas-ca-bundle",
        "MAAS_CA_BUNDLE",
        "PEM file of CAs that sign the gateway's TLS certificate (default: system CAs)",
    ),
    Option(
        "--maas-insecure-skip-tls-verify",
        "MAAS_INSECURE_SKIP_TLS_VERIFY",
        "do not verify the gateway's TLS certificate (self-signed test clusters only)",
        "switch",
    ),
    Option(
        "--maas-slow",
        "MAAS_SLOW",
        "also run the slow tests, which wait out a rate-limit window or a token's expiry",
        "switch",
    ),
)


@dataclass(frozen=True)
class Settings:
    target: str
    manifests: Path
    local_url: str | None
    gateway_url: str | None
    local_faults: tuple[str, ...]
    kubeconfig: str | None
    skip_deploy: bool
    keep: bool
    deploy_timeout: float = DEFAULT_DEPLOY_TIMEOUT_S
    ca_bundle: Path | None = None
    insecure_skip_tls_verify: bool = False
    slow: bool = False

    @classmethod
    def from_values(cls, values: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
        """Command-line values win; an option left unset falls back to its variable."""
        environ = dict(os.environ if environ is None else environ)
        get = {opt.flag: _resolve(opt, values.get(_dest(opt.flag)), environ) for opt in OPTIONS}
        target = get["--maas-target"] or "local"
        if target not in TARGETS:
            raise SettingsError(
                f"--maas-target (MAAS_TARGET) must be one of {', '.join(TARGETS)}, got {target!r}"
            )
        manifests = Path(get["--maas-manifests"] or DEFAULT_MANIFESTS)
        if not manifests.exists():
            raise SettingsError(f"--maas-manifests (MAAS_MANIFESTS): {manifests} does not exist")
        settings = cls(
            target=target,
            manifests=manifests,
            local_url=_url(get["--maas-local-url"], "--maas-local-url (MAAS_LOCAL_URL)"),
            gateway_url=_url(get["--maas-gateway-url"], "--maas-gateway-url (MAAS_GATEWAY_URL)"),
            local_faults=tuple(get["--maas-local-fault"] or ()),
            kubeconfig=get["--kubeconfig"],
            skip_deploy=bool(get["--maas-skip-deploy"]),
            keep=bool(get["--maas-keep"]),
            deploy_timeout=_seconds(get["--maas-deploy-timeout"]),
            ca_bundle=_ca_bundle(get["--maas-ca-bundle"]),
            insecure_skip_tls_verify=bool(get["--maas-insecure-skip-tls-verify"]),
            slow=bool(get["--maas-slow"]),
        )
        if settings.ca_bundle and settings.insecure_skip_tls_verify:
            raise SettingsError(
                "--maas-ca-bundle (MAAS_CA_BUNDLE) and --maas-insecure-skip-tls-verify "
                "(MAAS_INSECURE_SKIP_TLS_VERIFY) contradict each other: pick one"
            )
        if settings.target == "cluster" and (settings.local_url or settings.local_faults):
            raise SettingsError(
                "--maas-local-url and --maas-local-fault only apply to --maas-target local"
            )
        if settings.local_url and settings.local_faults:
            raise SettingsError(
                "--maas-local-fault starts a stack with a fault; it cannot be combined with "
                "--maas-local-url, which attaches to a stack already running"
            )
        return settings

    def tls_verify(self) -> ssl.SSLContext | bool:
        """What every HTTP client of the suite passes as `verify=`: verification stays on
        unless the user opted out by name; a CA bundle replaces the system CAs."""
        if self.insecure_skip_tls_verify:
            return False
        if self.ca_bundle is not None:
            return ssl.create_default_context(cafile=str(self.ca_bundle))
        return True


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _resolve(opt: Option, value: Any, environ: dict[str, str]) -> Any:
    if value not in (None, False, []):
        return value
    raw = environ.get(opt.env, "").strip()
    if not raw:
        return value
    if opt.flag_kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if opt.flag_kind == "switch":
        return raw.lower() in ("1", "true", "yes", "on")
    return raw


def _url(value: str | None, name: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) URL with a host, got {value!r}")
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise SettingsError(f"{name} has an invalid port: {value!r}") from None
    return value.rstrip("/")


def _seconds(value: str | None) -> float:
    if value is None:
        return DEFAULT_DEPLOY_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise SettingsError(
            f"--maas-deploy-timeout (MAAS_DEPLOY_TIMEOUT) must be a positive number of seconds, "
            f"got {value!r}"
        )
    return seconds


def _ca_bundle(value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise SettingsError(f"--maas-ca-bundle (MAAS_CA_BUNDLE): {path} is not a file")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(
            f"--maas-ca-bundle (MAAS_CA_BUNDLE): {path} holds no usable PEM certificate: {exc}"
        ) from None
    return path
