"""JWT access tokens: the embedded issuer's signing keys, minting, and verification.

Pure token logic, no I/O: persisting the key set and serving the JWKS belong to
the caller, and the verifier obtains the JWKS through an injected coroutine (the
embedded issuer's key set in process, or Hydra's ``/.well-known/jwks.json``).
Formats and rules are in API.md §1.2 and §3.10.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast
from uuid import UUID, uuid4

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import JWKRegistry, Key, OKPKey
from joserfc.jws import JWSRegistry

from moltnet.errors import Unauthorized

SIGNING_ALGORITHM: Final = "EdDSA"
JWT_TYPE_HEADER: Final = "at+jwt"  # RFC 9068 access-token media type
SUPPORTED_ALGORITHMS: Final = frozenset({"EdDSA", "RS256"})
DEFAULT_LEEWAY_SECONDS: Final = 30
DEFAULT_MAX_PREVIOUS_KEYS: Final = 2
# Our tokens are well under 1 KiB; refusing anything much larger bounds the work an
# unauthenticated request can cause before the signature check.
MAX_TOKEN_LENGTH: Final = 8192
CLAIM_IDENTITY_ID: Final = "moltnet:identity_id"
CLAIM_PUBLIC_KEY: Final = "moltnet:public_key"
CLAIM_FINGERPRINT: Final = "moltnet:fingerprint"

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_ACCEPTED_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})


class InvalidToken(Unauthorized):
    """The bearer token cannot be accepted (401). ``reason`` says why, for logs and tests.

    Reasons: "malformed", "algorithm not allowed", "unknown key", "key mismatch",
    "bad signature", "expired", "not yet valid", "wrong issuer", "wrong audience",
    "missing claim", "invalid claim".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"The access token is invalid: {reason}.")
        self.reason = reason


# --- signing keys ---------------------------------------------------------------


@dataclass(frozen=True)
class SigningKeySet:
    """The issuer's current Ed25519 signing key and the previous ones still trusted.

    Immutable: ``rotate()`` returns a new set, so the caller can persist it and then
    swap it in. Previous keys stay in the JWKS so tokens they signed keep verifying
    until they expire (the rotation overlap).
    """

    current: OKPKey
    previous: tuple[OKPKey, ...] = ()

    def __repr__(self) -> str:  # the default would print private key material
        previous = [key.kid for key in self.previous]
        return f"SigningKeySet(current={self.current.kid!r}, previous={previous!r})"

    @classmethod
    def generate(cls) -> SigningKeySet:
        return cls(current=_new_signing_key())

    def rotate(self, *, max_previous: int = DEFAULT_MAX_PREVIOUS_KEYS) -> SigningKeySet:
        """A set with a fresh current key; the old current key becomes the newest
        previous one, and only the ``max_previous`` newest previous keys are kept."""
        if max_previous < 0:
            raise ValueError("max_previous must not be negative")
        kept = (self.current, *self.previous)[:max_previous]
        return SigningKeySet(current=_new_signing_key(), previous=kept)

    @property
    def keys(self) -> tuple[OKPKey, ...]:
        """All keys, current first."""
        return (self.current, *self.previous)

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWKS document: public members only, each with ``kid``, ``use`` and ``alg``."""
        return {"keys": [_public_jwk(key) for key in self.keys]}

    def to_json(self) -> str:
        """Serialise with the PRIVATE key material, for the caller to store (0600)."""
        document = {
            "current": _private_jwk(self.current),
            "previous": [_private_jwk(key) for key in self.previous],
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SigningKeySet:
        """Load what ``to_json`` wrote; raises ``ValueError`` on anything else."""
        try:
            document = json.loads(text)
            current = _import_signing_key(document["current"])
            previous = tuple(_import_signing_key(item) for item in document["previous"])
        except (ValueError, KeyError, TypeError, JoseError) as error:
            raise ValueError("not a serialised signing key set") from error
        return cls(current=current, previous=previous)


def _new_signing_key() -> OKPKey:
    key = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": SIGNING_ALGORITHM})
    key.ensure_kid()  # RFC 7638 thumbprint: unique per key, stable across restarts
    return key


def _private_jwk(key: OKPKey) -> dict[str, Any]:
    return dict(key.as_dict(private=True))


def _public_jwk(key: OKPKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def _import_signing_key(data: object) -> OKPKey:
    if not isinstance(data, dict):
        raise TypeError("a key must be a JSON object")
    key = OKPKey.import_key(cast("dict[str, Any]", data))
    if not key.is_private or key.curve_name != "Ed25519" or not key.kid:
        raise ValueError("a signing key must be a private Ed25519 key with a kid")
    if key.alg != SIGNING_ALGORITHM or key.get("use") != "sig":
        raise ValueError("a signing key must carry use=sig and alg=EdDSA")
    return key


# --- claims ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccessTokenClaims:
    """What a verified access token says about its bearer.

    The identity fields are None when the token lacks them (e.g. a Hydra token
    without the token hook); the caller then looks up the client's metadata.
    """

    client_id: str
    scopes: frozenset[str]
    issuer: str
    subject: str | None
    issued_at: datetime | None
    expires_at: datetime
    jti: str | None
    identity_id: UUID | None
    public_key: str | None
    fingerprint: str | None


def mint_access_token(
    keys: SigningKeySet,
    *,
    issuer: str,
    audience: str | Collection[str],
    client_id: str,
    scopes: Iterable[str],
    identity_id: UUID,
    public_key: str,
    fingerprint: str,
    ttl_seconds: int,
    now: datetime,
) -> tuple[str, int]:
    """Sign an access token with the current key; returns ``(token, expires_in)``."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": str(uuid4()),
        "scope": " ".join(sorted(set(scopes))),
        CLAIM_IDENTITY_ID: str(identity_id),
        CLAIM_PUBLIC_KEY: public_key,
        CLAIM_FINGERPRINT: fingerprint,
    }
    header = {"alg": SIGNING_ALGORITHM, "kid": keys.current.kid, "typ": JWT_TYPE_HEADER}
    token = jwt.encode(header, claims, keys.current, registry=_registry([SIGNING_ALGORITHM]))
    return token, ttl_seconds


