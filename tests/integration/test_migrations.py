"""The migrations are the schema: they match the models and run down and up cleanly."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import moltnet.db.models  # noqa: F401 - registers every table
from moltnet.db import migrations
from moltnet.db.base import Base
from moltnet.db.postgres import EmbeddedPostgres
from moltnet.db.session import sync_url


def test_models_and_migrations_describe_the_same_schema(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_object": migrations.include_object,
                "compare_type": True,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


@pytest.fixture
def empty_database(postgres: EmbeddedPostgres) -> str:
    name = "migration_roundtrip"
    admin = postgres.url("postgres", driver="psycopg").replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres.url(name, driver="asyncpg")


def test_every_revision_downgrades_and_upgrades_cleanly(empty_database: str) -> None:
    migrations.upgrade(empty_database)
    engine = create_engine(sync_url(empty_database))
    expected = {table.name for table in Base.metadata.tables.values()}
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names()) | set(
            inspect(connection).get_table_names(schema="embedded")
        )
    assert expected <= tables

    migrations.downgrade(empty_database, "base")
    with engine.connect() as connection:
        left = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert left == set()
        types = connection.execute(
            text("SELECT count(*) FROM pg_type WHERE typname = 'visibility'")
        ).scalar_one()
        assert types == 0

    migrations.upgrade(empty_database)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert version
