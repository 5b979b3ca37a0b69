"""Stopping the app gives workflows in flight their grace period, with the loop running."""

from __future__ import annotations

from asgi_lifespan import LifespanManager
from dbos import DBOS
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from moltnet.config import Settings
from moltnet.crypto import generate_key_pair
from moltnet.main import create_app
from moltnet.workflows.registration import register_agent
from tests.fixtures.database import truncate_everything
from tests.workflows.test_registration_workflow import poll, seed_voucher


async def workflow_status(engine: AsyncEngine, workflow_id: str) -> str | None:
    async with engine.connect() as connection:
        status: str | None = await connection.scalar(
            text("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = :id"),
            {"id": workflow_id},
        )
    return status


async def test_a_workflow_pausing_at_shutdown_finishes_within_the_grace_period(
    settings: Settings, engine: AsyncEngine, database_url: str
) -> None:
    await truncate_everything(engine)
    code = await seed_voucher(database_url)
    pausing = settings.model_copy(
        update={"identity": settings.identity.model_copy(update={"test_step_delay_seconds": 1.0})}
    )
    app = create_app(pausing, launch_workflows=True)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30):
        handle = await DBOS.start_workflow_async(
            register_agent, generate_key_pair().public_key.text, code
        )
        # the identity exists; the persist step is in its 1 s pause as the app stops
        await poll(
            engine,
            "SELECT count(*) FROM dbos.operation_outputs "
            "WHERE function_name = 'registration.create_identity'",
        )
        workflow_id = handle.get_workflow_id()
    # destroy() waited (5 s at most) while the loop ran the rest of the workflow
    assert await workflow_status(engine, workflow_id) == "SUCCESS"
