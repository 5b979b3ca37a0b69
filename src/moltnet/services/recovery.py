"""Key-based recovery: challenge → signed challenge → recovery code → new client secret.

Order of checks in ``verify`` (API.md §3.9): the challenge itself (format, HMAC, key
binding, age), then the nonce is recorded in its own committed transaction (so a
challenge burns on first use, whatever happens next), then the agent and signature
(one identical answer for an unknown key and a bad signature), then the identity
backend. Only the SHA-256 of a recovery code is stored.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends.protocols import ClientCredentials, IdentityBackend, OAuth2Backend
from moltnet.crypto import (
    CHALLENGE_TTL_MS,
    InvalidChallengeError,
    InvalidPublicKey,
    InvalidSignatureEncoding,
    decode_signature,
    issue_challenge,
    parse_public_key,
    verify_challenge,
    verify_signature,
)
from moltnet.db.repositories.agents import AgentRepository
from moltnet.db.repositories.recovery import RecoveryRepository
from moltnet.errors import (
    InvalidChallenge,
    InvalidRecoveryCode,
    InvalidSignature,
    ValidationFailed,
)
from moltnet.schemas.enums import ALL_SCOPES
from moltnet.schemas.recovery import RecoveryChallenge, RecoveryGrantRead

SIGNATURE_REJECTED: Final = "the signature does not verify for this public key"
CHALLENGE_REUSED: Final = "the challenge was already used"
CODE_REJECTED: Final = "the recovery code is unknown, already used or expired"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def issue(*, public_key: str, secret: bytes) -> RecoveryChallenge:
    """A fresh challenge; answered alike for known and unknown keys (no enumeration)."""
    try:
        challenge, mac = issue_challenge(public_key, secret, _now_ms())
    except InvalidPublicKey as error:
        raise ValidationFailed(str(error), field="body.publicKey") from None
    return RecoveryChallenge(challenge=challenge, hmac=mac)


async def verify(
    sessionmaker: async_sessionmaker[AsyncSession],
    identity: IdentityBackend,
    *,
    challenge: str,
    hmac_hex: str,
    signature: str,
    public_key: str,
    secret: bytes,
    code_ttl_seconds: int,
) -> RecoveryGrantRead:
    try:
        parsed = verify_challenge(challenge, hmac_hex, public_key, secret, _now_ms())
    except InvalidChallengeError as error:
        raise InvalidChallenge(str(error)) from None

    nonce_expires = datetime.fromtimestamp((parsed.issued_at_ms + CHALLENGE_TTL_MS) / 1000, tz=UTC)
    async with sessionmaker.begin() as session:  # committed now: a challenge is single use
        recorded = await RecoveryRepository(session).record_nonce(
            parsed.nonce, expires_at=nonce_expires
        )
    if not recorded:
        raise InvalidChallenge(CHALLENGE_REUSED)

    async with sessionmaker.begin() as session:
        try:
            key = parse_public_key(public_key)
            raw_signature = decode_signature(signature)
        except (InvalidPublicKey, InvalidSignatureEncoding):
            raise InvalidSignature(SIGNATURE_REJECTED) from None
        agent = await AgentRepository(session).get_by_fingerprint(key.fingerprint)
        valid = verify_signature(key, challenge.encode("utf-8"), raw_signature)
        if agent is None or agent.public_key != key.text or not valid:
            raise InvalidSignature(SIGNATURE_REJECTED)
        grant = await identity.create_recovery_code(agent.identity_id, ttl_seconds=code_ttl_seconds)
        await RecoveryRepository(session).add_code(
            code_hash=hash_code(grant.code),
            identity_id=agent.identity_id,
            expires_at=grant.expires_at,
        )
    return RecoveryGrantRead(
        recovery_code=grant.code, recovery_flow_url=grant.flow_url, expires_at=grant.expires_at
    )


async def complete(session: AsyncSession, oauth2: OAuth2Backend, *, code: str) -> ClientCredentials:
    """Spend a recovery code on a new client secret (or a new client, if none exists).

    The code is marked used in the caller's transaction: if the OAuth2 backend fails,
    the rollback leaves the code usable for another attempt.
    """
    now = datetime.now(UTC)
    identity_id = await RecoveryRepository(session).use_code(hash_code(code), now=now)
    if identity_id is None:
        raise InvalidRecoveryCode(CODE_REJECTED)
    agent = await AgentRepository(session).get(identity_id)
    if agent is None:  # the agent was removed after the code was issued (rows cascade)
        raise InvalidRecoveryCode(CODE_REJECTED)
    client = await oauth2.find_client_for_identity(identity_id)
    if client is not None:
        return await oauth2.rotate_secret(client.client_id)
    return await oauth2.create_client(
        identity_id=identity_id,
        public_key=agent.public_key,
        fingerprint=agent.fingerprint,
        scopes=ALL_SCOPES,
    )


async def purge_expired(session: AsyncSession) -> tuple[int, int]:
    """Delete expired used nonces and expired recovery codes; (nonces, codes)."""
    now = datetime.now(UTC)
    repository = RecoveryRepository(session)
    return (
        await repository.delete_expired_nonces(now=now),
        await repository.delete_expired_codes(now=now),
    )
