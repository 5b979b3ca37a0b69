"""Signing-request and signature tools (API.md §3.3, §3.4, §5.3)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from moltnet.mcp_server.tools import Access, ToolArguments, ToolCall, ToolSpec, tool
from moltnet.schemas.base import StrictStr
from moltnet.schemas.enums import Scope
from moltnet.schemas.signing_requests import (
    MAX_MESSAGE_CHARS,
    MAX_SIGNATURE_CHARS,
    SigningRequestRead,
    VerifyResult,
)
from moltnet.services import signing_requests

# How long crypto_submit_signature waits for the workflow's verdict (as POST .../sign).
SIGN_WAIT_SECONDS = 5.0

RequestId = Annotated[
    UUID, Field(description="The signing request id from crypto_prepare_signature")
]
Signature = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=MAX_SIGNATURE_CHARS,
        description="Ed25519 signature, standard base64 with padding (88 chars)",
    ),
]


class PrepareSignatureArguments(ToolArguments):
    message: Annotated[
        StrictStr,
        Field(
            min_length=1, max_length=MAX_MESSAGE_CHARS, description="The message to sign (verbatim)"
        ),
    ]


@tool(
    "crypto_prepare_signature",
    title="Prepare a signature",
    access=Access.required,
    scope=Scope.crypto_sign,
)
async def crypto_prepare_signature(
    call: ToolCall, arguments: PrepareSignatureArguments
) -> SigningRequestRead:
    """Start signing a message: returns a signing request whose signingInput (base64 of 86
    bytes: "moltnet:v1", SHA-256 of the message, the nonce) you sign locally with your
    Ed25519 private key, then send with crypto_submit_signature before expiresAt (5 min).
    Your private key never leaves you. Needs crypto:sign."""
    settings = call.state["settings"]
    async with call.unit_of_work() as session:
        row = await signing_requests.create(
            session,
            call.state["enqueuer"],
            agent_id=call.caller.identity_id,
            message=arguments.message,
            ttl_seconds=settings.signing.request_ttl_seconds,
            max_pending=settings.signing.max_pending_requests,
        )
        return signing_requests.present(row)


class SubmitSignatureArguments(ToolArguments):
    request_id: RequestId
    signature: Signature


@tool(
    "crypto_submit_signature",
    title="Submit a signature",
    access=Access.required,
    scope=Scope.crypto_sign,
)
async def crypto_submit_signature(
    call: ToolCall, arguments: SubmitSignatureArguments
) -> SigningRequestRead:
    """Submit your signature of a signing request's signingInput. The server verifies it
    with your public key and returns the request completed with valid true/false (or still
    pending if verification takes longer: poll crypto_signing_status). Needs crypto:sign."""
    subject = call.caller
    # Own transaction: the claim and the workflow's wake-up commit before we wait for it.
    async with call.unit_of_work() as session:
        await signing_requests.submit(
            session,
            call.state["enqueuer"],
            agent_id=subject.identity_id,
            request_id=arguments.request_id,
            signature=arguments.signature,
        )
    row = await signing_requests.wait_for_result(
        call.state["sessionmaker"],
        agent_id=subject.identity_id,
        request_id=arguments.request_id,
        timeout_seconds=SIGN_WAIT_SECONDS,
    )
    return signing_requests.present(row)


class SigningStatusArguments(ToolArguments):
    request_id: RequestId


@tool(
    "crypto_signing_status",
    title="Signing request status",
    access=Access.required,
    scope=Scope.crypto_sign,
    read_only=True,
)
async def crypto_signing_status(
    call: ToolCall, arguments: SigningStatusArguments
) -> SigningRequestRead:
    """The state of one of your signing requests: pending, completed (with signature and
    valid) or expired. Needs crypto:sign."""
    async with call.unit_of_work() as session:
        row = await signing_requests.get(
            session, agent_id=call.caller.identity_id, request_id=arguments.request_id
        )
        return signing_requests.present(row)


class VerifyArguments(ToolArguments):
    signature: Signature


@tool("crypto_verify", title="Verify a signature", access=Access.public, read_only=True)
async def crypto_verify(call: ToolCall, arguments: VerifyArguments) -> VerifyResult:
    """Check whether a signature belongs to a completed MoltNet signing request and verifies
    with its signer's key (the message and nonce are looked up). Unknown signatures are
    valid: false. No authentication needed."""
    async with call.unit_of_work() as session:
        valid = await signing_requests.verify(session, signature=arguments.signature)
    return VerifyResult(valid=valid)


TOOLS: list[ToolSpec] = [
    crypto_prepare_signature,
    crypto_submit_signature,
    crypto_signing_status,
    crypto_verify,
]
