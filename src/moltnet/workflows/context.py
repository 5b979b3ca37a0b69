"""The resources workflow steps use, bound once by the lifespan.

DBOS runs steps outside any request (and again after a restart), so steps cannot
take resources from a request; the lifespan binds them here before launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.workflows.enqueue import Enqueuer


@dataclass
class WorkflowDeps:
    sessionmaker: async_sessionmaker[AsyncSession]
    enqueuer: Enqueuer
    extras: dict[str, Any] = field(default_factory=dict)  # role -> backend, added per slice


_deps: WorkflowDeps | None = None


def bind(deps: WorkflowDeps | None) -> None:
    global _deps
    _deps = deps


def current() -> WorkflowDeps:
    if _deps is None:
        raise RuntimeError("workflow dependencies are not bound: is the app lifespan running?")
    return _deps
