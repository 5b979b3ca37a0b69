"""``JwtAuthenticator`` for opaque tokens (introspection) with a fake OAuth2 backend."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
import respx

from moltnet.backends.embedded.tokens import (
    AccessTokenClaims,
    InvalidToken,
    SigningKeySet,
    mint_access_token,
)
from moltnet.config import Settings
from moltnet.errors import Unauthorized, UpstreamError
from moltnet.lifespan import build_authenticator
from moltnet.services.authentication import JwtAuthenticator
from tests.fakes.oauth2 import FakeOAuth2Backend

IDENTITY_ID = UUID("5f0c3f5e-8c4a-4e44-9d4b-0f7f3b9c2a11")
PUBLIC_KEY = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
FINGERPRINT = "A1B2-C3D4-E5F6-0718"


class RefusingVerifier:
    """Opaque tokens must never reach the JWT verifier."""

    async def verify(self, token: str) -> AccessTokenClaims:
        raise AssertionError(f"verifier called for {token!r}")


def active(**overrides: object) -> dict[str, object]:
    result: dict[str, object] = {
        "active": True,
        "client_id": "client-1",
        "scope": "diary:read agent:profile",
        "token_use": "access_token",
        "ext": {
            "moltnet:identity_id": str(IDENTITY_ID),
            "moltnet:public_key": PUBLIC_KEY,
            "moltnet:fingerprint": FINGERPRINT,
        },
    }
    result.update(overrides)
    return result


async def test_opaque_token_is_introspected() -> None:
    backend = FakeOAuth2Backend({"ory_at_good": active()})
    subject = await JwtAuthenticator(RefusingVerifier(), oauth2=backend).authenticate("ory_at_good")
    assert subject.identity_id == IDENTITY_ID
    assert subject.public_key == PUBLIC_KEY
    assert subject.fingerprint == FINGERPRINT
    assert subject.client_id == "client-1"
    assert subject.scopes == frozenset({"diary:read", "agent:profile"})


async def test_top_level_claims_win_over_ext() -> None:
    result = active(**{"moltnet:fingerprint": "FFFF-FFFF-FFFF-FFFF"})
    backend = FakeOAuth2Backend({"ory_at_top": result})
    subject = await JwtAuthenticator(RefusingVerifier(), oauth2=backend).authenticate("ory_at_top")
    assert subject.fingerprint == "FFFF-FFFF-FFFF-FFFF"


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"active": False},
        active(active="true"),
        active(token_use="refresh_token"),
        active(client_id=None),
        active(scope=["diary:read"]),
        active(ext={"moltnet:identity_id": "not-a-uuid"}),
        active(ext={"moltnet:identity_id": 42}),
    ],
)
async def test_unusable_introspection_is_401(result: Mapping[str, object] | None) -> None:
    backend = FakeOAuth2Backend({"ory_at_x": result} if result is not None else {})
    with pytest.raises(Unauthorized):
        await JwtAuthenticator(RefusingVerifier(), oauth2=backend).authenticate("ory_at_x")


async def test_active_token_without_identity_and_unknown_client_is_401() -> None:
    backend = FakeOAuth2Backend({"ory_at_bare": active(ext=None)})
    with pytest.raises(Unauthorized):
        await JwtAuthenticator(RefusingVerifier(), oauth2=backend).authenticate("ory_at_bare")


@pytest.mark.parametrize("token", ["has space", "tab\t", "x" * 9000, "ünïcode", "a\x00b"])
async def test_malformed_opaque_tokens_are_not_sent_upstream(token: str) -> None:
    backend = FakeOAuth2Backend()
    with pytest.raises(InvalidToken):
        await JwtAuthenticator(RefusingVerifier(), oauth2=backend).authenticate(token)
    assert backend.asked == []


async def test_without_a_backend_opaque_tokens_are_401() -> None:
    with pytest.raises(Unauthorized):
        await JwtAuthenticator(RefusingVerifier()).authenticate("ory_at_good")


# --- Ory mode: JWTs verified against Hydra's JWKS ------------------------------------------

HYDRA_PUBLIC = "http://hydra-public.test:4444"
HYDRA_ISSUER = "https://hydra.example/"


def ory_settings() -> Settings:
    return Settings.model_validate(
        {
            "oauth2": {"backend": "ory", "issuer": HYDRA_ISSUER},
            "ory": {"hydra_public_url": HYDRA_PUBLIC},
        }
    )


def hydra_token(keys: SigningKeySet) -> str:
    token, _ = mint_access_token(
        keys,
        issuer=HYDRA_ISSUER,
        audience=[],
        client_id="client-1",
        scopes=["diary:read"],
        identity_id=IDENTITY_ID,
        public_key=PUBLIC_KEY,
        fingerprint=FINGERPRINT,
        ttl_seconds=600,
        now=datetime.now(UTC),
    )
    return token


async def test_ory_mode_verifies_jwts_with_hydras_jwks() -> None:
    hydra_keys = SigningKeySet.generate()
    ours = SigningKeySet.generate()
    with respx.mock(assert_all_mocked=True) as hydra:
        route = hydra.get(f"{HYDRA_PUBLIC}/.well-known/jwks.json").respond(
            200, json=hydra_keys.public_jwks()
        )
        authenticator = build_authenticator(ory_settings(), ours)
        subject = await authenticator.authenticate(hydra_token(hydra_keys))
        assert subject.identity_id == IDENTITY_ID
        assert subject.scopes == frozenset({"diary:read"})
        # A token signed with our own (embedded) key is not Hydra's: refused.
        with pytest.raises(Unauthorized):
            await authenticator.authenticate(hydra_token(ours))
        # One fetch, one refetch for the unknown kid; then the cool-down holds.
        assert route.call_count == 2
        with pytest.raises(Unauthorized):
            await authenticator.authenticate(hydra_token(ours))
        assert route.call_count == 2


async def test_ory_mode_unreachable_jwks_is_upstream_error() -> None:
    with respx.mock(assert_all_mocked=True) as hydra:
        hydra.get(f"{HYDRA_PUBLIC}/.well-known/jwks.json").mock(
            side_effect=httpx.ConnectError("refused")
        )
        authenticator = build_authenticator(ory_settings(), SigningKeySet.generate())
        with pytest.raises(UpstreamError):
            await authenticator.authenticate(hydra_token(SigningKeySet.generate()))
