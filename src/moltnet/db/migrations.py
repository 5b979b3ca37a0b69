"""Run the Alembic migrations programmatically (``moltnet migrate``, start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from moltnet.db.base import EMBEDDED_SCHEMA
from moltnet.db.session import sync_url

PROJECT_ROOT = Path(__file__).resolve().parents[3]


# DBOS keeps its system tables in the schema "dbos" of the same database, and Alembic
# its version table in public: neither is ours to diff.
OWNED_SCHEMAS = frozenset({None, "public", EMBEDDED_SCHEMA})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if type_ == "table":
        return name != "alembic_version" and getattr(obj, "schema", None) in OWNED_SCHEMAS
    return True


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["url"] = sync_url(url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
