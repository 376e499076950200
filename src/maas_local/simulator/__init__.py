"""A stand-in for the model server: llm-d-inference-sim v0.5.1, as MaaS deploys it.

On a cluster the model behind the gateway is the Go simulator
``ghcr.io/llm-d/llm-d-inference-sim:v0.5.1`` run with ``--mode random``. This package speaks the
same HTTP: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (plain and streamed),
``GET /v1/models``, ``GET /health``, ``GET /ready`` and ``GET /metrics``, with the simulator's
validation order, status codes and error bodies (Go's plain-text decoding errors, OpenAI-style
JSON for the rest), its tool calls, and its tokenizer and reply lengths, so the gateway's token
counting sees the same ``usage`` it would see on a cluster.

Embedded-only, not in the real simulator: ``GET /_local/served`` returns
``{"count": <inference requests seen>, "ids": [...]}``, the values of the request header named by
:attr:`SimulatorConfig.request_id_header` in arrival order (the last 100000). The e2e suite uses
it to prove that requests the gateway denied never reached the model.
"""

from maas_local.simulator.app import build_app
from maas_local.simulator.config import SimulatorConfig

__all__ = ["SimulatorConfig", "build_app"]
