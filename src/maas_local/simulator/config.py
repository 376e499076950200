"""The simulator's settings: the subset of llm-d-inference-sim's flags that MaaS relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("random", "echo")


@dataclass(frozen=True)
class SimulatorConfig:
    """Mirrors ``--model``, ``--mode``, ``--max-model-len``, ``--time-to-first-token`` and
    ``--inter-token-latency``; ``request_id_header`` names the header the embedded
    ``/_local/served`` record keeps, so the e2e suite can tag its requests. ``faults`` are names
    from ``maas_local.faults`` (the simulator's are ``usage-*``, ``stream-*``,
    ``prompt-tokens-zero``, ``empty-content``, ``no-max-tokens-500``,
    ``max-completion-tokens-ignored`` and ``tool-calls-ignored``).
    """

    model: str
    mode: str = "random"
    max_model_len: int = 1024
    time_to_first_token_ms: int = 0
    inter_token_latency_ms: int = 0
    request_id_header: str = "x-e2e-request-id"
    faults: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Fail at start-up, like the simulator's flag validation, not on the first request.
        if not self.model:
            raise ValueError("model name is required")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.max_model_len < 1:
            raise ValueError(f"max_model_len must be positive, got {self.max_model_len}")
        if self.time_to_first_token_ms < 0 or self.inter_token_latency_ms < 0:
            raise ValueError("latencies must not be negative")
