"""Enqueue DBOS workflows inside the caller's open database transaction.

The DBOS system schema lives in the application database, so writing the ENQUEUED
workflow row on the request's own connection makes one COMMIT decide both the rows
and their workflow, and one ROLLBACK remove both (ARCHITECTURE.md §3). This module
imports only dbos and sqlalchemy so services can use it without an import cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dbos import DBOSClient, EnqueueOptions
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


async def enqueue_in_transaction(
    session: AsyncSession,
    enqueuer: Enqueuer,
    workflow: WorkflowRef,
    *args: object,
    workflow_id: str,
) -> None:
    """Functional form of :meth:`Enqueuer.enqueue`."""
    await enqueuer.enqueue(session, workflow, *args, workflow_id=workflow_id)
