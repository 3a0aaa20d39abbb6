"""Git integration: a diff driver and a merge driver for cassette files.

A cassette is a SQLite file, so by default `git diff` says "Binary files differ" and two
branches that each recorded a request conflict on merge. Git has a hook for both:

- `.gitattributes` gives cassette files `-text diff=localaik merge=localaik` (`-text`: no
  line-ending conversion ever touches them); it is committed, so the whole team shares it;
- the drivers themselves live in the repository's local config (git never runs commands from
  a committed file, for safety): `diff.localaik.textconv` turns a cassette into the stable text
  dump (`localaik cassette textconv`), and `merge.localaik.driver` runs the 3-way cassette merge
  (`localaik cassette merge-driver`). Each clone runs `localaik cassette git-setup` once.

The commands name this Python (`sys.executable`), not `localaik` on PATH, so they work when git
runs from an IDE or a hook that does not have the virtualenv activated.

`*.db-wal` and `*.db-shm` (SQLite's side files while a cassette is open) are local state and go
to `.gitignore` (the usage record, see `usage.py`, ignores itself).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DRIVER = "localaik"
# `**/` at the start matches any folder (also none), and `/**/` in the middle any depth (also
# none): cassettes/localaik.db, cassettes/test_x/test_y.db and tests/cassettes/a.db alike.
DEFAULT_PATTERN = "**/cassettes/**/*.db"
IGNORED = ("*.db-wal", "*.db-shm")


class GitError(Exception):
    """Git is missing, this is not a repository, or git refused a command; says which."""


@dataclass
class SetupResult:
    """What `setup` changed, for the command to print."""

    top: Path
    attributes: list[str] = field(default_factory=list)  # lines added to .gitattributes
    ignored: list[str] = field(default_factory=list)  # lines added to .gitignore
    config: dict[str, str] = field(default_factory=dict)  # repo-local git config set


def python_command(*args: str) -> str:
    """A shell command running this Python's localaik with `args` (not shell-quoted: the
    placeholders git substitutes, such as %A, must stay as they are)."""
    return " ".join([shlex.quote(sys.executable), "-m", "localaik", *args])


def driver_config() -> dict[str, str]:
    """The repo-local config that defines both drivers."""
    return {
        f"diff.{DRIVER}.textconv": python_command("cassette", "textconv"),
        f"merge.{DRIVER}.name": "localaik cassette merge (union of recordings)",
        f"merge.{DRIVER}.driver": python_command(
            "cassette", "merge-driver", "%O", "%A", "%B", "%P"
        ),
    }


def toplevel(cwd: Path | None = None) -> Path:
    """The top folder of the git work tree around `cwd`; GitError outside one."""
    output = _git(
        ["rev-parse", "--show-toplevel"],
        cwd,
        "not inside a git repository (run it in your project's work tree)",
        detail=False,
    )
    return Path(output.strip())


def setup(pattern: str = DEFAULT_PATTERN, cwd: Path | None = None) -> SetupResult:
    """Write the attributes line, the ignore lines and the driver config; idempotent."""
    top = toplevel(cwd)
    result = SetupResult(top)
    # -text: no end-of-line conversion ever touches the bytes of a SQLite file.
    line = f"{pattern} -text diff={DRIVER} merge={DRIVER}"
    result.attributes = _append_missing(top / ".gitattributes", [line])
    result.ignored = _append_missing(top / ".gitignore", list(IGNORED))
    for name, value in driver_config().items():
        _git(["config", "--local", name, value], top, f"cannot set git config {name}")
        result.config[name] = value
    return result


def missing(cwd: Path | None = None) -> list[str]:
    """What `setup` would still have to do here (empty: set up), for `--check`."""
    top = toplevel(cwd)
    lacking = []
    for name, value in driver_config().items():
        current = _git_optional(["config", "--local", "--get", name], top)
        if current is None:
            lacking.append(f"git config {name} is not set")
        elif current.strip() != value:
            lacking.append(f"git config {name} is {current.strip()!r}, not {value!r}")
    attributes = _lines(top / ".gitattributes")
    if not any(f"diff={DRIVER}" in line and f"merge={DRIVER}" in line for line in attributes):
        lacking.append(f".gitattributes has no line with diff={DRIVER} merge={DRIVER}")
    ignored = set(_lines(top / ".gitignore"))
    lacking += [f".gitignore lacks {line}" for line in IGNORED if line not in ignored]
    return lacking


def _lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        return []


def _append_missing(path: Path, wanted: list[str]) -> list[str]:
    """Append the lines of `wanted` that `path` lacks (whole-line match); the lines added."""
    present = set(_lines(path))
    adding = [line for line in wanted if line not in present]
    if adding:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        path.write_text(text + "".join(line + "\n" for line in adding), encoding="utf-8")
    return adding


def _git(args: list[str], cwd: Path | None, failure: str, *, detail: bool = True) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise GitError(failure + (f": {said[-1]}" if said and detail else ""))
    return done.stdout


def _git_optional(args: list[str], cwd: Path) -> str | None:
    """Output of a git query, None when git says there is nothing (exit status 1)."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    return done.stdout if done.returncode == 0 else None
