"""Prometheus counters of Limitador and of the model servers, read through the API server.

`kubectl get --raw /api/v1/namespaces/<ns>/{services,pods}/<name>:<port>/proxy/metrics` goes
through the API server's proxy with the kubeconfig's credentials: no port-forward process to
start or stop, and unit tests fake it like any other kubectl call. The API server does not verify
the certificate of an `https:` backend, which the simulators' self-signed TLS needs.

Assumptions, from Kuadrant and KServe as deployed by the seed:
- Limitador is the Service `limitador-limitador` (port 8080, made by limitador-operator for the
  `Limitador` CR `limitador`) in the Kuadrant namespace; its counter `authorized_calls` is
  labelled `limitador_namespace="<route namespace>/<route name>"` of the routes it guards.
- Kuadrant gives a route's RateLimitPolicy and TokenRateLimitPolicy limits that one Limitador
  namespace, and a token limit's check before each request grows `authorized_calls` too; only a
  `limit_name` label (Kuadrant names Limitador's limits after their keys under `spec.limits`)
  tells a request limit's calls apart. Limitador (through v2.x) puts `limit_name` on
  `limited_calls` alone (with `--limit-name-in-labels`), so its `authorized_calls` carry one only
  from custom metric labels; without it the reader says the page is not conclusive.
- A model's server pods carry `app.kubernetes.io/name=<LLMInferenceService name>` and
  `kserve.io/component=workload` (as the diagnostics assume too); the simulator listens on the
  first port of container `main`, over HTTPS when the port is named `https`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from maas_e2e.expected import Model
from maas_e2e.targets.kube import Kube, KubeError, items

LIMITADOR_SERVICE = "limitador-limitador"
LIMITADOR_PORT = 8080
AUTHORIZED_CALLS = "authorized_calls"
LIMITADOR_NAMESPACE_LABEL = "limitador_namespace"
LIMIT_NAME_LABEL = "limit_name"
NO_LIMIT_NAME = (
    f"{AUTHORIZED_CALLS} has no {LIMIT_NAME_LABEL} label (Limitador puts it on limited_calls "
    "only, with --limit-name-in-labels), so a request limit's calls cannot be told from a token "
    "limit's"
)
# vLLM's counter of finished requests; llm-d-inference-sim v0.5.1 does not expose it yet.
SERVED_METRIC = "vllm:request_success_total"
MODEL_CONTAINER = "main"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_ESCAPE = re.compile(r"\\(.)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


class MetricsUnreadable(Exception):
    """A `/metrics` page could not be read, or lacks the counter; the message says which."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(f"could not read {url}: {why}")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric `name` in Prometheus exposition text, with its labels."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None or match.group(1) != name:
            continue
        labels = {key: _unescape(value) for key, value in _LABEL.findall(match.group(2) or "")}
        try:
            found.append((labels, float(match.group(3))))
        except ValueError:
            continue
    return found


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def read_page(kube: Kube, path: str) -> str:
    """The text at an API path; any failure is MetricsUnreadable naming the path."""
    try:
        return kube.run("get", "--raw", path)
    except KubeError as exc:
        why = exc.result.stderr.strip()[:300] or f"exit code {exc.result.returncode}"
        raise MetricsUnreadable(path, why) from None


def limitador_path(kuadrant_namespace: str) -> str:
    return (
        f"/api/v1/namespaces/{kuadrant_namespace}/services/"
        f"{LIMITADOR_SERVICE}:{LIMITADOR_PORT}/proxy/metrics"
    )


def limitador_calls(
    kube: Kube, kuadrant_namespace: str, route_namespace: str
) -> Callable[[str], float]:
    """A reader of Limitador's `authorized_calls` of the limit it is given the name of, summed
    over the routes of one namespace.

    It raises MetricsUnreadable, rather than count what it cannot attribute, when the routes'
    samples carry no `limit_name` (a token limit's checks grow the same unlabelled counter, so
    growth would not prove the request limit counts), or none has that limit's name (it never
    admitted a call: there is nothing to see grow).
    """
    path = limitador_path(kuadrant_namespace)

    def read(limit_name: str) -> float:
        text = read_page(kube, path)
        if "limitador_up" not in text and AUTHORIZED_CALLS not in text:
            raise MetricsUnreadable(path, "the page is not Limitador's metrics")
        ours = [
            (labels, value)
            for labels, value in samples(text, AUTHORIZED_CALLS)
            if labels.get(LIMITADOR_NAMESPACE_LABEL, "").startswith(f"{route_namespace}/")
        ]
        if not ours:
            raise MetricsUnreadable(
                path, f"no {AUTHORIZED_CALLS} of the routes in namespace {route_namespace} yet"
            )
        if not any(LIMIT_NAME_LABEL in labels for labels, _value in ours):
            raise MetricsUnreadable(path, NO_LIMIT_NAME)
        named = [value for labels, value in ours if labels.get(LIMIT_NAME_LABEL) == limit_name]
        if not named:
            raise MetricsUnreadable(
                path, f'no {AUTHORIZED_CALLS} with {LIMIT_NAME_LABEL}="{limit_name}" yet'
            )
        return sum(named)

    return read


def model_pod_selector(model: Model) -> str:
    return f"app.kubernetes.io/name={model.name},kserve.io/component=workload"


def model_metrics_paths(kube: Kube, model: Model) -> list[str]:
    """The `/metrics` proxy path of each server pod of the model."""
    selector = model_pod_selector(model)
    where = f"pods -n {model.namespace} -l {selector}"
    try:
        pods = items(kube.json("get", "pods", "-n", model.namespace, "-l", selector))
    except KubeError as exc:
        raise MetricsUnreadable(where, exc.result.stderr.strip()[:300]) from None
    if not pods:
        raise MetricsUnreadable(where, "no such pods")
    return [_pod_metrics_path(model.namespace, pod) for pod in pods]


def _pod_metrics_path(namespace: str, pod: dict[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    main = next((c for c in containers if c.get("name") == MODEL_CONTAINER), None)
    ports = (main or {}).get("ports") or []
    port = ports[0] if ports else {}
    scheme = "https" if "https" in str(port.get("name", "")).lower() else "http"
    number = port.get("containerPort", 8000)
    name = pod["metadata"]["name"]
    return f"/api/v1/namespaces/{namespace}/pods/{scheme}:{name}:{number}/proxy/metrics"


def served_requests(kube: Kube, paths: list[str]) -> dict[str, float]:
    """The served-request counter of each pod (summed over its label sets)."""
    counts = {}
    for path in paths:
        found = samples(read_page(kube, path), SERVED_METRIC)
        if not found:
            raise MetricsUnreadable(
                path,
                f"no {SERVED_METRIC} on the page (llm-d-inference-sim v0.5.1 exposes no counter "
                "of served requests; later versions do)",
            )
        counts[path] = sum(value for _labels, value in found)
    return counts
