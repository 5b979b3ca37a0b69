"""Enqueue DBOS workflows inside the caller's open database transaction.

The DBOS system schema lives in the application database, so writing the ENQUEUED
workflow row on the request's own connection makes one COMMIT decide both the rows
and their workflow, and one ROLLBACK remove both (ARCHITECTURE.md §3). This module
imports only dbos and sqlalchemy so services can use it without an import cycle.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from dbos import DBOSClient, EnqueueOptions, WorkflowHandleAsync
from sqlalchemy.ext.asyncio import AsyncSession


class Queue(enum.StrEnum):
    keto = "keto"  # permission tuple changes; polled fast for read-your-writes
    registration = "registration"
    signing = "signing"
    embedding = "embedding"
    maintenance = "maintenance"


@dataclass(frozen=True)
class WorkflowRef:
    """The registered name of a workflow and the queue it runs on."""

    name: str
    queue: Queue


class WorkflowName:
    """Every workflow the services may enqueue; a unit test checks each is registered."""

    keto_grant_owner = WorkflowRef("keto.grant_owner", Queue.keto)
    keto_remove_diary = WorkflowRef("keto.remove_diary", Queue.keto)
    keto_grant_share = WorkflowRef("keto.grant_share", Queue.keto)
    keto_revoke_share = WorkflowRef("keto.revoke_share", Queue.keto)
    keto_grant_entry_parent = WorkflowRef("keto.grant_entry_parent", Queue.keto)
    keto_remove_entry = WorkflowRef("keto.remove_entry", Queue.keto)
    keto_register_agent = WorkflowRef("keto.register_agent", Queue.keto)
    registration_register_agent = WorkflowRef("registration.register_agent", Queue.registration)
    signing_request_signature = WorkflowRef("signing.request_signature", Queue.signing)
    embedding_fill_entry = WorkflowRef("embedding.fill_entry", Queue.embedding)


@dataclass(frozen=True)
class Enqueuer:
    """Built once in the lifespan around a DBOSClient on the application database."""

    client: DBOSClient
    app_version: str

    async def enqueue(
        self,
        session: AsyncSession,
        workflow: WorkflowRef,
        *args: object,
        workflow_id: str,
    ) -> None:
        """Enqueue ``workflow`` on the session's connection, inside its open transaction.

        An existing ``workflow_id`` is a no-op, so retries of the same change dedupe.
        """
        options: EnqueueOptions = {
            "queue_name": workflow.queue.value,
            "workflow_name": workflow.name,
            "workflow_id": workflow_id,
            "app_version": self.app_version,
        }
        connection = await session.connection()  # the request's; its transaction is open
        await connection.run_sync(
            lambda sync_connection: self.client.enqueue_in_transaction(
                sync_connection, options, *args
            )
        )

    async def send(
        self,
        session: AsyncSession,
        workflow_id: str,
        message: object,
        *,
        topic: str,
        idempotency_key: str,
    ) -> None:
        """Send ``message`` to a waiting workflow inside the session's open transaction.

        The workflow sees it only if the transaction commits, so the rows that justify
        the message and the message itself commit together.
        """
        connection = await session.connection()
        await connection.run_sync(
            lambda sync_connection: self.client.send_in_transaction(
                sync_connection, workflow_id, message, topic, idempotency_key
            )
        )

    async def exists(self, workflow_id: str) -> bool:
        """Whether a workflow with this id was ever enqueued (and committed)."""
        found = await self.client.list_workflows_async(workflow_ids=[workflow_id], limit=1)
        return bool(found)

    async def wait_result(
        self, workflow_id: str, *, timeout_seconds: float, polling_interval_seconds: float = 0.05
    ) -> object:
        """The result of a committed workflow, polled at a short interval.

        Raises ``TimeoutError`` after ``timeout_seconds``; the workflow itself goes on.
        """
        handle: WorkflowHandleAsync[object] = await self.client.retrieve_workflow_async(workflow_id)
        return await asyncio.wait_for(
            handle.get_result(polling_interval_sec=polling_interval_seconds),
            timeout=timeout_seconds,
        )


async def enqueue_in_transaction(
    session: AsyncSession,
    enqueuer: Enqueuer,
    workflow: WorkflowRef,
    *args: object,
    workflow_id: str,
) -> None:
    """Functional form of :meth:`Enqueuer.enqueue`."""
    await enqueuer.enqueue(session, workflow, *args, workflow_id=workflow_id)
