"""Where `scripts/build-upstream.sh` left the pinned upstream builds, and what they are.

The script names its cache folder after a hash of the pins (every go.mod and go.sum under
`tools/upstream`); this module computes the same hash, so a changed pin is never served an old
binary, and a missing build is reported with the command that makes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

PINS = Path(__file__).resolve().parents[3] / "tools" / "upstream"
BUILD_SCRIPT = "scripts/build-upstream.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")


class UpstreamMissing(RuntimeError):
    """The pinned builds are not in the cache; the message says how to make them."""


def pins_key(pins: Path = PINS) -> str:
    """sha256 over every go.mod and go.sum, each preceded by its path, in byte order of paths."""
    files = sorted(
        (p.relative_to(pins).as_posix(), p)
        for p in pins.rglob("*")
        if p.name in ("go.mod", "go.sum") and p.is_file()
    )
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(f"{name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_base() -> Path:
    if os.environ.get("MAAS_UPSTREAM_CACHE"):
        return Path(os.environ["MAAS_UPSTREAM_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "maas-e2e" / "upstream"


@dataclass(frozen=True)
class Upstream:
    """The built components of one set of pins."""

    root: Path
    versions: dict[str, object]

    def binary(self, name: str) -> Path:
        return self.root / "bin" / name

    @property
    def crds(self) -> list[Path]:
        return sorted((self.root / "crds").glob("*.yaml"))


def locate(pins: Path = PINS) -> Upstream:
    """The builds of the current pins, or UpstreamMissing naming the build command."""
    root = cache_base() / pins_key(pins)
    manifest = root / "manifest.json"
    missing = [name for name in BINARIES if not (root / "bin" / name).is_file()]
    if not manifest.is_file() or missing:
        raise UpstreamMissing(
            f"the pinned upstream components are not built ({root} lacks "
            f"{', '.join(missing) or 'manifest.json'}): run `bash {BUILD_SCRIPT}` (needs Go; "
            "about six minutes the first time, instant afterwards)"
        )
    return Upstream(root, json.loads(manifest.read_text(encoding="utf-8")))
