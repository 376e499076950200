"""How a component of the stack reaches the Kubernetes API: where, as whom, trusting which CA.

The embedded identity plane answers on plain loopback HTTP to anyone; a real kube-apiserver
(`maas-local cluster`) wants TLS and a bearer token, and its RBAC decides what the caller may do,
so maas-api there calls with its own ServiceAccount's token, as its pod would.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ApiServerConnection:
    url: str
    token: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for an httpx client that calls this API server."""
        options: dict[str, Any] = {"trust_env": False}
        if self.token:
            options["headers"] = {"Authorization": f"Bearer {self.token}"}
        if self.ca_cert is not None:
            options["verify"] = ssl.create_default_context(cafile=str(self.ca_cert))
        return options
