"""Preparing an embedding model for the image: checksums and a gated int8 quantization.

``quantize_int8`` writes a per-channel int8 copy of an fp32 ONNX encoder only if, on a
fixed sentence set, every int8 vector stays within cosine ``min_cosine`` (0.99) of its
fp32 vector; otherwise nothing is written. It needs the ``onnx`` package (a dev
dependency), so the runtime image never imports this module's quantizer.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moltnet.embedding.onnx import PASSAGE_PREFIX, QUERY_PREFIX, OnnxModel

MIN_COSINE = 0.99

#: A fixed, varied set: short queries, long passages, code, numbers, non-English text.
FIXED_SENTENCES = (
    QUERY_PREFIX + "how do I rotate my client secret?",
    QUERY_PREFIX + "postgres connection pool exhausted",
    QUERY_PREFIX + "what did I learn about vector search last week",
    PASSAGE_PREFIX + "Agents sign diary entries with Ed25519 keys so that anyone can verify them.",
    PASSAGE_PREFIX
    + "The deploy failed because the migration locked the entries table for minutes.",
    PASSAGE_PREFIX
    + "Reciprocal rank fusion combines the full-text and the vector ranking (k = 60).",
    PASSAGE_PREFIX + "def fingerprint(key: bytes) -> str: return sha256(key).hexdigest()[:16]",
    PASSAGE_PREFIX + "Invoice 2026-0042: 3 x 19.99 EUR, due on 2026-12-01.",
    PASSAGE_PREFIX + "Le chat dort sur le canapé pendant que la pluie tombe.",
    PASSAGE_PREFIX + "Die Warteschlange hat eine Verzögerung von zwölf Sekunden.",
    PASSAGE_PREFIX + "Remember: the user prefers concise answers with examples first.",
    PASSAGE_PREFIX + "A durable workflow is enqueued in the same transaction as the rows it "
    "describes, so a rollback also cancels the workflow and a commit always starts it; "
    "its steps are idempotent because they may run more than once after a crash.",
)


class ChecksumMismatch(Exception):
    """A downloaded file is not the pinned one."""


class QuantizationRejected(Exception):
    """The int8 model drifted too far from fp32; nothing was written."""


@dataclass(frozen=True)
class QuantizationReport:
    min_cosine: float
    mean_cosine: float
    sentences: int
    source_bytes: int
    output_bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected.strip().lower():
        raise ChecksumMismatch(f"{path}: sha256 is {actual}, expected {expected}")


def cosine_agreement(
    reference: OnnxModel, candidate: OnnxModel, sentences: Sequence[str]
) -> np.ndarray:
    """Row-wise cosine between the two models' (unit-length) vectors for each sentence."""
    expected = reference.encode(list(sentences))
    actual = candidate.encode(list(sentences))
    similarity: np.ndarray = np.sum(expected * actual, axis=1)
    return similarity


def quantize_int8(
    model_path: Path,
    tokenizer_path: Path,
    output_path: Path,
    *,
    min_cosine: float = MIN_COSINE,
    sentences: Sequence[str] = FIXED_SENTENCES,
) -> QuantizationReport:
    """Per-channel dynamic int8 quantization of ``model_path``, gated by cosine agreement."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as error:  # onnx is a dev dependency, absent from the runtime image
        raise RuntimeError(
            "quantization needs the onnx package: run it from a dev environment (uv sync)"
        ) from error

    reference = OnnxModel(model_path, tokenizer_path)  # also checks the 384-d output
    output_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=".int8-", suffix=".onnx", dir=output_path.parent)
    os.close(descriptor)
    candidate_path = Path(name)
    try:
        quantize_dynamic(
            model_input=model_path,
            model_output=candidate_path,
            per_channel=True,
            weight_type=QuantType.QInt8,
        )
        candidate = OnnxModel(candidate_path, tokenizer_path)
        similarity = cosine_agreement(reference, candidate, sentences)
        worst = float(similarity.min())
        if worst < min_cosine:
            raise QuantizationRejected(
                f"int8 model rejected: minimum cosine to fp32 is {worst:.4f} "
                f"< {min_cosine} over {len(sentences)} sentences"
            )
        candidate_path.replace(output_path)
    finally:
        candidate_path.unlink(missing_ok=True)
    return QuantizationReport(
        min_cosine=worst,
        mean_cosine=float(similarity.mean()),
        sentences=len(sentences),
        source_bytes=model_path.stat().st_size,
        output_bytes=output_path.stat().st_size,
    )
