"""DBOS lifecycle: configure with the system schema in the app database, launch, stop.

DBOS is a process-wide singleton; its workflows are registered by decorators when
their modules are imported (``workflows/registry.py`` imports them all).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import anyio.to_thread
from dbos import DBOS, DBOSClient, DBOSConfig

from moltnet.workflows.enqueue import Queue

DBOS_SCHEMA = "dbos"
APP_NAME = "moltnet"

# Workflows that wait (signing: recv up to the TTL) must not be capped, or a burst of
# pending requests would starve the rest; permission and embedding work is capped
# to keep the database pool free for requests.
WORKER_CONCURRENCY: dict[Queue, int | None] = {
    Queue.keto: 8,
    Queue.registration: 8,
    Queue.signing: None,
    Queue.embedding: 2,
    Queue.maintenance: 1,
}


def dbos_config(
    system_url: str,
    *,
    app_version: str,
    executor_id: str | None = None,
    enable_otlp: bool = False,
) -> DBOSConfig:
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": system_url,
        "application_version": app_version,  # unset would only run on the latest version
        "dbos_system_schema": DBOS_SCHEMA,
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.1,
    }
    if executor_id is not None:
        config["executor_id"] = executor_id
    if enable_otlp:
        # spans for workflows and steps, on the global tracer provider telemetry installed
        config["enable_otlp"] = True
    return config


def migrate_system_schema(system_url: str) -> None:
    DBOS.migrate(system_url, schema=DBOS_SCHEMA)


async def launch(
    system_url: str, *, app_version: str, queue_polling_seconds: float, enable_otlp: bool = False
) -> None:
    """Launch DBOS on the running event loop (this process then executes workflows)."""
    import moltnet.workflows.registry  # noqa: F401 - registers every workflow before launch

    logging.getLogger("dbos").setLevel(logging.WARNING)
    DBOS(config=dbos_config(system_url, app_version=app_version, enable_otlp=enable_otlp))
    DBOS.launch()
    for queue in Queue:
        await DBOS.register_queue_async(
            queue.value,
            worker_concurrency=WORKER_CONCURRENCY[queue],
            polling_interval_sec=queue_polling_seconds,
            on_conflict="always_update",
        )


def client_only(system_url: str) -> DBOSClient:
    """The client services enqueue through, inside their own transactions."""
    return DBOSClient(system_database_url=system_url, dbos_system_schema=DBOS_SCHEMA)


async def shutdown(*, workflow_completion_timeout_seconds: int = 5) -> None:
    """Stop DBOS, giving active workflows up to the timeout to finish.

    ``DBOS.destroy`` sleeps while it waits for them, and async workflows run on this
    loop: called here it would freeze them for the whole grace period. So it runs in a
    worker thread while the loop goes on.
    """
    await anyio.to_thread.run_sync(
        partial(DBOS.destroy, workflow_completion_timeout_sec=workflow_completion_timeout_seconds)
    )
    # DBOS's async API made its thread pool this loop's default executor, and destroy()
    # shut that pool down: give the loop a working one back, or every later
    # asyncio.to_thread on it (getaddrinfo included) fails with "cannot schedule new
    # futures after shutdown".
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(thread_name_prefix="asyncio")
    )
