"""Request dependencies shared by the routers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.api.middleware import deferred_body_problem
from moltnet.config import Settings
from moltnet.errors import ValidationFailed
from moltnet.lifespan import AppState, app_state
from moltnet.workflows.enqueue import Enqueuer


async def get_state(request: Request) -> AppState:
    return app_state(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_sessionmaker(state: StateDep) -> async_sessionmaker[AsyncSession]:
    return state["sessionmaker"]  # the one dependency tests override


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_session(factory: SessionmakerDep) -> AsyncIterator[AsyncSession]:
    async with factory.begin() as session:  # COMMIT on success, ROLLBACK on any exception
        yield session


# scope="function" commits before the response is sent: a client never gets a 201
# for a transaction that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_settings_dep(state: StateDep) -> Settings:
    return state["settings"]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_enqueuer(state: StateDep) -> Enqueuer:
    return state["enqueuer"]


EnqueuerDep = Annotated[Enqueuer, Depends(get_enqueuer)]


async def require_no_body(request: Request) -> None:
    """Routes documented with "no body" accept an empty body or ``{}`` only."""
    deferred = deferred_body_problem(request.scope)
    if deferred is not None:
        raise deferred
    body = await request.body()
    if not body.strip():
        return
    if json.loads(body) != {}:
        raise ValidationFailed("this route takes no body (send nothing or {})", field="body")


NoBody = Depends(require_no_body)
