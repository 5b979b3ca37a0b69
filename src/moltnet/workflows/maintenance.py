"""``maintenance.purge_expired``: a daily DBOS schedule that deletes what has expired.

Expired used-recovery nonces (a replayed challenge is refused by its age anyway),
expired unredeemed vouchers and expired recovery codes. Deleting only rows whose
expiry has passed makes every run idempotent, and a run that crashed is simply
repeated by DBOS (or by the next day's run).

DBOS 3.4 keeps schedules in its system tables: ``apply_schedule`` (called by the
lifespan after launch) creates or replaces ours, so every executor agrees on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import structlog
from dbos import DBOS, ScheduleInput

from moltnet.services import recovery, vouchers
from moltnet.workflows import context
from moltnet.workflows.enqueue import Queue

logger = structlog.get_logger(__name__)

SCHEDULE_NAME: Final = "maintenance.purge-expired"
SCHEDULE_CRON: Final = "0 17 3 * * *"  # daily at 03:17:00 UTC (six fields: seconds first)


@context.app_step(name="maintenance.delete_expired")
async def delete_expired() -> dict[str, int]:
    deps = context.current()
    async with deps.sessionmaker.begin() as session:
        expired_vouchers = await vouchers.purge_expired(session)
        nonces, codes = await recovery.purge_expired(session)
    counts = {"vouchers": expired_vouchers, "nonces": nonces, "recovery_codes": codes}
    logger.info("expired rows deleted", **counts)
    return counts


@DBOS.workflow(name="maintenance.purge_expired")
async def purge_expired(scheduled_at: datetime, schedule_context: Any) -> None:
    await delete_expired()


async def apply_schedule() -> None:
    schedule: ScheduleInput = {
        "schedule_name": SCHEDULE_NAME,
        "workflow_fn": purge_expired,
        "schedule": SCHEDULE_CRON,
        "queue_name": Queue.maintenance.value,
    }
    await DBOS.apply_schedules_async([schedule])
