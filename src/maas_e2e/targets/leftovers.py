"""Removing what interrupted runs of the suite left on a cluster, and only that.

A run stopped by Ctrl-C, a killed CI job or a lost connection never reaches its teardown. What it
made carries the suite's labels (see `ownership`), and maas-api names the ServiceAccounts it makes
for a test identity after that identity's username, which starts with the suite's identity
namespace. So leftovers are found by label and by name, never by guessing: an object someone else
made is not touched. Each run removes the identities earlier runs left before it starts (it takes
over the stack objects it applies again); `maas-e2e-cleanup` removes everything.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from maas_e2e.expected import IDENTITY_TIER_LABEL, MAAS_API_NAME, Expected
from maas_e2e.manifests import ManifestError, RenderedManifests, load_manifests, object_ref
from maas_e2e.targets import ownership
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.kube import Kube, KubeError, connect, items
from maas_e2e.targets.status import fetch, refs_yaml

LOG = logging.getLogger("maas_e2e.cluster")
DEFAULT_MANIFESTS = Path(__file__).resolve().parents[3] / "manifests" / "e2e"
TIER_NAMESPACES = "maas.opendatahub.io/tier-namespace=true"


@dataclass
class Removal:
    """What a clean-up deleted, and what it could not."""

    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def delete(self, kube: Kube, what: str, *args: str, stdin: str | None = None) -> None:
        result = kube.attempt("delete", *args, "--ignore-not-found", "--wait=false", stdin=stdin)
        if result.returncode == 0:
            self.removed.append(what)
        else:
            self.problems.append(f"{what}: {KubeError(result)}")


def identity_namespaces(kube: Kube, manifests: RenderedManifests) -> list[str]:
    """Where the suite makes identities: the overlay's identity namespaces and any namespace
    the suite made itself (e.g. for a stack it did not deploy)."""
    declared = {
        ns["metadata"]["name"]
        for ns in manifests.of_kind("Namespace")
        if IDENTITY_TIER_LABEL in (ns["metadata"].get("labels") or {})
    }
    made = items(kube.json("get", "namespaces", "-l", ownership.OWNED))
    return sorted(declared | {ns["metadata"]["name"] for ns in made})


def tier_namespaces(kube: Kube, instance: str) -> list[str]:
    """The namespaces maas-api created for its tiers (found by the labels it sets)."""
    selector = f"{TIER_NAMESPACES},maas.opendatahub.io/instance={instance}"
    found = items(kube.json("get", "namespaces", "-l", selector))
    return sorted(ns["metadata"]["name"] for ns in found)


def maas_api_accounts(kube: Kube, tier_namespace: str, identity_ns: Sequence[str]) -> list[str]:
    """The ServiceAccounts maas-api made in a tier namespace for the suite's identities: their
    names start with the sanitised `system:serviceaccount:<identity namespace>:`."""
    prefixes = tuple(f"system-serviceaccount-{ns}-" for ns in identity_ns)
    found = items(kube.json("get", "serviceaccounts", "-n", tier_namespace))
    return sorted(
        sa["metadata"]["name"] for sa in found if sa["metadata"]["name"].startswith(prefixes)
    )


def remove_identities(
    kube: Kube, manifests: RenderedManifests, instance: str, selector: str
) -> Removal:
    """The suite's identities matching `selector`, and maas-api's accounts made for them."""
    removal = Removal()
    namespaces = identity_namespaces(kube, manifests)
    for ns in namespaces:
        removal.delete(
            kube, f"ServiceAccounts {selector} in {ns}", "serviceaccount", "-n", ns, "-l", selector
        )
    for ns in tier_namespaces(kube, instance):
        names = maas_api_accounts(kube, ns, namespaces)
        if names:
            removal.delete(
                kube,
                f"{len(names)} of maas-api's ServiceAccounts in {ns}",
                "serviceaccount",
                "-n",
                ns,
                *names,
            )
    return removal


def remove_earlier_runs(
    kube: Kube, manifests: RenderedManifests, instance: str, run_id: str
) -> Removal:
    """Before a run: the identities earlier runs left, and namespaces they made that this run's
    manifests do not hold (those it holds are taken over by the apply)."""
    removal = remove_identities(kube, manifests, instance, ownership.earlier_runs_selector(run_id))
    declared = {ns["metadata"]["name"] for ns in manifests.of_kind("Namespace")}
    stale = items(kube.json("get", "namespaces", "-l", ownership.earlier_runs_selector(run_id)))
    names = sorted(ns["metadata"]["name"] for ns in stale if ns["metadata"]["name"] not in declared)
    if names:
        removal.delete(kube, f"namespaces {', '.join(names)} of earlier runs", "namespace", *names)
    for line in removal.removed:
        LOG.info("removed leftovers of earlier maas-e2e runs: %s", line)
    return removal


def remove_everything(kube: Kube, manifests: RenderedManifests, instance: str) -> Removal:
    """Every object the suite made, whatever run made it, and the tier namespaces of a maas-api
    the suite deployed."""
    live = [obj for obj in fetch(kube, manifests.documents).values() if ownership.is_owned(obj)]
    our_api = any(
        o["kind"] == "Deployment" and o["metadata"]["name"] == MAAS_API_NAME for o in live
    )
    tiers = tier_namespaces(kube, instance) if our_api else []
    removal = remove_identities(kube, manifests, instance, ownership.OWNED)
    stack = [o for o in live if o["kind"] != "Namespace"]
    if stack:
        what = ", ".join(object_ref(o) for o in stack)
        removal.delete(kube, what, "-f", "-", stdin=refs_yaml(stack))
    removal.delete(
        kube, f"namespaces labelled {ownership.OWNED}", "namespaces", "-l", ownership.OWNED
    )
    if tiers:
        removal.delete(kube, f"maas-api's tier namespaces {', '.join(tiers)}", "namespace", *tiers)
    return removal


def main(argv: Sequence[str] | None = None) -> int:
    """`maas-e2e-cleanup`: remove everything runs of the suite left on a cluster."""
    parser = argparse.ArgumentParser(
        prog="maas-e2e-cleanup",
        description="Remove every object maas-e2e runs made on a cluster (label "
        f"{ownership.OWNED}), the identities and maas-api's accounts for them. Objects the suite "
        "did not make are never touched.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig of the cluster (default: $KUBECONFIG)")
    parser.add_argument(
        "--manifests", default=str(DEFAULT_MANIFESTS), help="the overlay the runs deployed"
    )
    args = parser.parse_args(argv)
    try:
        manifests = load_manifests(args.manifests)
        instance = Expected.from_manifests(manifests).instance
        kube = Kube(connect(kubeconfig=args.kubeconfig))
        removal = remove_everything(kube, manifests, instance)
    except (ManifestError, TargetUnavailable, KubeError) as exc:
        print(f"maas-e2e-cleanup: {exc}", file=sys.stderr)
        return 2
    for line in removal.removed:
        print(f"removed {line}")
    for line in removal.problems:
        print(f"could not remove {line}", file=sys.stderr)
    return 1 if removal.problems else 0
