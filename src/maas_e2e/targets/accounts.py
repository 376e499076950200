"""Fresh cluster identities: a new ServiceAccount and a TokenRequest token for it.

A person's `oc whoami -t` is what maas-api mints MaaS tokens for; a ServiceAccount token for the
API server's own audience plays that part without a human login, and a new account starts every
rate-limit counter from zero. Tests and the bring-up probes both make them this way.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict

from maas_e2e.expected import Expected
from maas_e2e.targets import ownership
from maas_e2e.targets.base import Identity
from maas_e2e.targets.kube import Kube
from maas_e2e.targets.shared_run import IdentityRecord, RunState

IDENTITY_TOKEN_DURATION = "1h"


def sa_name(hint: str) -> str:
    """A new, valid ServiceAccount name that still says what it was made for."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].strip("-")
    return f"e2e-{cleaned or 'user'}-{uuid.uuid4().hex[:8]}"


def create_identity(kube: Kube, namespace: str, name: str, labels: dict[str, str]) -> str:
    """Create the ServiceAccount and return a token for it; kubectl failures raise KubeError."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }
    kube.run("create", "-f", "-", stdin=json.dumps(account))
    return kube.run(
        "create", "token", name, "-n", namespace, f"--duration={IDENTITY_TOKEN_DURATION}"
    ).strip()


class ProbeIdentities:
    """Fresh identities for the bring-up probes, noted in the run state before they are made
    so the run's teardown removes them (and the ServiceAccounts maas-api makes for them)."""

    def __init__(self, kube: Kube, expected: Expected, state: RunState) -> None:
        self.kube = kube
        self.expected = expected
        self.state = state

    def new(self, tier: str, hint: str) -> Identity:
        namespace = self.expected.identity_namespaces[tier]
        record = IdentityRecord(namespace, sa_name(hint), self.expected.tier_namespace(tier))
        self.state.probe_identities.append(asdict(record))
        labels = ownership.labels(self.state.run_id)
        token = create_identity(self.kube, namespace, record.name, labels)
        return Identity(username=record.username, tier=tier, token=token)
