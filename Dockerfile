# syntax=docker/dockerfile:1.7
# MoltNet: multi-stage image with the pinned e5-small-v2 ONNX model baked in.
#
#   docker build \
#     --build-arg E5_REVISION=<40-hex commit of intfloat/e5-small-v2> \
#     --build-arg E5_MODEL_SHA256=<sha256 of onnx/model.onnx at that commit> \
#     --build-arg E5_TOKENIZER_SHA256=<sha256 of tokenizer.json at that commit> \
#     -t moltnet .
#
# The build fails unless the revision is a full commit id and both files match their
# sha256 (docs/DEPLOY.md explains how to obtain and check the three values).
# EMBED_VARIANT=int8 bakes a per-channel int8 copy instead, made by
# `moltnet prepare-embedder`, which refuses to write it below cosine 0.99 to fp32.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG EMBED_VARIANT=fp32

# ---- model: download the pinned files and verify them --------------------------------
FROM ${PYTHON_IMAGE} AS model-fp32
ARG E5_REPO=intfloat/e5-small-v2
ARG E5_REVISION
ARG E5_MODEL_FILE=onnx/model.onnx
ARG E5_MODEL_SHA256
# DL3064 matches "TOKEN" in the name: this is a public checksum, not a secret.
# hadolint ignore=DL3064
ARG E5_TOKENIZER_SHA256
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /model
RUN set -eu; \
    if ! [[ "${E5_REVISION:-}" =~ ^[0-9a-f]{40}$ ]]; then \
      echo "E5_REVISION must be a full 40-hex commit id of ${E5_REPO} (not a branch or tag)" >&2; exit 1; \
    fi; \
    for value in "${E5_MODEL_SHA256:-}" "${E5_TOKENIZER_SHA256:-}"; do \
      if ! [[ "$value" =~ ^[0-9a-f]{64}$ ]]; then \
        echo "E5_MODEL_SHA256 and E5_TOKENIZER_SHA256 must be 64-hex sha256 values" >&2; exit 1; \
      fi; \
    done; \
    base="https://huggingface.co/${E5_REPO}/resolve/${E5_REVISION}"; \
    python -c 'import sys, urllib.request; a = sys.argv[1:]; [urllib.request.urlretrieve(u, t) for u, t in zip(a[::2], a[1::2])]' \
      "$base/${E5_MODEL_FILE}" model.onnx "$base/tokenizer.json" tokenizer.json
RUN echo "${E5_MODEL_SHA256}  model.onnx" > SHA256SUMS \
    && echo "${E5_TOKENIZER_SHA256}  tokenizer.json" >> SHA256SUMS \
    && sha256sum --check --strict SHA256SUMS

# ---- build: the locked virtual environment -------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --locked --no-dev

# ---- optional int8: quantize with the dev tools, gated by cosine >= 0.99 ---------------
FROM build AS model-int8
RUN uv sync --locked
COPY --from=model-fp32 /model /model-fp32
RUN mkdir -p /model \
    && uv run --locked moltnet prepare-embedder /model-fp32/model.onnx \
       /model-fp32/tokenizer.json /model/model.onnx \
    && cp /model-fp32/tokenizer.json /model/tokenizer.json

# DL3006 takes this for an untagged image; it is one of the stages above.
# hadolint ignore=DL3006
FROM model-${EMBED_VARIANT} AS model

# ---- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# DL3064 matches "TOKEN" in EMBED_TOKENIZER_PATH: a file path, not a secret.
# hadolint ignore=DL3064
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    MOLTNET_HOME=/var/lib/moltnet \
    EMBED_MODEL_PATH=/opt/models/e5-small-v2/model.onnx \
    EMBED_TOKENIZER_PATH=/opt/models/e5-small-v2/tokenizer.json
RUN groupadd --system --gid 10001 moltnet \
    && useradd --system --uid 10001 --gid moltnet --home-dir /var/lib/moltnet --create-home moltnet
WORKDIR /app
COPY --from=build --chown=root:root /app /app
COPY --from=model --chown=root:root /model/model.onnx /model/tokenizer.json /opt/models/e5-small-v2/
COPY --chown=root:root keto ./keto
USER 10001:10001
EXPOSE 8000
# No curl in the image: the standard library does the check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"]
STOPSIGNAL SIGTERM
CMD ["moltnet", "serve", "--host", "0.0.0.0", "--port", "8000"]
