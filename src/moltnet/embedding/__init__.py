"""Text embeddings: the ``Embedder`` role and its local ONNX implementation.

Services import from ``moltnet.embedding.protocol`` only; the lifespan builds
an ``OnnxEmbedder`` (``moltnet.embedding.onnx``).
"""
