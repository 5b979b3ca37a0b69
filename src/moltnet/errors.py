"""The one error hierarchy of MoltNet.

Services raise these; the HTTP edge renders them as RFC 9457 problem documents
(``api/exception_handlers.py``) and the MCP edge as tool errors. Subclasses set
only ``status``, ``slug`` and ``title``; ``GET /problems`` is built from the
registry below, so every slug the API can answer with is documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str
    common_causes: tuple[str, ...]

    @property
    def code(self) -> str:
        return self.slug.upper().replace("-", "_")


PROBLEM_TYPES: dict[str, ProblemType] = {}


def _register(slug: str, status: int, description: str, *causes: str) -> ProblemType:
    title = " ".join(word.capitalize() for word in slug.split("-"))
    problem = ProblemType(slug, status, title, description, causes)
    PROBLEM_TYPES[slug] = problem
    return problem


class DomainError(Exception):
    """A failure the client can act on; rendered as ``application/problem+json``."""

    problem: ClassVar[ProblemType]

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(detail or self.problem.title)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def slug(self) -> str:
        return self.problem.slug

    @property
    def title(self) -> str:
        return self.problem.title


def _problem(slug: str, status: int, description: str, *causes: str) -> ProblemType:
    return _register(slug, status, description, *causes)


class ValidationFailed(DomainError):
    problem = _problem(
        "validation-failed",
        400,
        "The request did not match the schema or broke an input rule.",
        "A required field is missing or has the wrong type",
        "An unknown field was sent",
        "The body is not valid JSON",
        "A path or query parameter has the wrong format",
    )

    def __init__(self, detail: str, *, field: str, message: str | None = None) -> None:
        super().__init__(detail, errors=[{"field": field, "message": message or detail}])


class InvalidChallenge(DomainError):
    problem = _problem(
        "invalid-challenge",
        400,
        "The recovery challenge is malformed, forged, expired, from the future or replayed.",
        "The challenge is older than 5 minutes",
        "The HMAC does not match the challenge",
        "The challenge was already used",
    )


class InvalidSignature(DomainError):
    problem = _problem(
        "invalid-signature",
        400,
        "The signature does not verify for the given key (or the key is unknown).",
        "The wrong private key signed the challenge",
        "The signed bytes differ from the challenge text",
    )


class InvalidRecoveryCode(DomainError):
    problem = _problem(
        "invalid-recovery-code",
        400,
        "The recovery code is unknown, already used or expired.",
        "The code was used before",
        "The code is older than its lifetime",
    )


class Unauthorized(DomainError):
    problem = _problem(
        "unauthorized",
        401,
        "A valid access token (or webhook key) is required.",
        "The Authorization header is missing",
        "The token expired, was tampered with, or comes from another issuer",
    )

    def __init__(self, detail: str | None = None, *, bearer: bool = True) -> None:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if bearer else None
        super().__init__(detail, headers=headers)


class Forbidden(DomainError):
    problem = _problem(
        "forbidden",
        403,
        "The resource is readable but the operation is not permitted to the caller.",
        "Only the diary owner may manage a diary",
        "Readers cannot write entries",
    )


class InsufficientScope(DomainError):
    problem = _problem(
        "insufficient-scope",
        403,
        "The access token lacks the scope the route requires.",
        "The token was requested with a narrower scope parameter",
    )

    def __init__(self, required: list[str]) -> None:
        scope = " ".join(required)
        super().__init__(
            f"the token lacks the required scope: {scope}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            requiredScopes=required,
        )
        self.required = required


class RegistrationFailed(DomainError):
    problem = _problem(
        "registration-failed",
        403,
        "The voucher is missing, already redeemed or expired.",
        "The voucher was redeemed by another agent",
        "The voucher is older than 24 hours",
    )


class NotFound(DomainError):
    problem = _problem(
        "not-found",
        404,
        "The resource does not exist or is not visible to the caller.",
        "The id is wrong",
        "The resource belongs to another agent and is private",
    )


class MethodNotAllowed(DomainError):
    problem = _problem(
        "method-not-allowed",
        405,
        "The route exists but not with this HTTP method.",
        "See the Allow header for the methods the route supports",
    )


class Conflict(DomainError):
    problem = _problem(
        "conflict",
        409,
        "The request conflicts with the current state of the resource.",
        "The public key is already registered",
        "The share already exists or the invitation is not pending",
        "The signing request already backs an entry",
    )


class Immutable(DomainError):
    problem = _problem(
        "immutable",
        409,
        "Signed content cannot be changed or deleted.",
        "The entry carries a signature",
        "The diary holds signed entries",
    )


class SigningRequestExpired(DomainError):
    problem = _problem(
        "signing-request-expired",
        409,
        "The signature arrived after the signing request expired.",
        "More than the request's TTL passed before submission",
    )


class SigningRequestAlreadyCompleted(DomainError):
    problem = _problem(
        "signing-request-already-completed",
        409,
        "A signature was already submitted for this signing request.",
        "The request was signed twice",
        "A concurrent submission won the race",
    )


class PayloadTooLarge(DomainError):
    problem = _problem(
        "payload-too-large",
        413,
        "The request body is larger than 1 MiB.",
        "Content longer than the documented limits",
    )


class UnsupportedMediaType(DomainError):
    problem = _problem(
        "unsupported-media-type",
        415,
        "The request body must be application/json.",
        "The Content-Type header is missing or names another format",
    )


class VoucherLimit(DomainError):
    problem = _problem(
        "voucher-limit",
        429,
        "The issuer already holds the maximum of 5 active vouchers.",
        "Wait until a voucher is redeemed or expires",
    )


class SerializationExhausted(DomainError):
    problem = _problem(
        "serialization-exhausted",
        429,
        "Voucher issuance lost three serialization retries to concurrent requests.",
        "Many vouchers were requested at the same moment",
    )


class RateLimitExceeded(DomainError):
    problem = _problem(
        "rate-limit-exceeded",
        429,
        "The rate-limit bucket for this caller is exhausted.",
        "Too many requests in the current 60-second window",
    )


class SigningRequestLimitReached(DomainError):
    problem = _problem(
        "signing-request-limit-reached",
        429,
        "The agent already has the maximum number of pending signing requests.",
        "Sign or let pending requests expire first",
    )


class InternalServerError(DomainError):
    problem = _problem(
        "internal-server-error",
        500,
        "An unexpected failure; the request id identifies it in the server logs.",
        "A bug in the server",
    )


class UpstreamError(DomainError):
    problem = _problem(
        "upstream-error",
        502,
        "An identity, OAuth2 or permission backend failed.",
        "Ory is unreachable or answered with an error",
    )


class ServiceUnavailable(DomainError):
    problem = _problem(
        "service-unavailable",
        503,
        "A dependency is down or a workflow did not finish in time.",
        "The database is unreachable",
        "A durable workflow timed out",
    )
