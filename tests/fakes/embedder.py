"""``DownEmbedder``: an embedder whose model is unreachable, for the fallback paths only.

It claims the real default model's id, so whatever it would have stored is
comparable with vectors the real model makes once it is back.
"""

from __future__ import annotations

from collections.abc import Sequence

from moltnet.embedding.onnx import DEFAULT_MODEL_ID
from moltnet.embedding.protocol import EMBEDDING_DIMENSIONS, EmbeddingUnavailable


class DownEmbedder:
    """Every inference fails the way the ONNX embedder reports a broken model."""

    model_id = DEFAULT_MODEL_ID
    dimensions = EMBEDDING_DIMENSIONS

    async def embed_query(self, text: str) -> list[float]:
        raise EmbeddingUnavailable("embedding failed: model is down")

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbeddingUnavailable("embedding failed: model is down")

    async def ping(self) -> None:
        raise EmbeddingUnavailable("embedding failed: model is down")
