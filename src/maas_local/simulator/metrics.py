"""Prometheus text for ``/metrics``, with llm-d-inference-sim v0.5.1's metric names.

v0.5.1 exposes ``vllm:num_requests_running``, ``vllm:num_requests_waiting``,
``vllm:gpu_cache_usage_perc`` (always 0) and ``vllm:lora_requests_info``; it has no counter of
finished requests yet, so ``vllm:request_success_total`` is added under vLLM's name to let
callers see how many completions were served. LoRA is not simulated, so its gauge is left out.
"""

from __future__ import annotations

from maas_local.simulator.stats import ServingStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render(model: str, stats: ServingStats) -> str:
    """The exposition text: HELP, TYPE and one sample per metric, labelled by model name."""
    label = f'{{model_name="{_escape(model)}"}}'
    metrics = (
        (
            "vllm:num_requests_running",
            "gauge",
            "Number of requests currently running on GPU.",
            stats.running,
        ),
        (
            "vllm:num_requests_waiting",
            "gauge",
            "Prometheus metric for the number of queued requests.",
            0,
        ),
        (
            "vllm:gpu_cache_usage_perc",
            "gauge",
            "Prometheus metric for the fraction of KV-cache blocks currently in use (from 0 to 1).",
            0,
        ),
        (
            "vllm:request_success_total",
            "counter",
            "Count of successfully processed requests.",
            stats.succeeded,
        ),
    )
    lines: list[str] = []
    for name, kind, help_text, value in metrics:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name}{label} {value}"]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
