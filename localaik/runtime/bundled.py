"""The bundled llama-servers a `Settings` asks for: the chat server, and the embeddings server.

`serve` and the pytest plugin both build them here and hand them to the app, whose lifespan
starts and stops them. Neither is started here; an install problem (no llama-server, a model
that is missing or corrupt) is an `InstallError` with a one-line message.
"""

from __future__ import annotations

import logging

from localaik.config import Embeddings, Mode, Settings
from localaik.runtime import fetch, install
from localaik.runtime.args import embedding_server_args, llama_server_args
from localaik.runtime.cache import InstallError
from localaik.runtime.llama import LlamaServer, free_port

NO_LLAMA_SERVER = (
    "no llama-server found: run `localaik runtime install` (builds it once, 8-14 minutes on 2 "
    "cores), or set LK_LLAMA_SERVER, or give an upstream with --upstream / LK_UPSTREAM"
)


def needs_bundled(settings: Settings) -> bool:
    """Whether these settings run the bundled llama-servers: no upstream is given, and the mode
    may need one (replay never does)."""
    return not settings.upstream and settings.mode != Mode.REPLAY


def bundled_runtimes(
    settings: Settings, log: logging.Logger, ports: tuple[int, int] | None = None
) -> tuple[LlamaServer | None, LlamaServer | None]:
    """The llama-servers to start when no upstream is given and the mode may need them: the chat
    server, and the embeddings server (None with `LK_EMBEDDINGS=off`). `ports`: theirs (chat,
    embeddings), when the caller reserved them; else free ones. Mode `once` may need none
    (every cassette may exist: CI): without a llama-server it runs without, and a request
    that would record is refused saying why (`server.gates`)."""
    if not needs_bundled(settings):
        return None, None
    binary = install.find_llama_server(settings=settings)
    if binary is None and settings.mode == Mode.ONCE:
        log.warning("%s; mode once replays the cassettes that exist without one", NO_LLAMA_SERVER)
        return None, None
    if binary is None:
        raise InstallError(NO_LLAMA_SERVER)
    cache = settings.cache_dir
    files = fetch.ensure_model(
        settings.model, progress=log.info, mmproj=settings.mmproj, cache=cache
    )
    embed_files = files
    own_model = settings.embed_model not in (None, settings.model, files.name)
    if settings.embeddings != Embeddings.OFF and own_model:
        embed_files = fetch.ensure_model(settings.embed_model, progress=log.info, cache=cache)
    port = ports[0] if ports else free_port()
    args = llama_server_args(
        settings.runtime,
        model=files.gguf,
        chat_template=files.chat_template,
        mmproj=files.mmproj,
        port=port,
    )
    log.info("starting %s with model %s", binary, files.name)
    runtime = LlamaServer(binary, args, port, log=logging.getLogger("localaik.runtime"))
    if settings.embeddings == Embeddings.OFF:
        return runtime, None
    embed_port = ports[1] if ports else free_port()
    embed_args = embedding_server_args(
        settings.runtime, model=embed_files.gguf, port=embed_port, pooling=settings.embed_pooling
    )
    when = (
        "started with localaik"
        if settings.embeddings == Embeddings.ON
        else "started at the first embeddings request"
    )
    log.info("embeddings: %s with model %s (%s)", binary, embed_files.name, when)
    embed_runtime = LlamaServer(
        binary, embed_args, embed_port, log=logging.getLogger("localaik.runtime.embeddings")
    )
    return runtime, embed_runtime
