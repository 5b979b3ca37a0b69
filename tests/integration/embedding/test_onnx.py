import asyncio
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from moltnet.embedding.onnx import (
    DEFAULT_MODEL_ID,
    OnnxEmbedder,
    OnnxModel,
    derive_model_id,
    load_default_model_paths,
    open_onnx_embedder,
)
from moltnet.embedding.protocol import (
    EMBEDDING_DIMENSIONS,
    Embedder,
    EmbeddingModelLoadError,
)

SENTENCES = [
    "The sourdough starter needs feeding twice a day with flour and water.",
    "Rotate the Ed25519 signing key before the old one expires.",
    "Heavy rain is expected across the northern valleys tomorrow afternoon.",
]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_onnx_embedder_satisfies_the_embedder_protocol(embedder: OnnxEmbedder) -> None:
    as_role: Embedder = embedder  # mypy checks the structural match
    assert as_role.model_id == DEFAULT_MODEL_ID
    assert as_role.dimensions == EMBEDDING_DIMENSIONS == 384


def test_default_tokenizer_is_the_pinned_all_minilm_file() -> None:
    _, tokenizer_path = load_default_model_paths()
    data = tokenizer_path.read_bytes()
    assert len(data) == 466_247
    assert hashlib.sha256(data).hexdigest().startswith("be50c362")
    assert (tokenizer_path.parent / "LICENSE").read_text().find("Apache License") >= 0


async def test_query_embedding_is_384_dimensional_and_unit_length(embedder: OnnxEmbedder) -> None:
    vector = await embedder.embed_query("how do I rotate my signing key?")
    assert len(vector) == 384
    assert all(isinstance(value, float) for value in vector)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


async def test_passage_embeddings_are_unit_length_one_per_text(embedder: OnnxEmbedder) -> None:
    vectors = await embedder.embed_passages(SENTENCES)
    assert len(vectors) == len(SENTENCES)
    for vector in vectors:
        assert len(vector) == 384
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


async def test_batch_embedding_equals_single_embeddings(embedder: OnnxEmbedder) -> None:
    # Different lengths in one call: padding and length-sorting must not change any vector
    # or its position in the result.
    texts = [*SENTENCES, "short", "a much longer passage " * 40]
    batched = await embedder.embed_passages(texts)
    for text, vector in zip(texts, batched, strict=True):
        [single] = await embedder.embed_passages([text])
        assert cosine(vector, single) >= 0.9999


async def test_embeddings_are_deterministic(embedder: OnnxEmbedder) -> None:
    first = await embedder.embed_passages(SENTENCES)
    second = await embedder.embed_passages(SENTENCES)
    assert np.allclose(first, second, atol=1e-6)
    assert await embedder.embed_query("rain tomorrow") == await embedder.embed_query(
        "rain tomorrow"
    )


async def test_distinct_texts_get_distinct_vectors(embedder: OnnxEmbedder) -> None:
    vectors = await embedder.embed_passages(SENTENCES)
    assert cosine(vectors[0], vectors[1]) < 0.6
    assert cosine(vectors[1], vectors[2]) < 0.6


async def test_query_and_passage_prefixes_are_applied(embedder: OnnxEmbedder) -> None:
    text = "signing key rotation"
    query = await embedder.embed_query(text)
    [passage] = await embedder.embed_passages([text])
    # Same words, different prefix: close but not the same vector.
    assert 0.7 < cosine(query, passage) < 0.9999


async def test_long_input_is_truncated_at_512_tokens(embedder: OnnxEmbedder) -> None:
    head = " ".join(f"word{index % 97} alpha beta" for index in range(700))
    long_text = head + " " + " ".join("tail" for _ in range(5000))
    other_tail = head + " " + " ".join("completely different ending" for _ in range(2000))
    [long_vector] = await embedder.embed_passages([long_text])
    [other_vector] = await embedder.embed_passages([other_tail])
    assert len(long_vector) == 384
    assert np.linalg.norm(long_vector) == pytest.approx(1.0, abs=1e-5)
    # Only the first 512 tokens count, and both texts share far more than that.
    assert cosine(long_vector, other_vector) >= 0.9999


async def test_five_thousand_word_query_works(embedder: OnnxEmbedder) -> None:
    vector = await embedder.embed_query(" ".join(["memory"] * 5000))
    assert len(vector) == 384


