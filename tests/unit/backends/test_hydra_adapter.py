"""``HydraOAuth2Backend`` against Hydra's HTTP contract, with Hydra simulated by respx.

Request and response bodies follow Ory Hydra's OpenAPI (``OAuth2Client``,
``IntrospectedOAuth2Token``, RFC 6749 token answers, ``genericError``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs
from uuid import UUID

import httpx
import pytest
import respx

from moltnet.backends.ory.hydra import HydraOAuth2Backend
from moltnet.errors import NotFound, UpstreamError
from moltnet.schemas.enums import ALL_SCOPES

ADMIN = "http://hydra-admin.test:4445"
PUBLIC = "http://hydra-public.test:4444"
IDENTITY_ID = UUID("5f0c3f5e-8c4a-4e44-9d4b-0f7f3b9c2a11")
PUBLIC_KEY = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
FINGERPRINT = "A1B2-C3D4-E5F6-0718"
CLIENT_ID = "c6f1d0f4-7a43-4c1e-9a0e-3b7f5f1f0a11"
UPSTREAM_SECRET_TEXT = "internal stack trace with db password hunter2"


def hydra_client(**overrides: object) -> dict[str, object]:
    """An ``OAuth2Client`` as Hydra v2 answers it."""
    document: dict[str, object] = {
        "client_id": CLIENT_ID,
        "client_name": f"moltnet-agent-{FINGERPRINT}",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "scope": " ".join(sorted(ALL_SCOPES)),
        "owner": str(IDENTITY_ID),
        "metadata": {
            "identity_id": str(IDENTITY_ID),
            "public_key": PUBLIC_KEY,
            "fingerprint": FINGERPRINT,
        },
        "token_endpoint_auth_method": "client_secret_post",
        "audience": [],
        "redirect_uris": [],
        "skip_consent": False,
        "subject_type": "public",
        "created_at": "2026-11-22T14:30:00Z",
        "updated_at": "2026-11-22T14:30:00Z",
        "client_secret_expires_at": 0,
    }
    document.update(overrides)
    return document


def generic_error(status: int) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"code": status, "status": "error", "message": UPSTREAM_SECRET_TEXT}},
    )


@pytest.fixture
def hydra() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def backend() -> AsyncIterator[HydraOAuth2Backend]:
    async with HydraOAuth2Backend(ADMIN, PUBLIC, timeout=1.0) as oauth2:
        yield oauth2


def form_of(request: httpx.Request) -> dict[str, str]:
    parsed = parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    return {key: values[0] for key, values in parsed.items()}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- clients ----------------------------------------------------------------------------


async def test_create_client_posts_a_client_credentials_client(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.post(f"{ADMIN}/admin/clients").respond(
        201, json=hydra_client(client_secret="s3cret-from-hydra")
    )
    credentials = await backend.create_client(
        identity_id=IDENTITY_ID, public_key=PUBLIC_KEY, fingerprint=FINGERPRINT, scopes=ALL_SCOPES
    )
    assert credentials.client_id == CLIENT_ID
    assert credentials.client_secret == "s3cret-from-hydra"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "client_name": f"moltnet-agent-{FINGERPRINT}",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": " ".join(sorted(ALL_SCOPES)),
        "owner": str(IDENTITY_ID),
        "metadata": {
            "identity_id": str(IDENTITY_ID),
            "public_key": PUBLIC_KEY,
            "fingerprint": FINGERPRINT,
        },
    }


async def test_create_client_can_use_basic_authentication(hydra: respx.MockRouter) -> None:
    route = hydra.post(f"{ADMIN}/admin/clients").respond(
        201, json=hydra_client(client_secret="x", token_endpoint_auth_method="client_secret_basic")
    )
    async with HydraOAuth2Backend(ADMIN, PUBLIC, auth_method="client_secret_basic") as oauth2:
        await oauth2.create_client(
            identity_id=IDENTITY_ID, public_key=PUBLIC_KEY, fingerprint=FINGERPRINT, scopes=["a"]
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent["token_endpoint_auth_method"] == "client_secret_basic"


async def test_create_client_without_secret_in_answer_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.post(f"{ADMIN}/admin/clients").respond(201, json=hydra_client())
    with pytest.raises(UpstreamError):
        await backend.create_client(
            identity_id=IDENTITY_ID, public_key=PUBLIC_KEY, fingerprint=FINGERPRINT, scopes=["a"]
        )


@pytest.mark.parametrize("status", [400, 409, 500, 503])
async def test_create_client_failure_is_upstream_error_without_the_body(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend, status: int
) -> None:
    hydra.post(f"{ADMIN}/admin/clients").mock(return_value=generic_error(status))
    with pytest.raises(UpstreamError) as caught:
        await backend.create_client(
            identity_id=IDENTITY_ID, public_key=PUBLIC_KEY, fingerprint=FINGERPRINT, scopes=["a"]
        )
    assert caught.value.status == 502
    assert "hunter2" not in str(caught.value.detail)
    assert str(status) in str(caught.value.detail)


async def test_admin_api_key_is_sent_as_bearer(hydra: respx.MockRouter) -> None:
    route = hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(200, json=hydra_client())
    async with HydraOAuth2Backend(ADMIN, PUBLIC, api_key="ory_pat_abc") as oauth2:
        await oauth2.get_client(CLIENT_ID)
    assert route.calls.last.request.headers["authorization"] == "Bearer ory_pat_abc"


async def test_rotate_secret_patches_client_secret(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.patch(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(
        200, json=hydra_client(client_secret="echoed")
    )
    credentials = await backend.rotate_secret(CLIENT_ID)
    patch = json.loads(route.calls.last.request.content)
    assert patch == [
        {"op": "replace", "path": "/client_secret", "value": credentials.client_secret}
    ]
    assert credentials.client_id == CLIENT_ID
    assert len(credentials.client_secret) >= 43
    assert route.calls.last.request.headers["content-type"] == "application/json"


async def test_rotate_secret_of_unknown_client_is_not_found(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.patch(f"{ADMIN}/admin/clients/nope").mock(return_value=generic_error(404))
    with pytest.raises(NotFound):
        await backend.rotate_secret("nope")


async def test_rotate_secrets_differ(hydra: respx.MockRouter, backend: HydraOAuth2Backend) -> None:
    hydra.patch(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(200, json=hydra_client())
    first = await backend.rotate_secret(CLIENT_ID)
    second = await backend.rotate_secret(CLIENT_ID)
    assert first.client_secret != second.client_secret


@pytest.mark.parametrize("status", [204, 404])
async def test_delete_client_is_idempotent(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend, status: int
) -> None:
    route = hydra.delete(f"{ADMIN}/admin/clients/{CLIENT_ID}").mock(
        return_value=httpx.Response(status) if status == 204 else generic_error(404)
    )
    await backend.delete_client(CLIENT_ID)
    assert route.called


async def test_delete_client_failure_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.delete(f"{ADMIN}/admin/clients/{CLIENT_ID}").mock(return_value=generic_error(500))
    with pytest.raises(UpstreamError):
        await backend.delete_client(CLIENT_ID)


async def test_client_id_is_escaped_in_the_path(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.get(f"{ADMIN}/admin/clients/a%2F..%2Fb%3Fx").mock(return_value=generic_error(404))
    assert await backend.get_client("a/../b?x") is None
    assert route.called


async def test_get_client_reads_metadata(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(200, json=hydra_client())
    info = await backend.get_client(CLIENT_ID)
    assert info is not None
    assert info.client_id == CLIENT_ID
    assert info.identity_id == IDENTITY_ID
    assert info.scopes == frozenset(ALL_SCOPES)
    assert info.metadata["fingerprint"] == FINGERPRINT


async def test_get_client_falls_back_to_owner(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(200, json=hydra_client(metadata=None))
    info = await backend.get_client(CLIENT_ID)
    assert info is not None
    assert info.identity_id == IDENTITY_ID


async def test_get_unknown_client_is_none(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").mock(return_value=generic_error(404))
    assert await backend.get_client(CLIENT_ID) is None


async def test_get_client_with_unreadable_answer_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").respond(200, text="<html>proxy</html>")
    with pytest.raises(UpstreamError):
        await backend.get_client(CLIENT_ID)


async def test_find_client_for_identity_filters_by_owner(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.get(f"{ADMIN}/admin/clients").respond(200, json=[hydra_client()])
    info = await backend.find_client_for_identity(IDENTITY_ID)
    assert info is not None
    assert info.client_id == CLIENT_ID
    assert route.calls.last.request.url.params["owner"] == str(IDENTITY_ID)


async def test_find_client_for_identity_without_clients_is_none(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients").respond(200, json=[])
    assert await backend.find_client_for_identity(IDENTITY_ID) is None


async def test_unreachable_admin_api_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(UpstreamError) as caught:
        await backend.get_client(CLIENT_ID)
    assert "unreachable" in str(caught.value.detail)


async def test_admin_timeout_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/admin/clients/{CLIENT_ID}").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UpstreamError):
        await backend.get_client(CLIENT_ID)


# --- token endpoint -------------------------------------------------------------------------


async def test_token_forwards_the_form_and_passes_the_answer_through(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    answer = {
        "access_token": "ory_at_abc.def",
        "expires_in": 3599,
        "scope": "diary:read",
        "token_type": "bearer",
    }
    route = hydra.post(f"{PUBLIC}/oauth2/token").respond(200, json=answer)
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": "s",
        "scope": "diary:read",
    }
    response = await backend.token(form, None)
    assert response.status == 200
    assert response.body == answer
    assert response.headers["Cache-Control"] == "no-store"
    request = route.calls.last.request
    assert form_of(request) == form
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    ("status", "error", "headers"),
    [
        (401, "invalid_client", {"WWW-Authenticate": 'Basic realm="hydra"'}),
        (400, "invalid_scope", {}),
        (400, "unsupported_grant_type", {}),
        (429, "temporarily_unavailable", {"Retry-After": "30"}),
    ],
)
async def test_token_errors_pass_through(
    hydra: respx.MockRouter,
    backend: HydraOAuth2Backend,
    status: int,
    error: str,
    headers: dict[str, str],
) -> None:
    body = {"error": error, "error_description": "as Hydra words it"}
    hydra.post(f"{PUBLIC}/oauth2/token").respond(
        status, json=body, headers={**headers, "X-Internal": "dropped"}
    )
    response = await backend.token({"grant_type": "client_credentials"}, None)
    assert response.status == status
    assert response.body == body
    lowered = {key.lower(): value for key, value in response.headers.items()}
    for key, value in headers.items():
        assert lowered[key.lower()] == value
    assert "x-internal" not in lowered


async def test_basic_credentials_move_into_the_form_for_post_clients(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.post(f"{PUBLIC}/oauth2/token").respond(200, json={"access_token": "t"})
    await backend.token({"grant_type": "client_credentials"}, basic(CLIENT_ID, "s%2B"))
    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert form_of(request) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": "s+",
    }


async def test_malformed_basic_is_forwarded_for_hydra_to_refuse(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    route = hydra.post(f"{PUBLIC}/oauth2/token").respond(
        401, json={"error": "invalid_client", "error_description": "bad"}
    )
    response = await backend.token({"grant_type": "client_credentials"}, "Basic !!!")
    assert response.status == 401
    assert route.calls.last.request.headers["authorization"] == "Basic !!!"


async def test_form_credentials_move_into_basic_for_basic_clients(
    hydra: respx.MockRouter,
) -> None:
    route = hydra.post(f"{PUBLIC}/oauth2/token").respond(200, json={"access_token": "t"})
    async with HydraOAuth2Backend(ADMIN, PUBLIC, auth_method="client_secret_basic") as oauth2:
        await oauth2.token(
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "a b"},
            None,
        )
    request = route.calls.last.request
    assert form_of(request) == {"grant_type": "client_credentials"}
    decoded = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
    assert decoded == f"{CLIENT_ID}:a+b"


async def test_unreachable_token_endpoint_is_server_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.post(f"{PUBLIC}/oauth2/token").mock(side_effect=httpx.ConnectError("refused"))
    response = await backend.token({"grant_type": "client_credentials"}, None)
    assert response.status == 502
    assert response.body["error"] == "server_error"


@pytest.mark.parametrize("content", ["<html>502 Bad Gateway</html>", "[1, 2]", ""])
async def test_unreadable_token_answer_is_server_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend, content: str
) -> None:
    hydra.post(f"{PUBLIC}/oauth2/token").respond(502, text=content)
    response = await backend.token({"grant_type": "client_credentials"}, None)
    assert response.status == 502
    assert response.body["error"] == "server_error"
    assert "Bad Gateway" not in str(response.body)


async def test_api_key_is_not_sent_to_the_public_api(hydra: respx.MockRouter) -> None:
    route = hydra.post(f"{PUBLIC}/oauth2/token").respond(200, json={"access_token": "t"})
    async with HydraOAuth2Backend(ADMIN, PUBLIC, api_key="ory_pat_abc") as oauth2:
        await oauth2.token({"grant_type": "client_credentials"}, None)
    assert "authorization" not in route.calls.last.request.headers


# --- introspection and health ------------------------------------------------------------


async def test_introspect_returns_an_active_tokens_claims(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    introspected = {
        "active": True,
        "client_id": CLIENT_ID,
        "sub": CLIENT_ID,
        "scope": "diary:read agent:profile",
        "exp": 1_900_000_000,
        "iat": 1_899_996_400,
        "iss": "https://hydra.example/",
        "token_type": "Bearer",
        "token_use": "access_token",
        "ext": {"moltnet:identity_id": str(IDENTITY_ID)},
    }
    route = hydra.post(f"{ADMIN}/admin/oauth2/introspect").respond(200, json=introspected)
    assert await backend.introspect("ory_at_abc") == introspected
    assert form_of(route.calls.last.request) == {"token": "ory_at_abc"}


async def test_introspect_inactive_token_is_none(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.post(f"{ADMIN}/admin/oauth2/introspect").respond(200, json={"active": False})
    assert await backend.introspect("ory_at_gone") is None


async def test_introspect_failure_is_upstream_error(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.post(f"{ADMIN}/admin/oauth2/introspect").mock(return_value=generic_error(500))
    with pytest.raises(UpstreamError):
        await backend.introspect("ory_at_abc")


async def test_ping_asks_the_admin_health_endpoint(
    hydra: respx.MockRouter, backend: HydraOAuth2Backend
) -> None:
    hydra.get(f"{ADMIN}/health/ready").respond(200, json={"status": "ok"})
    await backend.ping()
    hydra.get(f"{ADMIN}/health/ready").respond(503, json={"errors": {"database": "down"}})
    with pytest.raises(UpstreamError):
        await backend.ping()


def test_backend_kind_is_ory() -> None:
    assert HydraOAuth2Backend.kind == "ory"
