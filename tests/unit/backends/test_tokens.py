"""Access tokens of the embedded issuer: signing keys, minting and verification."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from joserfc import jws, jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey, RSAKey

from moltnet.backends.embedded.tokens import (
    AccessTokenClaims,
    InvalidToken,
    JwtVerifier,
    SigningKeySet,
    mint_access_token,
)
from moltnet.errors import Unauthorized

ISSUER = "http://127.0.0.1:8000/"
AUDIENCE = "moltnet"
NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
IDENTITY_ID = UUID("5f0c3f5e-8c4a-4e44-9d4b-0f7f3b9c2a11")
PUBLIC_KEY = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
FINGERPRINT = "A1B2-C3D4-E5F6-0718"
SCOPES = frozenset({"diary:read", "diary:write", "crypto:sign"})


class FakeClock:
    """Wall clock and monotonic clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.wall = now.timestamp()
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


class FakeJwksEndpoint:
    """Serves whatever JWKS document it currently holds and counts fetches."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self.failing = False

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        await asyncio.sleep(0)  # let concurrent verifications interleave
        if self.failing:
            raise ConnectionError("JWKS endpoint unreachable")
        return self.document


def mint(
    keys: SigningKeySet, *, now: datetime = NOW, ttl_seconds: int = 3600, **overrides: Any
) -> str:
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "client_id": "client-1",
        "scopes": SCOPES,
        "identity_id": IDENTITY_ID,
        "public_key": PUBLIC_KEY,
        "fingerprint": FINGERPRINT,
        "ttl_seconds": ttl_seconds,
        "now": now,
    } | overrides
    token, _ = mint_access_token(keys, **arguments)
    return token


def make_verifier(
    endpoint: FakeJwksEndpoint, clock: FakeClock, *, audience: str | None = AUDIENCE, **options: Any
) -> JwtVerifier:
    return JwtVerifier(
        endpoint,
        issuer=ISSUER,
        audience=audience,
        clock=clock.time,
        monotonic=clock.monotonic,
        **options,
    )


def sign_eddsa(header: dict[str, Any], payload: bytes | dict[str, Any], key: OKPKey) -> str:
    """Sign a hand-built token; joserfc warns on every EdDSA use, which is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        if isinstance(payload, bytes):
            return jws.serialize_compact(header, payload, key, algorithms=["EdDSA"])
        return jwt.encode(header, payload, key, algorithms=["EdDSA"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_json(value: object) -> str:
    return b64(json.dumps(value).encode())


def segments(token: str) -> list[str]:
    return token.split(".")


def decoded_payload(token: str) -> dict[str, Any]:
    payload = segments(token)[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def assert_rejected(verifier: JwtVerifier, token: str, reason: str | None = None) -> None:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    if reason is not None:
        assert caught.value.reason == reason


@pytest.fixture
def keys() -> SigningKeySet:
    return SigningKeySet.generate()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def endpoint(keys: SigningKeySet) -> FakeJwksEndpoint:
    return FakeJwksEndpoint(keys.public_jwks())


@pytest.fixture
def verifier(endpoint: FakeJwksEndpoint, clock: FakeClock) -> JwtVerifier:
    return make_verifier(endpoint, clock)


# --- minting and the round trip --------------------------------------------------


async def test_minted_token_verifies_with_every_claim(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    token, expires_in = mint_access_token(
        keys,
        issuer=ISSUER,
        audience=AUDIENCE,
        client_id="client-1",
        scopes=SCOPES,
        identity_id=IDENTITY_ID,
        public_key=PUBLIC_KEY,
        fingerprint=FINGERPRINT,
        ttl_seconds=3600,
        now=NOW,
    )

    claims = await verifier.verify(token)

    assert expires_in == 3600
    assert claims == AccessTokenClaims(
        client_id="client-1",
        scopes=SCOPES,
        issuer=ISSUER,
        subject="client-1",
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=3600),
        jti=claims.jti,
        identity_id=IDENTITY_ID,
        public_key=PUBLIC_KEY,
        fingerprint=FINGERPRINT,
    )
    assert claims.jti is not None
    assert UUID(claims.jti)


def test_minted_token_has_the_documented_header_and_claims(keys: SigningKeySet) -> None:
    token = mint(keys)
    header = json.loads(base64.urlsafe_b64decode(segments(token)[0] + "=="))
    payload = decoded_payload(token)

    assert header == {"alg": "EdDSA", "kid": keys.current.kid, "typ": "at+jwt"}
    assert payload["iss"] == ISSUER
    assert payload["sub"] == payload["client_id"] == "client-1"
    assert payload["aud"] == AUDIENCE
    assert payload["iat"] == payload["nbf"] == int(NOW.timestamp())
    assert payload["exp"] == int(NOW.timestamp()) + 3600
    assert payload["scope"] == "crypto:sign diary:read diary:write"
    assert payload["moltnet:identity_id"] == str(IDENTITY_ID)
    assert payload["moltnet:public_key"] == PUBLIC_KEY
    assert payload["moltnet:fingerprint"] == FINGERPRINT


def test_each_minted_token_has_its_own_jti(keys: SigningKeySet) -> None:
    assert decoded_payload(mint(keys))["jti"] != decoded_payload(mint(keys))["jti"]


async def test_mint_and_verify_emit_no_warnings(keys: SigningKeySet, verifier: JwtVerifier) -> None:
    # joserfc warns on every EdDSA use; in production that would flood the logs.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await verifier.verify(mint(keys))

    assert [str(warning.message) for warning in caught] == []


def test_mint_refuses_a_non_positive_ttl(keys: SigningKeySet) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        mint(keys, ttl_seconds=0)


# --- signing keys: JWKS, rotation, persistence -----------------------------------


def test_jwks_publishes_public_members_only(keys: SigningKeySet) -> None:
    rotated = keys.rotate().rotate()

    jwks = rotated.public_jwks()

    assert [key["kid"] for key in jwks["keys"]] == [key.kid for key in rotated.keys]
    for key in jwks["keys"]:
        assert "d" not in key
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["use"] == "sig"
        assert key["alg"] == "EdDSA"


def test_rotation_keeps_at_most_max_previous_keys(keys: SigningKeySet) -> None:
    first = keys.current.kid
    once = keys.rotate(max_previous=2)
    twice = once.rotate(max_previous=2)
    thrice = twice.rotate(max_previous=2)

    assert [key.kid for key in twice.previous] == [once.current.kid, first]
    assert [key.kid for key in thrice.previous] == [twice.current.kid, once.current.kid]
    assert len({key.kid for key in thrice.keys}) == 3


async def test_token_signed_with_previous_key_verifies_after_rotation(
    keys: SigningKeySet, clock: FakeClock
) -> None:
    old_token = mint(keys)
    rotated = keys.rotate()
    verifier = make_verifier(FakeJwksEndpoint(rotated.public_jwks()), clock)

    claims = await verifier.verify(old_token)
    new_claims = await verifier.verify(mint(rotated))

    assert claims.client_id == new_claims.client_id == "client-1"
    assert segments(mint(rotated))[0] != segments(old_token)[0]  # a different kid


async def test_token_signed_with_dropped_key_is_unknown_key(
    keys: SigningKeySet, clock: FakeClock
) -> None:
    old_token = mint(keys)
    dropped = keys.rotate(max_previous=1).rotate(max_previous=1)
    verifier = make_verifier(FakeJwksEndpoint(dropped.public_jwks()), clock)

    await assert_rejected(verifier, old_token, "unknown key")


def test_key_set_round_trips_through_json(keys: SigningKeySet) -> None:
    rotated = keys.rotate()

    loaded = SigningKeySet.from_json(rotated.to_json())

    assert loaded == rotated
    assert loaded.public_jwks() == rotated.public_jwks()


async def test_loaded_key_set_signs_tokens_the_original_jwks_verifies(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    loaded = SigningKeySet.from_json(keys.to_json())

    claims = await verifier.verify(mint(loaded))

    assert claims.identity_id == IDENTITY_ID


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"current": {}}',
        '{"current": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "previous": []}',
    ],
)
def test_key_set_from_json_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="signing key set"):
        SigningKeySet.from_json(text)


