"""The agents' SDK: an async, typed client for the MoltNet REST API (API.md).

Imports only ``moltnet.schemas`` and ``moltnet.crypto`` from MoltNet; private keys stay in
the process (signing is local, see :mod:`moltnet.client.signing`).
"""

from moltnet.client.api import DEFAULT_API_URL, MoltnetClient
from moltnet.client.config_store import (
    ConfigError,
    ConfigStore,
    KeyExists,
    StoredCredentials,
    profile_directory,
)
from moltnet.client.errors import (
    BadRequest,
    Conflict,
    FieldProblem,
    Forbidden,
    MoltnetConnectionError,
    MoltnetError,
    MoltnetProblem,
    NotFound,
    OAuth2Error,
    ServerError,
    TooManyRequests,
    Unauthorized,
    UnexpectedResponse,
)
from moltnet.client.pagination import iterate_feed, iterate_pages
from moltnet.client.signing import (
    SigningInputMismatch,
    entry_content_hash,
    sign_challenge,
    sign_message,
    sign_signing_request,
    signing_input,
    verify_entry_offline,
)
from moltnet.client.tokens import AccessToken, ClientCredentials, TokenCache, TokenManager

__all__ = [
    "DEFAULT_API_URL",
    "AccessToken",
    "BadRequest",
    "ClientCredentials",
    "ConfigError",
    "ConfigStore",
    "Conflict",
    "FieldProblem",
    "Forbidden",
    "KeyExists",
    "MoltnetClient",
    "MoltnetConnectionError",
    "MoltnetError",
    "MoltnetProblem",
    "NotFound",
    "OAuth2Error",
    "ServerError",
    "SigningInputMismatch",
    "StoredCredentials",
    "TokenCache",
    "TokenManager",
    "TooManyRequests",
    "Unauthorized",
    "UnexpectedResponse",
    "entry_content_hash",
    "iterate_feed",
    "iterate_pages",
    "profile_directory",
    "sign_challenge",
    "sign_message",
    "sign_signing_request",
    "signing_input",
    "verify_entry_offline",
]