# --- verification ---------------------------------------------------------------

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
Clock = Callable[[], float]


class JwtVerifier:
    """Verifies bearer JWTs against a JWKS fetched through ``fetch_jwks``.

    The JWKS is cached and refetched when a token names an unknown ``kid`` (the
    issuer rotated) or when the cache is older than ``max_cache_age_seconds`` (so
    dropped keys stop verifying). A fetch that fails, or that still lacks the
    wanted ``kid``, starts a cool-down of ``min_refetch_interval_seconds`` with no
    further fetches: otherwise any caller could force a fetch per request with
    made-up ``kid`` values. A fetch that finds the new key starts none, so a
    token from a just-rotated key verifies at once. Errors of ``fetch_jwks`` itself
    propagate unchanged (the caller maps them to an upstream error, not to a 401),
    except that a failed age-based refresh falls back to the cached keys.
    """

    def __init__(
        self,
        fetch_jwks: JwksFetcher,
        *,
        issuer: str,
        audience: str | None = None,
        algorithms: Collection[str] = SUPPORTED_ALGORITHMS,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        min_refetch_interval_seconds: float = 30.0,
        max_cache_age_seconds: float | None = 300.0,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        if unsupported := set(algorithms) - SUPPORTED_ALGORITHMS:
            raise ValueError(f"unsupported algorithms: {sorted(unsupported)}")
        self._fetch_jwks = fetch_jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_seconds
        self._min_refetch_interval = min_refetch_interval_seconds
        self._max_cache_age = max_cache_age_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._cool_down_since: float | None = None
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or ``InvalidToken`` naming the first check that failed."""
        header = _read_header(token)
        algorithm = header["alg"]
        if algorithm not in self._algorithms:
            raise InvalidToken("algorithm not allowed")
        key = await self._key_for(header["kid"])
        claims = _verified_payload(token, key, algorithm)
        self._check_time_and_audience(claims)
        return _to_access_token_claims(claims)

    async def _key_for(self, kid: str) -> Key:
        key = self._keys.get(kid)
        if key is not None and not self._cache_is_stale():
            return key
        async with self._lock:  # concurrent misses share one fetch
            key = self._keys.get(kid)
            if (key is None or self._cache_is_stale()) and self._may_refetch():
                await self._refresh(keep_cache_on_error=key is not None)
                key = self._keys.get(kid)
                if key is None:  # the fetch did not help: a made-up kid or a dropped key
                    self._cool_down_since = self._monotonic()
        if key is None:
            raise InvalidToken("unknown key")
        return key

    def _cache_is_stale(self) -> bool:
        if self._fetched_at is None:
            return True
        if self._max_cache_age is None:
            return False
        return self._monotonic() - self._fetched_at >= self._max_cache_age

    def _may_refetch(self) -> bool:
        since = self._cool_down_since
        return since is None or self._monotonic() - since >= self._min_refetch_interval

    async def _refresh(self, *, keep_cache_on_error: bool) -> None:
        try:
            document = await self._fetch_jwks()
        except Exception:
            self._cool_down_since = self._monotonic()
            if keep_cache_on_error:
                return  # the key is known; an unreachable JWKS must not log everyone out
            raise
        self._keys = _import_jwks(document)
        self._fetched_at = self._monotonic()

    def _check_time_and_audience(self, claims: dict[str, Any]) -> None:
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self._issuer},
            "exp": {"essential": True},
        }
        if self._audience is not None:
            options["aud"] = {"essential": True, "value": self._audience}
        registry = jwt.JWTClaimsRegistry(now=int(self._clock()), leeway=self._leeway, **options)
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("expired") from None
        except MissingClaimError:
            raise InvalidToken("missing claim") from None
        except InvalidClaimError as error:
            raise InvalidToken(_CLAIM_FAILURES.get(error.claim, "invalid claim")) from None


_CLAIM_FAILURES = {
    "iss": "wrong issuer",
    "aud": "wrong audience",
    "nbf": "not yet valid",
    "iat": "not yet valid",
}


class _AllowListRegistry(JWSRegistry):
    """A JWS registry that accepts exactly the algorithms it was built with.

    joserfc's default falls back to its "recommended" list when no allow-list is
    given, and warns on every EdDSA use (RFC 9864 prefers the name "Ed25519");
    here the allow-list is explicit, so neither applies.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"Algorithm '{name}' is not allowed")
        return self.algorithms[name]