def test_key_set_from_json_rejects_a_public_only_key(keys: SigningKeySet) -> None:
    public = keys.public_jwks()["keys"][0]
    text = json.dumps({"current": public, "previous": []})

    with pytest.raises(ValueError, match="signing key set"):
        SigningKeySet.from_json(text)


def test_key_set_repr_shows_no_private_material(keys: SigningKeySet) -> None:
    private_d = json.loads(keys.to_json())["current"]["d"]

    assert private_d not in repr(keys)
    assert str(keys.current.kid) in repr(keys)


# --- rejected tokens ---------------------------------------------------------------


async def test_tampered_payload_is_bad_signature(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    header, _, signature = segments(mint(keys))
    forged_claims = decoded_payload(mint(keys)) | {"scope": "diary:read diary:delete"}

    await assert_rejected(
        verifier, f"{header}.{b64_json(forged_claims)}.{signature}", "bad signature"
    )


async def test_tampered_signature_is_bad_signature(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    header, payload, signature = segments(mint(keys))
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = signature[:middle] + flipped + signature[middle + 1 :]

    await assert_rejected(verifier, f"{header}.{payload}.{tampered}", "bad signature")


async def test_signature_from_another_key_with_same_kid_is_bad_signature(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    impostor = OKPKey.generate_key("Ed25519")
    header = {"alg": "EdDSA", "kid": keys.current.kid, "typ": "at+jwt"}
    token = sign_eddsa(header, decoded_payload(mint(keys)), impostor)

    await assert_rejected(verifier, token, "bad signature")


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"])
async def test_alg_none_token_is_rejected(
    keys: SigningKeySet, verifier: JwtVerifier, signature: str
) -> None:
    header = b64_json({"alg": "none", "kid": keys.current.kid, "typ": "JWT"})
    payload = b64_json(decoded_payload(mint(keys)))

    await assert_rejected(verifier, f"{header}.{payload}.{signature}", "algorithm not allowed")


@pytest.mark.parametrize("algorithm", ["HS256", "HS512"])
async def test_hmac_token_keyed_with_the_public_key_is_rejected(
    keys: SigningKeySet, verifier: JwtVerifier, algorithm: str
) -> None:
    # Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret.
    public_jwk = keys.public_jwks()["keys"][0]
    public_bytes = base64.urlsafe_b64decode(public_jwk["x"] + "=")
    header = b64_json({"alg": algorithm, "kid": keys.current.kid, "typ": "JWT"})
    payload = b64_json(decoded_payload(mint(keys)))
    digest = hashlib.sha256 if algorithm == "HS256" else hashlib.sha512
    signature = hmac.new(public_bytes, f"{header}.{payload}".encode(), digest).digest()

    await assert_rejected(verifier, f"{header}.{payload}.{b64(signature)}", "algorithm not allowed")


def test_verifier_refuses_to_allow_hmac_or_none() -> None:
    with pytest.raises(ValueError, match="unsupported algorithms"):
        JwtVerifier(FakeJwksEndpoint({"keys": []}), issuer=ISSUER, algorithms=["EdDSA", "HS256"])
    with pytest.raises(ValueError, match="unsupported algorithms"):
        JwtVerifier(FakeJwksEndpoint({"keys": []}), issuer=ISSUER, algorithms=["none"])


async def test_token_expired_beyond_leeway_is_expired(
    keys: SigningKeySet, verifier: JwtVerifier, clock: FakeClock
) -> None:
    token = mint(keys, ttl_seconds=60)
    clock.advance(60 + 31)

    await assert_rejected(verifier, token, "expired")


async def test_token_expired_within_leeway_still_verifies(
    keys: SigningKeySet, verifier: JwtVerifier, clock: FakeClock
) -> None:
    token = mint(keys, ttl_seconds=60)
    clock.advance(60 + 29)

    claims = await verifier.verify(token)

    assert claims.expires_at == NOW + timedelta(seconds=60)


async def test_token_not_yet_valid_beyond_leeway_is_rejected(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    token = mint(keys, now=NOW + timedelta(seconds=120))

    await assert_rejected(verifier, token, "not yet valid")


async def test_token_from_clock_slightly_ahead_verifies(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    token = mint(keys, now=NOW + timedelta(seconds=20))

    assert (await verifier.verify(token)).issued_at == NOW + timedelta(seconds=20)


async def test_token_from_another_issuer_is_wrong_issuer(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    await assert_rejected(verifier, mint(keys, issuer="https://evil.example/"), "wrong issuer")


async def test_token_for_another_audience_is_wrong_audience(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    await assert_rejected(verifier, mint(keys, audience="someone-else"), "wrong audience")


async def test_token_listing_the_audience_among_others_verifies(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    claims = await verifier.verify(mint(keys, audience=["other", AUDIENCE]))

    assert claims.client_id == "client-1"


async def test_audience_is_ignored_when_none_is_configured(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, clock: FakeClock
) -> None:
    verifier = make_verifier(endpoint, clock, audience=None)

    claims = await verifier.verify(mint(keys, audience="someone-else"))

    assert claims.client_id == "client-1"


async def test_token_without_exp_is_missing_claim(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    claims = decoded_payload(mint(keys))
    del claims["exp"]
    header = {"alg": "EdDSA", "kid": keys.current.kid}
    token = sign_eddsa(header, claims, keys.current)

    await assert_rejected(verifier, token, "missing claim")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "a.b.c",
        "!!!.###.$$$",
        "....",
        "x" * 10_240,
        f"{'eyJhbGciOiJFZERTQSJ9'}.{'e30'}.{'A' * 10_240}",
        f"{b64(b'not json')}.e30.AAAA",
        f"{b64_json(['alg', 'EdDSA'])}.e30.AAAA",
        f"{b64_json({'alg': 7, 'kid': 'k'})}.e30.AAAA",
        f"{b64_json({'alg': 'EdDSA', 'kid': 'k', 'typ': 'JWE'})}.e30.AAAA",
        f"{b64_json({'alg': 'EdDSA', 'kid': 'k', 'crit': ['exp']})}.e30.AAAA",
        f"{b64_json({'alg': 'EdDSA', 'kid': 'k', 'b64': False})}.e30.AAAA",
    ],
)
async def test_garbage_is_malformed(verifier: JwtVerifier, token: str) -> None:
    await assert_rejected(verifier, token, "malformed")


async def test_payload_that_is_not_json_is_rejected(
    keys: SigningKeySet, verifier: JwtVerifier
) -> None:
    header = {"alg": "EdDSA", "kid": keys.current.kid}
    token = sign_eddsa(header, b"not json", keys.current)

    await assert_rejected(verifier, token, "malformed")


async def test_token_without_kid_is_unknown_key(keys: SigningKeySet, verifier: JwtVerifier) -> None:
    token = sign_eddsa({"alg": "EdDSA"}, decoded_payload(mint(keys)), keys.current)

    await assert_rejected(verifier, token, "unknown key")


async def test_kid_naming_a_key_of_another_type_is_key_mismatch(
    keys: SigningKeySet, clock: FakeClock
) -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": keys.current.kid, "use": "sig"})
    verifier = make_verifier(FakeJwksEndpoint({"keys": [rsa.as_dict(private=False)]}), clock)

    await assert_rejected(verifier, mint(keys), "key mismatch")


def test_invalid_token_is_a_401_unauthorized() -> None:
    error = InvalidToken("expired")

    assert isinstance(error, Unauthorized)
    assert error.status == 401
    assert error.reason == "expired"


# --- JWKS cache --------------------------------------------------------------------


async def test_unknown_kid_refetches_once_then_fails_without_refetching(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, verifier: JwtVerifier
) -> None:
    await verifier.verify(mint(keys))
    stranger = SigningKeySet.generate()

    await assert_rejected(verifier, mint(stranger), "unknown key")
    await assert_rejected(verifier, mint(stranger), "unknown key")

    assert endpoint.fetches == 2  # the initial load and one refetch, not one per request


async def test_unknown_kid_refetches_again_after_the_interval(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, clock: FakeClock
) -> None:
    verifier = make_verifier(endpoint, clock, min_refetch_interval_seconds=30)
    stranger = SigningKeySet.generate()
    await assert_rejected(verifier, mint(stranger), "unknown key")

    clock.advance(31)
    await assert_rejected(verifier, mint(stranger), "unknown key")

    assert endpoint.fetches == 2


async def test_token_from_just_rotated_key_verifies_at_once(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, verifier: JwtVerifier, clock: FakeClock
) -> None:
    await verifier.verify(mint(keys))
    rotated = keys.rotate()
    endpoint.document = rotated.public_jwks()

    claims = await verifier.verify(mint(rotated))

    assert claims.identity_id == IDENTITY_ID


async def test_concurrent_unknown_kids_share_one_fetch(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, verifier: JwtVerifier
) -> None:
    tokens = [mint(keys) for _ in range(5)]

    results = await asyncio.gather(*(verifier.verify(token) for token in tokens))

    assert {result.client_id for result in results} == {"client-1"}
    assert endpoint.fetches == 1


async def test_dropped_key_stops_verifying_once_the_cache_ages_out(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, clock: FakeClock
) -> None:
    verifier = make_verifier(endpoint, clock, max_cache_age_seconds=300)
    token = mint(keys, ttl_seconds=7200)
    await verifier.verify(token)
    endpoint.document = SigningKeySet.generate().public_jwks()

    clock.advance(301)

    await assert_rejected(verifier, token, "unknown key")


async def test_failed_refresh_of_aged_cache_keeps_known_keys(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, clock: FakeClock
) -> None:
    verifier = make_verifier(endpoint, clock, max_cache_age_seconds=300)
    token = mint(keys, ttl_seconds=7200)
    await verifier.verify(token)
    endpoint.failing = True

    clock.advance(301)

    assert (await verifier.verify(token)).client_id == "client-1"


async def test_unreachable_jwks_on_first_use_propagates(
    keys: SigningKeySet, endpoint: FakeJwksEndpoint, verifier: JwtVerifier
) -> None:
    endpoint.failing = True

    with pytest.raises(ConnectionError):
        await verifier.verify(mint(keys))


# --- tokens from Hydra (RS256, claims under ext) ----------------------------------


def hydra_token(key: RSAKey, **claims: Any) -> str:
    issued_at = int(NOW.timestamp())
    payload = {
        "iss": ISSUER,
        "sub": "hydra-client",
        "client_id": "hydra-client",
        "aud": [AUDIENCE],
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + 3600,
        "jti": str(uuid4()),
    } | claims
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, payload, key, algorithms=["RS256"])


@pytest.fixture(scope="module")
def hydra_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "hydra-1", "use": "sig", "alg": "RS256"})


@pytest.fixture
def hydra_verifier(hydra_key: RSAKey, clock: FakeClock) -> JwtVerifier:
    return make_verifier(FakeJwksEndpoint({"keys": [hydra_key.as_dict(private=False)]}), clock)


async def test_moltnet_claims_are_read_under_ext(
    hydra_key: RSAKey, hydra_verifier: JwtVerifier
) -> None:
    token = hydra_token(
        hydra_key,
        scp=["diary:read", "agent:profile"],
        ext={
            "moltnet:identity_id": str(IDENTITY_ID),
            "moltnet:public_key": PUBLIC_KEY,
            "moltnet:fingerprint": FINGERPRINT,
        },
    )

    claims = await hydra_verifier.verify(token)

    assert claims.client_id == "hydra-client"
    assert claims.scopes == frozenset({"diary:read", "agent:profile"})
    assert claims.identity_id == IDENTITY_ID
    assert claims.public_key == PUBLIC_KEY
    assert claims.fingerprint == FINGERPRINT


async def test_top_level_moltnet_claim_wins_over_ext(
    hydra_key: RSAKey, hydra_verifier: JwtVerifier
) -> None:
    other = uuid4()
    token = hydra_token(
        hydra_key,
        scope="diary:read",
        **{"moltnet:identity_id": str(IDENTITY_ID)},
        ext={"moltnet:identity_id": str(other)},
    )

    assert (await hydra_verifier.verify(token)).identity_id == IDENTITY_ID


async def test_token_without_identity_claims_leaves_them_none(
    hydra_key: RSAKey, hydra_verifier: JwtVerifier
) -> None:
    claims = await hydra_verifier.verify(hydra_token(hydra_key, scope="diary:read"))

    assert (claims.identity_id, claims.public_key, claims.fingerprint) == (None, None, None)
    assert claims.scopes == frozenset({"diary:read"})


async def test_identity_claim_that_is_not_a_uuid_is_invalid(
    hydra_key: RSAKey, hydra_verifier: JwtVerifier
) -> None:
    token = hydra_token(hydra_key, ext={"moltnet:identity_id": "not-a-uuid"})

    await assert_rejected(hydra_verifier, token, "invalid claim")


async def test_rs256_token_signed_by_another_rsa_key_is_bad_signature(
    hydra_key: RSAKey, hydra_verifier: JwtVerifier
) -> None:
    impostor = RSAKey.generate_key(
        2048, parameters={"kid": "hydra-1", "use": "sig", "alg": "RS256"}
    )

    await assert_rejected(hydra_verifier, hydra_token(impostor), "bad signature")
