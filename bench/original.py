"""The original Go localaik (bench/original-localaik/, v0.4.2, MIT): built once with the
system's Go, then run in its own process beside localaik in the live-path benchmark.

Like the no-op upstream's, the binary is kept by bench/builds.py, named by a hash of its
sources (Go's build cache beside it). The build is offline (`GOPROXY=off`): every module it
needs is in the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.builds import cached
from bench.common import ROOT, Process, free_port
from localaik.runtime.cache import cache_dir

SOURCE = ROOT / "bench" / "original-localaik"
NAME = "original_localaik"


class BuildError(Exception):
    """What stops the build, in one line: no Go, or the source does not build."""


def _digest(source: Path) -> str:
    hashed = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file() and p.name != "README.md"):
        hashed.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()[:16]


def build(source: Path = SOURCE, cache: Path | None = None) -> Path:
    """The original's binary for `source`, built into `<cache>/bench/` when not there yet."""
    folder = (cache or cache_dir()) / "bench"

    def go_build(staged: Path) -> None:
        go = shutil.which("go")
        if go is None:
            raise BuildError(
                "the live-path benchmark builds the original Go localaik and `go` is not on "
                "PATH: run `make system-deps` or `apt-get install golang-go`"
            )
        env = {
            **os.environ,
            "GOFLAGS": "-mod=mod",
            "GOPROXY": "off",
            "GOTOOLCHAIN": "local",
            "GOCACHE": str(folder / "go-build"),
            "GOPATH": str(folder / "go-path"),
            "CGO_ENABLED": "0",
        }
        done = subprocess.run(
            [go, "build", "-trimpath", "-o", str(staged), "./cmd/localaik"],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
        )
        if done.returncode != 0:
            lines = [x for x in done.stderr.splitlines() if x.strip() and not x.startswith("#")]
            first = lines[0] if lines else done.stderr
            raise BuildError(f"go could not build the original localaik: {first.strip()[:300]}")

    return cached(NAME, _digest(source), go_build, cache)


@contextlib.contextmanager
def serve(upstream: str, binary: Path | None = None) -> Iterator[Process]:
    """The original on a free port, forwarding to `upstream` (an OpenAI base URL ending in
    /v1), logging as it does by default (a line per request). Stopped on leaving."""
    port = free_port()
    process = Process(
        [str(binary or build()), "-port", str(port), "-upstream", upstream],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        url=f"http://127.0.0.1:{port}",
    )
    try:
        process.wait_answering("/health")
        yield process
    finally:
        process.stop()
