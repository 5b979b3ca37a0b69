"""``POST /oauth2/token``, the discovery documents and ``POST /auth/rotate-secret``
(API.md §3.9-3.10), embedded OAuth2 mode, tier A."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager

from moltnet.config import BackendKind, OAuth2Settings, OrySettings, Settings
from moltnet.main import create_app
from moltnet.schemas.enums import ALL_SCOPES
from tests.fixtures.agents import Factories, RegisteredAgent
from tests.fixtures.app import http_client, make_settings

TOKEN = "/oauth2/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, client_secret: str) -> dict[str, str]:
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_form(
    client: httpx.AsyncClient, fields: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(TOKEN, data=fields, headers=headers)


async def post_raw(
    client: httpx.AsyncClient,
    body: bytes,
    content_type: str | None = FORM["Content-Type"],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    return await client.post(TOKEN, content=body, headers=sent)


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, *, basic_challenge: bool = False
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert set(body) == {"error", "error_description"}
    if basic_challenge:
        assert response.headers["www-authenticate"].startswith("Basic")
    else:
        assert "www-authenticate" not in response.headers


@pytest.fixture
async def agent(factories: Factories) -> RegisteredAgent:
    return await factories.registered_agent()


def grant(agent: RegisteredAgent, **extra: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", **agent.client_form, **extra}


# --- success ----------------------------------------------------------------------------


async def test_client_secret_post_issues_a_working_token(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(client, grant(agent))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"].split() == sorted(ALL_SCOPES)

    whoami = await client.get("/agents/whoami", headers=bearer(body["access_token"]))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json() == {
        "identityId": str(agent.identity_id),
        "fingerprint": agent.fingerprint,
        "publicKey": agent.public_key,
        "clientId": agent.client_id,
        "scopes": sorted(ALL_SCOPES),
    }


async def test_client_secret_basic_issues_a_token(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(
        client,
        {"grant_type": "client_credentials"},
        headers=basic(agent.client_id, agent.client_secret),
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert (await client.get("/crypto/identity", headers=bearer(token))).status_code == 200


async def test_basic_may_repeat_the_same_client_id_in_the_form(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(
        client,
        {"grant_type": "client_credentials", "client_id": agent.client_id},
        headers=basic(agent.client_id, agent.client_secret),
    )
    assert response.status_code == 200, response.text


async def test_token_carries_the_agent_claims(
    client: httpx.AsyncClient, agent: RegisteredAgent, settings: Settings
) -> None:
    token = (await post_form(client, grant(agent))).json()["access_token"]
    header_part, payload_part, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_part + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_part + "=="))
    assert header["alg"] == "EdDSA"
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert claims["iss"] == settings.issuer
    assert claims["sub"] == claims["client_id"] == agent.client_id
    assert claims["moltnet:identity_id"] == str(agent.identity_id)
    assert claims["moltnet:public_key"] == agent.public_key
    assert claims["moltnet:fingerprint"] == agent.fingerprint
    assert claims["exp"] - claims["iat"] == 3600
    assert {"aud", "nbf", "jti"} <= set(claims)


async def test_scope_parameter_down_selects(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(client, grant(agent, scope="agent:profile diary:read"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "agent:profile diary:read"
    token = body["access_token"]
    whoami = await client.get("/agents/whoami", headers=bearer(token))
    assert whoami.json()["scopes"] == ["agent:profile", "diary:read"]
    directory = await client.get("/agents", headers=bearer(token))
    assert directory.status_code == 403
    assert directory.json()["requiredScopes"] == ["agent:directory"]


@pytest.mark.parametrize("scope", ["", "   "])
async def test_empty_scope_grants_every_client_scope(
    client: httpx.AsyncClient, agent: RegisteredAgent, scope: str
) -> None:
    response = await post_form(client, grant(agent, scope=scope))
    assert response.status_code == 200, response.text
    assert response.json()["scope"].split() == sorted(ALL_SCOPES)


async def test_client_with_fewer_scopes_gets_only_those(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    narrow = await factories.registered_agent(scopes=["diary:read"])
    response = await post_form(client, grant(narrow))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "diary:read"


# --- error paths, in the documented order -------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"grant_type": "client_credentials"}'),
        ("text/plain", b"grant_type=client_credentials"),
        ("multipart/form-data; boundary=x", b"--x--"),
        (None, b"grant_type=client_credentials"),
    ],
)
async def test_wrong_content_type_is_invalid_request(
    client: httpx.AsyncClient, content_type: str | None, body: bytes
) -> None:
    assert_oauth_error(await post_raw(client, body, content_type), 400, "invalid_request")


async def test_form_media_type_with_charset_is_accepted(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    body = httpx.QueryParams(grant(agent)).__str__().encode()
    response = await post_raw(client, body, "application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["grant_type", "client_id", "client_secret", "scope", "other"])
async def test_repeated_parameter_is_invalid_request(
    client: httpx.AsyncClient, agent: RegisteredAgent, name: str
) -> None:
    fields = grant(agent, scope="diary:read", other="1")
    body = "&".join(f"{key}={quote(value)}" for key, value in fields.items())
    body += f"&{name}={quote(fields[name])}"
    assert_oauth_error(await post_raw(client, body.encode()), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&client_id=%00&client_secret=x",
        b"grant_type=client_credentials%00&client_id=a&client_secret=x",
        b"grant_type=client_credentials&client_id=%ff%fe&client_secret=x",
        "grant_type=client_credentials&client_id=é&client_secret=x".encode(),
        b"grant_type=client_credentials&" + b"&".join(b"f%d=1" % i for i in range(100)),
    ],
    ids=["nul-value", "nul-grant", "bad-utf8", "raw-non-ascii", "too-many-fields"],
)
async def test_malformed_form_is_invalid_request(client: httpx.AsyncClient, body: bytes) -> None:
    assert_oauth_error(await post_raw(client, body), 400, "invalid_request")


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = b"grant_type=client_credentials&pad=" + b"a" * 1_048_600
    response = await post_raw(client, body)
    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"", b"scope=diary:read", b"grant_type="])
async def test_missing_grant_type_is_invalid_request(
    client: httpx.AsyncClient, body: bytes
) -> None:
    assert_oauth_error(await post_raw(client, body), 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "authorization_code",
        "refresh_token",
        "CLIENT_CREDENTIALS",
        "client_credentials ",
    ],
)
async def test_other_grant_types_are_unsupported(
    client: httpx.AsyncClient, agent: RegisteredAgent, grant_type: str
) -> None:
    response = await post_form(client, {**grant(agent), "grant_type": grant_type})
    assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_grant_type_is_checked_before_the_client(client: httpx.AsyncClient) -> None:
    response = await post_form(
        client, {"grant_type": "password", "client_id": "nobody", "client_secret": "x"}
    )
    assert_oauth_error(response, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"client_id": "only-an-id"},
        {"client_secret": "only-a-secret"},
        {"client_id": "", "client_secret": ""},
        {"client_id": "00000000-0000-0000-0000-000000000000", "client_secret": "x"},
        {"client_id": "x" * 5000, "client_secret": "x"},
        {"client_id": "'; DROP TABLE embedded.oauth2_clients; --", "client_secret": "x"},
        {"client_id": "\U0001f916", "client_secret": "x"},
    ],
)
async def test_missing_or_unknown_client_is_invalid_client(
    client: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    response = await post_form(client, {"grant_type": "client_credentials", **fields})
    assert_oauth_error(response, 401, "invalid_client")


async def test_wrong_secret_is_invalid_client(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(client, grant(agent, client_secret=agent.client_secret + "x"))
    assert_oauth_error(response, 401, "invalid_client")


async def test_another_clients_secret_is_invalid_client(
    client: httpx.AsyncClient, factories: Factories, agent: RegisteredAgent
) -> None:
    other = await factories.registered_agent()
    response = await post_form(client, grant(agent, client_secret=other.client_secret))
    assert_oauth_error(response, 401, "invalid_client")


async def test_wrong_secret_over_basic_is_invalid_client_with_challenge(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(
        client,
        {"grant_type": "client_credentials"},
        headers=basic(agent.client_id, "not-the-secret"),
    )
    assert_oauth_error(response, 401, "invalid_client", basic_challenge=True)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":secret-without-id").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic",
        "Bearer some-token",
    ],
)
async def test_malformed_basic_credentials_are_invalid_client(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await post_form(
        client, {"grant_type": "client_credentials"}, headers={"Authorization": authorization}
    )
    assert_oauth_error(response, 401, "invalid_client", basic_challenge=True)


async def test_two_authentication_methods_are_invalid_request(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(
        client, grant(agent), headers=basic(agent.client_id, agent.client_secret)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_basic_and_a_different_form_client_id_are_invalid_request(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(
        client,
        {"grant_type": "client_credentials", "client_id": "someone-else"},
        headers=basic(agent.client_id, agent.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "scope",
    ["admin", "diary:read admin", "diary:read\u00e9", "diary:read \x7f", "diary:*"],
)
async def test_scope_the_client_lacks_is_invalid_scope(
    client: httpx.AsyncClient, agent: RegisteredAgent, scope: str
) -> None:
    assert_oauth_error(await post_form(client, grant(agent, scope=scope)), 400, "invalid_scope")


async def test_narrow_client_asking_for_more_is_invalid_scope(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    narrow = await factories.registered_agent(scopes=["diary:read"])
    response = await post_form(client, grant(narrow, scope="diary:read crypto:sign"))
    assert_oauth_error(response, 400, "invalid_scope")


async def test_client_is_checked_before_the_scope(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    response = await post_form(client, grant(agent, client_secret="wrong", scope="admin"))
    assert_oauth_error(response, 401, "invalid_client")


async def test_token_endpoint_only_allows_post(client: httpx.AsyncClient) -> None:
    response = await client.get(TOKEN)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- secret rotation --------------------------------------------------------------------


async def test_rotated_secret_replaces_the_old_one_at_once(
    client: httpx.AsyncClient, agent: RegisteredAgent
) -> None:
    token = (await post_form(client, grant(agent))).json()["access_token"]
    response = await client.post("/auth/rotate-secret", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"clientId", "clientSecret"}
    assert body["clientId"] == agent.client_id
    assert body["clientSecret"] != agent.client_secret
    assert response.headers["cache-control"] == "no-store"

    assert_oauth_error(await post_form(client, grant(agent)), 401, "invalid_client")
    fresh = await post_form(client, grant(agent, client_secret=body["clientSecret"]))
    assert fresh.status_code == 200, fresh.text
    # Tokens issued before the rotation live until they expire (API.md §3.9).
    assert (await client.get("/agents/whoami", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("body", [b"{}", b""])
async def test_rotate_secret_accepts_no_body(
    client: httpx.AsyncClient, agent: RegisteredAgent, body: bytes
) -> None:
    response = await client.post(
        "/auth/rotate-secret",
        content=body,
        headers={**agent.auth_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"clientId": "x"}', 400), (b"[]", 400), (b"{", 400), (b"null", 400)],
)
async def test_rotate_secret_rejects_a_body(
    client: httpx.AsyncClient, agent: RegisteredAgent, body: bytes, status: int
) -> None:
    response = await client.post(
        "/auth/rotate-secret",
        content=body,
        headers={**agent.auth_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == "VALIDATION_FAILED"
    # The secret did not change.
    assert (await post_form(client, grant(agent))).status_code == 200


async def test_rotate_secret_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/rotate-secret", content=b"{bad json")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_rotate_secret_needs_agent_profile(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.registered_agent(token_scopes=["diary:read"])
    response = await client.post("/auth/rotate-secret", headers=agent.auth_headers)
    assert response.status_code == 403
    assert response.json()["requiredScopes"] == ["agent:profile"]


async def test_rotate_secret_for_a_vanished_client_is_401(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    agent = await factories.agent()  # a valid token whose client does not exist
    response = await client.post("/auth/rotate-secret", headers=agent.auth_headers)
    assert response.status_code == 401


# --- discovery documents ----------------------------------------------------------------


async def test_jwks_lists_public_keys_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["alg"] == "EdDSA"
        assert key["use"] == "sig"
        assert key["kid"]
        assert "d" not in key


async def test_openid_configuration_describes_the_issuer(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.json() == {
        "issuer": settings.issuer,
        "token_endpoint": "http://testserver/oauth2/token",
        "jwks_uri": "http://testserver/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": list(ALL_SCOPES),
    }


# --- Ory mode: Hydra unreachable ------------------------------------------------------------


@pytest.fixture(scope="module")
async def ory_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    ory_settings = make_settings(
        settings.database.url.get_secret_value() if settings.database.url else "",
        settings.moltnet_home,
        oauth2=OAuth2Settings(backend=BackendKind.ory),
        ory=OrySettings(
            hydra_admin_url="http://127.0.0.1:9", hydra_public_url="http://127.0.0.1:9"
        ),
    )
    app = create_app(ory_settings, launch_workflows=False)
    async with (
        LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager,
        http_client(manager.app) as client,
    ):
        yield client


@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/.well-known/openid-configuration"])
async def test_discovery_documents_are_404_in_ory_mode(
    ory_client: httpx.AsyncClient, path: str
) -> None:
    response = await ory_client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


async def test_unreachable_hydra_is_server_error(ory_client: httpx.AsyncClient) -> None:
    response = await post_form(
        ory_client, {"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    )
    assert_oauth_error(response, 502, "server_error")


async def test_ory_mode_still_parses_the_form_first(ory_client: httpx.AsyncClient) -> None:
    response = await post_raw(
        ory_client, b'{"grant_type": "client_credentials"}', "application/json"
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_ory_mode_readiness_reports_the_oauth2_backend(
    ory_client: httpx.AsyncClient,
) -> None:
    response = await ory_client.get("/health/ready")
    component = response.json()["components"]["oauth2"]
    assert component["backend"] == "ory"
    assert component["status"] == "error"
