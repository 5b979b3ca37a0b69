"""Request dependencies shared by the routers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.api.middleware import deferred_body_problem
from moltnet.backends.embedded.identity import EmbeddedIdentityBackend
from moltnet.backends.embedded.oauth2 import EmbeddedOAuth2Backend
from moltnet.backends.protocols import IdentityBackend, OAuth2Backend
from moltnet.config import Settings
from moltnet.embedding.protocol import Embedder
from moltnet.errors import ValidationFailed
from moltnet.lifespan import AppState, app_state
from moltnet.services.authz import Authz
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


async def get_authz(session: SessionDep, state: StateDep) -> Authz:
    """The request's authorization, on the request's session (services/authz.py)."""
    return Authz(session, state["permissions"])


AuthzDep = Annotated[Authz, Depends(get_authz, scope="function")]


async def get_embedder(state: StateDep) -> Embedder:
    return state["embedder"]  # overridden only by the embedder-down tests


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]


async def get_oauth2(state: StateDep, sessionmaker: SessionmakerDep) -> OAuth2Backend:
    backend = state["oauth2"]
    if isinstance(backend, EmbeddedOAuth2Backend):
        # Its clients live in the app database: read them through the request's
        # sessionmaker, the one tests bind to their rolled-back transaction.
        return backend.using(sessionmaker)
    return backend


OAuth2Dep = Annotated[OAuth2Backend, Depends(get_oauth2)]


async def get_identity(state: StateDep, sessionmaker: SessionmakerDep) -> IdentityBackend:
    backend = state["identity"]
    if isinstance(backend, EmbeddedIdentityBackend):
        return backend.using(sessionmaker)  # as for OAuth2: the request's sessionmaker
    return backend


IdentityDep = Annotated[IdentityBackend, Depends(get_identity)]


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
