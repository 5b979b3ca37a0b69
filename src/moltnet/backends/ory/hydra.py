"""``OAuth2Backend`` over Ory Hydra (admin API 4445, public API 4444).

The models below mirror Hydra's OpenAPI (``OAuth2Client``, ``IntrospectedOAuth2Token``).
The HTTP plumbing is ``moltnet.backends.ory.http``.

* Clients: ``POST /admin/clients`` (Hydra generates id and secret), ``GET`` and
  ``DELETE /admin/clients/{id}``, ``GET /admin/clients?owner=`` (the owner is the
  identity id, which is how we find an agent's client), and a JSON Patch replacing
  ``/client_secret`` to rotate: Hydra hashes the new secret and the old one stops
  working at once.
* ``POST /oauth2/token`` is forwarded to the public API; Hydra's status, JSON body and
  the headers that matter pass through. Hydra enforces each client's one
  ``token_endpoint_auth_method``, so credentials sent the other way are moved to the
  configured place first: both ``client_secret_post`` and ``client_secret_basic`` work.
* Introspection: ``POST /admin/oauth2/introspect``.

Failures of admin calls are ``UpstreamError`` (502) with a short detail: Hydra's
bodies never reach the caller or the logs. The token endpoint instead answers an
unreachable Hydra with an RFC 6749 ``server_error`` (502).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import quote, quote_plus, unquote_plus
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from moltnet.backends.embedded.secrets import generate_client_secret
from moltnet.backends.ory.http import ErrorWording, OryAdapter, OryHttp, ory_client
from moltnet.backends.protocols import ClientCredentials, OAuth2ClientInfo, TokenEndpointResponse
from moltnet.errors import NotFound, UpstreamError

AuthMethod = Literal["client_secret_post", "client_secret_basic"]
GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"
# Headers of Hydra's token answer that mean something to the client.
_PASSED_HEADERS: Final = ("www-authenticate", "retry-after", "cache-control", "pragma")
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_WORDING: Final = ErrorWording.named("OAuth2 backend")


class HydraClient(BaseModel):
    """The members of Hydra's ``OAuth2Client`` we read; the rest is ignored."""

    model_config = ConfigDict(extra="ignore")
    client_id: str
    client_secret: str | None = None
    scope: str = ""
    grant_types: list[str] | None = None
    owner: str | None = None
    metadata: dict[str, Any] | None = None


def _client_info(client: HydraClient) -> OAuth2ClientInfo:
    metadata = {key: str(value) for key, value in (client.metadata or {}).items()}
    identity_id: UUID | None = None
    for candidate in (metadata.get("identity_id"), client.owner):
        if candidate:
            try:
                identity_id = UUID(candidate)
            except ValueError:
                continue
            break
    return OAuth2ClientInfo(
        client_id=client.client_id,
        scopes=frozenset(client.scope.split()),
        metadata=metadata,
        identity_id=identity_id,
    )


def _server_error(description: str) -> TokenEndpointResponse:
    return TokenEndpointResponse(
        status=502,
        body={"error": "server_error", "error_description": description},
        headers=dict(_NO_STORE),
    )


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    raw_id, separator, raw_secret = decoded.partition(":")
    if not separator:
        return None
    return unquote_plus(raw_id), unquote_plus(raw_secret)


