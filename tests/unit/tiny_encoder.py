"""A tiny BERT-shaped ONNX encoder built with onnx.helper: real ONNX, small weights.

``input_ids``/``attention_mask``/``token_type_ids`` in, ``last_hidden_state``
``(batch, sequence, dimensions)`` out: ids are folded into a small vocabulary, looked up
in an embedding table and projected by a dense layer, so quantization has real
``Gather`` and ``MatMul`` weights to work on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from moltnet.embedding.onnx import load_default_model_paths

VOCABULARY = 997
HIDDEN = 64


def build_tiny_encoder(path: Path, *, dimensions: int = 384, seed: int = 7) -> Path:
    generator = np.random.default_rng(seed)
    table = generator.normal(0, 1, (VOCABULARY, HIDDEN)).astype(np.float32)
    projection = generator.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, dimensions)).astype(np.float32)
    initializers = [
        numpy_helper.from_array(np.array(VOCABULARY, dtype=np.int64), "vocabulary"),
        numpy_helper.from_array(table, "embeddings"),
        numpy_helper.from_array(projection, "projection"),
    ]
    nodes = [
        helper.make_node("Mod", ["input_ids", "vocabulary"], ["folded"]),
        helper.make_node("Gather", ["embeddings", "folded"], ["embedded"], axis=0),
        helper.make_node("MatMul", ["embedded", "projection"], ["projected"]),
        helper.make_node("Tanh", ["projected"], ["last_hidden_state"]),
    ]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", dimensions]
    )
    graph = helper.make_graph(nodes, "tiny-encoder", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def tokenizer_path() -> Path:
    """A real tokenizer.json (the packaged MiniLM one); ids are folded into the tiny vocabulary."""
    return load_default_model_paths()[1]
