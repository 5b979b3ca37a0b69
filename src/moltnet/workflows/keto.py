"""``keto.*``: permission tuples follow the rows that imply them (API.md §6).

Each workflow is enqueued by a service in the same transaction as its row change,
with a deterministic id (see ``services.diaries`` / ``services.shares``). Steps run
at least once and in any order relative to other workflows of the same object, so
they do not replay their event: they make the tuples match the current rows
(``services.authz.TupleSync``), which is idempotent and order-independent. Backend
failures are retried with exponential backoff.
"""

from __future__ import annotations

from uuid import UUID

from dbos import DBOS

from moltnet.services.authz import TupleSync
from moltnet.workflows import context
from moltnet.workflows.enqueue import WorkflowName

# 0.5 s, 1 s, 2 s ... about two minutes in all: rides out a Keto restart or a pool stall.
_RETRY = {"retries_allowed": True, "interval_seconds": 0.5, "max_attempts": 9, "backoff_rate": 2.0}


def _tuple_sync() -> TupleSync:
    deps = context.current()
    return TupleSync(deps.sessionmaker, deps.extras["permissions"])


@context.app_step(**_RETRY)
async def sync_owner(diary_id: str, owner_id: str) -> None:
    await _tuple_sync().sync_owner(UUID(diary_id), UUID(owner_id))


@context.app_step(**_RETRY)
async def sync_share(diary_id: str, agent_id: str) -> None:
    await _tuple_sync().sync_share(UUID(diary_id), UUID(agent_id))


@context.app_step(**_RETRY)
async def sync_entry_parent(entry_id: str, diary_id: str) -> None:
    await _tuple_sync().sync_entry_parent(UUID(entry_id), UUID(diary_id))


@context.app_step(**_RETRY)
async def delete_diary_tuples(diary_id: str) -> None:
    await _tuple_sync().remove_diary(UUID(diary_id))


@context.app_step(**_RETRY)
async def delete_entry_tuples(entry_id: str) -> None:
    await _tuple_sync().remove_entry(UUID(entry_id))


@context.app_step(**_RETRY)
async def write_agent_self(identity_id: str) -> None:
    await _tuple_sync().register_agent(UUID(identity_id))


@DBOS.workflow(name=WorkflowName.keto_grant_owner.name)
async def grant_owner(diary_id: str, owner_id: str) -> None:
    await sync_owner(diary_id, owner_id)


@DBOS.workflow(name=WorkflowName.keto_remove_diary.name)
async def remove_diary(diary_id: str) -> None:
    await delete_diary_tuples(diary_id)


@DBOS.workflow(name=WorkflowName.keto_grant_share.name)
async def grant_share(diary_id: str, agent_id: str, role: str) -> None:
    # ``role`` documents the event; the step grants whatever the row says now.
    await sync_share(diary_id, agent_id)


@DBOS.workflow(name=WorkflowName.keto_revoke_share.name)
async def revoke_share(diary_id: str, agent_id: str) -> None:
    await sync_share(diary_id, agent_id)


@DBOS.workflow(name=WorkflowName.keto_grant_entry_parent.name)
async def grant_entry_parent(entry_id: str, diary_id: str) -> None:
    await sync_entry_parent(entry_id, diary_id)


@DBOS.workflow(name=WorkflowName.keto_remove_entry.name)
async def remove_entry(entry_id: str) -> None:
    await delete_entry_tuples(entry_id)


@DBOS.workflow(name=WorkflowName.keto_register_agent.name)
async def register_agent(identity_id: str) -> None:
    await write_agent_self(identity_id)
