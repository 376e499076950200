"""What a failing e2e test on a cluster attaches: the state of the stack around the failure.

An HTTP exchange says that a 429 was missing; the policies' conditions, recent events and the
logs of maas-api, Authorino, Limitador and the model say why. Collecting is best effort: a piece
that cannot be read shows the reason instead, and secrets in logs are masked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maas_e2e.manifests import RenderedManifests, object_ref
from maas_e2e.redaction import redact_text
from maas_e2e.targets.kube import Kube, KubeError, items
from maas_e2e.targets.policies import describe, gateway_policies
from maas_e2e.targets.status import MODEL_KIND, POLICY_KINDS, fetch, model_url

LOG_TAIL = 60
EVENTS_PER_NAMESPACE = 15
AUTHORINO_DEPLOYMENT = "authorino"
LIMITADOR_DEPLOYMENT = "limitador-limitador"
MODEL_CONTAINER = "main"


def collect(kube: Kube, manifests: RenderedManifests, kuadrant_namespace: str) -> str:
    """One text report, a section per source."""
    sections: list[tuple[str, Callable[[], str]]] = [
        ("policies and models", lambda: _statuses(kube, manifests)),
        ("every policy on the Gateway", lambda: _gateway_policies(kube, manifests)),
        ("recent events", lambda: _events(kube, _namespaces(manifests, kuadrant_namespace))),
    ]
    for deployment in manifests.of_kind("Deployment"):
        ns, name = deployment["metadata"].get("namespace"), deployment["metadata"]["name"]
        sections.append((f"logs of {name} ({ns})", _deployment_logs(kube, ns, name)))
    for name in (AUTHORINO_DEPLOYMENT, LIMITADOR_DEPLOYMENT):
        title = f"logs of {name} ({kuadrant_namespace})"
        sections.append((title, _deployment_logs(kube, kuadrant_namespace, name)))
    for model in manifests.of_kind(MODEL_KIND):
        ns, name = model["metadata"].get("namespace"), model["metadata"]["name"]
        selector = f"app.kubernetes.io/name={name},kserve.io/component=workload"
        sections.append(
            (f"logs of model {name} ({ns})", _logs(kube, ns, "-l", selector, "-c", MODEL_CONTAINER))
        )
    return "\n\n".join(f"=== {title} ===\n{_safely(read)}" for title, read in sections)


def _safely(read: Callable[[], str]) -> str:
    try:
        return read().rstrip() or "(empty)"
    except KubeError as exc:
        return f"(could not collect: {exc})"


def _statuses(kube: Kube, manifests: RenderedManifests) -> str:
    watched = [
        d
        for d in manifests.documents
        if d.get("kind") in (*POLICY_KINDS, MODEL_KIND, "Gateway", "HTTPRoute")
    ]
    live = fetch(kube, watched)
    lines = []
    for obj in live.values():
        conditions = (obj.get("status") or {}).get("conditions") or []
        shown = ", ".join(_condition(c) for c in conditions if isinstance(c, dict))
        line = f"{object_ref(obj)}: {shown or 'no conditions'}"
        if obj.get("kind") == MODEL_KIND:
            line += f"; url={model_url(obj)}"
        lines.append(line)
    missing = len(watched) - len(live)
    if missing:
        lines.append(f"({missing} of the deployed objects were not found)")
    return "\n".join(lines)


def _gateway_policies(kube: Kube, manifests: RenderedManifests) -> str:
    """Including those the suite did not create, which may override its own."""
    return "\n".join(
        describe(policy)
        for gateway in manifests.of_kind("Gateway")
        for policy in gateway_policies(kube, gateway)
    )


def _condition(cond: dict[str, Any]) -> str:
    text = f"{cond.get('type')}={cond.get('status')}"
    if cond.get("status") == "True":
        return text
    return f"{text} ({cond.get('reason')}: {(cond.get('message') or '').strip()[:200]})"


def _namespaces(manifests: RenderedManifests, kuadrant_namespace: str) -> list[str]:
    namespaces = {d["metadata"].get("namespace") for d in manifests.documents}
    return sorted(ns for ns in namespaces | {kuadrant_namespace} if ns)


def _events(kube: Kube, namespaces: list[str]) -> str:
    lines = []
    for ns in namespaces:
        events = sorted(items(kube.json("get", "events", "-n", ns)), key=_event_time)
        for event in events[-EVENTS_PER_NAMESPACE:]:
            involved = event.get("involvedObject") or {}
            subject = f"{involved.get('kind')}/{involved.get('name')}"
            message = (event.get("message") or "").strip()
            lines.append(
                f"{_event_time(event)} {ns} {event.get('type')} {event.get('reason')} "
                f"{subject}: {message}"
            )
    return "\n".join(lines)


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _deployment_logs(kube: Kube, namespace: str | None, name: str) -> Callable[[], str]:
    return _logs(kube, namespace, f"deployment/{name}", "--all-containers")


def _logs(kube: Kube, namespace: str | None, *which: str) -> Callable[[], str]:
    def read() -> str:
        args = ["logs", *which, f"--tail={LOG_TAIL}", "--prefix"]
        if namespace:
            args += ["-n", namespace]
        return redact_text(kube.run(*args))

    return read
