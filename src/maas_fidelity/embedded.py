"""The embedded side: `maas-local up` started as a process, reached over HTTP only.

`--ready-file` tells where each component listens once all of them do; users are made the way
`maas-local token` makes them (the embedded API server's `/local/v1/users/<name>/token`).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from maas_fidelity.processes import SideUnavailable, started, wait_for

START_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class EmbeddedStack:
    urls: dict[str, Any]
    """The ready file: gateway, apiserver, maas_api, models ({"ns/name": url})."""

    @property
    def version(self) -> str:
        try:
            return f"maas-local of this checkout (maas-e2e {metadata.version('maas-e2e')})"
        except metadata.PackageNotFoundError:
            return "maas-local of this checkout"

    @property
    def apiserver_url(self) -> str:
        return str(self.urls["apiserver"])

    def apiserver(self) -> httpx.Client:
        return httpx.Client(base_url=self.apiserver_url, timeout=HTTP_TIMEOUT_S)

    def user_token(self, username: str, groups: Sequence[str]) -> str:
        """What `maas-local token USER --group G...` prints."""
        with self.apiserver() as api:
            response = api.post(f"/local/v1/users/{username}/token", json={"groups": list(groups)})
        if response.status_code != 201:
            raise SideUnavailable(
                f"the embedded API server refused a user token for {username}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return str(response.json()["token"])


@contextlib.contextmanager
def embedded_stack(workdir: Path, manifests: Path | None = None) -> Iterator[EmbeddedStack]:
    """`maas-local up` on free ports for the duration of the block."""
    ready = workdir / "embedded-ready.json"
    argv = [sys.executable, "-m", "maas_local", "up", "--api-port", "0", "--port", "0"]
    argv += ["--ready-file", str(ready)]
    if manifests is not None:
        argv += ["--manifests", str(manifests)]
    with started("maas-local up", argv, workdir / "logs" / "maas-local-up.log") as child:
        urls = wait_for(child, "its ready file", START_TIMEOUT_S, lambda: _read_ready(ready))
        yield EmbeddedStack(urls)


def _read_ready(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
