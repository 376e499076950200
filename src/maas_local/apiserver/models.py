"""LLMInferenceService objects as KServe leaves them once the model is served."""

from __future__ import annotations

from datetime import UTC, datetime

from maas_local.config import ModelSpec

READY_CONDITIONS = ("Ready", "WorkloadsReady", "RouterReady", "PresetsCombined")


def workload_url(spec: ModelSpec) -> str:
    """The model's Service as KServe names it: reachable only from inside the cluster."""
    return f"http://{spec.name}-kserve-workload-svc.{spec.namespace}.svc.cluster.local:8000"


def llm_inference_service(spec: ModelSpec, gateway_url: str) -> dict:
    created = datetime.fromtimestamp(spec.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LLMInferenceService",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "creationTimestamp": created,
            "generation": spec.generation,
        },
        # The manifest's spec.model.name, which some maas-api commits list as the model's id.
        "spec": {} if spec.model_name is None else {"model": {"name": spec.model_name}},
        "status": {
            "url": f"{gateway_url}/{spec.namespace}/{spec.name}",
            # The gateway's address first, then the workload service's in-cluster one.
            "addresses": [
                {"url": f"{gateway_url}/{spec.namespace}/{spec.name}"},
                {"url": workload_url(spec)},
            ],
            "observedGeneration": spec.generation,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": created}
                for t in READY_CONDITIONS
            ],
        },
    }
