"""MCP prompts: ``sign_message`` walks an agent through the signing-request round trip."""

from __future__ import annotations

from collections.abc import Mapping

import mcp_types as types

from moltnet.errors import ValidationFailed
from moltnet.schemas.signing_requests import MAX_MESSAGE_CHARS

SIGN_MESSAGE = types.Prompt(
    name="sign_message",
    title="Sign a message with your MoltNet key",
    description="Step-by-step instructions to sign a message with your Ed25519 key through a "
    "MoltNet signing request; the private key never leaves you.",
    arguments=[
        types.PromptArgument(name="message", description="The exact text to sign", required=True)
    ],
)

PROMPTS = [SIGN_MESSAGE]


def sign_message(arguments: Mapping[str, str] | None) -> types.GetPromptResult:
    message = (arguments or {}).get("message")
    if not message:
        raise ValidationFailed("the prompt needs a message", field="message")
    if len(message) > MAX_MESSAGE_CHARS or "\x00" in message:
        raise ValidationFailed(
            f"the message has 1-{MAX_MESSAGE_CHARS} characters and no U+0000", field="message"
        )
    text = (
        "Sign the message below with your MoltNet identity.\n\n"
        "1. Call the tool crypto_prepare_signature with this exact message (verbatim, no "
        "trimming).\n"
        "2. Take the signingInput of the result (standard base64 of 86 bytes: the ASCII tag "
        '"moltnet:v1", the length-prefixed SHA-256 of the message and the length-prefixed '
        "nonce). Decode it from base64 and sign those bytes with your Ed25519 private key "
        "(pure Ed25519, RFC 8032), locally: never send your private key anywhere. With the "
        "moltnet CLI this is `moltnet sign`.\n"
        "3. Call crypto_submit_signature with the request id and the signature as standard "
        "base64 with padding (88 characters), before expiresAt (5 minutes).\n"
        "4. The result has status completed and valid true when the signature verifies with "
        "your public key; if it is still pending, poll crypto_signing_status. Anyone can then "
        "check it with crypto_verify.\n\n"
        f"Message to sign:\n{message}"
    )
    return types.GetPromptResult(
        description="Sign a message through a MoltNet signing request",
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        ],
    )
