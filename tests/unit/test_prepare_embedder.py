"""prepare_embedder: sha256 pinning and the cosine-gated per-channel int8 quantization."""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from moltnet.cli import app
from moltnet.embedding.onnx import OnnxModel
from moltnet.embedding.prepare import (
    FIXED_SENTENCES,
    ChecksumMismatch,
    QuantizationRejected,
    cosine_agreement,
    quantize_int8,
    sha256_of,
    verify_sha256,
)
from tests.unit.tiny_encoder import build_tiny_encoder, tokenizer_path


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("fp32") / "model.onnx")


def test_quantized_model_is_int8_and_agrees_with_fp32(fp32_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "int8" / "model.onnx"
    report = quantize_int8(fp32_model, tokenizer_path(), output)

    assert output.is_file()
    assert report.min_cosine >= 0.99
    assert report.mean_cosine >= report.min_cosine
    assert report.sentences == len(FIXED_SENTENCES)
    assert report.output_bytes < report.source_bytes / 2
    # the weights really are int8, quantized per output channel
    graph = onnx.load(output).graph
    int8_weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8_weights
    scales = [t for t in graph.initializer if t.name.endswith("_scale") and t.dims]
    assert any(dims == 384 for scale in scales for dims in scale.dims)
    # and it loads through the production code path with a 384-d probe
    quantized = OnnxModel(output, tokenizer_path())
    similarity = cosine_agreement(
        OnnxModel(fp32_model, tokenizer_path()), quantized, FIXED_SENTENCES
    )
    assert float(similarity.min()) == pytest.approx(report.min_cosine, abs=1e-6)


def test_quantization_below_the_cosine_gate_writes_nothing(
    fp32_model: Path, tmp_path: Path
) -> None:
    output = tmp_path / "model.onnx"
    with pytest.raises(QuantizationRejected, match="minimum cosine"):
        quantize_int8(fp32_model, tokenizer_path(), output, min_cosine=0.999_999_9)
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_quantization_refuses_a_model_that_is_not_384_d(tmp_path: Path) -> None:
    wrong = build_tiny_encoder(tmp_path / "wrong.onnx", dimensions=128)
    with pytest.raises(Exception, match=r"expected \(384,\)"):
        quantize_int8(wrong, tokenizer_path(), tmp_path / "out.onnx")


def test_sha256_pin_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"pinned model bytes")
    expected = hashlib.sha256(b"pinned model bytes").hexdigest()
    assert sha256_of(path) == expected
    verify_sha256(path, expected.upper())
    with pytest.raises(ChecksumMismatch, match="expected 00"):
        verify_sha256(path, "00" * 32)


def test_cli_writes_the_int8_model(fp32_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "model-int8.onnx"
    result = CliRunner().invoke(
        app,
        [
            "prepare-embedder",
            str(fp32_model),
            str(tokenizer_path()),
            str(output),
            "--sha256",
            sha256_of(fp32_model),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "min cosine" in result.output
    assert output.is_file()


def test_cli_refuses_a_wrong_checksum(fp32_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "model-int8.onnx"
    result = CliRunner().invoke(
        app,
        [
            "prepare-embedder",
            str(fp32_model),
            str(tokenizer_path()),
            str(output),
            "--sha256",
            "ab" * 32,
        ],
    )
    assert result.exit_code == 2
    assert "sha256 is" in result.output
    assert not output.exists()
