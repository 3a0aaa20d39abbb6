"""The llama-server build tree, kept between runs so that an interrupted build resumes.

    <cache>/build/<version>-<flagset>/                  one tree per sdist version and flag set
    <cache>/build/<version>-<flagset>/localaik-stamp.json   what it was configured with

A tree is configured once and its stamp written after the configure step succeeds; the next
run builds on in it (ninja rebuilds only what is missing or was left half-done, as it does
after any Ctrl-C, kill or power loss) as long as the stamp matches what this run would
configure: the same sources, CMake flags, generator, cmake and compiler (path and version).
Anything else (another version's tree, a changed compiler, a configure that did not finish,
the temporary folders of older localaik versions) is removed, and the build starts afresh.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaik.runtime.cache import remove_leftovers, write_atomic

STAMP = "localaik-stamp.json"
GENERATOR_FILES = ("build.ninja", "Makefile")


def tool_version(tool: str) -> str:
    """The first line of `tool --version` (a compiler or cmake), or "" if it says nothing."""
    try:
        done = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, timeout=30, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].strip() if lines else ""


def wanted_stamp(
    *, version: str, sdist_sha256: str, source: Path, flags: tuple[str, ...], generator: str,
    cmake: str, cxx: str,
) -> dict[str, Any]:  # fmt: skip
    """What a tree must have been configured with to be built on."""
    return {
        "llama_cpp_python": version,
        "sdist_sha256": sdist_sha256,
        "source": str(source),
        "cmake_flags": list(flags),
        "generator": generator,
        "cmake": [cmake, tool_version(cmake)],
        "compiler": [cxx, tool_version(cxx)],
    }


def can_resume(
    found: Mapping[str, Any] | None, wanted: Mapping[str, Any], configured: bool
) -> bool:
    """Whether a tree stamped `found` (None: no readable stamp) may be built on for `wanted`."""
    return configured and found is not None and dict(found) == dict(wanted)


@dataclass(frozen=True)
class BuildTree:
    path: Path
    wanted: Mapping[str, Any]

    def read_stamp(self) -> dict[str, Any] | None:
        try:
            found = json.loads((self.path / STAMP).read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def configured(self) -> bool:
        return any((self.path / name).is_file() for name in GENERATOR_FILES)

    def prepare(self) -> bool:
        """Clear what cannot be built on; True when this tree resumes an earlier run.

        Call it holding the install lock: other entries of the `build` folder are removed.
        """
        for other in self.path.parent.glob("*") if self.path.parent.is_dir() else []:
            if other != self.path:
                remove_leftovers(self.path.parent, other.name)
        if can_resume(self.read_stamp(), self.wanted, self.configured()):
            return True
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        return False

    def stamp(self) -> None:
        """Record that the tree is configured (after the configure step succeeded)."""
        write_atomic(self.path / STAMP, json.dumps(self.wanted, indent=2) + "\n")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
