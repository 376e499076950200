"""What the simulator has served: the numbers behind ``/metrics`` and ``/_local/served``."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Bounded so a long-running stack cannot grow without limit; far above any e2e run.
SERVED_IDS_KEPT = 100_000


@dataclass
class ServingStats:
    """Mutated only on the server's event loop, so plain counters need no lock."""

    running: int = 0
    succeeded: int = 0
    seen: int = 0
    ids: deque[str] = field(default_factory=lambda: deque(maxlen=SERVED_IDS_KEPT))

    def saw(self, request_id: str | None) -> None:
        """Count an inference request that reached the model, whatever its outcome."""
        self.seen += 1
        if request_id is not None:
            self.ids.append(request_id)
