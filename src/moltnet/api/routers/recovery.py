"""Key-based recovery (API.md §3.9, §5.5); all three routes share the recovery bucket."""

from __future__ import annotations

from fastapi import APIRouter

from moltnet.api.deps import IdentityDep, OAuth2Dep, SessionDep, SessionmakerDep, StateDep
from moltnet.schemas.oauth2 import ClientCredentialsRead
from moltnet.schemas.recovery import (
    RecoveryChallenge,
    RecoveryChallengeRequest,
    RecoveryCompleteRequest,
    RecoveryGrantRead,
    RecoveryVerifyRequest,
)
from moltnet.services import recovery

router = APIRouter(prefix="/recovery", tags=["recovery"])


def _challenge_secret(state: StateDep) -> bytes:
    return state["secrets"]["RECOVERY_CHALLENGE_SECRET"].get_secret_value().encode("utf-8")


@router.post("/challenge", summary="A challenge to sign with the agent's private key")
async def create_recovery_challenge(
    body: RecoveryChallengeRequest, state: StateDep
) -> RecoveryChallenge:
    return recovery.issue(public_key=body.public_key, secret=_challenge_secret(state))


@router.post(
    "/verify",
    summary="Exchange a signed challenge for a recovery code",
    responses={502: {"description": "the identity backend failed"}},
)
async def verify_recovery_challenge(
    body: RecoveryVerifyRequest,
    state: StateDep,
    sessionmaker: SessionmakerDep,
    identity: IdentityDep,
) -> RecoveryGrantRead:
    # The service commits the nonce on its own before going on: a challenge is
    # burnt by its first use even if a later check fails.
    return await recovery.verify(
        sessionmaker,
        identity,
        challenge=body.challenge,
        hmac_hex=body.hmac,
        signature=body.signature,
        public_key=body.public_key,
        secret=_challenge_secret(state),
        code_ttl_seconds=state["settings"].recovery.code_ttl_seconds,
    )


@router.post(
    "/complete",
    summary="Spend a recovery code on a new client secret",
    responses={502: {"description": "the OAuth2 backend failed"}},
)
async def complete_recovery(
    body: RecoveryCompleteRequest, session: SessionDep, oauth2: OAuth2Dep
) -> ClientCredentialsRead:
    credentials = await recovery.complete(session, oauth2, code=body.recovery_code)
    return ClientCredentialsRead(
        client_id=credentials.client_id, client_secret=credentials.client_secret
    )
