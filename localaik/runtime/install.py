"""The bundled runtime as installed: where `serve` finds llama-server, and what the cache holds.

The work itself is done by three modules; this one is their public face, as `localaik runtime …`
and `serve` use it:

    cache.py   the cache folder (`LK_CACHE_DIR`), atomic writes, the install lock, pip
    build.py   llama-server built from pinned sources (`build_llama_server`)
    fetch.py   models by path or from the catalogue, verified (`ensure_model`)

Settings come from `localaik.config`: callers that hold a `Settings` pass it (or its
`cache_dir`); the `environ` arguments are for callers without one, and go through
`Settings.load(environ)` too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localaik.config import Settings
from localaik.runtime import catalogue as models
from localaik.runtime.build import (
    RESUME_HINT,
    SDIST_VERSION,
    build_llama_server,
    build_tree_dir,
    cached_binary,
    flagset,
    read_build_info,
    runtime_dir,
    verified_build,
    version_of,
)
from localaik.runtime.cache import InstallError, cache_dir, sha256_file
from localaik.runtime.fetch import ModelFiles, ensure_model, model_path, model_present

__all__ = [
    "RESUME_HINT",
    "SDIST_VERSION",
    "InstallError",
    "ModelFiles",
    "build_llama_server",
    "cache_dir",
    "cached_binary",
    "check_build",
    "ensure_model",
    "find_llama_server",
    "flagset",
    "locate_llama_server",
    "model_path",
    "model_present",
    "runtime_dir",
    "sha256_file",
    "status",
    "verified_build",
]


def locate_llama_server(
    environ: Mapping[str, str] | None = None, *, settings: Settings | None = None
) -> tuple[Path, str] | None:
    """The llama-server `serve` would run and where it came from: LK_LLAMA_SERVER, PATH, cache.

    `settings` names LK_LLAMA_SERVER and the cache (default: `Settings.load(environ)`); PATH is
    `environ`'s when it is given, else this process's.
    """
    settings = Settings.load(environ) if settings is None else settings
    if settings.llama_server is not None:
        path = settings.llama_server
        if not path.is_file():
            raise InstallError(f"LK_LLAMA_SERVER={path}: no such file")
        if not os.access(path, os.X_OK):
            raise InstallError(f"LK_LLAMA_SERVER={path}: not executable")
        return path, "LK_LLAMA_SERVER"
    search = None if environ is None else environ.get("PATH", os.defpath)
    found = shutil.which("llama-server", path=search)
    if found:
        return Path(found), "PATH"
    if verified_build(settings.cache_dir) is not None:
        return cached_binary(settings.cache_dir), "cache"
    return None


def check_build(cache: Path) -> str:
    """The cached llama-server checked: its sha256 matches its build-info, and it runs here."""
    if verified_build(cache) is None:
        raise InstallError(
            f"{cached_binary(cache)} does not match its build-info.json; rebuild it with "
            f"`localaik runtime install --force`"
        )
    version = version_of(cached_binary(cache)).removeprefix("version: ")
    return f"{cached_binary(cache)} runs ({version}; sha256 as built)"


def find_llama_server(
    environ: Mapping[str, str] | None = None, *, settings: Settings | None = None
) -> Path | None:
    located = locate_llama_server(environ, settings=settings)
    return located[0] if located else None


def status(
    environ: Mapping[str, str] | None = None, *, settings: Settings | None = None
) -> dict[str, Any]:
    """What is cached and verified, as plain data (the `runtime status` command prints it)."""
    settings = Settings.load(environ) if settings is None else settings
    cache = settings.cache_dir
    binary = cached_binary(cache)
    info = verified_build(cache)
    try:
        located = locate_llama_server(environ, settings=settings)
        serve: dict[str, Any] = (
            {"path": str(located[0]), "source": located[1]}
            if located
            else {"path": None, "source": None}
        )
    except InstallError as exc:
        serve = {"path": None, "source": None, "error": str(exc)}
    entries = []
    for model in models.CATALOGUE.values():
        path = model_path(model, cache)
        present = path.is_file()
        entries.append({
            "name": model.name,
            "default": model.name == models.DEFAULT,
            "path": str(path),
            "present": present,
            "verified": present and sha256_file(path) == model.sha256,
            "size": path.stat().st_size if present else None,
            "sha256": model.sha256,
            "license": model.license,
            "chat_template": str(model.chat_template_path) if model.chat_template else None,
        })  # fmt: skip
    return {
        "cache_dir": str(cache),
        "llama_server": {
            "path": str(binary),
            "present": binary.is_file(),
            "verified": info is not None,
            "build_info": info if info is not None else read_build_info(cache),
            "unfinished_build": str(build_tree_dir(cache))
            if build_tree_dir(cache).is_dir()
            else None,
        },
        "serve_uses": serve,
        "models": entries,
    }
