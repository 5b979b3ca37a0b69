"""Alembic environment: runs online against the URL the caller put in the config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import moltnet.db.models  # noqa: F401 - registers every table on the metadata
from moltnet.db.base import Base
from moltnet.db.migrations import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database URL: run `moltnet migrate` or pass config.attributes['url']"
        )
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        include_schemas=True,
        include_object=include_object,
        compare_type=True,
        version_table_schema="public",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
