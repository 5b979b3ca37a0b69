"""An OAuth2 backend for unit tests: honest introspection, nothing more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from moltnet.backends.protocols import ClientCredentials, OAuth2ClientInfo, TokenEndpointResponse


@dataclass
class FakeOAuth2Backend:
    """Answers introspection from a dict of token -> RFC 7662 result; nothing else."""

    results: dict[str, Mapping[str, object]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    kind: str = "ory"

    async def introspect(self, token: str) -> Mapping[str, object] | None:
        self.asked.append(token)
        return self.results.get(token)

    async def get_client(self, client_id: str) -> OAuth2ClientInfo | None:
        return None

    async def create_client(
        self, *, identity_id: UUID, public_key: str, fingerprint: str, scopes: Sequence[str]
    ) -> ClientCredentials:
        raise NotImplementedError

    async def rotate_secret(self, client_id: str) -> ClientCredentials:
        raise NotImplementedError

    async def delete_client(self, client_id: str) -> None:
        raise NotImplementedError

    async def find_client_for_identity(self, identity_id: UUID) -> OAuth2ClientInfo | None:
        return None

    async def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> TokenEndpointResponse:
        raise NotImplementedError

    async def ping(self) -> None:
        return None
