"""Diary entries: create, read, list, edit, delete, verify, and their vectors (API.md §3.7).

Every write computes the content CID (§5.4) and the injection flag, and tries to
embed the entry. The embedder never fails a write: without a vector the entry is
stored anyway and ``embedding.fill_entry`` is enqueued in the same transaction, so it
fills the vector once the model answers again. Each create/delete also enqueues its
``DiaryEntry#parent`` tuple change in the entry's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.crypto import (
    InvalidPublicKey,
    InvalidSignatureEncoding,
    decode_signature,
    entry_cid,
    parse_public_key,
    verify_signing_input,
)
from moltnet.db.models import Diary, DiaryEntry
from moltnet.db.repositories.entries import AuthoredEntry, EntryFilters, EntryPage, EntryRepository
from moltnet.db.repositories.signing_requests import SigningRequestRepository
from moltnet.embedding.protocol import Embedder, passage_text
from moltnet.errors import Conflict, Immutable, NotFound, ValidationFailed
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.entries import (
    MAX_PUBLIC_CONTENT_CHARS,
    EntryCreate,
    EntryUpdate,
    EntryVerification,
    blank_title_to_none,
)
from moltnet.schemas.enums import EntryType, SigningRequestStatus, Visibility
from moltnet.services import injection
from moltnet.services.authz import ENTRY_NOT_FOUND, Authz
from moltnet.workflows.enqueue import Enqueuer, WorkflowName

logger = structlog.get_logger(__name__)

# Importance stays editable on signed entries except on these types (API.md §3.7).
FROZEN_IMPORTANCE_TYPES = frozenset({EntryType.identity, EntryType.soul, EntryType.reflection})
SIGNING_REQUEST_NOT_FOUND = "signing request not found"


def _content_hash(
    entry_type: EntryType, title: str | None, content: str, tags: Sequence[str]
) -> str:
    return entry_cid(content=content, title=title, tags=tags, entry_type=entry_type.value)


async def _embed(
    embedder: Embedder, title: str | None, content: str, tags: Sequence[str]
) -> list[float] | None:
    """The entry's vector, or None when the embedder failed (the workflow fills it later)."""
    try:
        [vector] = await embedder.embed_passages([passage_text(title, content, tags)])
    except Exception as error:  # any failure: store without a vector, never fail the write
        logger.warning(
            "embedding failed; the vector will be filled later", error=type(error).__name__
        )
        return None
    return vector


async def _enqueue_fill(session: AsyncSession, enqueuer: Enqueuer, entry: DiaryEntry) -> None:
    # The hash makes a new id for each content version: a workflow that already filled an
    # older version must not swallow the request for the new one.
    await enqueuer.enqueue(
        session,
        WorkflowName.embedding_fill_entry,
        str(entry.id),
        workflow_id=f"embedding:fill-entry:{entry.id}:{entry.content_hash}",
    )


def _check_public_cap(diary: Diary, content: str) -> None:
    if diary.visibility is Visibility.public and len(content) > MAX_PUBLIC_CONTENT_CHARS:
        raise ValidationFailed(
            f"entries of a public diary hold at most {MAX_PUBLIC_CONTENT_CHARS} characters",
            field="body.content",
        )


@dataclass(frozen=True)
class _Signature:
    request_id: UUID
    signature: str
    nonce: UUID


async def _signature_for(
    session: AsyncSession, *, subject: AuthSubject, data: EntryCreate, content_hash: str
) -> _Signature | None:
    """The signed-create rules of API.md §3.7; None for an unsigned entry."""
    if data.signing_request_id is None:
        return None
    request = await SigningRequestRepository(session).get_for_update(data.signing_request_id)
    if request is None or request.agent_id != subject.identity_id:
        raise NotFound(SIGNING_REQUEST_NOT_FOUND)
    if (
        request.status is not SigningRequestStatus.completed
        or request.valid is not True
        or request.signature is None
    ):
        raise ValidationFailed(
            "the signing request must be completed with a valid signature",
            field="body.signingRequestId",
        )
    if request.message != content_hash:
        raise ValidationFailed(
            f"the signed message must be this entry's content hash {content_hash}",
            field="body.signingRequestId",
        )
    if data.content_hash is not None and data.content_hash != content_hash:
        raise ValidationFailed(
            f"contentHash does not match the entry's content hash {content_hash}",
            field="body.contentHash",
        )
    if await EntryRepository(session).uses_signing_request(request.id):
        raise Conflict("this signing request already backs an entry")
    return _Signature(request.id, request.signature, request.nonce)


