"""The no-op upstream (bench/noop_upstream.c): built once with the system's C compiler, then
run in its own process for the live-path benchmark and its tests.

The binary is kept by bench/builds.py, named by a hash of its source and compiler flags.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.builds import cached
from bench.common import ROOT, Process

SOURCE = ROOT / "bench" / "noop_upstream.c"
FLAGS = ("-O2", "-pthread")
NAME = "noop_upstream"


class BuildError(Exception):
    """What stops the build, in one line: no compiler, or the source does not compile."""


def build(source: Path = SOURCE, cache: Path | None = None) -> Path:
    """The compiled upstream for `source`, built into `<cache>/bench/` when not there yet."""
    digest = hashlib.sha256(source.read_bytes() + " ".join(FLAGS).encode()).hexdigest()[:16]

    def compile_to(staged: Path) -> None:
        compiler = shutil.which("cc")
        if compiler is None:
            raise BuildError(
                "the live-path benchmark needs a C compiler and `cc` is not on PATH: run "
                "`make bench` or `apt-get install build-essential`"
            )
        done = subprocess.run(
            [compiler, *FLAGS, "-o", str(staged), str(source)],
            capture_output=True,
            text=True,
            errors="replace",
        )
        if done.returncode != 0:
            first = next((x for x in done.stderr.splitlines() if "error" in x), done.stderr)
            raise BuildError(f"cc could not build {source.name}: {first.strip()[:300]}")

    return cached(NAME, digest, compile_to, cache)


@contextlib.contextmanager
def upstream(frames: int = 8, pace_us: int = 0, binary: Path | None = None) -> Iterator[Process]:
    """The no-op upstream on a free port (`.url`, without `/v1`): streams of `frames` events,
    `pace_us` microseconds apart (0: at once). Stopped on leaving."""
    process = Process([str(binary or build()), str(frames), str(pace_us)], env={})
    try:
        yield process
    finally:
        process.stop()
