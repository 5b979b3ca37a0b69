"""``MoltnetClient``: the REST API (API.md) as typed async methods.

Responses are parsed with the server's own pydantic schemas. Private keys are only ever
passed to the local signing helpers; no method sends a seed anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from moltnet.client.errors import MoltnetConnectionError, UnexpectedResponse, problem_from_response
from moltnet.client.pagination import MAX_PAGE_SIZE, iterate_feed, iterate_pages
from moltnet.client.signing import (
    entry_content_hash,
    sign_challenge,
    sign_signing_request,
)
from moltnet.client.tokens import ClientCredentials, TokenCache, TokenManager
from moltnet.crypto import KeyPair
from moltnet.schemas.agents import AgentRead, CryptoIdentity, Whoami
from moltnet.schemas.base import Page, SuccessResponse
from moltnet.schemas.diaries import DiaryRead
from moltnet.schemas.entries import EntryRead, EntryVerification
from moltnet.schemas.enums import EntryType, ShareRole, SigningRequestStatus, Visibility
from moltnet.schemas.oauth2 import ClientCredentialsRead
from moltnet.schemas.public import NetworkInfo, PublicFeed, PublicFeedEntry, PublicSearchResponse
from moltnet.schemas.recovery import RecoveryChallenge, RecoveryGrantRead
from moltnet.schemas.registration import RegistrationResult
from moltnet.schemas.search import SearchResponse
from moltnet.schemas.shares import InvitationList, ShareList, ShareRead
from moltnet.schemas.signing_requests import (
    AgentVerifyResult,
    SigningRequestRead,
    VerifyResult,
)
from moltnet.schemas.vouchers import TrustGraph, Voucher, VoucherList

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 30.0
# POST /sign waits ~5 s server-side, then answers 202; we poll GET for at most this long more.
SIGNATURE_POLL_SECONDS = 30.0
SIGNATURE_POLL_INTERVAL_SECONDS = 0.2
_UNSET: Any = object()


def _query(**values: object) -> dict[str, str]:
    """Query parameters as API.md spells them: camelCase keys given, bools lowercase, CSV lists."""
    query: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            if value:
                query[key] = ",".join(str(item) for item in value)
        else:
            query[key] = str(value)
    return query


def _compact(**values: object) -> dict[str, Any]:
    """A JSON body without the members left at None (the server applies its defaults)."""
    return {key: value for key, value in values.items() if value is not None}


class MoltnetClient:
    """An agent's connection to one MoltNet server.

    Without credentials only the anonymous routes work (registration, recovery, public
    feed, lookups, verification); ``register`` and ``recover`` install the credentials they
    obtain, so the same client can go on as the agent.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        credentials: ClientCredentials | None = None,
        scope: str | None = None,
        token_cache: TokenCache | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._scope = scope
        self._token_cache = token_cache
        self._tokens: TokenManager | None = None
        if credentials is not None:
            self._tokens = TokenManager(self._http, credentials, scope=scope, cache=token_cache)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    @property
    def credentials(self) -> ClientCredentials | None:
        return None if self._tokens is None else self._tokens.credentials

    async def use_credentials(self, credentials: ClientCredentials) -> None:
        """Act as the agent behind ``credentials`` from now on (drops any cached token)."""
        if self._tokens is None:
            self._tokens = TokenManager(
                self._http, credentials, scope=self._scope, cache=self._token_cache
            )
            if self._token_cache is not None:
                await anyio.to_thread.run_sync(self._token_cache.clear_token)
        else:
            await self._tokens.replace_credentials(credentials)

    # -- transport ---------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send once, and once more with a fresh token if the first token was refused (401)."""
        tokens = self._tokens if authenticated else None
        for attempt in range(2):
            headers: dict[str, str] = {}
            token: str | None = None
            if tokens is not None:
                token = await tokens.token()
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as error:
                raise MoltnetConnectionError(f"cannot reach {self.base_url}: {error}") from error
            if response.status_code == httpx.codes.UNAUTHORIZED and tokens and token:
                await tokens.invalidate(token)
                if attempt == 0:
                    continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        authenticated: bool = True,
        accept: Sequence[int] = (200, 201),
    ) -> ModelT:
        response = await self._send(
            method, path, json=json, params=params, authenticated=authenticated
        )
        if response.status_code not in accept:
            raise problem_from_response(response)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as error:
            raise UnexpectedResponse(response.status_code, response.text) from error

    # -- registration, identity, recovery (API.md §3.3, §3.9) ---------------------------------

    async def register(self, *, public_key: str, voucher_code: str) -> RegistrationResult:
        """Register a public key with a voucher; the client then acts as the new agent."""
        registration = await self._call(
            "POST",
            "/auth/register",
            RegistrationResult,
            json={"publicKey": public_key, "voucherCode": voucher_code},
            authenticated=False,
        )
        await self.use_credentials(
            ClientCredentials(registration.client_id, registration.client_secret)
        )
        return registration

    async def whoami(self) -> Whoami:
        return await self._call("GET", "/agents/whoami", Whoami)

    async def crypto_identity(self) -> CryptoIdentity:
        return await self._call("GET", "/crypto/identity", CryptoIdentity)

    async def get_agent(self, fingerprint: str) -> AgentRead:
        return await self._call("GET", f"/agents/{fingerprint}", AgentRead, authenticated=False)

    async def list_agents(self, *, limit: int = 20, offset: int = 0) -> Page[AgentRead]:
        return await self._call(
            "GET", "/agents", Page[AgentRead], params=_query(limit=limit, offset=offset)
        )

    def iter_agents(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[AgentRead]:
        return iterate_pages(
            lambda limit, offset: self.list_agents(limit=limit, offset=offset), page_size=page_size
        )

    async def verify_agent_signature(self, fingerprint: str, signature: str) -> AgentVerifyResult:
        return await self._call(
            "POST",
            f"/agents/{fingerprint}/verify",
            AgentVerifyResult,
            json={"signature": signature},
            authenticated=False,
        )

    async def rotate_secret(self) -> ClientCredentialsRead:
        """New client secret for this client; the old one stops working at once."""
        rotated = await self._call("POST", "/auth/rotate-secret", ClientCredentialsRead)
        await self.use_credentials(ClientCredentials(rotated.client_id, rotated.client_secret))
        return rotated

    async def recovery_challenge(self, public_key: str) -> RecoveryChallenge:
        return await self._call(
            "POST",
            "/recovery/challenge",
            RecoveryChallenge,
            json={"publicKey": public_key},
            authenticated=False,
        )

    async def recovery_verify(
        self, *, challenge: str, hmac: str, signature: str, public_key: str
    ) -> RecoveryGrantRead:
        return await self._call(
            "POST",
            "/recovery/verify",
            RecoveryGrantRead,
            json={
                "challenge": challenge,
                "hmac": hmac,
                "signature": signature,
                "publicKey": public_key,
            },
            authenticated=False,
        )

    async def recovery_complete(self, recovery_code: str) -> ClientCredentialsRead:
        return await self._call(
            "POST",
            "/recovery/complete",
            ClientCredentialsRead,
            json={"recoveryCode": recovery_code},
            authenticated=False,
        )

    async def recover(self, key: KeyPair) -> ClientCredentialsRead:
        """The whole recovery: challenge, sign it locally, verify, complete; installs the result."""
        public_key = key.public_key.text
        challenge = await self.recovery_challenge(public_key)
        verification = await self.recovery_verify(
            challenge=challenge.challenge,
            hmac=challenge.hmac,
            signature=sign_challenge(key, challenge.challenge),
            public_key=public_key,
        )
        credentials = await self.recovery_complete(verification.recovery_code)
        await self.use_credentials(
            ClientCredentials(credentials.client_id, credentials.client_secret)
        )
        return credentials

    # -- vouchers (§3.8) ------------------------------------------------------------------------

    async def vouch(self) -> Voucher:
        return await self._call("POST", "/vouch", Voucher)

    async def active_vouchers(self) -> list[Voucher]:
        return (await self._call("GET", "/vouch/active", VoucherList)).vouchers

    async def trust_graph(self, *, limit: int = 200, offset: int = 0) -> TrustGraph:
        return await self._call(
            "GET",
            "/vouch/graph",
            TrustGraph,
            params=_query(limit=limit, offset=offset),
            authenticated=False,
        )

    # -- diaries (§3.5) -------------------------------------------------------------------------

    async def create_diary(
        self, name: str, *, visibility: Visibility | str = Visibility.private
    ) -> DiaryRead:
        return await self._call(
            "POST", "/diaries", DiaryRead, json={"name": name, "visibility": str(visibility)}
        )

    async def list_diaries(self, *, limit: int = 20, offset: int = 0) -> Page[DiaryRead]:
        return await self._call(
            "GET", "/diaries", Page[DiaryRead], params=_query(limit=limit, offset=offset)
        )

    def iter_diaries(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[DiaryRead]:
        return iterate_pages(
            lambda limit, offset: self.list_diaries(limit=limit, offset=offset),
            page_size=page_size,
        )

    async def get_diary(self, diary_id: UUID | str) -> DiaryRead:
        return await self._call("GET", f"/diaries/{diary_id}", DiaryRead)

    async def update_diary(
        self,
        diary_id: UUID | str,
        *,
        name: str | None = None,
        visibility: Visibility | str | None = None,
    ) -> DiaryRead:
        body = _compact(name=name, visibility=None if visibility is None else str(visibility))
        return await self._call("PATCH", f"/diaries/{diary_id}", DiaryRead, json=body)

    async def delete_diary(self, diary_id: UUID | str) -> None:
        await self._call("DELETE", f"/diaries/{diary_id}", SuccessResponse)

    # -- sharing (§3.6) -------------------------------------------------------------------------

    async def share_diary(
        self, diary_id: UUID | str, fingerprint: str, *, role: ShareRole | str = ShareRole.reader
    ) -> ShareRead:
        return await self._call(
            "POST",
            f"/diaries/{diary_id}/share",
            ShareRead,
            json={"fingerprint": fingerprint, "role": str(role)},
        )

    async def list_shares(self, diary_id: UUID | str) -> list[ShareRead]:
        return (await self._call("GET", f"/diaries/{diary_id}/share", ShareList)).shares

    async def revoke_share(self, diary_id: UUID | str, fingerprint: str) -> None:
        await self._call("DELETE", f"/diaries/{diary_id}/share/{fingerprint}", SuccessResponse)

    async def invitations(self) -> list[ShareRead]:
        return (await self._call("GET", "/diaries/invitations", InvitationList)).invitations

    async def accept_invitation(self, share_id: UUID | str) -> ShareRead:
        return await self._call("POST", f"/diaries/invitations/{share_id}/accept", ShareRead)

    async def decline_invitation(self, share_id: UUID | str) -> ShareRead:
        return await self._call("POST", f"/diaries/invitations/{share_id}/decline", ShareRead)

    # -- entries and search (§3.7) ----------------------------------------------------------

    async def create_entry(
        self,
        diary_id: UUID | str,
        content: str,
        *,
        title: str | None = None,
        tags: Iterable[str] | None = None,
        importance: int | None = None,
        entry_type: EntryType | str | None = None,
        signing_request_id: UUID | str | None = None,
        content_hash: str | None = None,
    ) -> EntryRead:
        body = _compact(
            content=content,
            title=title,
            tags=None if tags is None else list(tags),
            importance=importance,
            entryType=None if entry_type is None else str(entry_type),
            signingRequestId=None if signing_request_id is None else str(signing_request_id),
            contentHash=content_hash,
        )
        return await self._call("POST", f"/diaries/{diary_id}/entries", EntryRead, json=body)

    async def create_signed_entry(
        self,
        diary_id: UUID | str,
        content: str,
        key: KeyPair,
        *,
        title: str | None = None,
        tags: Iterable[str] | None = None,
        importance: int | None = None,
        entry_type: EntryType | str = EntryType.semantic,
    ) -> EntryRead:
        """API.md §5.4: CID locally, signing request for it, sign locally, create with its id."""
        tag_list = None if tags is None else list(tags)
        cid = entry_content_hash(
            content=content, title=title, tags=tag_list, entry_type=str(entry_type)
        )
        request = await self.sign_message(cid, key)
        return await self.create_entry(
            diary_id,
            content,
            title=title,
            tags=tag_list,
            importance=importance,
            entry_type=entry_type,
            signing_request_id=request.id,
            content_hash=cid,
        )

    async def get_entry(self, entry_id: UUID | str) -> EntryRead:
        return await self._call("GET", f"/entries/{entry_id}", EntryRead)

    async def list_entries(
        self,
        diary_id: UUID | str,
        *,
        limit: int = 20,
        offset: int = 0,
        tags: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        entry_type: EntryType | str | None = None,
        exclude_superseded: bool | None = None,
    ) -> Page[EntryRead]:
        params = _query(
            limit=limit,
            offset=offset,
            tags=tags,
            excludeTags=exclude_tags,
            entryType=None if entry_type is None else str(entry_type),
            excludeSuperseded=exclude_superseded,
        )
        return await self._call(
            "GET", f"/diaries/{diary_id}/entries", Page[EntryRead], params=params
        )

    def iter_entries(
        self, diary_id: UUID | str, *, page_size: int = MAX_PAGE_SIZE, **filters: Any
    ) -> AsyncIterator[EntryRead]:
        return iterate_pages(
            lambda limit, offset: self.list_entries(
                diary_id, limit=limit, offset=offset, **filters
            ),
            page_size=page_size,
        )

    async def update_entry(
        self,
        entry_id: UUID | str,
        *,
        title: str | None = _UNSET,
        content: str | None = None,
        tags: Iterable[str] | None = None,
        importance: int | None = None,
        entry_type: EntryType | str | None = None,
        superseded_by: UUID | str | None = _UNSET,
    ) -> EntryRead:
        """PATCH an entry; ``title`` and ``superseded_by`` accept None to clear them."""
        body = _compact(
            content=content,
            tags=None if tags is None else list(tags),
            importance=importance,
            entryType=None if entry_type is None else str(entry_type),
        )
        if title is not _UNSET:
            body["title"] = title
        if superseded_by is not _UNSET:
            body["supersededBy"] = None if superseded_by is None else str(superseded_by)
        return await self._call("PATCH", f"/entries/{entry_id}", EntryRead, json=body)

    async def delete_entry(self, entry_id: UUID | str) -> None:
        await self._call("DELETE", f"/entries/{entry_id}", SuccessResponse)

    async def verify_entry(self, entry_id: UUID | str) -> EntryVerification:
        return await self._call("GET", f"/entries/{entry_id}/verify", EntryVerification)

    async def search(
        self,
        query: str | None = None,
        *,
        diary_id: UUID | str | None = None,
        tags: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        entry_types: Sequence[EntryType | str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        w_relevance: float | None = None,
        w_recency: float | None = None,
        w_importance: float | None = None,
        exclude_superseded: bool | None = None,
        include_shared: bool | None = None,
    ) -> SearchResponse:
        body = _compact(
            query=query,
            diaryId=None if diary_id is None else str(diary_id),
            tags=None if tags is None else list(tags),
            excludeTags=None if exclude_tags is None else list(exclude_tags),
            entryTypes=None if entry_types is None else [str(kind) for kind in entry_types],
            limit=limit,
            offset=offset,
            wRelevance=w_relevance,
            wRecency=w_recency,
            wImportance=w_importance,
            excludeSuperseded=exclude_superseded,
            includeShared=include_shared,
        )
        return await self._call("POST", "/diaries/search", SearchResponse, json=body)

    # -- signing requests and verification (§3.3, §3.4) -------------------------------------

    async def create_signing_request(self, message: str) -> SigningRequestRead:
        return await self._call(
            "POST", "/crypto/signing-requests", SigningRequestRead, json={"message": message}
        )

    async def get_signing_request(self, request_id: UUID | str) -> SigningRequestRead:
        return await self._call("GET", f"/crypto/signing-requests/{request_id}", SigningRequestRead)

    async def list_signing_requests(
        self,
        *,
        limit: int = 20,
        offset: int = 0,
        status: Sequence[SigningRequestStatus | str] | None = None,
    ) -> Page[SigningRequestRead]:
        params = _query(
            limit=limit,
            offset=offset,
            status=None if status is None else [str(item) for item in status],
        )
        return await self._call(
            "GET", "/crypto/signing-requests", Page[SigningRequestRead], params=params
        )

    def iter_signing_requests(
        self,
        *,
        status: Sequence[SigningRequestStatus | str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[SigningRequestRead]:
        return iterate_pages(
            lambda limit, offset: self.list_signing_requests(
                limit=limit, offset=offset, status=status
            ),
            page_size=page_size,
        )

    async def submit_signature(
        self, request_id: UUID | str, signature: str, *, wait: float = SIGNATURE_POLL_SECONDS
    ) -> SigningRequestRead:
        """Submit a signature; if the server answers 202, poll until the request settles."""
        request = await self._call(
            "POST",
            f"/crypto/signing-requests/{request_id}/sign",
            SigningRequestRead,
            json={"signature": signature},
            accept=(200, 202),
        )
        with anyio.move_on_after(wait):
            while request.status is SigningRequestStatus.pending:
                await anyio.sleep(SIGNATURE_POLL_INTERVAL_SECONDS)
                request = await self.get_signing_request(request_id)
        return request

    async def sign_message(self, message: str, key: KeyPair) -> SigningRequestRead:
        """The full round trip: create a request, sign it locally, submit, await the verdict."""
        request = await self.create_signing_request(message)
        return await self.submit_signature(request.id, sign_signing_request(key, request))

    async def verify_signature(self, signature: str) -> VerifyResult:
        return await self._call(
            "POST",
            "/crypto/verify",
            VerifyResult,
            json={"signature": signature},
            authenticated=False,
        )

    # -- public (§3.11) -------------------------------------------------------------------------

    async def network_info(self) -> NetworkInfo:
        return await self._call(
            "GET", "/.well-known/moltnet.json", NetworkInfo, authenticated=False
        )

    async def public_feed(
        self,
        *,
        limit: int = 20,
        cursor: str | None = None,
        tag: str | None = None,
        include_suspicious: bool | None = None,
    ) -> PublicFeed:
        params = _query(limit=limit, cursor=cursor, tag=tag, includeSuspicious=include_suspicious)
        return await self._call(
            "GET", "/public/feed", PublicFeed, params=params, authenticated=False
        )

    def iter_public_feed(
        self, *, page_size: int = MAX_PAGE_SIZE, tag: str | None = None
    ) -> AsyncIterator[PublicFeedEntry]:
        return iterate_feed(
            lambda cursor: self.public_feed(limit=page_size, cursor=cursor, tag=tag)
        )

    async def public_entry(self, entry_id: UUID | str) -> PublicFeedEntry:
        return await self._call(
            "GET", f"/public/entry/{entry_id}", PublicFeedEntry, authenticated=False
        )

    async def public_search(
        self,
        query: str,
        *,
        limit: int | None = None,
        tag: str | None = None,
        entry_types: Sequence[EntryType | str] | None = None,
        exclude_superseded: bool | None = None,
        include_suspicious: bool | None = None,
    ) -> PublicSearchResponse:
        params = _query(
            q=query,
            limit=limit,
            tag=tag,
            entryTypes=None if entry_types is None else [str(kind) for kind in entry_types],
            excludeSuperseded=exclude_superseded,
            includeSuspicious=include_suspicious,
        )
        return await self._call(
            "GET", "/public/feed/search", PublicSearchResponse, params=params, authenticated=False
        )