async def create(
    session: AsyncSession,
    *,
    authz: Authz,
    embedder: Embedder,
    enqueuer: Enqueuer,
    subject: AuthSubject,
    diary_id: UUID,
    data: EntryCreate,
) -> AuthoredEntry:
    diary = await authz.writable_diary(subject, diary_id)
    _check_public_cap(diary, data.content)
    title = blank_title_to_none(data.title)
    tags = list(data.tags)
    content_hash = _content_hash(data.entry_type, title, data.content, tags)
    signature = await _signature_for(session, subject=subject, data=data, content_hash=content_hash)
    vector = await _embed(embedder, title, data.content, tags)
    entry = DiaryEntry(
        diary_id=diary.id,
        author_id=subject.identity_id,
        title=title,
        content=data.content,
        tags=tags,
        entry_type=data.entry_type,
        importance=data.importance,
        injection_risk=injection.scan(title, data.content).is_risky,
        content_hash=content_hash,
        embedding=vector,
        embedding_model=embedder.model_id if vector is not None else None,
        access_count=0,
    )
    if signature is not None:
        entry.content_signature = signature.signature
        entry.signing_nonce = signature.nonce
        entry.signing_request_id = signature.request_id
    repository = EntryRepository(session)
    try:
        await repository.add(entry)
    except IntegrityError as error:
        # Two creates racing for one signing request: the unique constraint decides.
        raise Conflict("this signing request already backs an entry") from error
    await repository.load_server_values(entry)
    await enqueuer.enqueue(
        session,
        WorkflowName.keto_grant_entry_parent,
        str(entry.id),
        str(diary.id),
        workflow_id=f"keto:grant-entry-parent:{entry.id}",
    )
    if vector is None:
        await _enqueue_fill(session, enqueuer, entry)
    return AuthoredEntry(entry, await repository.author_of(entry))


def _in_diary(entry: DiaryEntry, diary_id: UUID | None) -> None:
    if diary_id is not None and entry.diary_id != diary_id:
        raise NotFound(ENTRY_NOT_FOUND)


async def get(
    session: AsyncSession,
    *,
    authz: Authz,
    subject: AuthSubject | None,
    entry_id: UUID,
    diary_id: UUID | None = None,
) -> AuthoredEntry:
    """One entry; the read counts as an access (the response includes it)."""
    entry = await authz.readable_entry(subject, entry_id)
    _in_diary(entry, diary_id)
    repository = EntryRepository(session)
    await repository.count_access_of(entry)
    return AuthoredEntry(entry, await repository.author_of(entry))


async def list_entries(
    session: AsyncSession,
    *,
    authz: Authz,
    subject: AuthSubject | None,
    diary_id: UUID,
    filters: EntryFilters,
    limit: int,
    offset: int,
) -> EntryPage:
    """A diary's entries, newest first; listing does not count as access."""
    diary = await authz.readable_diary(subject, diary_id)
    return await EntryRepository(session).list_in_diary(
        diary.id, filters=filters, limit=limit, offset=offset
    )


def _refuse_signed_changes(entry: DiaryEntry, changes: dict[str, object]) -> None:
    """Signed content is frozen; sending the stored value again is a no-op."""
    frozen = ["title", "content", "tags", "entry_type"]
    if entry.entry_type in FROZEN_IMPORTANCE_TYPES:
        frozen.append("importance")
    for name in frozen:
        if name in changes and changes[name] != getattr(entry, name):
            raise Immutable(f"signed entries cannot change their {name}")


async def update(
    session: AsyncSession,
    *,
    authz: Authz,
    embedder: Embedder,
    enqueuer: Enqueuer,
    subject: AuthSubject,
    entry_id: UUID,
    data: EntryUpdate,
    diary_id: UUID | None = None,
) -> AuthoredEntry:
    entry = await authz.editable_entry(subject, entry_id)
    _in_diary(entry, diary_id)
    changes: dict[str, object] = {name: getattr(data, name) for name in data.model_fields_set}
    if "title" in changes:
        changes["title"] = blank_title_to_none(data.title)
    if "tags" in changes and data.tags is not None:
        changes["tags"] = list(data.tags)
    if entry.content_signature is not None:
        _refuse_signed_changes(entry, changes)
    repository = EntryRepository(session)
    replacement = data.superseded_by
    if replacement is not None and (
        replacement == entry.id or not await repository.in_same_diary(replacement, entry.diary_id)
    ):
        raise ValidationFailed(
            "supersededBy must name another entry of the same diary",
            field="body.supersededBy",
        )
    if data.content is not None and data.content != entry.content:
        diary = await session.get(Diary, entry.diary_id)
        if diary is not None:
            _check_public_cap(diary, data.content)

    changed = {name for name, value in changes.items() if value != getattr(entry, name)}
    for name in changed:
        setattr(entry, name, changes[name])
    if changed & {"title", "content", "tags", "entry_type"}:
        entry.content_hash = _content_hash(entry.entry_type, entry.title, entry.content, entry.tags)
    if changed & {"title", "content"}:
        entry.injection_risk = injection.scan(entry.title, entry.content).is_risky
    refill = False
    if changed & {"title", "content", "tags"}:
        vector = await _embed(embedder, entry.title, entry.content, entry.tags)
        entry.embedding = vector
        entry.embedding_model = embedder.model_id if vector is not None else None
        refill = vector is None
    if changed:
        await repository.save(entry)  # the trigger's refusal becomes Immutable there too
    if refill:
        await _enqueue_fill(session, enqueuer, entry)
    return AuthoredEntry(entry, await repository.author_of(entry))


