import pytest

from moltnet.embedding.onnx import OnnxEmbedder


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    # The real default model: loading it takes about half a second, so load it once.
    return OnnxEmbedder.from_default(threads=1, max_concurrent=2)
