"""llama-server's command lines, from the parsed `RuntimeOptions` (pure functions, argv lists
only: nothing reaches a shell, and nothing is parsed again here).

Decisions:
* Reproducibility by default (model-runtime.md §5): `-np 1 --no-cache-prompt` and a fixed seed.
  `LK_PARALLEL=N` changes only the slot count; the prompt cache stays off unless
  `LK_CACHE_PROMPT=1`, because a cache that remembers earlier (concurrent) traffic changed even
  sequential outputs, while with it off sequential requests were always identical.
* Answers that finish (issue 15): a request that sets no output limit gets
  `LK_MAX_OUTPUT_TOKENS` (`-n`, 256), and llama.cpp's DRY sampler at `LK_DRY_MULTIPLIER` (0.8)
  guards against the loops a 135M model falls into ("Say hi" wrote 4,064 tokens of one emoji).
  DRY rather than `--repeat-penalty`: a plain penalty over the last 64 tokens also punished
  the `<tool_call>` syntax the prompt had just shown, and the model stopped calling tools.
  Both are llama-server defaults, so a request's own `max_tokens` or sampler values win.
* `LK_FLASH_ATTN` is passed as a value (`--flash-attn on|off|auto`): builds since September 2025
  reject the bare flag that the original's entrypoint passed.
* `LK_MLOCK=1` becomes `--load-mode mmap+mlock`: the pinned llama.cpp (0c1e570) replaced
  `--mlock`/`--no-mmap` with `--load-mode`, and mmap is what the default load mode uses.
* `LK_LLAMA_ARGS` comes last, so its flags win; `--host`/`--port` are refused when it is parsed
  (`localaik.config`): supervision polls the loopback port it chose, and another host would
  expose the model.
"""

from __future__ import annotations

from pathlib import Path

from localaik.config import Pooling, RuntimeOptions

DEFAULT_CTX_SIZE = RuntimeOptions().ctx_size  # also the embeddings server's for `0`


def llama_server_args(
    options: RuntimeOptions,
    *,
    model: Path,
    chat_template: Path | None,
    mmproj: Path | None,
    port: int,
    alias: str = "localaik",
) -> list[str]:
    """The chat llama-server's arguments (without the binary)."""
    args = [
        "--host", "127.0.0.1",
        "--port", str(port),
        "-m", str(model),
        "--jinja",
        "--alias", alias,
        "--offline",
        # -1 asks llama.cpp for a random seed; 4294967295 is the same value unsigned.
        "--seed", str(options.seed),
        "-c", str(options.ctx_size),
        "-n", str(options.max_output_tokens),
        "--dry-multiplier", f"{options.dry_multiplier:g}",
    ]  # fmt: skip
    args += ["-np", "1"] if options.parallel is None else ["--parallel", str(options.parallel)]
    if not options.cache_prompt:
        args.append("--no-cache-prompt")
    if chat_template is not None:
        args += ["--chat-template-file", str(chat_template)]
    if mmproj is not None:
        args += ["--mmproj", str(mmproj)]
    args += _numbers(
        ("--threads", options.threads),
        ("--threads-batch", options.threads_batch),
        ("--batch-size", options.batch_size),
        ("--ubatch-size", options.ubatch_size),
    )
    args += _hardware(options, cont_batching=True)
    args += options.llama_args
    return args


def embedding_server_args(
    options: RuntimeOptions,
    *,
    model: Path,
    port: int,
    pooling: Pooling = Pooling.MEAN,
    alias: str = "localaik",
) -> list[str]:
    """The second llama-server's arguments: `--embeddings` with `pooling` (`model`: what the GGUF
    declares), one slot, and one batch as large as the context, because llama.cpp embeds an
    input only when it fits one micro-batch (with the default 512, longer inputs fail).

    Kept out of the chat server: with `--embeddings` llama-server computes an output for every
    prompt token, and a larger micro-batch there would change how chat prompts are batched;
    its one slot would also make embeddings wait behind a generation. `LK_LLAMA_ARGS`, the
    seed, prompt cache and batch settings are the chat server's; threads, GPU layers, flash
    attention and mlock apply to both.
    """
    ctx = options.ctx_size or DEFAULT_CTX_SIZE  # 0 (the model's own size) is unknown here
    args = [
        "--host", "127.0.0.1",
        "--port", str(port),
        "-m", str(model),
        "--alias", alias,
        "--offline",
        "--embeddings",
        "-c", str(ctx), "-b", str(ctx), "-ub", str(ctx),
        "-np", "1",
    ]  # fmt: skip
    if pooling != Pooling.MODEL:
        args += ["--pooling", str(pooling)]
    threads = _numbers(("--threads", options.threads), ("--threads-batch", options.threads_batch))
    return args + threads + _hardware(options, cont_batching=False)


def _numbers(*flags: tuple[str, int | None]) -> list[str]:
    """`flag value` for each value that is set, in order."""
    return [part for flag, value in flags if value is not None for part in (flag, str(value))]


def _hardware(options: RuntimeOptions, *, cont_batching: bool) -> list[str]:
    """GPU layers, flash attention, (continuous batching,) mlock: in this order."""
    args: list[str] = []
    if options.gpu_layers is not None:
        args += ["--n-gpu-layers", options.gpu_layers]
    if options.flash_attn is not None:
        args += ["--flash-attn", str(options.flash_attn)]
    if cont_batching and options.cont_batching is not None:
        args.append("--cont-batching" if options.cont_batching else "--no-cont-batching")
    if options.mlock:
        args += ["--load-mode", "mmap+mlock"]
    return args
