"""The `cluster` target: a real Kubernetes/OpenShift cluster with Kuadrant, Gateway API and KServe.

`bring_up` does what the seed does by hand (preflight, apply, audience patch, wait, find the
gateway host), then proves the data plane enforces (see `dataplane`) and that denied requests do
not reach the models (see `leakproof`). `ClusterTarget` then gives the tests what every target
gives: the gateway URL, fresh identities per tier (ServiceAccount tokens from the overlay's
per-tier namespaces, no human login), and the issuer's keys. Teardown is not the target's job:
it belongs to the process that outlives every xdist worker (see `shared_run`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from maas_e2e.expected import IDENTITY_TIER_LABEL, Expected
from maas_e2e.manifests import RenderedManifests
from maas_e2e.oidc import DISCOVERY_PATH, OidcDiscoveryError
from maas_e2e.rbac import namespace_group, service_account_groups
from maas_e2e.targets import diagnostics, ownership
from maas_e2e.targets.accounts import ProbeIdentities, create_identity, sa_name
from maas_e2e.targets.base import Identity, IdentityUnavailable, TargetUnavailable
from maas_e2e.targets.dataplane import DataPlaneWatch, probe_subject
from maas_e2e.targets.deploy import deploy
from maas_e2e.targets.gateway import GatewayEndpoint, discover_gateway, listener_host
from maas_e2e.targets.kube import Kube, KubeError
from maas_e2e.targets.leakproof import prove_no_leaks
from maas_e2e.targets.leftovers import remove_earlier_runs
from maas_e2e.targets.live import identity_gaps
from maas_e2e.targets.metrics import limitador_calls
from maas_e2e.targets.preflight import preflight
from maas_e2e.targets.shared_run import IdentityRecord, RunState
from maas_e2e.targets.status import StackWatch
from maas_e2e.targets.traffic import GatewayClient, GatewayProbe
from maas_e2e.targets.waiting import Poller

LOG = logging.getLogger("maas_e2e.cluster")
JWKS_PATH = "/openid/v1/jwks"
INSTALLED_STACK_TIMEOUT_S = 120.0
NO_LEAK_PROOF = "no bring-up leak proof is known to this target"
REVOCATION_SETTLE_S = 15.0
"""kube-apiserver checks a token's ServiceAccount through an informer cache: a ServiceAccount
deleted and re-created reaches it (and every replica of it) within seconds, not at once."""


@dataclass(frozen=True)
class BringUp:
    """Everything `bring_up` needs besides the cluster connection."""

    manifests: RenderedManifests
    expected: Expected
    gateway_url: str | None
    skip_deploy: bool
    timeout: float


def bring_up(
    kube: Kube, plan: BringUp, state: RunState, *, poller: Poller, probe: GatewayClient
) -> None:
    """Preflight, deploy (unless the stack is already there), wait, find and probe the gateway,
    prove the data plane enforces, then that denied requests do not reach the models.

    `state` is filled in as things happen, so a failure half-way still leaves teardown a record
    of what was applied and of the probes' identities.
    """
    check_identity_namespaces(plan.expected)
    subject = probe_subject(plan.expected)
    # A stack that is already there has nothing to wait for: what is not ready now is missing.
    timeout = min(plan.timeout, INSTALLED_STACK_TIMEOUT_S) if plan.skip_deploy else plan.timeout
    deadline = poller.clock() + timeout
    state.instance = plan.expected.instance
    try:
        report = preflight(kube, plan.manifests, deploying=not plan.skip_deploy)
        state.kuadrant_namespace = report.kuadrant_namespace
        for line in report.gateway_policies:
            LOG.info("policy on the Gateway: %s", line)
        remove_earlier_runs(kube, plan.manifests, plan.expected.instance, state.run_id)
        # With --maas-skip-deploy only the identity namespaces the suite chose are applied.
        applied = _identity_namespaces(plan.manifests) if plan.skip_deploy else plan.manifests
        deploy(kube, applied, state, poller=poller, deadline=deadline)
        watch = StackWatch(kube, plan.manifests, need_address=plan.gateway_url is None)
        poller.until_ready(watch.pending, deadline=deadline, stage="waiting for the stack")
        endpoint = _gateway_endpoint(kube, plan)
        url, probe = endpoint.url, probe.with_host(endpoint.host)
        gateway = GatewayProbe(probe, url, plan.expected.models)
        poller.until_ready(gateway.pending, deadline=deadline, stage="probing the gateway")
        identities = ProbeIdentities(kube, plan.expected, state)
        limitador = limitador_calls(kube, state.kuadrant_namespace, subject.model.namespace)
        dataplane = DataPlaneWatch(probe.send, url, plan.expected, identities, limitador)
        poller.until_ready(dataplane.pending, deadline=deadline, stage="probing the data plane")
        state.leak_proof = prove_no_leaks(kube, probe.send, url, plan.expected, identities)
        LOG.info("%s", state.leak_proof)
    except KubeError as exc:
        raise TargetUnavailable(f"talking to the cluster failed: {exc}") from None
    state.gateway_url, state.gateway_host = url, endpoint.host


def _identity_namespaces(manifests: RenderedManifests) -> RenderedManifests:
    namespaces = [
        ns
        for ns in manifests.of_kind("Namespace")
        if IDENTITY_TIER_LABEL in (ns["metadata"].get("labels") or {})
    ]
    text = yaml.safe_dump_all(namespaces, sort_keys=False)
    return RenderedManifests(text, tuple(namespaces), f"{manifests.source} (identity namespaces)")


def check_identity_namespaces(expected: Expected) -> None:
    """Every tier needs a namespace whose ServiceAccounts the tier mapping puts in that tier;
    checked before anything touches the cluster."""
    problems = []
    for tier, namespace in expected.identity_namespaces.items():
        resolved = expected.tier_for_groups(service_account_groups(namespace))
        if resolved != tier:
            problems.append(
                f"namespace {namespace} is labelled {IDENTITY_TIER_LABEL}={tier}, but the tier "
                f"mapping puts its ServiceAccounts in tier {resolved!r}: add group "
                f"{namespace_group(namespace)} to tier {tier}"
            )
    if problems:
        raise TargetUnavailable(
            "the overlay's identity namespaces are wrong:\n  " + "\n  ".join(problems)
        )


def _gateway_endpoint(kube: Kube, plan: BringUp) -> GatewayEndpoint:
    """--maas-gateway-url, or the gateway found on the cluster; either way with the Host its
    listener wants (read from the live Gateway when the manifests hold exactly one)."""
    gateways = plan.manifests.of_kind("Gateway")
    if plan.gateway_url:
        host = listener_host(kube, gateways[0], plan.gateway_url) if len(gateways) == 1 else None
        return GatewayEndpoint(plan.gateway_url, host)
    if len(gateways) != 1:
        raise TargetUnavailable(
            f"cannot tell the gateway's address: the manifests hold {len(gateways)} Gateways; "
            "pass --maas-gateway-url"
        )
    endpoint = discover_gateway(kube, gateways[0])
    if endpoint is None:
        raise TargetUnavailable(
            "the Gateway has no address and there is no usable Route gateway-route (see the log "
            "for why a Route was ignored): pass --maas-gateway-url"
        )
    return endpoint


@dataclass
class ClusterTarget:
    kube: Kube
    gateway_url: str
    expected: Expected
    manifests: RenderedManifests
    run_id: str
    kuadrant_namespace: str
    record_identity: Callable[[IdentityRecord], None]
    leak_proof: str = ""
    # The Host every request to the gateway carries: its listener's hostname (None: the URL's).
    gateway_host: str | None = None
    revocation_settle_s: float = REVOCATION_SETTLE_S
    name: str = "cluster"
    _default: Identity | None = field(default=None, init=False, repr=False)

    def new_identity(self, tier: str, group: str, hint: str) -> Identity:
        """A new ServiceAccount in the tier's identity namespace and a TokenRequest token for
        it (the API server's own audience, as `oc whoami -t` would be). `group` is what a human
        user would need; a ServiceAccount's tier comes from its namespace instead."""
        self.expected.tier(tier)
        namespace = self.expected.identity_namespaces.get(tier)
        if namespace is None:
            try:
                return self.default_identity(tier)
            except TargetUnavailable as exc:
                raise IdentityUnavailable(f"{identity_gaps(self.expected)[tier]}; {exc}") from None
        record = IdentityRecord(namespace, sa_name(hint), self.expected.tier_namespace(tier))
        self.record_identity(record)
        try:
            token = create_identity(
                self.kube, namespace, record.name, ownership.labels(self.run_id)
            )
        except KubeError as exc:
            raise TargetUnavailable(
                f"cannot make a {tier} identity in {namespace}: {exc}"
            ) from None
        return Identity(username=record.username, tier=tier, token=token)

    def default_identity(self, tier: str) -> Identity:
        """The kubeconfig's own user (its bearer token is what `oc whoami -t` prints), for an
        overlay without an identity namespace for `tier`. Shared by every test that uses it,
        so its rate-limit counters are too."""
        if self._default is None:
            try:
                review = self.kube.json("auth", "whoami")
                config = self.kube.json("config", "view", "--raw", "--minify")
            except KubeError as exc:
                raise TargetUnavailable(f"cannot read the kubeconfig's user: {exc}") from None
            user = (review.get("status") or {}).get("userInfo") or {}
            users = config.get("users") or [{}]
            token = (users[0].get("user") or {}).get("token")
            if not token:
                raise TargetUnavailable(
                    f"no identity namespace (label {IDENTITY_TIER_LABEL}) for tier {tier!r} and "
                    "the kubeconfig's user has no bearer token (log in with `oc login` so that "
                    "`oc whoami -t` prints one)"
                )
            resolved = self.expected.tier_for_groups(user.get("groups") or [])
            self._default = Identity(
                username=str(user.get("username")), tier=str(resolved), token=token
            )
        if self._default.tier != tier:
            raise TargetUnavailable(
                f"no identity namespace (label {IDENTITY_TIER_LABEL}) for tier {tier!r}, and the "
                f"kubeconfig's user {self._default.username} is in tier {self._default.tier!r}"
            )
        return self._default

    def fetch_issuer_keys(self) -> tuple[str, dict[str, Any]]:
        """OIDC discovery and the signing keys, read from the API server as kubectl does."""
        try:
            discovery = self.kube.raw(DISCOVERY_PATH)
            jwks = self.kube.raw(JWKS_PATH)
        except KubeError as exc:
            raise OidcDiscoveryError(
                f"cannot read the API server's OIDC discovery: {exc}"
            ) from None
        issuer = discovery.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            raise OidcDiscoveryError(f"{DISCOVERY_PATH}: `issuer` is missing: {discovery!r:.300}")
        keys = jwks.get("keys")
        if not isinstance(keys, list) or not keys:
            raise OidcDiscoveryError(f"{JWKS_PATH}: JWKS has no `keys`: {jwks!r:.300}")
        return issuer, jwks

    def served_request_ids(self) -> set[str] | None:
        """Unknowable on a cluster: the model servers keep counters, not request ids."""
        return None

    def leak_check_note(self) -> str | None:
        """What the bring-up leak proof (the run state's `leak_proof`) found instead."""
        return self.leak_proof or NO_LEAK_PROOF

    def diagnostics(self) -> str:
        return diagnostics.collect(self.kube, self.manifests, self.kuadrant_namespace)

    def close(self) -> None:
        """Nothing per worker: the run's owner tears the stack down once (see shared_run)."""
