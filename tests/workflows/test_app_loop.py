"""Steps run on the app's loop even when DBOS runs their workflow on its background loop.

DBOS starts a dequeued async workflow on its own loop, in another thread, whenever
the loop that launched it is not running (under pytest-asyncio: between a test's
phases). The app's asyncpg pool must never be driven from that thread.
"""

from __future__ import annotations

import ast
import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dbos import DBOS
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import moltnet.workflows
from moltnet.config import Settings
from moltnet.db.models import AgentVoucher
from moltnet.main import create_app
from moltnet.services import vouchers
from moltnet.services.vouchers import new_code
from moltnet.workflows import context
from moltnet.workflows.maintenance import purge_expired
from tests.fixtures.agents import Factories, TokenMinter
from tests.fixtures.database import truncate_everything

T = TypeVar("T")
caller_tag: contextvars.ContextVar[str] = contextvars.ContextVar("caller_tag", default="unset")


async def on_a_foreign_loop(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` on a new loop in another thread, as DBOS's background loop would."""
    return await asyncio.to_thread(lambda: asyncio.run(work()))  # type: ignore[arg-type]


@context.on_app_loop
async def where_am_i(fail: bool = False) -> tuple[asyncio.AbstractEventLoop, str, str]:
    if fail:
        raise LookupError("raised on the app loop")
    return asyncio.get_running_loop(), threading.current_thread().name, caller_tag.get()


@pytest.fixture
async def bound_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    loop = asyncio.get_running_loop()
    context.bind(context.WorkflowDeps(sessionmaker=None, enqueuer=None))  # type: ignore[arg-type]
    yield loop
    context.bind(None)


async def test_a_body_called_from_another_loop_runs_on_the_app_loop(
    bound_loop: asyncio.AbstractEventLoop,
) -> None:
    async def from_elsewhere() -> tuple[asyncio.AbstractEventLoop, str, str]:
        caller_tag.set("set by the caller")
        return await where_am_i()

    loop, thread, tag = await on_a_foreign_loop(from_elsewhere)

    assert loop is bound_loop
    assert thread == threading.current_thread().name
    assert tag == "set by the caller"  # context variables (DBOS's context) travel along


async def test_on_the_app_loop_it_is_a_plain_call(bound_loop: asyncio.AbstractEventLoop) -> None:
    loop, thread, _ = await where_am_i()
    assert (loop, thread) == (bound_loop, threading.current_thread().name)


async def test_errors_reach_the_caller_on_the_other_loop(
    bound_loop: asyncio.AbstractEventLoop,
) -> None:
    with pytest.raises(LookupError, match="raised on the app loop"):
        await on_a_foreign_loop(lambda: where_am_i(fail=True))


async def test_a_workflow_on_a_foreign_loop_uses_the_database_through_the_app_loop(
    live_app: tuple[FastAPI, httpx.AsyncClient],
    engine: AsyncEngine,
    minter: TokenMinter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    issuer = await Factories(sessionmaker, minter).agent()
    async with sessionmaker.begin() as session:
        session.add(
            AgentVoucher(
                code=new_code(),
                issuer_id=issuer.identity_id,
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    seen: list[tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]] = []
    purge = vouchers.purge_expired

    async def observed_purge(session: AsyncSession) -> int:
        connection = await (await session.connection()).get_raw_connection()
        seen.append((asyncio.get_running_loop(), connection.driver_connection._loop))
        return await purge(session)

    monkeypatch.setattr(vouchers, "purge_expired", observed_purge)

    async def run_workflow() -> None:
        handle = await DBOS.start_workflow_async(purge_expired, datetime.now(UTC), None)
        await handle.get_result(polling_interval_sec=0.05)

    await on_a_foreign_loop(run_workflow)

    app_loop = asyncio.get_running_loop()
    # the step ran here, on a pooled connection of this loop (not one made for the other
    # loop, which would stay in the app's pool after that loop is gone)
    assert seen == [(app_loop, app_loop)]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AgentVoucher)) == 0


async def test_the_loop_has_a_working_executor_after_dbos_stops(
    settings: Settings, engine: AsyncEngine
) -> None:
    """DBOS's async API makes its pool the loop's default executor; destroy() shuts it."""
    await truncate_everything(engine)
    app = create_app(settings, launch_workflows=True)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30):
        await DBOS.list_workflows_async(limit=1)
    assert await asyncio.to_thread(threading.current_thread) is not threading.current_thread()


def test_every_step_is_declared_with_app_step() -> None:
    package = Path(moltnet.workflows.__file__).parent
    bare = [
        f"{path.name}:{node.lineno}"
        for path in sorted(package.glob("*.py"))
        if path.name != "context.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        for decorator in node.decorator_list
        if "DBOS.step" in ast.unparse(decorator)
    ]
    assert bare == [], "declare steps with context.app_step so they run on the app's loop"
