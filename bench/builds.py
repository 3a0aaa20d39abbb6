"""Binaries the benchmarks build once (the no-op upstream, the original Go localaik).

Each lives in the localaik cache folder (`LK_CACHE_DIR`, default `~/.cache/localaik`), under
`bench/`, named by a hash of its source: a changed source builds a new one (and the old ones of
that name are removed), an unchanged one is reused. A build is written beside its final name
and moved there whole, so a failed or concurrent build never leaves a broken binary behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from localaik.runtime.cache import cache_dir


def cached(
    name: str, digest: str, build: Callable[[Path], None], cache: Path | None = None
) -> Path:
    """`<cache>/bench/<name>-<digest>`, made by `build(path)` when not there yet."""
    folder = (cache or cache_dir()) / "bench"
    binary = folder / f"{name}-{digest}"
    if binary.is_file():
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{binary.name}.tmp-{os.getpid()}"
    try:
        build(staged)
        os.replace(staged, binary)
    finally:
        staged.unlink(missing_ok=True)
    for old in folder.glob(f"{name}-*"):
        if old != binary:
            old.unlink(missing_ok=True)
    return binary
