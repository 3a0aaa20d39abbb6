"""The plugin under pytest-xdist: each worker runs its own server, the controller reports, and
the bundled llama-server is the controller's, one for the session (second half of the file).

Two test files share one cassette and `--dist loadfile` gives each file to its own worker, so
neither worker alone uses every recording: only the controller, merging what every worker
served, can tell an unused recording from one the other worker used. The workers' usage notes
form one run of the session, so `cassette prune` after it keeps what any worker used.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localaik.cassette import usage
from tests.fakes import fake_llama_server_bin
from tests.plugin.test_pytest_plugin import DEAD_UPSTREAM, SDK_HELPERS, inner, run, summary_line

__all__ = ["inner"]  # the fixture, used below by name

FIRST = (
    SDK_HELPERS
    + """
pytestmark = pytest.mark.localaik(cassette="shared")


def test_one():
    assert ask_openai("one") == "Echo: one"


def test_two():
    assert ask_gemini("two") == "Echo: two"
"""
)

SECOND = (
    SDK_HELPERS
    + """
pytestmark = pytest.mark.localaik(cassette="shared")


def test_three():
    assert ask_openai("three") == "Echo: three"


def test_four(localaik):
    assert ask_openai("four") == "Echo: four"
"""
)

XDIST = ("-n", "2", "--dist", "loadfile")


def workers(result: pytest.RunResult) -> set[str]:
    """The workers that ran a test (`-v` names them: `[gw0] PASSED ...`)."""
    return {line.split("]")[0][1:] for line in result.outlines if line.startswith("[gw")}


def test_fail_unused_gathers_every_worker(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_first=FIRST, test_second=SECOND)
    recorded = run(inner, *XDIST, "-v", "--localaik-mode=record")
    recorded.assert_outcomes(passed=4)
    assert workers(recorded) == {"gw0", "gw1"}
    assert summary_line(recorded) == (
        "localaik: mode record, 1 cassette: 0 replayed, 4 recorded, 0 misses, 0 unused"
    )

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LK_UPSTREAM", DEAD_UPSTREAM)
    replayed = run(inner, *XDIST, "-v", "--localaik-fail-unused")
    replayed.assert_outcomes(passed=4)
    assert workers(replayed) == {"gw0", "gw1"}
    assert replayed.ret == 0, replayed.stdout.str()
    assert summary_line(replayed) == (
        "localaik: mode replay, 1 cassette: 4 replayed, 0 recorded, 0 misses, 0 unused"
    )
    # Both workers' notes are one run (each worker wrote its own file): prune keeps what
    # either used.
    cassette = inner.path / "cassettes" / "shared.db"
    runs = usage.read_runs(cassette)
    assert len(runs) == 2  # the recording session's, the replaying session's
    assert len(runs[-1].used) == 4
    assert len({p.name for p in usage.usage_path(cassette).iterdir()}) == 4

    # A call removed from the second file: its recording is unused, and the session fails.
    inner.makepyfile(
        test_second=SECOND.replace('"three") == "Echo: three"', '"four") == "Echo: four"')
    )
    unused = run(inner, *XDIST, "--localaik-fail-unused")
    unused.assert_outcomes(passed=4)
    assert unused.ret == pytest.ExitCode.TESTS_FAILED
    assert summary_line(unused).endswith("0 misses, 1 unused")
    unused.stdout.fnmatch_lines(
        [
            "localaik: 1 recording was not used by this session (--localaik-fail-unused):",
            "  cassettes/shared.db: * openai chat.completions *",
        ]
    )


# -- one bundled llama-server for the session ---------------------------------------------------
#
# No LK_UPSTREAM: the bundled runtime, played by the fake llama-server executable (LK_LLAMA_SERVER,
# a fake .gguf as LK_MODEL); it notes each start in FAKE_LLAMA_ARGV_FILE. Its processes are found
# by the model path in their command line, unique to the test.


def worker_tests(name: str) -> str:
    return SDK_HELPERS + (
        "\n\ndef test_NAME_a(localaik):\n"
        '    assert ask_openai("NAME a") == "Echo: NAME a"\n'
        "\n\ndef test_NAME_b(localaik):\n"
        '    assert ask_gemini("NAME b") == "Echo: NAME b"\n'
    ).replace("NAME", name)


@dataclass
class Bundled:
    """The fake bundled runtime of a test: where it notes its starts, and its model."""

    argv_file: Path
    model: Path

    def starts(self) -> list[list[str]]:
        if not self.argv_file.exists():
            return []
        return [json.loads(line) for line in self.argv_file.read_text().splitlines()]

    def running(self) -> list[int]:
        """The pids of this test's fake llama-servers that are alive (zombies are not)."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if str(self.model).encode() in argv and state != "Z":
                found.append(int(entry.name))
        return found

    def wait_none_running(self, timeout: float = 15.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while (running := self.running()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return running


@pytest.fixture()
def bundled(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Bundled]:
    monkeypatch.delenv("LK_UPSTREAM")
    model = tmp_path / "fake-model.gguf"
    model.write_bytes(b"GGUF fake")
    monkeypatch.setenv("LK_LLAMA_SERVER", str(fake_llama_server_bin.executable(tmp_path)))
    monkeypatch.setenv("LK_MODEL", str(model))
    monkeypatch.setenv("LK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_LLAMA_ARGV_FILE", str(tmp_path / "argv.jsonl"))
    monkeypatch.setenv("FAKE_LLAMA_LOAD_SECONDS", "0.5")  # the workers' first asks overlap it
    runtime = Bundled(tmp_path / "argv.jsonl", model)
    yield runtime
    for pid in runtime.running():  # a failed test leaves none behind either
        os.kill(pid, signal.SIGKILL)


def test_one_bundled_llama_server_for_every_worker(
    inner: pytest.Pytester, bundled: Bundled, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_first=worker_tests("first"), test_second=worker_tests("second"))
    recorded = run(inner, *XDIST, "-v", "--localaik-mode=record")
    recorded.assert_outcomes(passed=4)
    assert workers(recorded) == {"gw0", "gw1"}
    assert summary_line(recorded).endswith("0 replayed, 4 recorded, 0 misses, 0 unused")
    [chat] = bundled.starts()  # one chat llama-server (the embeddings one was never needed)
    assert "--embeddings" not in chat
    assert bundled.wait_none_running() == [], "the shared llama-server outlived the session"

    # Every request replays: no model starts (it would only when a request records).
    replayed = run(inner, *XDIST, "-v", "--localaik-mode=record")
    replayed.assert_outcomes(passed=4)
    assert summary_line(replayed).endswith("4 replayed, 0 recorded, 0 misses, 0 unused")
    monkeypatch.setenv("CI", "true")
    run(inner, *XDIST).assert_outcomes(passed=4)
    assert len(bundled.starts()) == 1

    # Before: a llama-server in each worker, started with its server.
    monkeypatch.delenv("CI")
    per_worker = run(inner, *XDIST, "-v", "--localaik-runtime-per-worker")
    per_worker.assert_outcomes(passed=4)
    assert len(bundled.starts()) == 3
    assert bundled.wait_none_running() == []


def test_the_shared_llama_server_serves_the_worker_that_replaces_a_crashed_one(
    inner: pytest.Pytester, bundled: Bundled
) -> None:
    crash = worker_tests("crash") + (
        "\n\ndef test_crash_c(localaik):\n"
        '    assert ask_openai("crash c") == "Echo: crash c"\n'
        '    if not Path("crashed").exists():\n'
        '        Path("crashed").touch()\n'
        "        os._exit(1)  # the worker dies, the test with it; xdist runs it again\n"
    )
    inner.makepyfile(test_crash=crash, test_other=worker_tests("other"))
    result = run(inner, *XDIST, "--localaik-mode=record", "--max-worker-restart=2")
    result.stdout.fnmatch_lines(
        ["*worker 'gw*' crashed while running 'test_crash.py::test_crash_c'"]
    )
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes["passed"]) == (1, 5), outcomes  # crash_c passed again
    assert len(bundled.starts()) == 1
    assert bundled.wait_none_running() == []


SLEEPER = (
    SDK_HELPERS
    + """
import time


def test_sleeps(localaik):
    assert ask_openai("sleep") == "Echo: sleep"
    Path(os.environ["RECORDED_FILE"]).touch()
    time.sleep(60)


def test_waits(localaik):
    time.sleep(60)
"""
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_no_llama_server_outlives_an_interrupted_session(
    inner: pytest.Pytester, bundled: Bundled, tmp_path: Path, signum: int
) -> None:
    """Ctrl-C in a terminal signals the whole foreground group: the controller and its workers
    (the llama-server has its own session). A SIGKILL of the group runs no handler at all."""
    inner.makepyfile(test_sleeper=SLEEPER)
    recorded_file = tmp_path / "recorded"
    temp = tmp_path / "temp"  # where the controller keeps its socket
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:asyncio",
         "-n", "2", "--localaik-mode=record"],
        cwd=inner.path,
        env={**os.environ, "RECORDED_FILE": str(recorded_file), "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # an xdist session's start, on 2 busy cores
        while not recorded_file.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert len(bundled.running()) == 1
        os.killpg(process.pid, signum)
        process.communicate(timeout=120)  # the sleeps are cut at once; xdist's teardown is not
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert len(bundled.starts()) == 1
    assert bundled.wait_none_running() == [], "a llama-server outlived the interrupted session"
    left = [path.name for path in temp.iterdir()]
    if signum == signal.SIGINT:
        assert left == []
    else:  # nothing ran to remove the socket's folder
        assert [name.startswith("localaik-") for name in left] == [True]
