"""Reading fields of manifest objects with errors that name the object and the field."""

from __future__ import annotations

from typing import Any

from maas_local.config.model import ManifestError

_MISSING = object()


def ref(obj: dict[str, Any]) -> str:
    """`Kind namespace/name`, how every manifest error names its object."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "<unnamed>")
    ns = meta.get("namespace")
    return f"{obj.get('kind', '<no kind>')} {ns}/{name}" if ns else f"{obj.get('kind')} {name}"


def get(
    obj: dict[str, Any], path: str, kind: type | tuple[type, ...], default: Any = _MISSING
) -> Any:
    """The value at dotted `path` (list indices as numbers), checked to be of `kind`."""
    node: Any = obj
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            if default is not _MISSING:
                return default
            raise ManifestError(f"{ref(obj)}: missing field {path}")
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ManifestError(
            f"{ref(obj)}: field {path} must be {expected}, got {type(node).__name__} {node!r}"
        )
    return node


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o.get("kind") == kind and (name is None or (o.get("metadata") or {}).get("name") == name)
    ]


def find_one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    if not found:
        raise ManifestError(f"the manifests have no {kind} named {name}")
    if len(found) > 1:
        raise ManifestError(f"the manifests have {len(found)} objects {kind} {name}; expected one")
    return found[0]