def _basic_header(client_id: str, client_secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class HydraOAuth2Backend(OryAdapter):
    """Hydra as the OAuth2 backend; open it in the lifespan and ``aclose()`` it there.

    ``api_key`` (Ory Network) is sent as a bearer token to the admin API.
    """

    kind = "ory"

    def __init__(
        self,
        admin_url: str,
        public_url: str,
        *,
        auth_method: AuthMethod = "client_secret_post",
        api_key: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        admin = ory_client(admin_url, timeout=timeout, api_key=api_key)
        self._public = ory_client(public_url, timeout=timeout)
        super().__init__(admin, self._public)
        self._admin = OryHttp(admin, _WORDING)  # the token endpoint maps its own failures
        self._auth_method: AuthMethod = auth_method

    # --- client registry ---------------------------------------------------------

    async def create_client(
        self, *, identity_id: UUID, public_key: str, fingerprint: str, scopes: Sequence[str]
    ) -> ClientCredentials:
        body = {
            "client_name": f"moltnet-agent-{fingerprint}",
            "grant_types": [GRANT_CLIENT_CREDENTIALS],
            "response_types": [],
            "token_endpoint_auth_method": self._auth_method,
            "scope": " ".join(sorted(set(scopes))),
            "owner": str(identity_id),
            "metadata": {
                "identity_id": str(identity_id),
                "public_key": public_key,
                "fingerprint": fingerprint,
            },
        }
        response = await self._admin_call("POST", "/admin/clients", expected={201}, json=body)
        client = self._read_client(response)
        if not client.client_secret:
            raise UpstreamError("OAuth2 backend created a client without a secret")
        return ClientCredentials(client_id=client.client_id, client_secret=client.client_secret)

    async def rotate_secret(self, client_id: str) -> ClientCredentials:
        """A new secret chosen by us; raises ``NotFound`` when the client does not exist."""
        secret = generate_client_secret()
        patch = [{"op": "replace", "path": "/client_secret", "value": secret}]
        response = await self._admin_call(
            "PATCH", self._client_path(client_id), expected={200, 404}, json=patch
        )
        if response.status_code == 404:
            raise NotFound("oauth2 client not found")
        self._read_client(response)
        return ClientCredentials(client_id=client_id, client_secret=secret)

    async def delete_client(self, client_id: str) -> None:
        # 404: already gone, which is what the caller wants (idempotent).
        await self._admin_call("DELETE", self._client_path(client_id), expected={204, 404})

    async def get_client(self, client_id: str) -> OAuth2ClientInfo | None:
        if not client_id or "\x00" in client_id:
            return None
        response = await self._admin_call("GET", self._client_path(client_id), expected={200, 404})
        if response.status_code == 404:
            return None
        return _client_info(self._read_client(response))

    async def find_client_for_identity(self, identity_id: UUID) -> OAuth2ClientInfo | None:
        response = await self._admin_call(
            "GET",
            "/admin/clients",
            expected={200},
            params={"owner": str(identity_id), "page_size": "10"},
        )
        try:
            payload = response.json()
            clients = [HydraClient.model_validate(item) for item in payload]
        except (ValueError, TypeError, ValidationError):
            raise UpstreamError("OAuth2 backend sent an unreadable client list") from None
        return _client_info(clients[-1]) if clients else None

    # --- token endpoint ------------------------------------------------------------

    async def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> TokenEndpointResponse:
        data, headers = self._placed_credentials(dict(form), authorization)
        try:
            response = await self._public.post("/oauth2/token", data=data, headers=headers)
        except httpx.HTTPError:
            return _server_error("the authorization server is unreachable")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _server_error("the authorization server sent an unreadable answer")
        passed = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in _PASSED_HEADERS
        }
        return TokenEndpointResponse(
            status=response.status_code, body=body, headers={**passed, **_NO_STORE}
        )

    def _placed_credentials(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Move the client credentials to where Hydra expects them for our clients."""
        if self._auth_method == "client_secret_post":
            basic = _basic_credentials(authorization) if authorization else None
            if basic is not None and "client_secret" not in form:
                form["client_id"], form["client_secret"] = basic
                return form, {}
        elif authorization is None and "client_id" in form and "client_secret" in form:
            header = _basic_header(form.pop("client_id"), form.pop("client_secret"))
            return form, {"Authorization": header}
        return form, {"Authorization": authorization} if authorization else {}

    # --- introspection and health ----------------------------------------------------

    async def introspect(self, token: str) -> Mapping[str, object] | None:
        response = await self._admin_call(
            "POST", "/admin/oauth2/introspect", expected={200}, data={"token": token}
        )
        try:
            result = response.json()
        except ValueError:
            raise UpstreamError("OAuth2 backend sent an unreadable introspection") from None
        if not isinstance(result, dict) or result.get("active") is not True:
            return None
        return result

    async def ping(self) -> None:
        await self._admin_call("GET", "/health/ready", expected={200})

    # --- plumbing --------------------------------------------------------------------

    @staticmethod
    def _client_path(client_id: str) -> str:
        return "/admin/clients/" + quote(client_id, safe="")

    @staticmethod
    def _read_client(response: httpx.Response) -> HydraClient:
        try:
            return HydraClient.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamError("OAuth2 backend sent an unreadable client") from None

    async def _admin_call(
        self,
        method: str,
        path: str,
        *,
        expected: set[int],
        params: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        # Reported by the route template only: bodies (tokens, secrets) never are.
        route = "/admin/clients/{id}" if path.startswith("/admin/clients/") else path
        return await self._admin.request(
            method, path, expected=expected, route=route, params=params, json=json, data=data
        )
