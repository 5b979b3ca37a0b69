"""Create the seed schema: agents, vouchers, diaries, entries, shares, signing, recovery.

Also the embedded backends' schema, pgvector, the tags helper used by the generated
tsvector, and the triggers that make signed entries immutable in the database itself.

Revision ID: 6d888b711c98
Revises:
Create Date: 2026-11-30 03:51:20.211722+00:00
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6d888b711c98"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# array_to_string is only STABLE; generated columns need IMMUTABLE expressions, and
# for text[] the conversion really is immutable.
TAGS_TEXT_FUNCTION = """
CREATE OR REPLACE FUNCTION moltnet_tags_text(tags text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(array_to_string(tags, ' '), '') $$
"""

# Signed entries are immutable: the service refuses first (409), and the database
# refuses too, so no code path (a bug, a script, psql) can alter signed content.
# supersededBy, access counters and timestamps stay writable; importance is frozen
# on signed identity/soul/reflection entries.
SIGNED_ENTRY_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION moltnet_guard_signed_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.content_signature IS NOT NULL THEN
            RAISE EXCEPTION 'signed entry % cannot be deleted', OLD.id
                USING ERRCODE = 'P0001', HINT = 'moltnet:immutable';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.content_signature IS NOT NULL AND (
        NEW.title IS DISTINCT FROM OLD.title
        OR NEW.content IS DISTINCT FROM OLD.content
        OR NEW.tags IS DISTINCT FROM OLD.tags
        OR NEW.entry_type IS DISTINCT FROM OLD.entry_type
        OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
        OR NEW.content_signature IS DISTINCT FROM OLD.content_signature
        OR NEW.signing_nonce IS DISTINCT FROM OLD.signing_nonce
        OR NEW.signing_request_id IS DISTINCT FROM OLD.signing_request_id
        OR NEW.author_id IS DISTINCT FROM OLD.author_id
        OR NEW.diary_id IS DISTINCT FROM OLD.diary_id
        OR (NEW.importance IS DISTINCT FROM OLD.importance
            AND OLD.entry_type IN ('identity', 'soul', 'reflection'))
    ) THEN
        RAISE EXCEPTION 'signed entry % is immutable', OLD.id
            USING ERRCODE = 'P0001', HINT = 'moltnet:immutable';
    END IF;
    RETURN NEW;
END
$$
"""

SIGNED_ENTRY_UPDATE_TRIGGER = """
CREATE TRIGGER diary_entries_signed_immutable_update
BEFORE UPDATE ON diary_entries
FOR EACH ROW EXECUTE FUNCTION moltnet_guard_signed_entry()
"""

SIGNED_ENTRY_DELETE_TRIGGER = """
CREATE TRIGGER diary_entries_signed_immutable_delete
BEFORE DELETE ON diary_entries
FOR EACH ROW EXECUTE FUNCTION moltnet_guard_signed_entry()
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE SCHEMA IF NOT EXISTS embedded")
    op.execute(TAGS_TEXT_FUNCTION)
    op.create_table(
        "agent_keys",
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=19), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_agent_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_agent_keys_fingerprint")),
        sa.UniqueConstraint("public_key", name=op.f("uq_agent_keys_public_key")),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("traits", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        schema="embedded",
    )
    op.create_table(
        "oauth2_clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("grant_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth2_clients")),
        schema="embedded",
    )
    op.create_index(
        op.f("ix_embedded_oauth2_clients_identity_id"),
        "oauth2_clients",
        ["identity_id"],
        unique=False,
        schema="embedded",
    )
    op.create_table(
        "relation_tuples",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("relation", sa.Text(), nullable=False),
        sa.Column("subject_namespace", sa.Text(), nullable=False),
        sa.Column("subject_object", sa.Text(), nullable=False),
        sa.Column("subject_relation", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relation_tuples")),
        sa.UniqueConstraint(
            "namespace",
            "object",
            "relation",
            "subject_namespace",
            "subject_object",
            "subject_relation",
            name="uq_relation_tuples_tuple",
        ),
        schema="embedded",
    )
    op.create_index(
        "ix_relation_tuples_subject",
        "relation_tuples",
        ["subject_namespace", "subject_object", "namespace", "relation"],
        unique=False,
        schema="embedded",
    )
    op.create_table(
        "used_recovery_nonces",
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_used_recovery_nonces")),
    )
    op.create_index(
        op.f("ix_used_recovery_nonces_expires_at"),
        "used_recovery_nonces",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "agent_vouchers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("issuer_id", sa.Uuid(), nullable=False),
        sa.Column("redeemed_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("code ~ '^[a-f0-9]{64}$'", name=op.f("ck_agent_vouchers_code_format")),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["agent_keys.identity_id"],
            name=op.f("fk_agent_vouchers_issuer_id_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by"],
            ["agent_keys.identity_id"],
            name=op.f("fk_agent_vouchers_redeemed_by_agent_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_agent_vouchers_code")),
    )
    op.create_index(
        "ix_agent_vouchers_issuer_active",
        "agent_vouchers",
        ["issuer_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "diaries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("private", "moltnet", "public", name="visibility"),
            server_default="private",
            nullable=False,
        ),
        sa.Column("signed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["agent_keys.identity_id"],
            name=op.f("fk_diaries_owner_id_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diaries")),
    )
    op.create_index("ix_diaries_owner_created", "diaries", ["owner_id", "created_at"], unique=False)
    op.create_table(
        "recovery_codes",
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["agent_keys.identity_id"],
            name=op.f("fk_recovery_codes_identity_id_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_index(
        op.f("ix_recovery_codes_identity_id"), "recovery_codes", ["identity_id"], unique=False
    )
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "completed", "expired", name="signing_request_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent_keys.identity_id"],
            name=op.f("fk_signing_requests_agent_id_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_requests")),
        sa.UniqueConstraint("nonce", name=op.f("uq_signing_requests_nonce")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_signing_requests_workflow_id")),
    )
    op.create_index(
        "ix_signing_requests_agent_status",
        "signing_requests",
        ["agent_id", "status", "expires_at"],
        unique=False,
    )
    op.create_index(
        "ix_signing_requests_signature", "signing_requests", ["signature"], unique=False
    )
    op.create_table(
        "diary_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("diary_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("injection_risk", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("importance", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "entry_type",
            sa.Enum(
                "semantic",
                "episodic",
                "procedural",
                "reflection",
                "identity",
                "soul",
                name="entry_type",
            ),
            server_default="semantic",
            nullable=False,
        ),
        sa.Column("superseded_by", sa.Uuid(), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("content_signature", sa.Text(), nullable=True),
        sa.Column("signing_nonce", sa.Uuid(), nullable=True),
        sa.Column("signing_request_id", sa.Uuid(), nullable=True),
        sa.Column("access_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, content), 'B') || setweight(to_tsvector('english'::regconfig, moltnet_tags_text(tags)), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "access_count >= 0", name=op.f("ck_diary_entries_access_count_non_negative")
        ),
        sa.CheckConstraint(
            "importance BETWEEN 1 AND 10", name=op.f("ck_diary_entries_importance_range")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["agent_keys.identity_id"],
            name=op.f("fk_diary_entries_author_id_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["diary_id"],
            ["diaries.id"],
            name=op.f("fk_diary_entries_diary_id_diaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signing_request_id"],
            ["signing_requests.id"],
            name=op.f("fk_diary_entries_signing_request_id_signing_requests"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["diary_entries.id"],
            name=op.f("fk_diary_entries_superseded_by_diary_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diary_entries")),
        sa.UniqueConstraint("content_signature", name=op.f("uq_diary_entries_content_signature")),
        sa.UniqueConstraint("signing_request_id", name=op.f("uq_diary_entries_signing_request_id")),
    )
    op.create_index(
        op.f("ix_diary_entries_author_id"), "diary_entries", ["author_id"], unique=False
    )
    op.create_index(
        "ix_diary_entries_diary_created",
        "diary_entries",
        ["diary_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_diary_entries_embedding_hnsw",
        "diary_entries",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        "ix_diary_entries_search_vector",
        "diary_entries",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_diary_entries_tags", "diary_entries", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "diary_shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("diary_id", sa.Uuid(), nullable=False),
        sa.Column("shared_with", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Enum("reader", "writer", name="diary_share_role"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "accepted", "declined", "revoked", name="diary_share_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column(
            "invited_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["diary_id"],
            ["diaries.id"],
            name=op.f("fk_diary_shares_diary_id_diaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shared_with"],
            ["agent_keys.identity_id"],
            name=op.f("fk_diary_shares_shared_with_agent_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diary_shares")),
        sa.UniqueConstraint("diary_id", "shared_with", name="uq_diary_shares_diary_id_shared_with"),
    )
    op.create_index(
        "ix_diary_shares_shared_with_status",
        "diary_shares",
        ["shared_with", "status"],
        unique=False,
    )
    op.execute(SIGNED_ENTRY_GUARD_FUNCTION)
    op.execute(SIGNED_ENTRY_UPDATE_TRIGGER)
    op.execute(SIGNED_ENTRY_DELETE_TRIGGER)


def downgrade() -> None:
    op.drop_index("ix_diary_shares_shared_with_status", table_name="diary_shares")
    op.drop_table("diary_shares")
    op.drop_index("ix_diary_entries_tags", table_name="diary_entries", postgresql_using="gin")
    op.drop_index(
        "ix_diary_entries_search_vector", table_name="diary_entries", postgresql_using="gin"
    )
    op.drop_index(
        "ix_diary_entries_embedding_hnsw",
        table_name="diary_entries",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_index("ix_diary_entries_diary_created", table_name="diary_entries")
    op.drop_index(op.f("ix_diary_entries_author_id"), table_name="diary_entries")
    op.drop_table("diary_entries")
    op.drop_index("ix_signing_requests_signature", table_name="signing_requests")
    op.drop_index("ix_signing_requests_agent_status", table_name="signing_requests")
    op.drop_table("signing_requests")
    op.drop_index(op.f("ix_recovery_codes_identity_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index("ix_diaries_owner_created", table_name="diaries")
    op.drop_table("diaries")
    op.drop_index("ix_agent_vouchers_issuer_active", table_name="agent_vouchers")
    op.drop_table("agent_vouchers")
    op.drop_index(op.f("ix_used_recovery_nonces_expires_at"), table_name="used_recovery_nonces")
    op.drop_table("used_recovery_nonces")
    op.drop_index("ix_relation_tuples_subject", table_name="relation_tuples", schema="embedded")
    op.drop_table("relation_tuples", schema="embedded")
    op.drop_index(
        op.f("ix_embedded_oauth2_clients_identity_id"),
        table_name="oauth2_clients",
        schema="embedded",
    )
    op.drop_table("oauth2_clients", schema="embedded")
    op.drop_table("identities", schema="embedded")
    op.drop_table("agent_keys")
    op.execute("DROP FUNCTION IF EXISTS moltnet_guard_signed_entry()")
    op.execute("DROP FUNCTION IF EXISTS moltnet_tags_text(text[])")
    for enum_name in (
        "diary_share_status",
        "diary_share_role",
        "entry_type",
        "signing_request_status",
        "visibility",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
    op.execute("DROP SCHEMA IF EXISTS embedded")
