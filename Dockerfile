# syntax=docker/dockerfile:1
#
# localaik images (docker/README.md has the details):
#
#   docker build --target replay -t localaik:replay .   small, for CI: answers from cassettes only
#   docker build -t localaik:model .                    llama.cpp's server + Gemma 3 4B + projector
#
# Both run `localaik serve` under tini. Starting and supervising llama-server, /health and every
# setting are localaik's own tested Python; this file only installs things and sets LK_* values.

# Base images.
# python:3.11-slim-bookworm is pinned to the multi-arch digest a docker-library maintainer
# reported for that tag on 2024-04-25 (docker-library/python#923; Debian 12.5). It is old:
# refresh it with `docker buildx imagetools inspect python:3.11-slim-bookworm`.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:6d2502238109c929569ae99355e28890c438cb11bc88ef02cd189c173b3db07c
# llama.cpp's official server image at build b11312 (commit 0c1e570): the llama.cpp that the
# llama-cpp-python==0.3.36 sources of `localaik runtime install` carry. Pinned by tag only: no
# digest of it could be looked up where this file was written. When a registry is reachable,
# append `@sha256:<digest>` from `docker buildx imagetools inspect <this tag>`.
ARG LLAMA_IMAGE=ghcr.io/ggml-org/llama.cpp:server-b11312

# The model, fetched at build time and checked against its sha256 (the build stops on a
# mismatch or an empty hash). Defaults: Gemma 3 4B instruct, Q4_K_M, and its vision projector.
# The files are under the Gemma Terms of Use (https://ai.google.dev/gemma/terms). The model's
# hash has the first and last digits of the original localaik's pin (be4994…8a01).
# MMPROJ_SHA256 has no default: its full hash was not known where this file was written (it
# starts 8c0fb0 and ends 40cb). Pass it, or pass MMPROJ_URL= for a text-only image.
ARG MODEL_URL=https://huggingface.co/lmstudio-community/gemma-3-4b-it-GGUF/resolve/main/gemma-3-4b-it-Q4_K_M.gguf
ARG MODEL_SHA256=be49949e48422e4547b00af14179a193d3777eea7fbbd7d6e1b0861304628a01
ARG MMPROJ_URL=https://huggingface.co/lmstudio-community/gemma-3-4b-it-GGUF/resolve/main/mmproj-model-f16.gguf
ARG MMPROJ_SHA256=

# The image version label; tests/unit/test_docker_files.py keeps it equal to localaik.__version__.
ARG VERSION=0.1.0


# ---- wheel: localaik built from the build context (.dockerignore lets only its sources in) ----
FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY localaik ./localaik
RUN pip wheel --no-deps --wheel-dir /dist .


