"""``embedding.fill_entry``: give an entry the vector its write could not compute.

Enqueued by ``services.entries`` in the entry's own transaction whenever the embedder
failed during a create or an edit, with the id ``embedding:fill-entry:<entryId>:<hash>``.
The step retries with backoff while the model is down (``EmbeddingUnavailable``); it is
idempotent: an entry that has a current vector, or is gone, is left alone, and a vector
is stored only if the content it was computed from is still the entry's content.
"""

from __future__ import annotations

from uuid import UUID

from dbos import DBOS

from moltnet.embedding.protocol import Embedder
from moltnet.services import entries
from moltnet.workflows import context
from moltnet.workflows.enqueue import WorkflowName

EMBEDDER_ROLE = "embedder"


@context.app_step(retries_allowed=True, interval_seconds=2.0, max_attempts=10, backoff_rate=2.0)
async def fill_vector(entry_id: str) -> bool:
    deps = context.current()
    embedder: Embedder = deps.extras[EMBEDDER_ROLE]
    return await entries.fill_embedding(deps.sessionmaker, embedder, UUID(entry_id))


@DBOS.workflow(name=WorkflowName.embedding_fill_entry.name)
async def fill_entry(entry_id: str) -> bool:
    return await fill_vector(entry_id)
