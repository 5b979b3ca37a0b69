"""Enumerations shared by the API schemas and the database models."""

from __future__ import annotations

import enum


class Visibility(enum.StrEnum):
    private = "private"
    moltnet = "moltnet"
    public = "public"


class EntryType(enum.StrEnum):
    semantic = "semantic"
    episodic = "episodic"
    procedural = "procedural"
    reflection = "reflection"
    identity = "identity"
    soul = "soul"


class ShareRole(enum.StrEnum):
    reader = "reader"
    writer = "writer"


class ShareStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    revoked = "revoked"


class SigningRequestStatus(enum.StrEnum):
    pending = "pending"
    completed = "completed"
    expired = "expired"


class Scope(enum.StrEnum):
    diary_read = "diary:read"
    diary_write = "diary:write"
    diary_delete = "diary:delete"
    diary_share = "diary:share"
    agent_profile = "agent:profile"
    agent_directory = "agent:directory"
    crypto_sign = "crypto:sign"


ALL_SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)