async def delete(
    session: AsyncSession,
    *,
    authz: Authz,
    enqueuer: Enqueuer,
    subject: AuthSubject,
    entry_id: UUID,
    diary_id: UUID | None = None,
) -> None:
    entry = await authz.deletable_entry(subject, entry_id)
    _in_diary(entry, diary_id)
    if entry.content_signature is not None:
        raise Immutable("signed entries cannot be deleted")
    repository = EntryRepository(session)
    await repository.clear_superseded_references(entry.id)
    await repository.delete(entry.id)
    await enqueuer.enqueue(
        session,
        WorkflowName.keto_remove_entry,
        str(entry.id),
        workflow_id=f"keto:remove-entry:{entry.id}",
    )


async def verify(
    session: AsyncSession,
    *,
    authz: Authz,
    subject: AuthSubject | None,
    entry_id: UUID,
    diary_id: UUID | None = None,
) -> EntryVerification:
    """Recompute the CID and check the stored signature with the author's key."""
    entry = await authz.readable_entry(subject, entry_id)
    _in_diary(entry, diary_id)
    author = await EntryRepository(session).author_of(entry)
    recomputed = _content_hash(entry.entry_type, entry.title, entry.content, entry.tags)
    hash_matches = recomputed == entry.content_hash
    signed = entry.content_signature is not None
    signature_valid = False
    if entry.content_signature is not None and entry.signing_nonce is not None:
        try:
            signature_valid = verify_signing_input(
                parse_public_key(author.public_key),
                entry.content_hash,
                entry.signing_nonce,
                decode_signature(entry.content_signature),
            )
        except (InvalidPublicKey, InvalidSignatureEncoding):
            signature_valid = False
    return EntryVerification(
        signed=signed,
        hash_matches=hash_matches,
        signature_valid=signature_valid,
        valid=signed and hash_matches and signature_valid,
        content_hash=entry.content_hash,
        agent_fingerprint=author.fingerprint if signed else None,
    )


# --- vectors ------------------------------------------------------------------------------


async def fill_embedding(
    sessionmaker: async_sessionmaker[AsyncSession], embedder: Embedder, entry_id: UUID
) -> bool:
    """Give an entry the current model's vector; True when it has one afterwards.

    Reads, embeds and writes in separate short steps so no connection waits on the
    model. The write only lands if the content is still what was embedded. Raises
    ``EmbeddingUnavailable`` while the model is down (the workflow step retries).
    """
    async with sessionmaker.begin() as session:
        entry = await EntryRepository(session).get_without_vector(entry_id)
        if entry is None:
            return False  # deleted meanwhile: nothing to fill
        if entry.embedding_model == embedder.model_id:
            return True
        text = passage_text(entry.title, entry.content, entry.tags)
        content_hash = entry.content_hash
    [vector] = await embedder.embed_passages([text])
    async with sessionmaker.begin() as session:
        return await EntryRepository(session).set_embedding(
            entry_id, vector=vector, model_id=embedder.model_id, content_hash=content_hash
        )


async def reembed_stale(
    sessionmaker: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-embed every entry whose vector is missing or from another model, one commit per batch.

    ``progress(done, total)`` is called after each batch. Returns how many were re-embedded.
    """
    async with sessionmaker.begin() as session:
        total = await EntryRepository(session).count_stale_embeddings(embedder.model_id)
    done = 0
    after: UUID | None = None
    while True:
        async with sessionmaker.begin() as session:
            batch = await EntryRepository(session).stale_embeddings(
                embedder.model_id, after=after, limit=batch_size
            )
            rows = [
                (entry.id, entry.content_hash, passage_text(entry.title, entry.content, entry.tags))
                for entry in batch
            ]
        if not rows:
            return done
        vectors = await embedder.embed_passages([text for _, _, text in rows])
        async with sessionmaker.begin() as session:
            repository = EntryRepository(session)
            for (entry_id, content_hash, _), vector in zip(rows, vectors, strict=True):
                await repository.set_embedding(
                    entry_id, vector=vector, model_id=embedder.model_id, content_hash=content_hash
                )
        done += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress(done, total)
