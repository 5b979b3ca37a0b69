"""The resources workflow steps use, bound once by the lifespan, and the loop they live on.

DBOS runs steps outside any request (and again after a restart), so steps cannot
take resources from a request; the lifespan binds them here before launch.

Those resources (the asyncpg pool behind the sessionmaker, the backends' HTTP
clients) belong to the event loop the lifespan ran on. DBOS starts a dequeued async
workflow on the loop that launched it only while that loop is running; otherwise it
uses its own background loop in another thread. That happens in-process under
pytest-asyncio, which stops its loop between a test's phases, and during a server's
shutdown. A connection driven from two threads corrupts its state, so every step is
declared with :func:`app_step`, which runs the step's body on the app's loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.workflows.enqueue import Enqueuer

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class WorkflowDeps:
    sessionmaker: async_sessionmaker[AsyncSession]
    enqueuer: Enqueuer
    extras: dict[str, Any] = field(default_factory=dict)  # role -> backend, added per slice
    # built inside the lifespan, so this is the loop that owns the resources above
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)


_deps: WorkflowDeps | None = None


def bind(deps: WorkflowDeps | None) -> None:
    global _deps
    _deps = deps


def current() -> WorkflowDeps:
    if _deps is None:
        raise RuntimeError("workflow dependencies are not bound: is the app lifespan running?")
    return _deps


def on_app_loop(
    body: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run ``body`` on the app's loop, awaiting it from whichever loop called it.

    On the app's loop this is a plain call. From another loop the coroutine is handed
    over with ``run_coroutine_threadsafe`` (which carries the caller's context
    variables, DBOS's workflow context among them) and awaited without blocking the
    caller's loop; cancelling the caller cancels the body.
    """

    @functools.wraps(body)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        loop = current().loop
        if asyncio.get_running_loop() is loop:
            return await body(*args, **kwargs)
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(body(*args, **kwargs), loop)
        )

    return run


def app_step(
    **options: Any,
) -> Callable[[Callable[P, Coroutine[Any, Any, T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """``DBOS.step(**options)`` whose body runs on the app's loop (see the module doc)."""

    def declare(body: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        return DBOS.step(**options)(on_app_loop(body))

    return declare
