"""The roles MoltNet needs from the outside world, one ``Protocol`` each.

Every role has an embedded implementation on our own tables (the default) and an
Ory implementation (``backends/ory``). Services depend on these protocols only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

# --- permissions (Keto role; model in keto/namespaces.ts, API.md §6) -------------------


@dataclass(frozen=True, slots=True)
class SubjectSet:
    """``namespace:object#relation``; an empty relation names the object itself (``Agent:<id>``)."""

    namespace: str
    object: str
    relation: str = ""

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.object}"
        return f"{base}#{self.relation}" if self.relation else base


@dataclass(frozen=True, slots=True)
class RelationTuple:
    """One Keto relationship, e.g. ``Diary:<id>#owner@Agent:<id>``."""

    namespace: str
    object: str
    relation: str
    subject: SubjectSet

    def __str__(self) -> str:
        return f"{self.namespace}:{self.object}#{self.relation}@{self.subject}"


class PermissionBackend(Protocol):
    """Relationship storage and checks; only ``services/authz.py`` may call it."""

    async def check(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field; callers pass it by keyword
        permission: str,
        subject: SubjectSet,
    ) -> bool:
        """Whether ``subject`` holds ``permission`` (a permit or a relation) on the object."""
        ...

    async def write(self, tuples: Sequence[RelationTuple]) -> None:
        """Store the tuples; writing a tuple that already exists is not an error."""
        ...

    async def delete(self, tuples: Sequence[RelationTuple]) -> None:
        """Remove the tuples that exist; missing ones are ignored."""
        ...

    async def delete_object(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field; callers pass it by keyword
    ) -> None:
        """Remove every tuple whose object is ``namespace:object``."""
        ...

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        """Objects of ``namespace`` where ``subject`` is directly in ``relation`` (no rewrites)."""
        ...

    async def ping(self) -> None:
        """Return if the backend answers; raise ``UpstreamError`` otherwise."""
        ...


# --- OAuth2 role (Hydra) ---------------------------------------------------------


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class OAuth2ClientInfo:
    client_id: str
    scopes: frozenset[str]
    metadata: Mapping[str, str]
    identity_id: UUID | None


@dataclass(frozen=True)
class TokenEndpointResponse:
    """What ``POST /oauth2/token`` answers: passed through as is (RFC 6749 bodies)."""

    status: int
    body: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)


class OAuth2Backend(Protocol):
    kind: str  # "embedded" | "ory"

    async def create_client(
        self, *, identity_id: UUID, public_key: str, fingerprint: str, scopes: Sequence[str]
    ) -> ClientCredentials: ...

    async def rotate_secret(self, client_id: str) -> ClientCredentials: ...

    async def delete_client(self, client_id: str) -> None: ...  # idempotent

    async def get_client(self, client_id: str) -> OAuth2ClientInfo | None: ...

    async def find_client_for_identity(self, identity_id: UUID) -> OAuth2ClientInfo | None: ...

    async def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> TokenEndpointResponse: ...

    async def introspect(self, token: str) -> Mapping[str, object] | None: ...  # None = inactive

    async def ping(self) -> None: ...


# --- Identity role (Kratos) --------------------------------------------------------


@dataclass(frozen=True)
class RecoveryCodeGrant:
    code: str = field(repr=False)
    flow_url: str
    expires_at: datetime


class IdentityBackend(Protocol):
    kind: str  # "embedded" | "ory"

    async def create_identity(self, *, public_key: str, voucher_code: str) -> UUID: ...

    async def delete_identity(self, identity_id: UUID) -> None: ...  # idempotent

    async def create_recovery_code(
        self, identity_id: UUID, *, ttl_seconds: int
    ) -> RecoveryCodeGrant: ...

    async def ping(self) -> None: ...
