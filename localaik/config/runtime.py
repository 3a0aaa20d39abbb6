"""The bundled llama-server's options: its `LK_*` tuning variables, parsed once.

`localaik.runtime.args` turns them into argv as they are. A bad value is a `RuntimeConfigError`
(a `SettingsError`) naming the variable; blank text (`LK_THREADS=`) counts as unset.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from localaik.config import values
from localaik.config.choices import FlashAttn
from localaik.config.source import meta, read
from localaik.config.values import RuntimeConfigError

_whole = functools.partial(values.integer, error=RuntimeConfigError)


@dataclass(frozen=True)
class RuntimeOptions:
    """How the bundled llama-server runs: its `LK_*` tuning variables, parsed.

    None leaves llama-server's own default, except where localaik fixes one for reproducible
    recordings (the seed, one slot, no prompt cache; see `localaik.runtime.args`).
    """

    ctx_size: int = field(
        default=4096,
        metadata=meta(
            "LK_CTX_SIZE",
            parse=_whole(0),
            blank=True,
            help="llama-server context size in tokens (`-c`; `0`: the model's own).",
        ),
    )
    threads: int | None = field(
        default=None,
        metadata=meta(
            "LK_THREADS",
            parse=_whole(1),
            blank=True,
            help="llama-server CPU threads for generation (`--threads`).",
        ),
    )
    threads_batch: int | None = field(
        default=None,
        metadata=meta(
            "LK_THREADS_BATCH",
            parse=_whole(1),
            blank=True,
            help="llama-server CPU threads for prompt processing.",
        ),
    )
    batch_size: int | None = field(
        default=None,
        metadata=meta(
            "LK_BATCH_SIZE",
            parse=_whole(1),
            blank=True,
            help="llama-server prompt batch size (`--batch-size`).",
        ),
    )
    ubatch_size: int | None = field(
        default=None,
        metadata=meta(
            "LK_UBATCH_SIZE",
            parse=_whole(1),
            blank=True,
            help="llama-server micro-batch size (`--ubatch-size`).",
        ),
    )
    gpu_layers: str | None = field(
        default=None,
        metadata=meta(
            "LK_GPU_LAYERS",
            parse=values.gpu_layers,
            blank=True,
            help="Layers offloaded to a GPU (`--n-gpu-layers`; a number, `auto` or `all`).",
        ),
    )
    parallel: int | None = field(
        default=None,
        metadata=meta(
            "LK_PARALLEL",
            parse=values.parallel,
            blank=True,
            help="llama-server slots (`--parallel`; `-1` auto; default 1: one slot keeps "
            "answers identical under concurrent requests).",
            shown="1",
        ),
    )
    flash_attn: FlashAttn | None = field(
        default=None,
        metadata=meta(
            "LK_FLASH_ATTN",
            parse=values.flash_attn,
            blank=True,
            help="Flash attention: `on`, `off` or `auto` (`1`/`0` accepted).",
        ),
    )
    cont_batching: bool | None = field(
        default=None,
        metadata=meta(
            "LK_CONT_BATCHING",
            parse=values.switch,
            blank=True,
            help="Continuous batching on (`1`) or off (`0`).",
        ),
    )
    mlock: bool = field(
        default=False,
        metadata=meta(
            "LK_MLOCK", parse=values.switch, blank=True, help="`1` locks the model in RAM."
        ),
    )
    seed: int = field(
        default=42,
        metadata=meta(
            "LK_SEED",
            parse=_whole(-1, 2**32 - 1),
            blank=True,
            help="llama-server's default sampling seed (fixed so that recordings repeat; `-1` "
            "random).",
        ),
    )
    cache_prompt: bool = field(
        default=False,
        metadata=meta(
            "LK_CACHE_PROMPT",
            parse=values.switch,
            blank=True,
            help="`1` lets llama-server reuse its prompt cache (faster, but later answers may "
            "differ); off by default.",
        ),
    )
    max_output_tokens: int = field(
        default=256,
        metadata=meta(
            "LK_MAX_OUTPUT_TOKENS",
            parse=_whole(-1),
            blank=True,
            help="Output tokens for a request that sets no limit (`-n`; `-1`: no cap, until the "
            "model stops). A request's own limit wins.",
        ),
    )
    dry_multiplier: float = field(
        default=0.8,
        metadata=meta(
            "LK_DRY_MULTIPLIER",
            parse=values.dry_multiplier,
            blank=True,
            help="Repetition guard: strength of llama.cpp's DRY sampler (`--dry-multiplier`), "
            "which stops a small model repeating itself; `0` off. A request's own value wins.",
        ),
    )
    llama_args: tuple[str, ...] = field(
        default=(),
        metadata=meta(
            "LK_LLAMA_ARGS",
            parse=values.extra_args,
            blank=True,
            help="More llama-server arguments, shell-quoted, added last (not `--host`/`--port`).",
        ),
    )

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> RuntimeOptions:
        """The options the environment sets (default: this process's), the rest defaults."""
        return cls(**read(cls, os.environ if environ is None else environ, {}))
