"""llama-server, built once from pinned sources into the runtime cache.

    <cache>/src/llama_cpp_python-0.3.36.tar.gz       the pinned sdist (MIT); its vendored
    <cache>/src/llama_cpp_python-0.3.36/             llama.cpp is what gets built
    <cache>/runtime/llama-server-0.3.36-<flagset>/   bin/llama-server, build-info.json, build.log

    <cache>/build/0.3.36-<flagset>/                  the build tree, kept until the build is
                                                     installed (`buildtree.py`: resuming)

Only the `llama-server` target is built, static, with portable CPU flags. A build counts only
while its binary's sha256 and flags match its build-info.
Functions that take `cache` use the configured cache folder when it is left out.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from localaik.runtime.buildtree import BuildTree, wanted_stamp
from localaik.runtime.cache import (
    InstallError,
    cache_dir,
    locked,
    pip_download,
    sha256_file,
    write_atomic,
)
from localaik.runtime.progress import BuildCounter, Report, reporter

SDIST_VERSION = "0.3.36"
SDIST_REQUIREMENT = f"llama-cpp-python=={SDIST_VERSION}"
SDIST_FILE = f"llama_cpp_python-{SDIST_VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
SOURCE_DIR = f"llama_cpp_python-{SDIST_VERSION}"

BASE_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DGGML_NATIVE=OFF",
)
X86_64_CMAKE_FLAGS = (
    "-DGGML_SSE42=ON",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
)
APT_HINT = "apt-get install cmake g++ ninja-build"
RESUME_HINT = (
    "what was built is kept: `localaik runtime install` builds on from there "
    "(`--force` starts afresh)"
)
BUILD_TIME = "about 6 minutes on 2 idle cores"  # measured (build steps only): see the README

_COMMIT = re.compile(r"commit ([0-9a-f]{7,40})")


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


def check_build_tools() -> tuple[str, str, str | None]:
    """cmake, a C++ compiler and ninja (None: make is used) from PATH, or an InstallError."""
    cmake = shutil.which("cmake")
    if cmake is None:
        raise InstallError(
            f"cmake not found on PATH; it is needed to build llama-server (Debian: {APT_HINT})"
        )
    cxx = shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        raise InstallError(
            f"no C++ compiler (c++ or g++) found on PATH; it is needed to build "
            f"llama-server (Debian: {APT_HINT})"
        )
    ninja = shutil.which("ninja")
    if ninja is None and shutil.which("make") is None:
        raise InstallError(
            f"neither ninja nor make found on PATH; one is needed to build "
            f"llama-server (Debian: {APT_HINT})"
        )
    return cmake, cxx, ninja


def build_tree_dir(cache: Path | None = None) -> Path:
    """Where this version and flag set is built; it exists between runs only when a build was
    interrupted (the next install builds on in it)."""
    return (cache or cache_dir()) / "build" / f"{SDIST_VERSION}-{flagset()[0]}"


def build_tree(cache: Path, source: Path, cmake: str, cxx: str, ninja: str | None) -> BuildTree:
    """The kept build tree of this version and flag set, and the stamp it must carry."""
    _, flags = flagset()
    wanted = wanted_stamp(
        version=SDIST_VERSION,
        sdist_sha256=SDIST_SHA256,
        source=source,
        flags=flags,
        generator=_generator(ninja),
        cmake=cmake,
        cxx=cxx,
    )
    return BuildTree(build_tree_dir(cache), wanted)


def build_llama_server(
    progress: Report | Callable[[str], None] | None = None,
    force: bool = False,
    *,
    cache: Path | None = None,
) -> Path:
    """The cached llama-server, built from the pinned sources unless a verified build exists.

    Three steps of `progress` (sources, configure, build) when it builds; an interrupted build
    resumes (`buildtree.py`); `force` starts from an empty tree. `cache`: the cache folder
    (default: the configured one).
    """
    report = reporter(progress)
    cache = cache or cache_dir()
    binary = cached_binary(cache)
    if not force and verified_build(cache) is not None:
        return binary
    cmake, cxx, ninja = check_build_tools()
    doing = f"building llama-server in {cache / 'build'}"
    with locked(cache, doing, report.line) as lock:
        if not force and verified_build(cache) is not None:  # built while we waited
            report.skip(3, f"llama-server: built meanwhile by the other install: {binary}")
            return binary
        source = _source_tree(cache, report)
        tree = build_tree(cache, source, cmake, cxx, ninja)
        if force:
            tree.remove()
        return _build(source, tree, cache, cmake, ninja, report, lock)


def _source_tree(cache: Path, report: Report) -> Path:
    src = cache / "src"
    tree = src / SOURCE_DIR
    if (tree / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        report.step("fetching the llama.cpp sources", f"extracted before, in {tree}")
        return tree
    report.step("fetching the llama.cpp sources")
    src.mkdir(parents=True, exist_ok=True)
    sdist = src / SDIST_FILE
    if not sdist.is_file():
        report.line(f"downloading {SDIST_REQUIREMENT} sdist (77 MB)…")
        pip_download([SDIST_REQUIREMENT, "--no-binary", ":all:"], src)
        if not sdist.is_file():
            raise InstallError(f"pip download {SDIST_REQUIREMENT} did not produce {SDIST_FILE}")
    actual = sha256_file(sdist)
    if actual != SDIST_SHA256:
        sdist.unlink()
        raise InstallError(
            f"{sdist}: sha256 {actual[:12]}… does not match the expected "
            f"{SDIST_SHA256[:12]}… (removed; run the install again)"
        )
    report.line("extracting the sources…")
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


def _build(
    source: Path,
    tree: BuildTree,
    cache: Path,
    cmake: str,
    ninja: str | None,
    report: Report,
    lock: int,
) -> Path:
    """Configure (unless the kept tree is), build, then install the binary atomically."""
    name, flags = flagset()
    target_dir = runtime_dir(cache)
    (target_dir / "bin").mkdir(parents=True, exist_ok=True)
    log_path = target_dir / "build.log"
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    started = time.monotonic()
    resumed = tree.prepare()
    with log_path.open("a" if resumed else "w") as log:
        if resumed:
            report.step("configuring", f"done by an earlier run; building on in {tree.path}")
        else:
            report.step("configuring")
            generator = ["-G", "Ninja"] if ninja else []
            configure = [cmake, "-S", str(source / "vendor" / "llama.cpp"), "-B", str(tree.path)]
            _run_logged([*configure, *generator, *flags], log, log_path, "configuring llama.cpp")
            tree.stamp()
        total = _ninja_steps(ninja, tree.path)
        report.step("building llama-server", about=f"{BUILD_TIME}; {jobs} jobs")
        _run_logged(
            [cmake, "--build", str(tree.path), "--target", "llama-server", "-j", str(jobs or 1)],
            log,
            log_path,
            "building llama-server",
            on_line=BuildCounter(report, total),
            lock=lock,
            then=f"; {RESUME_HINT}",
        )
    built = tree.path / "bin" / "llama-server"
    if not built.is_file():
        raise InstallError(f"the build finished but made no {built}; see {log_path}")
    version = version_of(built)
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
        "generator": _generator(ninja),
        "compiler": tree.wanted["compiler"][0],
        "sha256": digest,
        "size": cached_binary(cache).stat().st_size,
        "build_seconds": round(time.monotonic() - started, 1),
        "resumed": resumed,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_atomic(target_dir / "build-info.json", json.dumps(info, indent=2) + "\n")
    tree.remove()  # installed: nothing left to resume
    done = "finished the earlier build" if resumed else "built"
    report.line(f"{done}: {cached_binary(cache)} in {info['build_seconds']:.0f} s")
    return cached_binary(cache)


def _generator(ninja: str | None) -> str:
    return "Ninja" if ninja else "Unix Makefiles"


def _ninja_steps(ninja: str | None, tree: Path) -> int | None:
    """The whole build's step count (`ninja -t commands`), or None (make, or ninja failed)."""
    if ninja is None:
        return None
    try:
        done = subprocess.run(
            [ninja, "-C", str(tree), "-t", "commands", "llama-server"],
            capture_output=True,
            text=True,
            timeout=60,
            errors="replace",
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return len(done.stdout.splitlines()) if done.returncode == 0 else None


def _run_logged(
    args: list[str],
    log: IO[str],
    log_path: Path,
    what: str,
    on_line: Callable[[str], None] | None = None,
    lock: int | None = None,
    then: str = "",
) -> None:
    """Run a build command, its output into the log; `lock`: the install lock, which the
    command and its children then hold too (killing this process leaves no tree unguarded)."""
    log.write("$ " + " ".join(args) + "\n")
    log.flush()
    with subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        pass_fds=() if lock is None else (lock,),
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if on_line:
                on_line(line)
        code = process.wait()
    log.flush()
    if code != 0:
        how = (
            f"was stopped by {signal.Signals(-code).name}" if code < 0 else f"failed (exit {code})"
        )
        raise InstallError(f"{what} {how}; the output is in {log_path}{then}")


def version_of(binary: Path) -> str:
    """The `version:` line `llama-server --version` prints, or an InstallError if it fails."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"the built {binary} does not run: {exc}") from None
    text = (done.stdout + done.stderr).strip()
    lines = [line for line in text.splitlines() if line.startswith("version:")]
    if done.returncode != 0 or not lines:
        raise InstallError(
            f"the built {binary} does not run: --version gave exit "
            f"{done.returncode}: {text[-200:]!r}"
        )
    return lines[0]
