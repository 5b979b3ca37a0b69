"""``signing.request_signature``: wait for the agent's signature, then verify or expire.

Enqueued by ``services.signing_requests.create`` in the creating transaction, with the
id ``signing:<requestId>``. The wait is DBOS ``recv`` with a durable deadline, so it
survives a restart: a recovered workflow resumes waiting, or, if ``expires_at`` passed
while the server was down, times out at once and expires the request.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dbos import DBOS

from moltnet.services import signing_requests
from moltnet.workflows import context
from moltnet.workflows.enqueue import WorkflowName


@context.app_step()
async def load_envelope(request_id: str) -> dict[str, Any] | None:
    # A step, so the remaining wait is computed once and replayed identically on recovery.
    async with context.current().sessionmaker.begin() as session:
        return await signing_requests.envelope(session, request_id=UUID(request_id))


@context.app_step()
async def finalize_request(request_id: str) -> dict[str, Any]:
    async with context.current().sessionmaker.begin() as session:
        return await signing_requests.finalize(session, request_id=UUID(request_id))


@DBOS.workflow(name=WorkflowName.signing_request_signature.name)
async def request_signature(request_id: str) -> dict[str, Any]:
    envelope = await load_envelope(request_id)
    if envelope is None:
        return {"status": "missing", "valid": None}
    await DBOS.set_event_async(signing_requests.ENVELOPE_EVENT, envelope)
    if envelope["status"] == "pending" and envelope["remainingSeconds"] > 0:
        # The message is only a wake-up: the claimed signature is read from the row, so a
        # claim that lands as the wait times out is still verified.
        await DBOS.recv_async(
            signing_requests.SIGNATURE_TOPIC, timeout_seconds=envelope["remainingSeconds"]
        )
    result = await finalize_request(request_id)
    await DBOS.set_event_async(signing_requests.RESULT_EVENT, result)
    return result