def _registry(algorithms: Collection[str]) -> JWSRegistry:
    return _AllowListRegistry(algorithms=list(algorithms))


def _read_header(token: object) -> dict[str, str]:
    """The protected header's ``alg`` and ``kid``, checked before any key is looked up."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed")
    segments = token.split(".")
    if len(segments) != 3 or not _BASE64URL.fullmatch(segments[0]):
        raise InvalidToken("malformed")
    try:
        header = json.loads(_base64url_decode(segments[0]))
    except (ValueError, binascii.Error):
        raise InvalidToken("malformed") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    algorithm, kid, token_type = header.get("alg"), header.get("kid"), header.get("typ")
    if not isinstance(algorithm, str):
        raise InvalidToken("malformed")
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise InvalidToken("algorithm not allowed")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("unknown key")
    if token_type is not None and (
        not isinstance(token_type, str) or token_type.lower() not in _ACCEPTED_TOKEN_TYPES
    ):
        raise InvalidToken("malformed")
    # crit and b64 change how the signature is computed; access tokens never use them.
    if "crit" in header or "b64" in header:
        raise InvalidToken("malformed")
    if not all(_BASE64URL.fullmatch(part) for part in segments[1:]):
        raise InvalidToken("malformed")  # includes an empty (unsigned) signature
    return {"alg": algorithm, "kid": kid}


def _base64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _verified_payload(token: str, key: Key, algorithm: str) -> dict[str, Any]:
    try:
        decoded = jwt.decode(token, key, registry=_registry([algorithm]))
    except BadSignatureError:
        raise InvalidToken("bad signature") from None
    except (KeyParameterError, UnsupportedAlgorithmError):
        raise InvalidToken("key mismatch") from None  # e.g. alg EdDSA naming an RSA key
    except JoseError:
        raise InvalidToken("malformed") from None
    return decoded.claims


def _import_jwks(document: Mapping[str, Any]) -> dict[str, Key]:
    """Public signing keys by ``kid``; keys we cannot use are skipped (RFC 7517 §5)."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWKS document needs a 'keys' list")
    keys: dict[str, Key] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        public_entry = {name: value for name, value in entry.items() if name != "d"}
        try:
            key = JWKRegistry.import_key(public_entry)
        except (JoseError, ValueError, TypeError):
            continue
        if key.key_type in {"OKP", "RSA"}:
            keys[kid] = key
    return keys


def _to_access_token_claims(claims: dict[str, Any]) -> AccessTokenClaims:
    client_id = claims.get("client_id", claims.get("sub"))
    if not isinstance(client_id, str) or not client_id:
        raise InvalidToken("missing claim")
    issued_at = claims.get("iat")
    return AccessTokenClaims(
        client_id=client_id,
        scopes=_read_scopes(claims),
        issuer=_optional_str(claims, "iss") or "",
        subject=_optional_str(claims, "sub"),
        issued_at=_timestamp(issued_at) if issued_at is not None else None,
        expires_at=_timestamp(claims["exp"]),
        jti=_optional_str(claims, "jti"),
        identity_id=read_identity_id(claims),
        public_key=moltnet_claim(claims, CLAIM_PUBLIC_KEY),
        fingerprint=moltnet_claim(claims, CLAIM_FINGERPRINT),
    )


def _read_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    listed = claims.get("scp")  # Hydra's JWT access tokens list scopes here
    if scope is None and isinstance(listed, list) and all(isinstance(s, str) for s in listed):
        return frozenset(listed)
    if scope is None and listed is None:
        return frozenset()
    raise InvalidToken("invalid claim")


def read_identity_id(claims: Mapping[str, Any]) -> UUID | None:
    """The ``moltnet:identity_id`` claim (see ``moltnet_claim``) as a UUID."""
    value = moltnet_claim(claims, CLAIM_IDENTITY_ID)
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise InvalidToken("invalid claim") from None


def moltnet_claim(claims: Mapping[str, Any], name: str) -> str | None:
    """A ``moltnet:*`` claim at the top level or, failing that, under ``ext`` (Hydra).

    Shared by JWT claims and Hydra's introspection answers, which put hook claims alike.
    """
    value = claims.get(name)
    if value is None:
        extension = claims.get("ext")
        if isinstance(extension, Mapping):
            value = extension.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidToken("invalid claim")
    return value


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidToken("invalid claim")
    return value


def _timestamp(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("invalid claim")
    try:
        return datetime.fromtimestamp(0, UTC) + timedelta(seconds=value)
    except OverflowError:
        raise InvalidToken("invalid claim") from None
