"""The objects the identity plane keeps: users, namespaces, service accounts.

Everything lives in memory and every mutation is synchronous, so concurrent requests on the
single event loop see each other's effects atomically.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(name: str, uid: str, labels: dict[str, str], created: str) -> dict:
    return {"name": name, "uid": uid, "labels": dict(labels), "creationTimestamp": created}


@dataclass(frozen=True)
class User:
    name: str
    uid: str
    groups: tuple[str, ...]


@dataclass
class ServiceAccount:
    namespace: str
    name: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    labels: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=now_rfc3339)

    def to_object(self) -> dict:
        meta = _metadata(self.name, self.uid, self.labels, self.created)
        return {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**meta, "namespace": self.namespace},
        }


@dataclass
class Namespace:
    name: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    labels: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=now_rfc3339)

    def to_object(self) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": _metadata(self.name, self.uid, self.labels, self.created),
            "status": {"phase": "Active"},
        }


class Conflict(Exception):
    """The object already exists (HTTP 409 AlreadyExists)."""


class Missing(Exception):
    """The object (or its namespace) does not exist (HTTP 404 NotFound)."""


@dataclass
class Store:
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    user_tokens: dict[str, User] = field(default_factory=dict)

    def issue_user_token(self, username: str, groups: list[str]) -> str:
        """An opaque OAuth access token, like the one `oc whoami -t` prints."""
        token = "sha256~" + secrets.token_urlsafe(32)
        self.user_tokens[token] = User(username, str(uuid.uuid4()), tuple(groups))
        return token

    def create_namespace(self, name: str, labels: dict[str, str]) -> Namespace:
        if name in self.namespaces:
            raise Conflict(f'namespaces "{name}" already exists')
        self.namespaces[name] = Namespace(name, labels=dict(labels))
        return self.namespaces[name]

    def namespace(self, name: str) -> Namespace:
        if name not in self.namespaces:
            raise Missing(f'namespaces "{name}" not found')
        return self.namespaces[name]

    def create_service_account(
        self, namespace: str, name: str, labels: dict[str, str]
    ) -> ServiceAccount:
        self.namespace(namespace)
        if (namespace, name) in self.service_accounts:
            raise Conflict(f'serviceaccounts "{name}" already exists')
        sa = ServiceAccount(namespace, name, labels=dict(labels))
        self.service_accounts[(namespace, name)] = sa
        return sa

    def service_account(self, namespace: str, name: str) -> ServiceAccount:
        sa = self.service_accounts.get((namespace, name))
        if sa is None:
            raise Missing(f'serviceaccounts "{name}" not found')
        return sa

    def delete_service_account(self, namespace: str, name: str) -> ServiceAccount:
        sa = self.service_account(namespace, name)
        del self.service_accounts[(namespace, name)]
        return sa

    def list_service_accounts(
        self, namespace: str, selector: dict[str, str]
    ) -> list[ServiceAccount]:
        return [
            sa
            for (ns, _), sa in self.service_accounts.items()
            if ns == namespace and all(sa.labels.get(k) == v for k, v in selector.items())
        ]