# ---- weights: the model files, downloaded and verified ----
FROM ${PYTHON_IMAGE} AS weights
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG MODEL_URL
ARG MODEL_SHA256
ARG MMPROJ_URL
ARG MMPROJ_SHA256
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN need_hash() { \
      if ! printf '%s\n' "$2" | grep -Eqx '[0-9a-f]{64}'; then \
        echo "error: $1 must be the file's sha256 (64 lowercase hex digits), got '$2'." >&2; \
        echo "       Pass it with --build-arg $1=<sha256>; see docker/README.md." >&2; \
        exit 1; \
      fi; \
    } \
 && if [ -z "$MODEL_URL" ]; then echo "error: MODEL_URL is empty" >&2; exit 1; fi \
 && need_hash MODEL_SHA256 "$MODEL_SHA256" \
 && if [ -n "$MMPROJ_URL" ]; then need_hash MMPROJ_SHA256 "$MMPROJ_SHA256"; fi \
 && mkdir -p /models \
 && curl -fL --retry 3 --proto '=https' -o /models/model.gguf "$MODEL_URL" \
 && echo "$MODEL_SHA256  /models/model.gguf" | sha256sum -c - \
 && if [ -n "$MMPROJ_URL" ]; then \
      curl -fL --retry 3 --proto '=https' -o /models/mmproj.gguf "$MMPROJ_URL" \
      && echo "$MMPROJ_SHA256  /models/mmproj.gguf" | sha256sum -c -; \
    fi \
 && { echo "model:     $MODEL_URL (sha256 $MODEL_SHA256)"; \
      if [ -n "$MMPROJ_URL" ]; then echo "projector: $MMPROJ_URL (sha256 $MMPROJ_SHA256)"; fi; \
      case "$MODEL_URL" in *[Gg]emma*) \
        echo "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms";; \
      esac; } > /models/NOTICE \
 && chmod 0644 /models/*


# ---- replay: small, for CI. No model, no llama-server, no PDF renderer (replay never renders) ----
FROM ${PYTHON_IMAGE} AS replay
ARG PYTHON_IMAGE
ARG VERSION
LABEL org.opencontainers.image.title="localaik (replay)" \
      org.opencontainers.image.description="Replays recorded Gemini/OpenAI answers from SQLite cassettes; no model inside." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install /dist/*.whl
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/localaik \
      --shell /usr/sbin/nologin localaik \
 && mkdir -p /cassettes \
 && chown localaik:localaik /cassettes
ENV LK_MODE=replay LK_HOST=0.0.0.0 PORT=8090 LK_CASSETTE=/cassettes/localaik.db
VOLUME /cassettes
USER 10001:10001
EXPOSE 8090
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('LK_PORT') or os.environ.get('PORT') or '8090'; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2)"]
ENTRYPOINT ["tini", "--", "localaik", "serve"]


# ---- model (default): llama.cpp's server image + localaik + the verified model files ----
FROM ${LLAMA_IMAGE} AS model
ARG LLAMA_IMAGE
ARG VERSION
ARG MMPROJ_URL
LABEL org.opencontainers.image.title="localaik" \
      org.opencontainers.image.description="Gemini/OpenAI APIs on one port, recording answers from a bundled llama.cpp model. Model files are under their own terms: /models/NOTICE." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${LLAMA_IMAGE}"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The base is Ubuntu (24.04 at this build): its Python 3.12 in a venv, poppler for PDF pages.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv poppler-utils fonts-liberation tini \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/localaik
ENV PATH=/opt/localaik/bin:$PATH
# The model first: it changes far less often than localaik, so its 3 GB layer stays cached.
COPY --from=weights /models /models
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install /dist/*.whl
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/localaik \
      --shell /usr/sbin/nologin localaik \
 && mkdir -p /cassettes \
 && chown localaik:localaik /cassettes
# The base image's own llama-server is the one localaik starts (on a free loopback port; the
# base sets LLAMA_ARG_HOST=0.0.0.0 for itself, kept on loopback here as well).
# LK_MMPROJ is empty when the image was built with MMPROJ_URL= (text only).
ENV LK_LLAMA_SERVER=/app/llama-server \
    LK_MODEL=/models/model.gguf \
    LK_MMPROJ=${MMPROJ_URL:+/models/mmproj.gguf} \
    LK_HOST=0.0.0.0 PORT=8090 LK_CASSETTE=/cassettes/localaik.db \
    LLAMA_ARG_HOST=127.0.0.1
RUN if [ ! -x "$LK_LLAMA_SERVER" ]; then \
      echo "error: no llama-server at $LK_LLAMA_SERVER in ${LLAMA_IMAGE}; set LK_LLAMA_SERVER" >&2; \
      exit 1; \
    fi \
 && "$LK_LLAMA_SERVER" --version
VOLUME /cassettes
USER 10001:10001
EXPOSE 8090
# Loading a 4B model on a CPU takes a while: /health answers 503 "loading" until it is ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('LK_PORT') or os.environ.get('PORT') or '8090'; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2)"]
ENTRYPOINT ["tini", "--", "localaik", "serve"]
