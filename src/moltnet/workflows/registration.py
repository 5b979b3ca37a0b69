"""``registration.register_agent``: identity → agent rows + voucher → OAuth2 client.

Every failure after the identity exists is compensated: the client, the rows and the
identity are deleted and the voucher stays unredeemed. The workflow's result is plain
data (an ``error`` slug, or the new agent's public facts), never an exception, so it
survives DBOS's serialisation unchanged; it never contains the client secret (see
``services/registration.py``).

Steps run at least once: each one is idempotent (the identity backend returns the
identity it already created for the key; ``persist`` is a no-op once the agent row
exists; the client step reuses the identity's client).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import structlog
from dbos import DBOS

from moltnet.backends.protocols import IdentityBackend, OAuth2Backend
from moltnet.crypto import parse_public_key
from moltnet.errors import Conflict, RegistrationFailed, UpstreamError
from moltnet.schemas.enums import ALL_SCOPES
from moltnet.services import registration
from moltnet.services.authz import Authz
from moltnet.workflows import context
from moltnet.workflows.enqueue import WorkflowName

logger = structlog.get_logger(__name__)

#: ``extras`` key of a test-only failure point: the name of the step to fail after its
#: side effect ("create_identity" fails before it, as a refusing backend would).
FAIL_AT = "registration_fail_at"


class InjectedFailure(RuntimeError):
    """Raised by a step named in ``extras[FAIL_AT]`` (tests only)."""


def _fail_if_asked(step: str) -> None:
    if context.current().extras.get(FAIL_AT) == step:
        raise InjectedFailure(f"injected failure in {step}")


def _identity() -> IdentityBackend:
    backend: IdentityBackend = context.current().extras["identity"]
    return backend


def _oauth2() -> OAuth2Backend:
    backend: OAuth2Backend = context.current().extras["oauth2"]
    return backend


@context.app_step(name="registration.check")
async def check(public_key: str, voucher_code: str) -> str | None:
    deps = context.current()
    try:
        async with deps.sessionmaker() as session:
            await registration.check(
                session, public_key=parse_public_key(public_key), voucher_code=voucher_code
            )
    except (Conflict, RegistrationFailed) as error:
        return error.slug
    return None


@context.app_step(name="registration.create_identity")
async def create_identity(public_key: str, voucher_code: str) -> str:
    _fail_if_asked("create_identity")
    identity_id = await _identity().create_identity(
        public_key=public_key, voucher_code=voucher_code
    )
    return str(identity_id)


@context.app_step(name="registration.persist_agent")
async def persist_agent(identity_id: str, public_key: str, voucher_code: str) -> str | None:
    deps = context.current()
    delay = float(deps.extras.get("registration_step_delay") or 0.0)
    if delay > 0:  # crash tests kill the server during this pause
        await asyncio.sleep(delay)
    try:
        async with deps.sessionmaker.begin() as session:
            await registration.persist(
                session,
                deps.enqueuer,
                identity_id=UUID(identity_id),
                public_key=parse_public_key(public_key),
                voucher_code=voucher_code,
            )
    except (Conflict, RegistrationFailed) as error:
        return error.slug  # rolled back: no row, voucher untouched
    _fail_if_asked("persist_agent")
    return None


@context.app_step(name="registration.create_client")
async def create_client(identity_id: str, public_key: str, fingerprint: str) -> str:
    oauth2 = _oauth2()
    existing = await oauth2.find_client_for_identity(UUID(identity_id))
    if existing is not None:  # a re-run after the client was created
        client_id = existing.client_id
    else:
        credentials = await oauth2.create_client(
            identity_id=UUID(identity_id),
            public_key=public_key,
            fingerprint=fingerprint,
            scopes=ALL_SCOPES,
        )
        client_id = credentials.client_id  # the secret is dropped: it must not reach DBOS
    _fail_if_asked("create_client")
    return client_id


# Compensation must happen even across a short backend outage: every part is idempotent,
# so it is retried (0.5 s, 1 s, 2 s, ... about a minute in all).
@context.app_step(
    name="registration.compensate",
    retries_allowed=True,
    interval_seconds=0.5,
    max_attempts=7,
    backoff_rate=2.0,
)
async def compensate(identity_id: str, voucher_code: str) -> None:
    deps = context.current()
    oauth2 = _oauth2()
    client = await oauth2.find_client_for_identity(UUID(identity_id))
    if client is not None:
        await oauth2.delete_client(client.client_id)
    async with deps.sessionmaker.begin() as session:
        await registration.remove(
            session, deps.enqueuer, identity_id=UUID(identity_id), voucher_code=voucher_code
        )
    # keto.register_agent writes Agent#self unconditionally: let it finish, then undo it,
    # so the tuple cannot reappear after this step removed it.
    self_workflow = registration.register_agent_workflow_id(UUID(identity_id))
    if await deps.enqueuer.exists(self_workflow):
        try:
            await deps.enqueuer.wait_result(self_workflow, timeout_seconds=60)
        except Exception as error:  # failed or slow: the tuple is removed regardless
            logger.warning("Agent#self grant did not finish", error=type(error).__name__)
        async with deps.sessionmaker() as session:
            authz = Authz(session, deps.extras["permissions"])
            await registration.revoke_agent_self(authz, identity_id=UUID(identity_id))
    await _identity().delete_identity(UUID(identity_id))


@DBOS.workflow(name=WorkflowName.registration_register_agent.name)
async def register_agent(public_key: str, voucher_code: str) -> dict[str, Any]:
    key = parse_public_key(public_key)
    refused = await check(public_key, voucher_code)
    if refused is not None:
        return {"error": refused}
    try:
        identity_id = await create_identity(public_key, voucher_code)
    except Exception as error:  # the backend refused or failed: nothing to undo
        logger.warning("identity creation failed", error=type(error).__name__)
        return {"error": UpstreamError.problem.slug}
    try:
        refused = await persist_agent(identity_id, public_key, voucher_code)
        if refused is None:
            client_id = await create_client(identity_id, public_key, key.fingerprint)
            return {
                "identityId": identity_id,
                "fingerprint": key.fingerprint,
                "publicKey": key.text,
                "clientId": client_id,
            }
    except Exception as error:
        logger.warning("registration failed; compensating", error=type(error).__name__)
        refused = UpstreamError.problem.slug
    await compensate(identity_id, voucher_code)
    return {"error": refused}
