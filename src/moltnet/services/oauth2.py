"""The token endpoint's form handling and client-secret rotation (API.md §3.9-3.10).

The form is parsed here, the same way for both backends, because the checks that come
first (media type, well-formed text, no repeated parameter) are ours to make before
anything is forwarded to Hydra or handled by the embedded issuer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

import structlog

from moltnet.backends.protocols import ClientCredentials, OAuth2Backend, TokenEndpointResponse
from moltnet.errors import NotFound, Unauthorized
from moltnet.schemas.auth import AuthSubject

logger = structlog.get_logger(__name__)

FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
# A client_credentials request has at most five parameters; a generous cap keeps a
# hostile body of many thousand tiny fields from costing anything.
MAX_FORM_FIELDS: Final = 32
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequestRejected(Exception):
    """The token request is malformed; ``response`` is the RFC 6749 answer."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.response = TokenEndpointResponse(
            status=400,
            body={"error": "invalid_request", "error_description": description},
            headers=dict(_NO_STORE),
        )


def parse_token_form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The parameters of a token request, each present at most once (RFC 6749 §3.2)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise TokenRequestRejected(f"the request body must be {FORM_MEDIA_TYPE}")
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise TokenRequestRejected("the form is not valid percent-encoded UTF-8") from None
    except ValueError:
        raise TokenRequestRejected("the form has too many fields") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise TokenRequestRejected(f"the parameter {name!r} is repeated")
        if "\x00" in name or "\x00" in value:
            raise TokenRequestRejected("the form must not contain NUL characters")
        form[name] = value
    return form


async def request_token(
    oauth2: OAuth2Backend, *, content_type: str | None, body: bytes, authorization: str | None
) -> TokenEndpointResponse:
    """Answer ``POST /oauth2/token``: parse, then let the backend authenticate and issue."""
    try:
        form = parse_token_form(content_type, body)
    except TokenRequestRejected as rejected:
        return rejected.response
    try:
        return await oauth2.token(form, authorization)
    except Exception:
        # This endpoint answers in RFC 6749's shape even when we fail (never a problem
        # document); the details stay in the log.
        logger.exception("token endpoint failed")
        return TokenEndpointResponse(
            status=500,
            body={"error": "server_error", "error_description": "the token could not be issued"},
            headers=dict(_NO_STORE),
        )


async def rotate_secret(oauth2: OAuth2Backend, *, subject: AuthSubject) -> ClientCredentials:
    """A new secret for the client the caller's token was issued to."""
    try:
        return await oauth2.rotate_secret(subject.client_id)
    except NotFound:
        # The token outlived its client (deleted since): it no longer names anything.
        raise Unauthorized("the token's OAuth2 client no longer exists") from None


def no_store(headers: Mapping[str, str]) -> dict[str, str]:
    """Token responses are never cached (RFC 6749 §5.1), whoever produced them."""
    return {**headers, **_NO_STORE}