async def test_empty_passage_list_gives_no_vectors(embedder: OnnxEmbedder) -> None:
    assert await embedder.embed_passages([]) == []


async def test_ping_succeeds_for_a_loaded_model(embedder: OnnxEmbedder) -> None:
    await embedder.ping()


async def test_concurrent_queries_all_return_their_own_vector(embedder: OnnxEmbedder) -> None:
    texts = [f"question number {index} about topic {index * 7}" for index in range(8)]
    results = await asyncio.gather(*(embedder.embed_query(text) for text in texts))
    for text, vector in zip(texts, results, strict=True):
        assert cosine(vector, await embedder.embed_query(text)) >= 0.9999


async def test_inference_runs_off_the_event_loop(embedder: OnnxEmbedder) -> None:
    loop_thread = threading.get_ident()
    ticks = 0

    async def tick_until(task: asyncio.Future[list[list[float]]]) -> None:
        nonlocal ticks
        while not task.done():
            assert threading.get_ident() == loop_thread
            ticks += 1
            await asyncio.sleep(0.001)

    passages = [
        f"note {index}: " + "the agent wrote a memory about a deploy " * 8 for index in range(48)
    ]
    work = asyncio.ensure_future(embedder.embed_passages(passages))
    await tick_until(work)
    assert len(await work) == 48
    # Had the model run on the loop, the ticker could not have run while it worked.
    assert ticks >= 5


def test_missing_model_path_names_the_path(tmp_path: Path) -> None:
    _, tokenizer_path = load_default_model_paths()
    missing = tmp_path / "no-such-model.onnx"
    with pytest.raises(EmbeddingModelLoadError, match="embedding model not found") as caught:
        OnnxEmbedder.from_paths(missing, tokenizer_path, model_id="e5-small-v2")
    assert str(missing) in str(caught.value)


def test_missing_tokenizer_path_names_the_path(tmp_path: Path) -> None:
    model_path, _ = load_default_model_paths()
    missing = tmp_path / "tokenizer.json"
    with pytest.raises(EmbeddingModelLoadError, match="tokenizer not found") as caught:
        OnnxEmbedder.from_paths(model_path, missing, model_id="e5-small-v2")
    assert str(missing) in str(caught.value)


def test_corrupt_model_file_is_a_clear_load_error(tmp_path: Path) -> None:
    _, tokenizer_path = load_default_model_paths()
    corrupt = tmp_path / "model.onnx"
    corrupt.write_bytes(b"this is not an onnx graph")
    with pytest.raises(EmbeddingModelLoadError, match="cannot load embedding model") as caught:
        OnnxModel(corrupt, tokenizer_path)
    assert str(corrupt) in str(caught.value)


def test_model_with_the_wrong_output_size_is_refused_at_load() -> None:
    model_path, tokenizer_path = load_default_model_paths()
    with pytest.raises(EmbeddingModelLoadError, match=r"expected \(768,\)") as caught:
        OnnxModel(model_path, tokenizer_path, dimensions=768)
    assert str(model_path) in str(caught.value)
    assert "(384,)" in str(caught.value)


async def test_open_without_paths_loads_the_default_model() -> None:
    opened = await open_onnx_embedder(threads=1, max_concurrent=1)
    assert opened.model_id == DEFAULT_MODEL_ID
    assert len(await opened.embed_query("hello")) == 384


async def test_open_configured_model_without_id_derives_it_from_the_file(
    tmp_path: Path,
) -> None:
    model_path, tokenizer_path = load_default_model_paths()
    opened = await open_onnx_embedder(model_path, tokenizer_path)
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert opened.model_id == f"{model_path.parent.name}@{digest[:12]}"
    # Other weights under the same file name get another id, so their vectors are refused.
    other = tmp_path / model_path.parent.name / "model.onnx"
    other.parent.mkdir()
    other.write_bytes(model_path.read_bytes() + b"\0")
    assert derive_model_id(other) != opened.model_id


async def test_open_configured_model_needs_both_paths() -> None:
    model_path, _ = load_default_model_paths()
    with pytest.raises(EmbeddingModelLoadError, match="tokenizer path"):
        await open_onnx_embedder(model_path, None, model_id="e5-small-v2")


async def test_open_configured_model_keeps_its_model_id() -> None:
    model_path, tokenizer_path = load_default_model_paths()
    opened = await open_onnx_embedder(model_path, tokenizer_path, model_id="minilm-under-test")
    assert opened.model_id == "minilm-under-test"
