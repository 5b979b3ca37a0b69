"""The embedder role: what services may ask of a text-embedding model.

Services import only this module. The ONNX implementation lives in
``onnx.py`` and is built once in the lifespan; unit tests use a fake from
``tests/fakes/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: Every model MoltNet runs produces vectors of this size (the pgvector column's width).
EMBEDDING_DIMENSIONS = 384


class EmbeddingUnavailable(Exception):
    """Inference failed or the model is unusable; callers fall back (full-text search,
    a retrying workflow for the entry's vector) and never turn this into a 5xx."""


class EmbeddingModelLoadError(Exception):
    """The model or tokenizer could not be loaded from its configured path.

    Raised at start-up, so a bad ``EMBED_MODEL_PATH`` fails loudly instead of
    degrading every search to full text.
    """


class EmbeddingModelMismatch(Exception):
    """Stored vectors were built by a different model than the one running now.

    Vectors of two models live in unrelated spaces, so comparing them returns
    confident nonsense; the search is refused instead.
    """

    def __init__(self, *, stored_model_id: str, current_model_id: str) -> None:
        super().__init__(
            f"the stored vectors were built by embedding model {stored_model_id!r}, but the "
            f"running embedder is {current_model_id!r}; re-embed the entries with the "
            f"current model or configure {stored_model_id!r} before searching by vector"
        )
        self.stored_model_id = stored_model_id
        self.current_model_id = current_model_id


class Embedder(Protocol):
    """Turns text into unit-length vectors of ``dimensions`` floats.

    The implementation adds the ``query: `` / ``passage: `` prefixes itself, so
    callers pass plain text and never prefix twice.
    """

    @property
    def model_id(self) -> str:
        """Stored next to every vector; see :func:`ensure_same_model`."""
        ...

    @property
    def dimensions(self) -> int: ...

    async def embed_query(self, text: str) -> list[float]:
        """Embed a search query. Raises :class:`EmbeddingUnavailable`."""
        ...

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed stored texts (see :func:`passage_text`), one vector per text, in order.
        Raises :class:`EmbeddingUnavailable`."""
        ...

    async def ping(self) -> None:
        """Run a tiny inference; raises :class:`EmbeddingUnavailable` if the model is unusable."""
        ...


def ensure_same_model(stored_model_id: str, current: str) -> None:
    """Refuse to compare vectors from ``stored_model_id`` with the ``current`` model's."""
    if stored_model_id != current:
        raise EmbeddingModelMismatch(stored_model_id=stored_model_id, current_model_id=current)


def passage_text(title: str | None, content: str, tags: Sequence[str]) -> str:
    """The text an entry is embedded from (API.md §3.7), without the ``passage: `` prefix.

    ``title``, ``content`` and one ``tag:<name>`` line per tag, joined by newlines;
    empty parts are left out so an untitled entry does not start with a blank line.
    """
    parts = [title or "", content, *(f"tag:{tag}" for tag in tags if tag)]
    return "\n".join(part for part in parts if part)
